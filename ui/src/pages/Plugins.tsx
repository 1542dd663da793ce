// 集成与通知 (/admin/plugins): the tenant's plugin configurations (GET /plugins) — WeCom,
// DingTalk and Feishu group robots, webhooks, inbound webhook connectors — edited in a form
// generated from each module's JSON Schema (GET /plugin-modules). Secrets are write-only: the
// server answers "********" and keeps the stored value when it comes back unchanged or empty.
// "发送测试消息" calls POST /plugins/{id}/test and shows the receiver's answer.
import { useEffect, useMemo, useState } from 'react';
import { Alert, App, Button, Card, Form, Input, InputNumber, Modal, Popconfirm, Select, Space, Switch, Table, Tag, Typography } from 'antd';
import { DeleteOutlined, EditOutlined, PlusOutlined, SendOutlined } from '@ant-design/icons';
import { api, enc, isApiError } from '../api/client.ts';
import { useI18n } from '../i18n/index.tsx';
import { OBJECT_KEY, formatDateTime } from '../lib/definition.ts';
import { problemText } from '../lib/problem.ts';
import { InlineError } from '../components/PageState.tsx';
import { MASKED, type JSONSchemaLite, type PluginInstance, type PluginModule } from '../components/alerts/types.ts';

interface EditState {
  id: string;
  module: string;
  label?: string;
  enabled: boolean;
  config: Record<string, unknown>;
  secretsSet: string[];
  isNew: boolean;
}

function isObjectType(s: JSONSchemaLite) {
  return s.type === 'object' || (Array.isArray(s.type) && s.type.includes('object'));
}

/** ConfigFields renders one form item per schema property (objects as JSON text). */
function ConfigFields({ mod, secretsSet }: { mod: PluginModule; secretsSet: string[] }) {
  const { t } = useI18n();
  const props = mod.schema?.properties ?? {};
  const required = new Set(mod.schema?.required ?? []);
  return (
    <>
      {Object.entries(props).map(([name, s]) => {
        const label = s.title ?? name;
        const secret = mod.secrets.includes(name);
        const rules = required.has(name) && !(secret && secretsSet.includes(name)) ? [{ required: true }] : [];
        if (secret)
          return (
            <Form.Item key={name} name={['config', name]} label={label} extra={s.description} rules={rules}>
              <Input.Password autoComplete="new-password" placeholder={secretsSet.includes(name) ? t('plugins.secretSet') : ''} data-testid={`plugin-field-${name}`} />
            </Form.Item>
          );
        if (isObjectType(s))
          return (
            <Form.Item key={name} name={['config', name]} label={`${label} (${t('plugins.json')})`} extra={s.description} rules={rules}>
              <Input.TextArea rows={4} className="mono" data-testid={`plugin-field-${name}`} />
            </Form.Item>
          );
        if (s.type === 'integer' || s.type === 'number')
          return (
            <Form.Item key={name} name={['config', name]} label={label} extra={s.description} rules={rules}>
              <InputNumber min={s.minimum} max={s.maximum} style={{ width: 200 }} data-testid={`plugin-field-${name}`} />
            </Form.Item>
          );
        return (
          <Form.Item key={name} name={['config', name]} label={label} extra={s.description} rules={rules}>
            <Input data-testid={`plugin-field-${name}`} />
          </Form.Item>
        );
      })}
    </>
  );
}

export default function PluginsPage() {
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const [items, setItems] = useState<PluginInstance[] | null>(null);
  const [mods, setMods] = useState<PluginModule[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [edit, setEdit] = useState<EditState | null>(null);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [testing, setTesting] = useState<string | null>(null);
  const [form] = Form.useForm();

  const load = async () => {
    setError(null);
    try {
      setItems((await api.get<{ items: PluginInstance[] }>('plugins')).items);
    } catch (e) {
      setError(e);
      setItems([]);
    }
  };
  useEffect(() => {
    void load();
    api.get<{ items: PluginModule[] }>('plugin-modules').then((r) => setMods(r.items)).catch(() => setMods([]));
  }, []);

  const modByID = useMemo(() => Object.fromEntries(mods.map((m) => [m.id, m])), [mods]);
  const modLabel = (id: string) => modByID[id]?.label?.[lang] ?? modByID[id]?.label?.['zh-CN'] ?? id;
  const editMod = edit ? modByID[edit.module] : undefined;

  const open = (st: EditState) => {
    setSaveError(null);
    setEdit(st);
    const m = modByID[st.module];
    const cfg: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(st.config)) {
      const s = m?.schema?.properties?.[k];
      if (m?.secrets.includes(k)) cfg[k] = '';
      else cfg[k] = s && isObjectType(s) ? JSON.stringify(v, null, 2) : v;
    }
    form.setFieldsValue({ id: st.id, module: st.module, label: st.label, enabled: st.enabled, config: cfg });
  };

  const save = async (v: { id: string; module: string; label?: string; enabled: boolean; config?: Record<string, unknown> }) => {
    if (!edit) return;
    const m = modByID[v.module];
    const config: Record<string, unknown> = {};
    try {
      for (const [k, raw] of Object.entries(v.config ?? {})) {
        if (raw === undefined || raw === null || raw === '') {
          if (m?.secrets.includes(k) && edit.secretsSet.includes(k)) config[k] = MASKED;
          continue;
        }
        const s = m?.schema?.properties?.[k];
        config[k] = s && isObjectType(s) && typeof raw === 'string' ? JSON.parse(raw) : raw;
      }
    } catch (e) {
      setSaveError(String(e));
      return;
    }
    setBusy(true);
    setSaveError(null);
    try {
      await api.put(`plugins/${enc(v.id)}`, { module: v.module, label: v.label ?? '', enabled: v.enabled, config });
      message.success(t('plugins.saved'));
      setEdit(null);
      void load();
    } catch (e) {
      const errs = isApiError(e) ? e.problem.errors : undefined;
      setSaveError([problemText(e, t), ...(errs ?? []).map((x) => `${x.pointer ?? ''} ${x.message}`)].join('\n'));
    } finally {
      setBusy(false);
    }
  };

  const test = async (id: string) => {
    setTesting(id);
    try {
      await api.post(`plugins/${enc(id)}/test`);
      message.success(t('plugins.testOk'));
    } catch (e) {
      message.error(problemText(e, t));
    } finally {
      setTesting(null);
    }
  };

  const remove = async (id: string) => {
    await api.del(`plugins/${enc(id)}`);
    message.success(t('plugins.deleted'));
    void load();
  };

  return (
    <div>
      <div className="page-header">
        <div>
          <h1>{t('plugins.title')}</h1>
          <Typography.Text type="secondary">{t('plugins.subtitle')}</Typography.Text>
        </div>
        <Button type="primary" icon={<PlusOutlined />} data-testid="new-plugin"
          onClick={() => open({ id: '', module: mods.find((m) => !m.alwaysOn)?.id ?? '', enabled: true, config: {}, secretsSet: [], isNew: true })}>
          {t('plugins.new')}
        </Button>
      </div>
      {error != null && <InlineError error={error} />}
      <Card styles={{ body: { padding: 0 } }}>
        <Table<PluginInstance>
          rowKey="id"
          loading={items === null}
          dataSource={items ?? []}
          pagination={false}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: t('plugins.empty') }}
          columns={[
            { key: 'id', title: t('plugins.label'), render: (_: unknown, p) => <span data-testid={`plugin-${p.id}`}><Typography.Text strong>{p.label || p.id}</Typography.Text> <Typography.Text type="secondary" code>{p.id}</Typography.Text></span> },
            { key: 'module', title: t('plugins.module'), render: (_: unknown, p) => <Space><Tag color={p.module.startsWith('connect.') ? 'purple' : 'blue'}>{t(p.module.startsWith('connect.') ? 'plugins.ns.connect' : 'plugins.ns.notify')}</Tag>{modLabel(p.module)}</Space> },
            { key: 'enabled', title: t('plugins.enabled'), render: (_: unknown, p) => (p.alwaysOn ? <Tag color="green">{t('plugins.alwaysOn')}</Tag> : p.enabled ? <Tag color="green">{t('common.yes')}</Tag> : <Tag>{t('common.no')}</Tag>) },
            { key: 'hook', title: t('plugins.hookUrl'), render: (_: unknown, p) => p.module.startsWith('connect.') && <Typography.Text code copyable>{`${window.location.origin}/api/v1/hooks/${p.id}`}</Typography.Text> },
            { key: 'updatedAt', title: t('objects.updatedAt'), render: (_: unknown, p) => <Typography.Text type="secondary">{formatDateTime(p.updatedAt)}</Typography.Text> },
            {
              key: 'act',
              title: t('common.actions'),
              render: (_: unknown, p) => (
                <Space size={0}>
                  {p.module.startsWith('notify.') && (
                    <Button type="link" icon={<SendOutlined />} loading={testing === p.id} onClick={() => void test(p.id)} data-testid={`test-${p.id}`}>
                      {t('plugins.test')}
                    </Button>
                  )}
                  {!p.alwaysOn && (
                    <>
                      <Button type="link" icon={<EditOutlined />} onClick={() => open({ ...p, isNew: false })}>{t('common.edit')}</Button>
                      <Popconfirm title={t('plugins.deleteConfirm')} onConfirm={() => void remove(p.id)}>
                        <Button type="link" danger icon={<DeleteOutlined />}>{t('common.delete')}</Button>
                      </Popconfirm>
                    </>
                  )}
                </Space>
              ),
            },
          ]}
        />
      </Card>

      <Modal title={edit?.isNew ? t('plugins.new') : t('plugins.edit')} open={edit != null} onCancel={() => setEdit(null)} onOk={() => form.submit()}
        okText={t('common.save')} cancelText={t('common.cancel')} confirmLoading={busy} forceRender width={640} okButtonProps={{ 'data-testid': 'save-plugin' } as Record<string, string>}>
        {saveError && <Alert type="error" showIcon title={<span style={{ whiteSpace: 'pre-line' }}>{saveError}</span>} style={{ marginBottom: 12 }} />}
        <Form form={form} layout="vertical" onFinish={save} requiredMark="optional"
          onValuesChange={(ch) => { if (ch.module && edit) setEdit({ ...edit, module: ch.module, config: {}, secretsSet: [] }); }}>
          <Form.Item name="module" label={t('plugins.module')} rules={[{ required: true }]}>
            <Select disabled={!edit?.isNew} data-testid="plugin-module"
              options={mods.filter((m) => !m.alwaysOn).map((m) => ({ value: m.id, label: `${m.label?.[lang] ?? m.id} (${m.id})` }))} />
          </Form.Item>
          <Form.Item name="id" label={t('plugins.id')} rules={[{ required: true }, { pattern: OBJECT_KEY, message: t('objects.keyInvalid') }]}>
            <Input className="mono" disabled={!edit?.isNew} autoComplete="off" data-testid="plugin-id" />
          </Form.Item>
          <Form.Item name="label" label={t('plugins.label')}>
            <Input data-testid="plugin-label" />
          </Form.Item>
          <Form.Item name="enabled" label={t('plugins.enabled')} valuePropName="checked" initialValue>
            <Switch />
          </Form.Item>
          {editMod && <ConfigFields mod={editMod} secretsSet={edit?.secretsSet ?? []} />}
        </Form>
      </Modal>
    </div>
  );
}
