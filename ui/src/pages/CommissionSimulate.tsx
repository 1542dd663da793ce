// 方案模拟 (/commission/simulate?plan=&period=): what-if of a plan's draft against the version in
// force over a past period (POST /commission-plans/{key}/simulate): per-rep old / new / delta
// sorted by |delta|, totals, and a bar chart of the deltas. Nothing is written — the page says so.
import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { Alert, Button, Card, Col, Empty, Form, Row, Select, Spin, Statistic, Table, Tag, Typography } from 'antd';
import { EditOutlined, ExperimentOutlined } from '@ant-design/icons';
import { api, enc } from '../api/client.ts';
import type { ConfigSummary, Simulation, SimulationRow } from '../api/types.ts';
import { useI18n } from '../i18n/index.tsx';
import { formatMoney } from '../lib/money.ts';
import { problemText } from '../lib/problem.ts';
import { shiftPeriod } from '../lib/period.ts';
import { Money, PeriodPicker, defaultPeriod, planName, repErrorText, signedMoney, usePlans } from '../components/commission/common.tsx';

const EChart = lazy(() => import('../components/EChart.tsx'));

export default function CommissionSimulatePage() {
  const { t, lang } = useI18n();
  const [params, setParams] = useSearchParams();
  const [plans, setPlans] = useState<ConfigSummary[] | null>(null);
  const plan = params.get('plan') ?? '';
  const period = params.get('period') || shiftPeriod(defaultPeriod(), -1);
  const [sim, setSim] = useState<Simulation | null>(null);
  const defs = usePlans((plans ?? []).map((p) => p.key));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const set = (patch: Record<string, string | null>) => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v) p.set(k, v);
      else p.delete(k);
    }
    setParams(p, { replace: true });
  };

  useEffect(() => {
    api
      .get<{ items: ConfigSummary[] }>('commission-plans')
      .then((r) => {
        setPlans(r.items);
        if (!params.get('plan')) {
          const withDraft = r.items.find((p) => p.status === 'draft') ?? r.items[0];
          if (withDraft) set({ plan: withDraft.key });
        }
      })
      .catch(() => setPlans([]));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const simulate = async () => {
    setBusy(true);
    setError(null);
    try {
      setSim(await api.post<Simulation>(`commission-plans/${enc(plan)}/simulate`, { period }));
    } catch (e) {
      setSim(null);
      setError(problemText(e, t));
    } finally {
      setBusy(false);
    }
  };

  const rows = useMemo(() => [...(sim?.reps ?? [])].sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta) || a.name.localeCompare(b.name)), [sim]);
  const option = useMemo(() => {
    const top = rows.slice(0, 30);
    return {
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', valueFormatter: (v: number) => signedMoney(Math.round(v * 100)) },
      xAxis: { type: 'category', data: top.map((r) => r.name || r.rep), axisLabel: { interval: 0, rotate: top.length > 8 ? 40 : 0 } },
      yAxis: { type: 'value', axisLabel: { formatter: (v: number) => `¥${v.toLocaleString()}` } },
      series: [
        {
          type: 'bar',
          data: top.map((r) => ({ value: r.delta / 100, itemStyle: { color: r.delta >= 0 ? '#389e0d' : '#cf1322' } })),
        },
      ],
    };
  }, [rows]);
  const selected = plans?.find((p) => p.key === plan);

  return (
    <div>
      <div className="page-header">
        <div>
          <h1>{t('comm.sim.title')}</h1>
          <Typography.Text type="secondary">{t('comm.sim.subtitle')}</Typography.Text>
        </div>
        {plan && (
          <Link to={`/commission/plans/${enc(plan)}`}>
            <Button icon={<EditOutlined />}>{t('comm.sim.editPlan')}</Button>
          </Link>
        )}
      </div>
      <Alert type="info" showIcon title={t('comm.sim.nothingWritten')} style={{ marginBottom: 12 }} data-testid="sim-readonly" />
      <Card style={{ marginBottom: 16 }}>
        <Form layout="inline" onFinish={() => void simulate()} style={{ rowGap: 12 }}>
          <Form.Item label={t('comm.plan')}>
            <Select
              style={{ minWidth: 220 }}
              value={plan || undefined}
              onChange={(v) => set({ plan: v })}
              loading={plans === null}
              options={(plans ?? []).map((p) => ({
                value: p.key,
                label: (
                  <span>
                    {planName(defs, p.key, lang)} {p.status === 'draft' && <Tag color="orange">{t('comm.sim.hasDraft')}</Tag>}
                  </span>
                ),
              }))}
              data-testid="sim-plan"
            />
          </Form.Item>
          <Form.Item label={t('comm.period')}>
            <PeriodPicker value={period} onChange={(p) => set({ period: p })} testId="sim-period" />
          </Form.Item>
          <Form.Item>
            <Button type="primary" htmlType="submit" icon={<ExperimentOutlined />} loading={busy} disabled={!plan} data-testid="sim-run">
              {t('comm.sim.run')}
            </Button>
          </Form.Item>
        </Form>
        {selected && selected.status !== 'draft' && <Typography.Paragraph type="secondary" style={{ marginTop: 12, marginBottom: 0 }}>{t('comm.sim.noDraft')}</Typography.Paragraph>}
      </Card>
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} />}
      {sim && (
        <>
          <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
            <Col xs={24} sm={8}>
              <Card size="small">
                <Statistic title={t('comm.sim.old', { version: sim.publishedVersion ? `v${sim.publishedVersion}` : '—' })} value={formatMoney(sim.old)} />
              </Card>
            </Col>
            <Col xs={24} sm={8}>
              <Card size="small">
                <Statistic title={t('comm.sim.new')} value={formatMoney(sim.new)} />
              </Card>
            </Col>
            <Col xs={24} sm={8}>
              <Card size="small">
                <Statistic title={t('comm.sim.delta')} value={signedMoney(sim.delta)} valueStyle={{ color: sim.delta > 0 ? '#389e0d' : sim.delta < 0 ? '#cf1322' : undefined }} data-testid="sim-delta" />
                {sim.old !== 0 && <Typography.Text type="secondary">{`${((sim.delta / Math.abs(sim.old)) * 100).toFixed(1)}%`}</Typography.Text>}
              </Card>
            </Col>
          </Row>
          {rows.length > 0 && (
            <Card size="small" title={t('comm.sim.chart')} style={{ marginBottom: 16 }}>
              <Suspense fallback={<Spin />}>
                <EChart option={option} height={260} data-testid="sim-chart" />
              </Suspense>
            </Card>
          )}
          {(sim.errors?.length ?? 0) > 0 && (
            <Alert
              type="warning"
              showIcon
              style={{ marginBottom: 16 }}
              title={t('comm.sim.errors', { count: sim.errors!.length })}
              description={
                <ul style={{ margin: 0, paddingInlineStart: 18 }}>
                  {sim.errors!.map((e) => (
                    <li key={`${e.version}:${e.rep}:${e.code}`}>
                      {t(e.version === 'draft' ? 'comm.sim.draftVersion' : 'comm.sim.publishedVersion')} · {e.rep} · {repErrorText(t, e.code)} — {e.message}
                    </li>
                  ))}
                </ul>
              }
            />
          )}
          <Card styles={{ body: { padding: 0 } }}>
            <Table<SimulationRow>
              rowKey="rep"
              size="middle"
              dataSource={rows}
              pagination={rows.length > 100 ? { pageSize: 100 } : false}
              scroll={{ x: 'max-content' }}
              locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('comm.sim.empty')} /> }}
              data-testid="sim-table"
              columns={[
                { key: 'rep', title: t('comm.rep'), render: (_: unknown, r) => <Typography.Text strong>{r.name || r.rep}</Typography.Text> },
                { key: 'old', title: t('comm.sim.oldCol'), align: 'right', render: (_: unknown, r) => <Money fen={r.old} /> },
                { key: 'new', title: t('comm.sim.newCol'), align: 'right', render: (_: unknown, r) => <Money fen={r.new} /> },
                {
                  key: 'delta',
                  title: t('comm.sim.deltaCol'),
                  align: 'right',
                  render: (_: unknown, r) => (
                    <Typography.Text strong type={r.delta < 0 ? 'danger' : r.delta > 0 ? 'success' : 'secondary'} data-amount={r.delta}>
                      {signedMoney(r.delta)}
                    </Typography.Text>
                  ),
                },
                { key: 'lines', title: t('comm.lines'), align: 'right', dataIndex: 'lines' },
              ]}
              summary={() =>
                rows.length > 0 ? (
                  <Table.Summary.Row>
                    <Table.Summary.Cell index={0}>
                      <Typography.Text strong>{t('comm.sum')}</Typography.Text>
                    </Table.Summary.Cell>
                    <Table.Summary.Cell index={1} align="right">
                      <Money fen={sim.old} strong />
                    </Table.Summary.Cell>
                    <Table.Summary.Cell index={2} align="right">
                      <Money fen={sim.new} strong />
                    </Table.Summary.Cell>
                    <Table.Summary.Cell index={3} align="right">
                      <Typography.Text strong>{signedMoney(sim.delta)}</Typography.Text>
                    </Table.Summary.Cell>
                    <Table.Summary.Cell index={4} />
                  </Table.Summary.Row>
                ) : null
              }
            />
          </Card>
        </>
      )}
    </div>
  );
}
