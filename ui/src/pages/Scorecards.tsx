// 考核方案: the tenant's scorecards (GET /scorecards) and "新建考核方案", which saves a small
// valid draft (one attainment item, grades S/A/B/C/D and a 月度之星 title) and opens it in the
// scorecard editor.
import { useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { Alert, App, Button, Card, Form, Input, Modal, Select, Space, Table, Typography } from 'antd';
import { EditOutlined, PlusOutlined, TrophyOutlined } from '@ant-design/icons';
import { api, enc, isApiError } from '../api/client.ts';
import type { ConfigSummary, ScorecardDefinition } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { OBJECT_KEY, formatDateTime } from '../lib/definition.ts';
import { problemText } from '../lib/problem.ts';
import { ObjectStatusTags } from '../components/ObjectStatusTags.tsx';
import { InlineError } from '../components/PageState.tsx';

interface NewScorecard {
  key: string;
  zh: string;
  en?: string;
  grain: 'week' | 'month' | 'quarter' | 'year';
  metric: string;
}

/** skeleton is a small valid scorecard to start from. */
export function scorecardSkeleton(v: NewScorecard): ScorecardDefinition {
  return {
    key: v.key,
    label: { 'zh-CN': v.zh, en: v.en || v.key },
    grain: v.grain,
    population: { roles: ['rep'] },
    items: [{ key: 'attainment', label: { 'zh-CN': '目标达成', en: 'Attainment' }, weight: 100, cap: 120, type: 'attainment', metric: v.metric }],
    grades: [
      { grade: 'S', min: 110 },
      { grade: 'A', min: 100 },
      { grade: 'B', min: 80 },
      { grade: 'C', min: 60 },
    ],
    fallbackGrade: 'D',
    recognition: [{ key: 'star', title: { 'zh-CN': '月度之星', en: 'Star of the month' }, top: 1 }],
  };
}

export default function ScorecardsPage() {
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const [items, setItems] = useState<ConfigSummary[] | null>(null);
  const [metrics, setMetrics] = useState<ConfigSummary[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [createError, setCreateError] = useState<string | null>(null);
  const [form] = Form.useForm<NewScorecard>();

  const load = async () => {
    setError(null);
    try {
      setItems((await api.get<{ items: ConfigSummary[] }>('scorecards')).items);
    } catch (e) {
      setError(e);
      setItems([]);
    }
  };
  useEffect(() => {
    void load();
    api
      .get<{ items: ConfigSummary[] }>('metrics')
      .then((r) => setMetrics(r.items.filter((m) => (m.publishedVersion ?? 0) > 0)))
      .catch(() => setMetrics([]));
  }, []);

  const create = async (v: NewScorecard) => {
    setBusy(true);
    setCreateError(null);
    try {
      await api.put(`scorecards/${enc(v.key)}`, scorecardSkeleton(v));
      message.success(t('scorecards.created'));
      setOpen(false);
      form.resetFields();
      navigate(`/admin/scorecards/${enc(v.key)}`);
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
          <h1>{t('scorecards.title')}</h1>
          <Typography.Text type="secondary">{t('scorecards.subtitle')}</Typography.Text>
        </div>
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setOpen(true)} data-testid="new-scorecard">
          {t('scorecards.new')}
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
          locale={{ emptyText: t('scorecards.empty') }}
          onRow={(p) => ({ onClick: () => navigate(`/admin/scorecards/${enc(p.key)}`), className: 'row-clickable', 'data-testid': `scorecard-${p.key}` }) as React.HTMLAttributes<HTMLElement>}
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
            { key: 'status', title: t('objects.status'), render: (_: unknown, p) => <ObjectStatusTags status={p.status} version={p.version} publishedVersion={p.publishedVersion} /> },
            { key: 'updatedAt', title: t('objects.updatedAt'), dataIndex: 'updatedAt', render: (v: string) => <Typography.Text type="secondary">{formatDateTime(v)}</Typography.Text> },
            {
              key: 'actions',
              title: t('common.actions'),
              render: (_: unknown, p) => (
                <Space size={0}>
                  <Button type="link" icon={<EditOutlined />} onClick={() => navigate(`/admin/scorecards/${enc(p.key)}`)}>
                    {t('common.edit')}
                  </Button>
                  {(p.publishedVersion ?? 0) > 0 && (
                    <Button
                      type="link"
                      icon={<TrophyOutlined />}
                      onClick={(e) => {
                        e.stopPropagation();
                        navigate(`/leaderboard?scorecard=${enc(p.key)}`);
                      }}
                    >
                      {t('scorecards.leaderboard')}
                    </Button>
                  )}
                </Space>
              ),
            },
          ]}
        />
      </Card>

      <Modal title={t('scorecards.new')} open={open} onCancel={() => setOpen(false)} onOk={() => form.submit()} okText={t('common.confirm')} cancelText={t('common.cancel')} confirmLoading={busy} forceRender>
        {createError && <Alert type="error" showIcon title={<span style={{ whiteSpace: 'pre-line' }}>{createError}</span>} style={{ marginBottom: 12 }} />}
        <Form<NewScorecard> form={form} layout="vertical" onFinish={create} requiredMark="optional" initialValues={{ grain: 'month' }}>
          <Form.Item
            name="key"
            label={t('scorecards.key')}
            extra={t('scorecards.keyHelp')}
            rules={[
              { required: true, message: t('objects.keyInvalid') },
              { pattern: OBJECT_KEY, message: t('objects.keyInvalid') },
            ]}
          >
            <Input placeholder="monthly_kpi" className="mono" autoComplete="off" />
          </Form.Item>
          <Form.Item name="zh" label={t('objects.labelZh')} rules={[{ required: true, whitespace: true }]}>
            <Input placeholder="月度销售考核" />
          </Form.Item>
          <Form.Item name="en" label={t('objects.labelEn')}>
            <Input placeholder="Monthly sales KPI" />
          </Form.Item>
          <Form.Item name="grain" label={t('scorecards.grain')} rules={[{ required: true }]}>
            <Select options={(['month', 'quarter', 'year', 'week'] as const).map((g) => ({ value: g, label: t(`scorecards.grain.${g}`) }))} />
          </Form.Item>
          <Form.Item name="metric" label={t('scorecards.metric')} rules={[{ required: true }]}>
            <Select options={metrics.map((m) => ({ value: m.key, label: `${loc(m.label, lang) ?? m.key} (${m.key})` }))} />
          </Form.Item>
        </Form>
      </Modal>
    </div>
  );
}
