// 预警规则 (/admin/alerts): the tenant's alert rules (GET /alerts), "从模板新建" — pick a
// built-in template (GET /alert-templates: stuck deal, behind pace, large deal lost, unusual
// amount, weekly digest), name it, save it as a draft and open the editor — and the delivery
// log with its dead letters (GET /alert-deliveries, retry).
import { useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { Alert, App, Button, Card, Form, Input, Modal, Radio, Space, Table, Tabs, Tag, Typography } from 'antd';
import { PlusOutlined, RedoOutlined } from '@ant-design/icons';
import { api, enc, isApiError } from '../api/client.ts';
import type { ConfigSummary } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { OBJECT_KEY, formatDateTime } from '../lib/definition.ts';
import { problemText } from '../lib/problem.ts';
import { ObjectStatusTags } from '../components/ObjectStatusTags.tsx';
import { InlineError } from '../components/PageState.tsx';
import type { AlertDefinition, Delivery } from '../components/alerts/types.ts';

const statusColor: Record<string, string> = { pending: 'blue', sent: 'green', dead: 'red' };

function Deliveries() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [status, setStatus] = useState<'' | 'dead'>('');
  const [items, setItems] = useState<Delivery[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = async () => {
    try {
      setItems((await api.get<{ items: Delivery[] }>('alert-deliveries', { query: { status: status || undefined } })).items);
    } catch (e) {
      setError(e);
      setItems([]);
    }
  };
  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [status]);
  const retry = async (d: Delivery) => {
    try {
      await api.post(`alert-deliveries/${enc(d.id)}/retry`);
      message.success(t('alerts.retried'));
      void load();
    } catch (e) {
      message.error(problemText(e, t));
    }
  };
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      {error != null && <InlineError error={error} />}
      <Radio.Group value={status} onChange={(e) => setStatus(e.target.value)} optionType="button"
        options={[{ value: '', label: t('alerts.deliveries') }, { value: 'dead', label: t('alerts.deadLetters') }]} />
      <Table<Delivery>
        rowKey="id"
        size="small"
        loading={items === null}
        dataSource={items ?? []}
        pagination={{ pageSize: 20 }}
        scroll={{ x: 'max-content' }}
        columns={[
          { key: 'at', title: t('objects.updatedAt'), render: (_: unknown, d) => formatDateTime(d.createdAt) },
          { key: 'title', title: t('alerts.messageTitle'), dataIndex: 'title' },
          { key: 'channel', title: t('alerts.channel'), render: (_: unknown, d) => <Typography.Text code>{d.channel}</Typography.Text> },
          { key: 'status', title: t('objects.status'), render: (_: unknown, d) => <Tag color={statusColor[d.status]}>{t(`alerts.status.${d.status}`)}</Tag> },
          { key: 'attempts', title: t('alerts.attempts'), dataIndex: 'attempts', align: 'right' },
          { key: 'err', title: t('alerts.lastError'), render: (_: unknown, d) => <Typography.Text type="danger" ellipsis style={{ maxWidth: 280 }}>{d.lastError}</Typography.Text> },
          { key: 'act', title: t('common.actions'), render: (_: unknown, d) => d.status === 'dead' && <Button size="small" icon={<RedoOutlined />} onClick={() => void retry(d)}>{t('alerts.retry')}</Button> },
        ]}
      />
    </Space>
  );
}

export default function AlertRulesPage() {
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const [items, setItems] = useState<ConfigSummary[] | null>(null);
  const [templates, setTemplates] = useState<AlertDefinition[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [createError, setCreateError] = useState<string | null>(null);
  const [form] = Form.useForm<{ template: string; key: string }>();

  useEffect(() => {
    api.get<{ items: ConfigSummary[] }>('alerts').then((r) => setItems(r.items)).catch((e) => { setError(e); setItems([]); });
    api.get<{ items: AlertDefinition[] }>('alert-templates').then((r) => setTemplates(r.items)).catch(() => setTemplates([]));
  }, []);

  const create = async (v: { template: string; key: string }) => {
    const tpl = templates.find((x) => x.key === v.template);
    if (!tpl) return;
    setBusy(true);
    setCreateError(null);
    try {
      await api.put(`alerts/${enc(v.key)}`, { ...tpl, key: v.key, template: tpl.template ?? tpl.key });
      message.success(t('alerts.created'));
      navigate(`/admin/alerts/${enc(v.key)}`);
    } catch (e) {
      const errs = isApiError(e) ? e.problem.errors : undefined;
      setCreateError([problemText(e, t), ...(errs ?? []).map((x) => `${x.pointer ?? ''} ${x.message}`)].join('\n'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div>
      <div className="page-header">
        <div>
          <h1>{t('alerts.title')}</h1>
          <Typography.Text type="secondary">{t('alerts.subtitle')}</Typography.Text>
        </div>
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setOpen(true)} data-testid="new-alert">
          {t('alerts.new')}
        </Button>
      </div>
      {error != null && <InlineError error={error} />}
      <Card>
        <Tabs
          items={[
            {
              key: 'rules',
              label: t('alerts.title'),
              children: (
                <Table<ConfigSummary>
                  rowKey="key"
                  loading={items === null}
                  dataSource={items ?? []}
                  pagination={false}
                  scroll={{ x: 'max-content' }}
                  locale={{ emptyText: t('alerts.empty') }}
                  onRow={(p) => ({ onClick: () => navigate(`/admin/alerts/${enc(p.key)}`), className: 'row-clickable', 'data-testid': `alert-${p.key}` }) as React.HTMLAttributes<HTMLElement>}
                  columns={[
                    { key: 'label', title: t('objects.label'), render: (_: unknown, p) => <span><Typography.Text strong>{loc(p.label, lang) ?? p.key}</Typography.Text> <Typography.Text type="secondary" code>{p.key}</Typography.Text></span> },
                    { key: 'status', title: t('objects.status'), render: (_: unknown, p) => <ObjectStatusTags status={p.status} version={p.version} publishedVersion={p.publishedVersion} /> },
                    { key: 'updatedAt', title: t('objects.updatedAt'), dataIndex: 'updatedAt', render: (v: string) => <Typography.Text type="secondary">{formatDateTime(v)}</Typography.Text> },
                  ]}
                />
              ),
            },
            { key: 'deliveries', label: t('alerts.deliveries'), children: <Deliveries /> },
          ]}
        />
      </Card>

      <Modal title={t('alerts.new')} open={open} onCancel={() => setOpen(false)} onOk={() => form.submit()} okText={t('common.confirm')} cancelText={t('common.cancel')} confirmLoading={busy} forceRender width={640}
        okButtonProps={{ 'data-testid': 'create-alert' } as Record<string, string>}>
        {createError && <Alert type="error" showIcon title={<span style={{ whiteSpace: 'pre-line' }}>{createError}</span>} style={{ marginBottom: 12 }} />}
        <Form form={form} layout="vertical" onFinish={create} requiredMark="optional"
          onValuesChange={(ch) => { if (ch.template && !form.getFieldValue('key')) form.setFieldValue('key', ch.template); }}>
          <Form.Item name="template" label={t('alerts.template')} rules={[{ required: true }]}>
            <Radio.Group style={{ width: '100%' }}>
              <Space direction="vertical" style={{ width: '100%' }}>
                {templates.map((tpl) => (
                  <Radio key={tpl.key} value={tpl.key} data-testid={`template-${tpl.key}`}>
                    <Typography.Text strong>{loc(tpl.label, lang)}</Typography.Text>{' '}
                    <Tag>{t(`alerts.source.${tpl.source ?? 'record'}`)}</Tag>
                    <div><Typography.Text type="secondary">{loc(tpl.description, lang)}</Typography.Text></div>
                  </Radio>
                ))}
              </Space>
            </Radio.Group>
          </Form.Item>
          <Form.Item name="key" label={t('alerts.key')} extra={t('alerts.keyHelp')}
            rules={[{ required: true, message: t('objects.keyInvalid') }, { pattern: OBJECT_KEY, message: t('objects.keyInvalid') }]}>
            <Input className="mono" autoComplete="off" data-testid="alert-key" />
          </Form.Item>
        </Form>
      </Modal>
    </div>
  );
}
