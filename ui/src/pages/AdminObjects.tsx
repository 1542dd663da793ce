import { useState } from 'react';
import { useNavigate } from 'react-router';
import { Alert, App, Button, Card, Form, Input, Modal, Space, Table, Typography } from 'antd';
import { EditOutlined, PlusOutlined } from '@ant-design/icons';
import { api, enc, isApiError } from '../api/client.ts';
import type { ObjectDefinition, ObjectSummary } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { useObjects } from '../objects.tsx';
import { OBJECT_KEY, formatDateTime } from '../lib/definition.ts';
import { problemText } from '../lib/problem.ts';
import { ObjectStatusTags } from '../components/ObjectStatusTags.tsx';
import { objectIcon } from '../components/objectIcon.tsx';
import { InlineError } from '../components/PageState.tsx';

interface NewObject {
  key: string;
  zh: string;
  en?: string;
}

/** skeleton is the smallest valid definition: one required name field. */
function skeleton(v: NewObject): ObjectDefinition {
  return {
    key: v.key,
    label: { 'zh-CN': v.zh, en: v.en || v.key },
    titleField: 'name',
    schema: {
      type: 'object',
      properties: { name: { type: 'string', minLength: 1, maxLength: 200 } },
      required: ['name'],
    },
    fields: { name: { label: { 'zh-CN': '名称', en: 'Name' } } },
    order: ['name'],
  };
}

export default function AdminObjectsPage() {
  const { t, lang } = useI18n();
  const { objects, error, loading, refresh } = useObjects();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [createError, setCreateError] = useState<string | null>(null);
  const [form] = Form.useForm<NewObject>();

  const create = async (v: NewObject) => {
    setBusy(true);
    setCreateError(null);
    try {
      await api.put(`objects/${enc(v.key)}`, skeleton(v));
      message.success(t('objects.created'));
      setOpen(false);
      form.resetFields();
      await refresh();
      navigate(`/admin/objects/${enc(v.key)}`);
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
          <h1>{t('objects.title')}</h1>
          <Typography.Text type="secondary">{t('objects.subtitle')}</Typography.Text>
        </div>
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setOpen(true)}>
          {t('objects.new')}
        </Button>
      </div>
      {error != null && <InlineError error={error} />}
      <Card styles={{ body: { padding: 0 } }}>
        <Table<ObjectSummary>
          rowKey="key"
          loading={loading}
          dataSource={objects}
          pagination={false}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: t('objects.empty') }}
          onRow={(o) => ({ onClick: () => navigate(`/admin/objects/${enc(o.key)}`), className: 'row-clickable' })}
          columns={[
            {
              key: 'label',
              title: t('objects.label'),
              render: (_: unknown, o) => (
                <Space>
                  <span style={{ color: '#2f54eb' }}>{objectIcon(o.key)}</span>
                  <span>
                    <Typography.Text strong>{loc(o.label, lang) ?? o.key}</Typography.Text>{' '}
                    <Typography.Text type="secondary" code>
                      {o.key}
                    </Typography.Text>
                  </span>
                </Space>
              ),
            },
            { key: 'status', title: t('objects.status'), render: (_: unknown, o) => <ObjectStatusTags status={o.status} version={o.version} publishedVersion={o.publishedVersion} /> },
            { key: 'updatedAt', title: t('objects.updatedAt'), dataIndex: 'updatedAt', render: (v: string) => <Typography.Text type="secondary">{formatDateTime(v)}</Typography.Text> },
            {
              key: 'actions',
              title: t('common.actions'),
              render: (_: unknown, o) => (
                <Button type="link" icon={<EditOutlined />} onClick={() => navigate(`/admin/objects/${enc(o.key)}`)}>
                  {t('common.edit')}
                </Button>
              ),
            },
          ]}
        />
      </Card>

      <Modal title={t('objects.new')} open={open} onCancel={() => setOpen(false)} onOk={() => form.submit()} okText={t('common.confirm')} cancelText={t('common.cancel')} confirmLoading={busy} forceRender>
        {createError && <Alert type="error" showIcon title={<span style={{ whiteSpace: 'pre-line' }}>{createError}</span>} style={{ marginBottom: 12 }} />}
        <Form<NewObject> form={form} layout="vertical" onFinish={create} requiredMark="optional">
          <Form.Item
            name="key"
            label={t('objects.key')}
            extra={t('objects.keyHelp')}
            rules={[
              { required: true, message: t('objects.keyInvalid') },
              { pattern: OBJECT_KEY, message: t('objects.keyInvalid') },
            ]}
          >
            <Input placeholder="customer" className="mono" autoComplete="off" />
          </Form.Item>
          <Form.Item name="zh" label={t('objects.labelZh')} rules={[{ required: true, whitespace: true }]}>
            <Input placeholder="客户" />
          </Form.Item>
          <Form.Item name="en" label={t('objects.labelEn')}>
            <Input placeholder="Customer" />
          </Form.Item>
        </Form>
      </Modal>
    </div>
  );
}
