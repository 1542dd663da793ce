// 流程管理: the tenant's pipelines (GET /pipelines) and "新建流程", which saves a small draft
// to start from and opens it in the pipeline editor.
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { Alert, App, Button, Card, Form, Input, Modal, Select, Space, Table, Typography } from 'antd';
import { EditOutlined, PlusOutlined } from '@ant-design/icons';
import { api, enc, isApiError } from '../api/client.ts';
import type { ConfigSummary, PipelineDefinition } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { isPublished, useObjects } from '../objects.tsx';
import { OBJECT_KEY, formatDateTime } from '../lib/definition.ts';
import { problemText } from '../lib/problem.ts';
import { ObjectStatusTags } from '../components/ObjectStatusTags.tsx';
import { InlineError } from '../components/PageState.tsx';

interface NewPipeline {
  key: string;
  zh: string;
  en?: string;
  object: string;
  stageField: string;
}

/** skeleton is a small valid pipeline: one open stage and the two terminal ones. */
function skeleton(v: NewPipeline): PipelineDefinition {
  return {
    key: v.key,
    label: { 'zh-CN': v.zh, en: v.en || v.key },
    object: v.object,
    stageField: v.stageField,
    allowBackward: false,
    stages: [
      { key: 'lead', label: { 'zh-CN': '线索', en: 'Lead' }, probability: 10, slaDays: 14 },
      { key: 'won', label: { 'zh-CN': '赢单', en: 'Won' }, probability: 100, terminal: 'won' },
      { key: 'lost', label: { 'zh-CN': '输单', en: 'Lost' }, probability: 0, terminal: 'lost' },
    ],
  };
}

export default function AdminPipelinesPage() {
  const { t, lang } = useI18n();
  const { objects, pipelines, error, loading, refresh } = useObjects();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [createError, setCreateError] = useState<string | null>(null);
  const [form] = Form.useForm<NewPipeline>();

  const create = async (v: NewPipeline) => {
    setBusy(true);
    setCreateError(null);
    try {
      await api.put(`pipelines/${enc(v.key)}`, skeleton(v));
      message.success(t('pipelines.created'));
      setOpen(false);
      form.resetFields();
      await refresh();
      navigate(`/admin/pipelines/${enc(v.key)}`);
    } catch (e) {
      const errs = isApiError(e) ? e.problem.errors : undefined;
      setCreateError([problemText(e, t), ...(errs ?? []).map((x) => `${x.pointer ?? ''} ${x.message}`)].join('\n'));
    } finally {
      setBusy(false);
    }
  };

  const objectLabel = (key?: string) => {
    const o = objects.find((x) => x.key === key);
    return o ? (loc(o.label, lang) ?? key) : key;
  };

  return (
    <div>
      <div className="page-header">
        <div>
          <h1>{t('pipelines.title')}</h1>
          <Typography.Text type="secondary">{t('pipelines.subtitle')}</Typography.Text>
        </div>
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setOpen(true)}>
          {t('pipelines.new')}
        </Button>
      </div>
      {error != null && <InlineError error={error} />}
      <Card styles={{ body: { padding: 0 } }}>
        <Table<ConfigSummary>
          rowKey="key"
          loading={loading}
          dataSource={pipelines}
          pagination={false}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: t('pipelines.empty') }}
          onRow={(p) => ({ onClick: () => navigate(`/admin/pipelines/${enc(p.key)}`), className: 'row-clickable' })}
          columns={[
            {
              key: 'label',
              title: t('objects.label'),
              render: (_: unknown, p) => (
                <span>
                  <Typography.Text strong>{loc(p.label, lang) ?? p.key}</Typography.Text>{' '}
                  <Typography.Text type="secondary" code>
                    {p.key}
                  </Typography.Text>
                </span>
              ),
            },
            { key: 'object', title: t('pipelines.object'), render: (_: unknown, p) => (p.object ? objectLabel(p.object) : '—') },
            { key: 'status', title: t('objects.status'), render: (_: unknown, p) => <ObjectStatusTags status={p.status} version={p.version} publishedVersion={p.publishedVersion} /> },
            { key: 'updatedAt', title: t('objects.updatedAt'), dataIndex: 'updatedAt', render: (v: string) => <Typography.Text type="secondary">{formatDateTime(v)}</Typography.Text> },
            {
              key: 'actions',
              title: t('common.actions'),
              render: (_: unknown, p) => (
                <Space size={0}>
                  <Button type="link" icon={<EditOutlined />} onClick={() => navigate(`/admin/pipelines/${enc(p.key)}`)}>
                    {t('common.edit')}
                  </Button>
                  {isPublished(p) && (
                    <Button
                      type="link"
                      onClick={(e) => {
                        e.stopPropagation();
                        navigate(`/pipelines/${enc(p.key)}/board`);
                      }}
                    >
                      {t('board.title')}
                    </Button>
                  )}
                </Space>
              ),
            },
          ]}
        />
      </Card>

      <Modal title={t('pipelines.new')} open={open} onCancel={() => setOpen(false)} onOk={() => form.submit()} okText={t('common.confirm')} cancelText={t('common.cancel')} confirmLoading={busy} forceRender>
        {createError && <Alert type="error" showIcon title={<span style={{ whiteSpace: 'pre-line' }}>{createError}</span>} style={{ marginBottom: 12 }} />}
        <Form<NewPipeline> form={form} layout="vertical" onFinish={create} requiredMark="optional" initialValues={{ stageField: 'stage' }}>
          <Form.Item
            name="key"
            label={t('pipelines.key')}
            extra={t('pipelines.keyHelp')}
            rules={[
              { required: true, message: t('objects.keyInvalid') },
              { pattern: OBJECT_KEY, message: t('objects.keyInvalid') },
            ]}
          >
            <Input placeholder="deal_sales" className="mono" autoComplete="off" />
          </Form.Item>
          <Form.Item name="zh" label={t('objects.labelZh')} rules={[{ required: true, whitespace: true }]}>
            <Input placeholder="新签销售流程" />
          </Form.Item>
          <Form.Item name="en" label={t('objects.labelEn')}>
            <Input placeholder="New business" />
          </Form.Item>
          <Form.Item name="object" label={t('pipelines.object')} rules={[{ required: true }]}>
            <Select options={objects.filter(isPublished).map((o) => ({ value: o.key, label: `${loc(o.label, lang) ?? o.key} (${o.key})` }))} />
          </Form.Item>
          <Form.Item name="stageField" label={t('pipelines.stageField')} extra={t('pipelines.stageFieldHelp')} rules={[{ required: true }]}>
            <Input className="mono" autoComplete="off" />
          </Form.Item>
        </Form>
      </Modal>
    </div>
  );
}
