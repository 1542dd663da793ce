// Funnel of one pipeline for a period (GET /pipelines/{key}/funnel): how many records entered
// each stage, the conversion to the next, average and median days spent; and the stuck deals
// (GET /pipelines/{key}/stuck), oldest first, linking to the records.
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { Alert, Breadcrumb, Button, Card, Col, Empty, Grid, List, Row, Segmented, Space, Spin, Table, Tag, Typography } from 'antd';
import { AppstoreOutlined, LeftOutlined, ReloadOutlined, RightOutlined } from '@ant-design/icons';
import { api, enc } from '../api/client.ts';
import type { FunnelResponse, FunnelStage, PipelineDefinition, StuckItem } from '../api/types.ts';
import { loc, useI18n, type Lang } from '../i18n/index.tsx';
import { fetchPublishedPipeline, useObjects } from '../objects.tsx';
import { periodKey, periodKind, periodRange, shiftPeriod, type PeriodKind } from '../lib/period.ts';
import { formatDateTime } from '../lib/definition.ts';
import { problemText } from '../lib/problem.ts';
import { LoadError } from '../components/PageState.tsx';
import { FullPageSpin } from '../components/FullPageSpin.tsx';

const EChart = lazy(() => import('../components/EChart.tsx'));

const days = (v: number | null | undefined, lang: Lang) => (v === null || v === undefined ? '—' : v.toLocaleString(lang, { maximumFractionDigits: 1 }));
const pct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`);

export default function PipelineFunnelPage() {
  const { key = '' } = useParams();
  const { t, lang } = useI18n();
  const screens = Grid.useBreakpoint();
  const mobile = !screens.md;
  const [params, setParams] = useSearchParams();
  const { pipelines } = useObjects();
  const summary = pipelines.find((p) => p.key === key);
  const [pipe, setPipe] = useState<PipelineDefinition | null>(null);
  const [funnel, setFunnel] = useState<FunnelResponse | null>(null);
  const [stuck, setStuck] = useState<StuckItem[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [stuckError, setStuckError] = useState<unknown>(null);

  const period = params.get('period') || periodKey('quarter');
  const kind: PeriodKind = periodKind(period) ?? 'quarter';

  useEffect(() => {
    fetchPublishedPipeline(key, summary?.publishedVersion).then(
      (e) => setPipe(e.definition),
      () => setPipe(null),
    );
  }, [key, summary?.publishedVersion]);

  const load = useCallback(async () => {
    setError(null);
    setStuckError(null);
    setFunnel(null);
    await Promise.all([
      api.get<FunnelResponse>(`pipelines/${enc(key)}/funnel`, { query: { period } }).then(setFunnel, setError),
      api.get<{ items: StuckItem[] }>(`pipelines/${enc(key)}/stuck`).then((r) => setStuck(r.items ?? []), setStuckError),
    ]);
  }, [key, period]);
  useEffect(() => {
    void load();
  }, [load]);

  const stageName = useCallback(
    (s: string, label?: FunnelStage['label']) => loc(label, lang) ?? loc(pipe?.stages.find((x) => x.key === s)?.label, lang) ?? s,
    [pipe, lang],
  );

  const chart = useMemo(() => {
    const stages = (funnel?.stages ?? []).filter((s) => s.terminal !== 'lost');
    return {
      tooltip: { trigger: 'item', formatter: (p: { name: string; value: number; dataIndex: number }) => `${p.name}<br/>${t('funnel.entered')}: ${p.value}<br/>${t('funnel.conversion')}: ${pct(stages[p.dataIndex]?.conversion)}` },
      series: [
        {
          type: 'funnel',
          sort: 'none',
          left: '8%',
          width: '84%',
          top: 8,
          bottom: 8,
          minSize: '12%',
          gap: 2,
          label: { show: true, position: 'inside', formatter: (p: { name: string; value: number; dataIndex: number }) => `${p.name}  ${p.value}${stages[p.dataIndex]?.conversion != null ? `  →${pct(stages[p.dataIndex].conversion)}` : ''}` },
          data: stages.map((s) => ({ name: stageName(s.stage, s.label), value: s.entered })),
          color: ['#2f54eb', '#4d6ef5', '#6c8af7', '#8ea7fa', '#52c41a', '#b7eb8f'],
        },
      ],
    };
  }, [funnel, stageName, t]);

  if (error && !funnel) return <LoadError error={error} onRetry={() => void load()} />;

  const title = loc(pipe?.label, lang) ?? key;
  const object = pipe?.object;

  return (
    <div>
      <Breadcrumb style={{ marginBottom: 8 }} items={[{ title: <Link to={`/pipelines/${enc(key)}/board`}>{title}</Link> }, { title: t('funnel.title') }]} />
      <div className="page-header">
        <h1>
          {title} · {t('funnel.title')}
        </h1>
        <Space wrap>
          <Segmented<PeriodKind>
            value={kind}
            onChange={(k) => setParams({ period: periodKey(k) })}
            options={[
              { value: 'month', label: t('progress.month') },
              { value: 'quarter', label: t('progress.quarter') },
              { value: 'year', label: t('progress.year') },
            ]}
          />
          <Space.Compact>
            <Button icon={<LeftOutlined />} onClick={() => setParams({ period: shiftPeriod(period, -1) })} aria-label={t('progress.prev')} />
            <Button onClick={() => setParams({ period: periodKey(kind) })}>{period}</Button>
            <Button icon={<RightOutlined />} onClick={() => setParams({ period: shiftPeriod(period, 1) })} aria-label={t('progress.next')} />
          </Space.Compact>
          <Button icon={<ReloadOutlined />} onClick={() => void load()} aria-label={t('common.reload')} />
          <Link to={`/pipelines/${enc(key)}/board`}>
            <Button icon={<AppstoreOutlined />}>{t('board.title')}</Button>
          </Link>
        </Space>
      </div>

      {!funnel ? (
        <FullPageSpin />
      ) : (
        <Row gutter={[12, 12]}>
          <Col xs={24} lg={12}>
            <Card size="small" title={t('funnel.chart', { period: funnel.period?.key ?? period })} extra={funnel.period && <Typography.Text type="secondary">{periodRange(funnel.period.start, funnel.period.end)}</Typography.Text>}>
              {funnel.stages.every((s) => s.entered === 0) ? (
                <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('funnel.empty')} />
              ) : (
                <Suspense fallback={<Spin style={{ display: 'block', margin: '64px auto' }} />}>
                  <EChart option={chart} height={mobile ? 260 : 320} data-testid="funnel-chart" />
                </Suspense>
              )}
            </Card>
          </Col>
          <Col xs={24} lg={12}>
            <Card size="small" title={t('funnel.table')}>
              <Table<FunnelStage>
                size="small"
                rowKey="stage"
                dataSource={funnel.stages}
                pagination={false}
                scroll={{ x: 'max-content' }}
                data-testid="funnel-table"
                columns={[
                  {
                    key: 'stage',
                    title: t('funnel.stage'),
                    render: (_: unknown, s) => (
                      <Space size={4}>
                        {stageName(s.stage, s.label)}
                        {s.terminal === 'won' && <Tag color="green">{t('board.terminalWon')}</Tag>}
                        {s.terminal === 'lost' && <Tag color="red">{t('board.terminalLost')}</Tag>}
                      </Space>
                    ),
                  },
                  { key: 'entered', title: t('funnel.entered'), dataIndex: 'entered', align: 'right' },
                  { key: 'conversion', title: t('funnel.conversion'), align: 'right', render: (_: unknown, s) => pct(s.conversion) },
                  { key: 'avg', title: t('funnel.avgDays'), align: 'right', render: (_: unknown, s) => days(s.avgDays, lang) },
                  { key: 'median', title: t('funnel.medianDays'), align: 'right', render: (_: unknown, s) => days(s.medianDays, lang) },
                ]}
              />
            </Card>
          </Col>
          <Col span={24}>
            <Card size="small" title={t('funnel.stuck')} extra={<Typography.Text type="secondary">{t('funnel.stuckHint')}</Typography.Text>}>
              {stuckError != null && <Alert type="error" showIcon title={problemText(stuckError, t)} />}
              {stuck && (
                <List
                  size="small"
                  dataSource={stuck}
                  data-testid="stuck-list"
                  locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('funnel.noStuck')} /> }}
                  renderItem={(s) => (
                    <List.Item
                      key={s.id}
                      extra={
                        <Tag color="red">
                          {t('funnel.stuckDays', { days: s.days })}
                          {typeof s.slaDays === 'number' && ` / SLA ${s.slaDays}`}
                        </Tag>
                      }
                    >
                      <List.Item.Meta
                        title={object ? <Link to={`/records/${enc(object)}/${enc(s.id)}`}>{s.title || s.id}</Link> : s.title || s.id}
                        description={
                          <Space size={12} wrap>
                            <Tag>{stageName(s.stage)}</Tag>
                            {s.owner && <span>{s.owner}</span>}
                            <span>{t('funnel.enteredAt', { at: formatDateTime(s.enteredAt) })}</span>
                          </Space>
                        }
                      />
                    </List.Item>
                  )}
                />
              )}
            </Card>
          </Col>
        </Row>
      )}
    </div>
  );
}
