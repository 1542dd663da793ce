// 我的业绩: one metric's progress for a node and period (GET /progress), its children with
// click-through, a bar chart of the children's actuals and a drawer listing the records
// behind an actual (GET /progress/records). Metric, period and node live in the URL.
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { Alert, Button, Card, Col, Drawer, Empty, Grid, List, Row, Segmented, Select, Space, Spin, Statistic, Table, Tag, Tooltip, Typography } from 'antd';
import { ApartmentOutlined, FileSearchOutlined, LeftOutlined, ReloadOutlined, RightOutlined, RollbackOutlined } from '@ant-design/icons';
import { api, enc } from '../api/client.ts';
import type { ConfigSummary, MetricUnit, ProgressRecord, ProgressRecordWire, ProgressResponse, ProgressRow, RecordDoc } from '../api/types.ts';
import { loc, useI18n, type Lang, type TFunc } from '../i18n/index.tsx';
import { fetchPublished, isPublished } from '../objects.tsx';
import { formatValue, titleField } from '../lib/definition.ts';
import { formatMoney } from '../lib/money.ts';
import { periodKey, periodKind, periodRange, shiftPeriod, type PeriodKind } from '../lib/period.ts';
import { problemText } from '../lib/problem.ts';
import { LoadError } from '../components/PageState.tsx';
import { FullPageSpin } from '../components/FullPageSpin.tsx';

const EChart = lazy(() => import('../components/EChart.tsx'));

/**
 * Measure says how to read a metric's numbers: values are fixed-point integers, `scale` units
 * to one (money: 100 分 to the 元). The server sends `metric.scale`; without it, money is taken
 * to be in 分 and other units as plain numbers.
 */
interface Measure {
  unit?: MetricUnit;
  scale: number;
}

function measureOf(metric: ProgressResponse['metric'] | undefined): Measure {
  const scale = typeof metric?.scale === 'number' && metric.scale > 0 ? metric.scale : metric?.unit === 'money' ? 100 : 1;
  return { unit: metric?.unit, scale };
}

/** majorUnits converts a raw value to the unit people read (元 for money). */
function majorUnits(v: number, m: Measure): number {
  return v / m.scale;
}

/** formatMeasure shows a metric value in its unit: money in ¥ with two decimals, else a plain number. */
function formatMeasure(v: number | null | undefined, m: Measure, lang: string): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (m.unit === 'money') return formatMoney(Math.round(majorUnits(v, m) * 100));
  if (m.unit === 'percent') return `${(majorUnits(v, m) * 100).toFixed(1)}%`;
  return majorUnits(v, m).toLocaleString(lang, { maximumFractionDigits: 2 });
}

function pct(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${(v * 100).toFixed(1)}%`;
}

function nodeId(row: ProgressRow): string {
  return `${row.node.kind}:${row.node.id}`;
}

function nodeName(row: ProgressRow, t: TFunc): string {
  if (row.node.name) return row.node.name;
  if (row.node.kind === 'company') return t('progress.company');
  return row.node.id;
}

function normalizeProgressRecord(x: ProgressRecordWire): ProgressRecord {
  return { record: x.record ?? x.recordId ?? '', object: x.object, title: x.title, owner: x.owner, day: x.day, value: x.value ?? x.sum ?? 0, share: x.share };
}

const TITLE_LOOKUPS = 30;

/**
 * withTitles fills in the titles the list does not carry by reading the first records
 * (their title field, from the published definition); the rest show their id.
 */
async function withTitles(items: ProgressRecord[], lang: Lang, t: TFunc): Promise<ProgressRecord[]> {
  const missing = items.filter((x) => !x.title && x.record).slice(0, TITLE_LOOKUPS);
  if (missing.length === 0) return items;
  const titles = new Map<string, string>();
  await Promise.all(
    missing.map(async (x) => {
      try {
        const [env, rec] = await Promise.all([fetchPublished(x.object), api.get<RecordDoc>(`records/${enc(x.object)}/${enc(x.record)}`)]);
        const tf = titleField(env.definition);
        const title = tf ? formatValue(env.definition, tf, rec.data?.[tf], lang, t) : '';
        if (title) titles.set(`${x.object}/${x.record}`, title);
      } catch {
        // Not visible or gone: the id stands in.
      }
    }),
  );
  return items.map((x) => (x.title ? x : { ...x, title: titles.get(`${x.object}/${x.record}`) }));
}

const KIND_COLORS: Record<string, string> = { company: 'gold', team: 'blue', user: 'green' };

function RecordsDrawer({ open, onClose, metric, period, node, measure, title }: { open: boolean; onClose: () => void; metric: string; period: string; node?: string; measure: Measure; title: string }) {
  const { t, lang } = useI18n();
  const screens = Grid.useBreakpoint();
  const [state, setState] = useState<{ items?: ProgressRecord[]; error?: unknown }>({});
  useEffect(() => {
    if (!open) return;
    let cancelled = false;
    setState({});
    api
      .get<{ items: ProgressRecordWire[] }>('progress/records', { query: { metric, period, node } })
      .then((r) => withTitles((r.items ?? []).map(normalizeProgressRecord), lang, t))
      .then(
        (items) => !cancelled && setState({ items }),
        (error) => !cancelled && setState({ error }),
      );
    return () => {
      cancelled = true;
    };
    // lang and t only word the titles; a language switch does not refetch.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [open, metric, period, node]);
  return (
    <Drawer open={open} onClose={onClose} title={title} size={screens.md ? 560 : '100%'} destroyOnHidden>
      {state.error != null && <Alert type="error" showIcon title={problemText(state.error, t)} />}
      {!state.items && state.error == null && <Spin style={{ display: 'block', margin: '32px auto' }} />}
      {state.items && (
        <List
          data-testid="progress-records"
          dataSource={state.items}
          locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('progress.noRecords')} /> }}
          renderItem={(r) => (
            <List.Item key={`${r.object}:${r.record}`} extra={<Typography.Text strong>{formatMeasure(r.value, measure, lang)}</Typography.Text>}>
              <List.Item.Meta
                title={<Link to={`/records/${enc(r.object)}/${enc(r.record)}`}>{r.title || r.record}</Link>}
                description={
                  <Space size={12} wrap>
                    {r.day && <span>{r.day}</span>}
                    {r.owner && <span>{r.owner}</span>}
                    {typeof r.share === 'number' && r.share < 1 && <span>{t('progress.share', { p: (r.share * 100).toFixed(0) })}</span>}
                  </Space>
                }
              />
            </List.Item>
          )}
        />
      )}
    </Drawer>
  );
}

export default function ProgressPage() {
  const { t, lang } = useI18n();
  const screens = Grid.useBreakpoint();
  const mobile = !screens.md;
  const [params, setParams] = useSearchParams();
  const [metrics, setMetrics] = useState<ConfigSummary[] | null>(null);
  const [metricsError, setMetricsError] = useState<unknown>(null);
  const [data, setData] = useState<ProgressResponse | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [drill, setDrill] = useState<{ node?: string; title: string } | null>(null);

  const loadMetrics = useCallback(() => {
    setMetricsError(null);
    api.get<{ items: ConfigSummary[] }>('metrics').then(
      (r) => setMetrics((r.items ?? []).filter(isPublished)),
      (e) => setMetricsError(e),
    );
  }, []);
  useEffect(loadMetrics, [loadMetrics]);

  // Revenue first: a sales manager opens progress to see money, not counts.
  const metric = params.get('metric') || (metrics?.find((m) => /revenue|amount|payment|sales|回款|金额/i.test(m.key + ' ' + JSON.stringify(m.label ?? {}))) ?? metrics?.[0])?.key || '';
  const period = params.get('period') || periodKey('quarter');
  const kind: PeriodKind = periodKind(period) ?? 'quarter';
  const node = params.get('node') || undefined;

  const set = (patch: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setParams(next);
  };

  const load = useCallback(async () => {
    if (!metric) return;
    setLoading(true);
    setError(null);
    try {
      setData(await api.get<ProgressResponse>('progress', { query: { metric, period, node } }));
    } catch (e) {
      setError(e);
      setData(null);
    } finally {
      setLoading(false);
    }
  }, [metric, period, node]);
  useEffect(() => {
    void load();
  }, [load]);

  const measure = useMemo(() => measureOf(data?.metric), [data]);
  const children = useMemo(() => data?.children ?? [], [data]);
  const chart = useMemo(
    () => ({
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', valueFormatter: (v: number) => formatMeasure(v, measure, lang) },
      xAxis: { type: 'category', data: children.map((c) => nodeName(c, t)), axisLabel: { interval: 0, rotate: children.length > 6 ? 30 : 0 } },
      yAxis: { type: 'value', axisLabel: { formatter: (v: number) => `${measure.unit === 'money' ? '¥' : ''}${majorUnits(v, measure).toLocaleString(lang)}` } },
      series: [{ type: 'bar', data: children.map((c) => c.actual), itemStyle: { color: '#2f54eb', borderRadius: [4, 4, 0, 0] }, barMaxWidth: 40 }],
    }),
    [children, measure, lang, t],
  );

  if (metricsError) return <LoadError error={metricsError} onRetry={loadMetrics} />;
  if (!metrics) return <FullPageSpin />;

  const row = data?.node;
  const noTarget = t('progress.noTarget');
  const periodLabel = data?.period ? `${data.period.key}（${periodRange(data.period.start, data.period.end)}）` : period;
  const elapsed = data?.period.elapsed;

  return (
    <div>
      <div className="page-header">
        <h1>{t('progress.title')}</h1>
        <Space wrap>
          <Select
            style={{ minWidth: 180 }}
            value={metric || undefined}
            placeholder={t('progress.metric')}
            onChange={(v) => set({ metric: v, node: undefined })}
            options={metrics.map((m) => ({ value: m.key, label: loc(m.label, lang) ?? m.key }))}
            data-testid="progress-metric"
          />
          <Segmented<PeriodKind>
            value={kind}
            onChange={(k) => set({ period: periodKey(k) })}
            options={[
              { value: 'month', label: t('progress.month') },
              { value: 'quarter', label: t('progress.quarter') },
              { value: 'year', label: t('progress.year') },
            ]}
          />
          <Space.Compact>
            <Button icon={<LeftOutlined />} onClick={() => set({ period: shiftPeriod(period, -1) })} aria-label={t('progress.prev')} />
            <Button onClick={() => set({ period: periodKey(kind) })} data-testid="progress-period">
              {period}
            </Button>
            <Button icon={<RightOutlined />} onClick={() => set({ period: shiftPeriod(period, 1) })} aria-label={t('progress.next')} />
          </Space.Compact>
          <Button icon={<ReloadOutlined />} onClick={() => void load()} aria-label={t('common.reload')} />
        </Space>
      </div>

      {metrics.length === 0 && <Empty description={t('progress.noMetrics')} />}
      {error != null && <Alert type="error" showIcon title={problemText(error, t)} style={{ marginBottom: 16 }} />}
      {loading && !data && <FullPageSpin />}

      {data && row && (
        <>
          <Space wrap style={{ marginBottom: 12 }}>
            <Tag color={KIND_COLORS[row.node.kind]} icon={<ApartmentOutlined />}>
              {t(`progress.kind.${row.node.kind}`)}
            </Tag>
            <Typography.Text strong data-testid="progress-node">
              {nodeName(row, t)}
            </Typography.Text>
            <Typography.Text type="secondary">{periodLabel}</Typography.Text>
            {typeof elapsed === 'number' && elapsed >= 0 && elapsed <= 1 && <Typography.Text type="secondary">{t('progress.elapsed', { p: (elapsed * 100).toFixed(0) })}</Typography.Text>}
            {node && (
              <Button size="small" icon={<RollbackOutlined />} onClick={() => set({ node: undefined })}>
                {t('progress.backToMine')}
              </Button>
            )}
          </Space>

          <Row gutter={[12, 12]}>
            <Col xs={24} sm={12} lg={6}>
              <Card size="small" style={{ height: '100%' }}>
                <Statistic title={t('progress.actual')} value={formatMeasure(row.actual, measure, lang)} styles={{ content: { color: '#2f54eb' } }} data-testid="progress-actual" />
                <Button type="link" size="small" icon={<FileSearchOutlined />} style={{ paddingInline: 0 }} onClick={() => setDrill({ node, title: `${nodeName(row, t)} · ${t('progress.actual')}` })} data-testid="progress-drill">
                  {t('progress.records')}
                </Button>
              </Card>
            </Col>
            <Col xs={12} sm={12} lg={6}>
              <Card size="small" style={{ height: '100%' }}>
                <Statistic title={t('progress.target')} value={row.target === null ? noTarget : formatMeasure(row.target, measure, lang)} styles={row.target === null ? { content: { fontSize: 16, color: 'rgba(0,0,0,0.45)' } } : undefined} />
                <Typography.Text type="secondary">
                  {t('progress.attainment')}：{row.attainment === null ? noTarget : pct(row.attainment)}
                </Typography.Text>
              </Card>
            </Col>
            <Col xs={12} sm={12} lg={6}>
              <Card size="small" style={{ height: '100%' }}>
                <Statistic title={t('progress.runRate')} value={formatMeasure(row.forecast?.runRate, measure, lang)} />
                <Tooltip title={t('progress.runRateHint')}>
                  <Typography.Text type="secondary">{t('progress.pacing')}：{row.pacing === null ? noTarget : pct(row.pacing)}</Typography.Text>
                </Tooltip>
              </Card>
            </Col>
            <Col xs={24} sm={12} lg={6}>
              <Card size="small" style={{ height: '100%' }}>
                <Tooltip title={t('progress.weightedHint')}>
                  <Statistic title={t('progress.weighted')} value={formatMeasure(row.forecast?.weighted, measure, lang)} />
                </Tooltip>
                <Typography.Text type="secondary">
                  {t('progress.gap')}：{row.gap === null ? noTarget : formatMeasure(row.gap, measure, lang)}
                </Typography.Text>
              </Card>
            </Col>
          </Row>

          {children.length === 0 && (
            <Card size="small" title={t('progress.children')} style={{ marginTop: 12 }}>
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('progress.noChildren')} />
            </Card>
          )}
          {children.length > 0 && (
            <Row gutter={[12, 12]} style={{ marginTop: 12 }}>
              <Col xs={24} lg={12}>
                <Card size="small" title={t('progress.children')}>
                  {mobile ? (
                    <List
                      size="small"
                      dataSource={children}
                      renderItem={(c) => (
                        <List.Item key={nodeId(c)} onClick={() => set({ node: nodeId(c) })} style={{ cursor: 'pointer' }} extra={<Typography.Text strong>{formatMeasure(c.actual, measure, lang)}</Typography.Text>}>
                          <List.Item.Meta title={nodeName(c, t)} description={`${t('progress.runRate')}：${formatMeasure(c.forecast?.runRate, measure, lang)}`} />
                        </List.Item>
                      )}
                    />
                  ) : (
                    <Table<ProgressRow>
                      size="small"
                      rowKey={nodeId}
                      dataSource={children}
                      pagination={false}
                      scroll={{ x: 'max-content' }}
                      onRow={(c) => ({ onClick: () => set({ node: nodeId(c) }), className: 'row-clickable' })}
                      data-testid="progress-children"
                      columns={[
                        {
                          key: 'name',
                          title: t('progress.name'),
                          render: (_: unknown, c) => (
                            <Space size={6}>
                              <Tag color={KIND_COLORS[c.node.kind]}>{t(`progress.kind.${c.node.kind}`)}</Tag>
                              <a>{nodeName(c, t)}</a>
                            </Space>
                          ),
                        },
                        { key: 'target', title: t('progress.target'), align: 'right', render: (_: unknown, c) => (c.target === null ? <Typography.Text type="secondary">{noTarget}</Typography.Text> : formatMeasure(c.target, measure, lang)) },
                        { key: 'actual', title: t('progress.actual'), align: 'right', sorter: (a, b) => (a.actual ?? 0) - (b.actual ?? 0), render: (_: unknown, c) => formatMeasure(c.actual, measure, lang) },
                        { key: 'runRate', title: t('progress.runRate'), align: 'right', render: (_: unknown, c) => formatMeasure(c.forecast?.runRate, measure, lang) },
                        { key: 'weighted', title: t('progress.weighted'), align: 'right', render: (_: unknown, c) => formatMeasure(c.forecast?.weighted, measure, lang) },
                        { key: 'attainment', title: t('progress.attainment'), align: 'right', render: (_: unknown, c) => (c.attainment === null ? <Typography.Text type="secondary">{noTarget}</Typography.Text> : pct(c.attainment)) },
                      ]}
                    />
                  )}
                </Card>
              </Col>
              <Col xs={24} lg={12}>
                <Card size="small" title={t('progress.chart')}>
                  <Suspense fallback={<Spin style={{ display: 'block', margin: '64px auto' }} />}>
                    <EChart option={chart} height={mobile ? 240 : 300} onClick={({ dataIndex }) => children[dataIndex] && set({ node: nodeId(children[dataIndex]) })} data-testid="progress-chart" />
                  </Suspense>
                </Card>
              </Col>
            </Row>
          )}
        </>
      )}

      {drill && <RecordsDrawer open onClose={() => setDrill(null)} metric={metric} period={period} node={drill.node} measure={measure} title={drill.title} />}
    </div>
  );
}
