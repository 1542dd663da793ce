// 目标: the target plans (GET /target-plans). Admins start a new plan here; it is only a
// draft in the browser until the editor saves it (a plan must allocate to be saved).
import { useCallback, useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { Button, Card, Form, Input, InputNumber, Modal, Select, Space, Table, Tag, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { api, enc } from '../api/client.ts';
import type { ConfigSummary, TargetPlan, TargetPlanDefinition } from '../api/types.ts';
import { useAuth } from '../auth.tsx';
import { loc, useI18n } from '../i18n/index.tsx';
import { isPublished } from '../objects.tsx';
import { LoadError } from '../components/PageState.tsx';

export default function TargetPlansPage() {
  const { t, lang } = useI18n();
  const { isAdmin } = useAuth();
  const navigate = useNavigate();
  const [plans, setPlans] = useState<TargetPlan[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [metrics, setMetrics] = useState<ConfigSummary[]>([]);
  const [creating, setCreating] = useState(false);
  const [form] = Form.useForm<{ key: string; zh: string; metric: string; fiscalYear: number }>();

  const load = useCallback(() => {
    setError(null);
    api.get<{ items: TargetPlan[] }>('target-plans').then((r) => setPlans(r.items ?? []), setError);
  }, []);
  useEffect(load, [load]);
  useEffect(() => {
    if (isAdmin) api.get<{ items: ConfigSummary[] }>('metrics').then((r) => setMetrics((r.items ?? []).filter(isPublished)), () => setMetrics([]));
  }, [isAdmin]);

  if (error) return <LoadError error={error} onRetry={load} />;

  const create = async () => {
    const v = await form.validateFields();
    const draft: TargetPlanDefinition = {
      label: { 'zh-CN': v.zh, en: v.zh },
      metric: v.metric,
      fiscalYear: v.fiscalYear,
      amounts: { target: 100_000_000 },
      granularity: 100,
      seasonality: { source: 'equal' },
      allocation: { formula: 'history.share', equalSplitOnZero: true },
    };
    setCreating(false);
    navigate(`/targets/${enc(v.key)}?tab=editor`, { state: { draft } });
  };

  return (
    <Card
      title={t('targets.title')}
      extra={
        isAdmin && (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="target-new">
            {t('targets.new')}
          </Button>
        )
      }
    >
      <Table<TargetPlan>
        rowKey="key"
        loading={plans === null}
        dataSource={plans ?? []}
        pagination={false}
        scroll={{ x: 640 }}
        locale={{ emptyText: t('targets.empty') }}
        columns={[
          {
            title: t('targets.label'),
            key: 'label',
            render: (_, p) => (
              <Space direction="vertical" size={0}>
                <Link to={`/targets/${enc(p.key)}`} data-testid={`target-plan-${p.key}`}>
                  {loc(p.definition?.label ?? p.label, lang) ?? p.key}
                </Link>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {p.key}
                </Typography.Text>
              </Space>
            ),
          },
          { title: t('targets.metric'), key: 'metric', render: (_, p) => p.definition?.metric },
          { title: t('targets.fiscalYear'), key: 'fy', render: (_, p) => p.definition?.fiscalYear },
          {
            title: t('targets.status'),
            key: 'status',
            render: (_, p) => <Tag color={p.status === 'published' ? 'green' : 'orange'}>{t(p.status === 'published' ? 'targets.status.published' : 'targets.status.draft')}</Tag>,
          },
          { title: t('targets.version'), key: 'v', render: (_, p) => (p.publishedVersion ? `v${p.publishedVersion}` : t('targets.notPublished')) },
        ]}
      />
      <Modal open={creating} title={t('targets.new')} onCancel={() => setCreating(false)} onOk={() => void create()} destroyOnHidden>
        <Form form={form} layout="vertical" initialValues={{ fiscalYear: new Date().getFullYear() + (new Date().getMonth() >= 9 ? 1 : 0), metric: metrics[0]?.key }}>
          <Form.Item name="key" label={t('targets.key')} extra={t('targets.keyHelp')} rules={[{ required: true, pattern: /^[a-z][a-z0-9_]*$/ }]}>
            <Input placeholder="fy2026" />
          </Form.Item>
          <Form.Item name="zh" label={t('targets.label')} rules={[{ required: true }]}>
            <Input />
          </Form.Item>
          <Form.Item name="metric" label={t('targets.metric')} rules={[{ required: true }]}>
            <Select options={metrics.map((m) => ({ value: m.key, label: loc(m.label, lang) ?? m.key }))} />
          </Form.Item>
          <Form.Item name="fiscalYear" label={t('targets.fiscalYear')} rules={[{ required: true }]}>
            <InputNumber min={2000} max={2100} style={{ width: '100%' }} />
          </Form.Item>
        </Form>
      </Modal>
    </Card>
  );
}
