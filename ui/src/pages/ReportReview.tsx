// Period review (复盘): plan vs actual for a metric, a period and a node, with the gap decomposed
// by child node, by dimension value and by funnel stage. Taking a review stores a snapshot
// (POST /reports/reviews); the list and each review show it as it was taken.
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { Alert, App as AntApp, Breadcrumb, Button, Card, Descriptions, Input, Select, Space, Spin, Table, Tag } from 'antd';
import { api, enc } from '../api/client.ts';
import type { ReportColumn, ReportReview } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { periodKey } from '../lib/period.ts';
import { problemText } from '../lib/problem.ts';
import ReportView, { formatCell } from '../components/reports/ReportView.tsx';

interface Item {
  key: string;
  label?: Record<string, string>;
  publishedVersion: number;
}

export function ReportReviewsPage() {
  const { t, lang } = useI18n();
  const { message } = AntApp.useApp();
  const navigate = useNavigate();
  const [items, setItems] = useState<ReportReview[] | null>(null);
  const [metrics, setMetrics] = useState<Item[]>([]);
  const [teams, setTeams] = useState<{ id: string; name: string }[]>([]);
  const [metric, setMetric] = useState('');
  const [period, setPeriod] = useState(periodKey('quarter'));
  const [node, setNode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api.get<{ items: ReportReview[] }>('reports/reviews').then((r) => setItems(r.items), setError);
    api.get<{ items: Item[] }>('metrics').then((r) => {
      const ms = (r.items ?? []).filter((m) => m.publishedVersion > 0);
      setMetrics(ms);
      setMetric((m) => m || ms[0]?.key || '');
    }, () => undefined);
    api.get<{ items: { id: string; name: string }[] }>('teams').then((r) => setTeams(r.items ?? []), () => undefined);
  }, []);

  const take = async () => {
    setBusy(true);
    try {
      const rv = await api.post<ReportReview>('reports/reviews', { metric, period, node: node || undefined });
      navigate(`/reports/reviews/${enc(rv.id)}`);
    } catch (e) {
      message.error(problemText(e, t));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div>
      <Breadcrumb style={{ marginBottom: 8 }} items={[{ title: <Link to="/reports">{t('reports.title')}</Link> }, { title: t('reports.reviews') }]} />
      <div className="page-header">
        <h1>{t('reports.reviews')}</h1>
      </div>
      <Card size="small" title={t('reports.takeReview')} style={{ marginBottom: 16 }}>
        <Space wrap>
          <Select style={{ minWidth: 160 }} value={metric} onChange={setMetric} options={metrics.map((m) => ({ value: m.key, label: loc(m.label, lang) ?? m.key }))} />
          <Input style={{ width: 110 }} value={period} onChange={(e) => setPeriod(e.target.value)} data-testid="review-period" />
          <Select
            style={{ minWidth: 160 }}
            value={node}
            onChange={setNode}
            options={[{ value: '', label: t('reports.nodeDefault') }, { value: 'company', label: t('reports.company') }, ...teams.map((tm) => ({ value: `team:${tm.id}`, label: tm.name }))]}
          />
          <Button type="primary" loading={busy} onClick={() => void take()} data-testid="review-take">
            {t('reports.takeReview')}
          </Button>
        </Space>
      </Card>
      {error ? <Alert type="error" showIcon message={problemText(error, t)} /> : null}
      <Table
        size="small"
        rowKey="id"
        loading={items === null}
        dataSource={items ?? []}
        columns={[
          { key: 'metric', dataIndex: 'metric', title: t('reports.metric') },
          { key: 'period', dataIndex: 'period', title: t('reports.period') },
          { key: 'node', dataIndex: 'nodeName', title: t('reports.node') },
          { key: 'at', dataIndex: 'at', title: t('reports.takenAt'), render: (v: string) => new Date(v).toLocaleString(lang) },
          { key: 'closed', dataIndex: 'closed', title: '', render: (c: boolean) => (c ? <Tag color="green">{t('reports.closed')}</Tag> : <Tag>{t('reports.open')}</Tag>) },
          { key: 'open', title: '', render: (_: unknown, r: ReportReview) => <Link to={`/reports/reviews/${enc(r.id)}`}>{t('reports.view')}</Link> },
        ]}
      />
    </div>
  );
}

export function ReportReviewPage() {
  const { id = '' } = useParams();
  const { t, lang } = useI18n();
  const [rv, setRv] = useState<ReportReview | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.get<ReportReview>(`reports/reviews/${enc(id)}`).then(setRv, setError);
  }, [id]);
  if (error) return <Alert type="error" showIcon message={problemText(error, t)} />;
  if (!rv?.result) return <Spin />;
  const r = rv.result;
  const money: ReportColumn = { key: 'v', label: {}, type: r.metric.unit === 'money' ? 'money' : 'number', role: 'measure' };
  const pct: ReportColumn = { key: 'p', label: {}, type: 'percent', role: 'measure' };
  return (
    <div>
      <Breadcrumb style={{ marginBottom: 8 }} items={[{ title: <Link to="/reports">{t('reports.title')}</Link> }, { title: <Link to="/reports/reviews">{t('reports.reviews')}</Link> }, { title: rv.period }]} />
      <div className="page-header">
        <h1>
          {t('reports.reviewOf', { metric: rv.metric, period: rv.period, node: rv.nodeName })}
        </h1>
      </div>
      <Descriptions size="small" bordered column={{ xs: 1, md: 4 }} style={{ marginBottom: 16 }} data-testid="review-plan">
        <Descriptions.Item label={t('reports.plan')}>{formatCell(money, r.plan.target, lang)}</Descriptions.Item>
        <Descriptions.Item label={t('reports.actual')}>{formatCell(money, r.plan.actual, lang)}</Descriptions.Item>
        <Descriptions.Item label={t('reports.attainment')}>{formatCell(pct, r.plan.attainment, lang)}</Descriptions.Item>
        <Descriptions.Item label={t('reports.gap')}>{formatCell(money, r.plan.gap, lang)}</Descriptions.Item>
      </Descriptions>
      <Card size="small" title={t('reports.byChild')} style={{ marginBottom: 16 }}>
        <ReportView result={r.byChild} />
      </Card>
      {r.byDimension ? (
        <Card size="small" title={t('reports.byDimension')} style={{ marginBottom: 16 }}>
          <ReportView result={r.byDimension} />
        </Card>
      ) : null}
      {r.byStage ? (
        <Card size="small" title={t('reports.byStage')} style={{ marginBottom: 16 }}>
          <ReportView result={r.byStage} />
        </Card>
      ) : null}
    </div>
  );
}
