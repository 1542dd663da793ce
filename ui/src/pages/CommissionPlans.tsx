// 提成方案 (/commission/plans): the tenant's commission plans (status, version) and 新建提成方案,
// which saves a small valid draft (5 % of the chosen object's base, credited on its date field)
// and opens it in the plan editor.
import { useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { Alert, App, Button, Card, Form, Input, Modal, Select, Space, Table, Typography } from 'antd';
import { EditOutlined, ExperimentOutlined, PlayCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { api, enc, isApiError } from '../api/client.ts';
import type { CommissionPlanDefinition, ConfigSummary } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { OBJECT_KEY, formatDateTime } from '../lib/definition.ts';
import { problemText } from '../lib/problem.ts';
import { isPublished, useObjects } from '../objects.tsx';
import { ObjectStatusTags } from '../components/ObjectStatusTags.tsx';
import { InlineError } from '../components/PageState.tsx';
import { planName, usePlans } from '../components/commission/common.tsx';

interface NewPlan {
  key: string;
  zh: string;
  en?: string;
  object: string;
  base: string;
  dateField: string;
  metric: string;
}

/** planSkeleton is a small valid plan to start from. */
export function planSkeleton(v: NewPlan): CommissionPlanDefinition {
  return {
    name: { 'zh-CN': v.zh, en: v.en || v.key },
    grain: 'month',
    quota: { metric: v.metric },
    assign: { roles: ['rep'] },
    credits: { object: v.object, base: v.base, dateField: v.dateField },
    rules: [{ key: 'base', name: { 'zh-CN': '基础提成', en: 'Base commission' }, rate: { kind: 'constant', value: 0.05 } }],
  };
}

export default function CommissionPlansPage() {
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const { objects } = useObjects();
  const [items, setItems] = useState<ConfigSummary[] | null>(null);
  const [metrics, setMetrics] = useState<ConfigSummary[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [createError, setCreateError] = useState<string | null>(null);
  const [form] = Form.useForm<NewPlan>();
  const defs = usePlans((items ?? []).map((p) => p.key));

  useEffect(() => {
    api
      .get<{ items: ConfigSummary[] }>('commission-plans')
      .then((r) => setItems(r.items))
      .catch((e) => {
        setError(e);
        setItems([]);
      });
    api
      .get<{ items: ConfigSummary[] }>('metrics')
      .then((r) => setMetrics(r.items.filter((m) => (m.publishedVersion ?? 0) > 0)))
      .catch(() => setMetrics([]));
  }, []);

  const create = async (v: NewPlan) => {
    setBusy(true);
    setCreateError(null);
    try {
      await api.put(`commission-plans/${enc(v.key)}`, planSkeleton(v));
      message.success(t('comm.plans.created'));
      setOpen(false);
      navigate(`/commission/plans/${enc(v.key)}`);
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
          <h1>{t('comm.plans.title')}</h1>
          <Typography.Text type="secondary">{t('comm.plans.subtitle')}</Typography.Text>
        </div>
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setOpen(true)} data-testid="new-commission-plan">
          {t('comm.plans.new')}
        </Button>
      </div>
      {error != null && <InlineError error={error} />}
      <Card styles={{ body: { padding: 0 } }}>
        <Table<ConfigSummary>
          rowKey="key"
          loading={items === null}
          dataSource={items ?? []}
          pagination={false}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: t('comm.plans.empty') }}
          onRow={(p) => ({ onClick: () => navigate(`/commission/plans/${enc(p.key)}`), className: 'row-clickable', 'data-testid': `commission-plan-${p.key}` }) as React.HTMLAttributes<HTMLElement>}
          columns={[
            {
              key: 'label',
              title: t('comm.plans.name'),
              render: (_: unknown, p) => (
                <span>
                  <Typography.Text strong>{loc(p.label, lang) ?? planName(defs, p.key, lang)}</Typography.Text>{' '}
                  <Typography.Text type="secondary" code>
                    {p.key}
                  </Typography.Text>
                </span>
              ),
            },
            { key: 'status', title: t('objects.status'), render: (_: unknown, p) => <ObjectStatusTags status={p.status} version={p.version} publishedVersion={p.publishedVersion} /> },
            { key: 'updatedAt', title: t('objects.updatedAt'), dataIndex: 'updatedAt', render: (v: string) => <Typography.Text type="secondary">{formatDateTime(v)}</Typography.Text> },
            {
              key: 'actions',
              title: t('common.actions'),
              render: (_: unknown, p) => (
                <Space size={0} onClick={(e) => e.stopPropagation()}>
                  <Button type="link" icon={<EditOutlined />} onClick={() => navigate(`/commission/plans/${enc(p.key)}`)}>
                    {t('common.edit')}
                  </Button>
                  {(p.publishedVersion ?? 0) > 0 && (
                    <Button type="link" icon={<PlayCircleOutlined />} onClick={() => navigate(`/commission/run?plan=${enc(p.key)}`)}>
                      {t('comm.plans.run')}
                    </Button>
                  )}
                  {(p.publishedVersion ?? 0) > 0 && p.status === 'draft' && (
                    <Button type="link" icon={<ExperimentOutlined />} onClick={() => navigate(`/commission/simulate?plan=${enc(p.key)}`)}>
                      {t('comm.plans.simulate')}
                    </Button>
                  )}
                </Space>
              ),
            },
          ]}
        />
      </Card>

      <Modal title={t('comm.plans.new')} open={open} onCancel={() => setOpen(false)} onOk={() => form.submit()} okText={t('common.confirm')} cancelText={t('common.cancel')} confirmLoading={busy} forceRender>
        {createError && <Alert type="error" showIcon title={<span style={{ whiteSpace: 'pre-line' }}>{createError}</span>} style={{ marginBottom: 12 }} />}
        <Form<NewPlan> form={form} layout="vertical" onFinish={create} requiredMark="optional" initialValues={{ object: 'deal', base: 'amount', dateField: 'closeDate', metric: 'won_revenue' }}>
          <Form.Item name="key" label={t('comm.plans.key')} extra={t('comm.plans.keyHelp')} rules={[{ required: true, message: t('objects.keyInvalid') }, { pattern: OBJECT_KEY, message: t('objects.keyInvalid') }]}>
            <Input placeholder="sales_2026" className="mono" autoComplete="off" data-testid="new-plan-key" />
          </Form.Item>
          <Form.Item name="zh" label={t('objects.labelZh')} rules={[{ required: true, whitespace: true }]}>
            <Input placeholder="2026 销售提成" data-testid="new-plan-zh" />
          </Form.Item>
          <Form.Item name="en" label={t('objects.labelEn')}>
            <Input placeholder="Sales commission 2026" />
          </Form.Item>
          <Form.Item name="object" label={t('comm.f.object')} rules={[{ required: true }]}>
            <Select options={objects.filter(isPublished).map((o) => ({ value: o.key, label: `${loc(o.label, lang) ?? o.key} (${o.key})` }))} />
          </Form.Item>
          <Space wrap>
            <Form.Item name="base" label={t('comm.f.base')} rules={[{ required: true }]}>
              <Input className="mono" />
            </Form.Item>
            <Form.Item name="dateField" label={t('comm.f.dateField')} rules={[{ required: true }]}>
              <Input className="mono" />
            </Form.Item>
          </Space>
          <Form.Item name="metric" label={t('comm.f.quotaMetric')} rules={[{ required: true }]}>
            <Select options={metrics.map((m) => ({ value: m.key, label: `${loc(m.label, lang) ?? m.key} (${m.key})` }))} />
          </Form.Item>
        </Form>
      </Modal>
    </div>
  );
}
