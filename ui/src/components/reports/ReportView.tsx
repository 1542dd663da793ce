// Renders a report result (GET /reports/{key}/run, /reports/builtin/{name}): a chart drawn from
// the result's chart hint with ECharts, and a table whose cells follow the column types — money
// arrives in 分 and is shown in 元, percent is a ratio.
import { lazy, Suspense, useMemo } from 'react';
import { Empty, Spin, Table, Typography } from 'antd';
import type { ReportColumn, ReportResult } from '../../api/types.ts';
import { loc, useI18n, type Lang } from '../../i18n/index.tsx';

const EChart = lazy(() => import('../EChart.tsx'));

/** cellNumber is a cell as a plain number for charts (money in 元). */
export function cellNumber(c: ReportColumn | undefined, v: unknown): number | null {
  if (typeof v !== 'number') return null;
  if (c?.type === 'money') return v / 100;
  if (c?.type === 'percent') return Math.round(v * 10000) / 100;
  return v;
}

/** formatCell shows a cell for people. */
export function formatCell(c: ReportColumn, v: unknown, lang: Lang): string {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'number') {
    if (c.type === 'money') return (v / 100).toLocaleString(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    if (c.type === 'percent') return `${(v * 100).toFixed(1)}%`;
    return v.toLocaleString(lang, { maximumFractionDigits: 2 });
  }
  return String(v);
}

export function ReportChart({ result, height = 320 }: { result: ReportResult; height?: number }) {
  const { lang } = useI18n();
  const option = useMemo(() => {
    const hint = result.chart;
    const col = (k?: string) => result.columns.find((c) => c.key === k);
    const x = col(hint.x) ?? result.columns.find((c) => c.role === 'dimension');
    const ys = (hint.y?.length ? hint.y : result.columns.filter((c) => c.role === 'measure').slice(0, 1).map((c) => c.key)).map(col).filter(Boolean) as ReportColumn[];
    const name = (c: ReportColumn) => loc(c.label, lang) ?? c.key;
    if (!x || ys.length === 0) return null;
    if (hint.type === 'funnel' || hint.type === 'pie') {
      const y = ys[0];
      return {
        tooltip: { trigger: 'item' },
        series: [
          hint.type === 'funnel'
            ? { type: 'funnel', sort: 'none', left: '8%', width: '84%', label: { show: true, position: 'inside' }, data: result.rows.map((r) => ({ name: String(r[x.key] ?? '—'), value: cellNumber(y, r[y.key]) })) }
            : { type: 'pie', radius: ['35%', '70%'], data: result.rows.map((r) => ({ name: String(r[x.key] ?? '—'), value: cellNumber(y, r[y.key]) })) },
        ],
      };
    }
    if (hint.type === 'gauge') {
      const y = ys[0];
      const v = cellNumber(y, result.totals[y.key]) ?? 0;
      return { series: [{ type: 'gauge', detail: { formatter: y.type === 'percent' ? '{value}%' : '{value}' }, data: [{ value: v, name: name(y) }] }] };
    }
    const series = ys.map((y) => ({
      name: name(y),
      type: hint.type === 'line' ? 'line' : 'bar',
      data: result.rows.map((r) => cellNumber(y, r[y.key])),
      connectNulls: false,
    }));
    return {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 60, right: 16, top: 32, bottom: 40 },
      xAxis: { type: 'category', data: result.rows.map((r) => String(r[x.key] ?? '—')) },
      yAxis: { type: 'value' },
      series,
    };
  }, [result, lang]);
  if (!option || result.chart.type === 'table') return null;
  return (
    <Suspense fallback={<Spin />}>
      <EChart option={option} height={height} data-testid="report-chart" />
    </Suspense>
  );
}

export function ReportTable({ result }: { result: ReportResult }) {
  const { lang, t } = useI18n();
  const columns = result.columns.map((c) => ({
    key: c.key,
    dataIndex: c.key,
    title: loc(c.label, lang) ?? c.key,
    align: c.role === 'measure' ? ('right' as const) : undefined,
    render: (v: unknown) => formatCell(c, v, lang),
  }));
  const hasDims = result.columns.some((c) => c.role === 'dimension');
  return (
    <Table
      size="small"
      data-testid="report-table"
      rowKey={(_, i) => String(i)}
      columns={columns}
      dataSource={result.rows}
      pagination={result.rows.length > 50 ? { pageSize: 50 } : false}
      scroll={{ x: true }}
      locale={{ emptyText: <Empty description={t('reports.empty')} /> }}
      summary={() =>
        hasDims && result.rows.length > 1 ? (
          <Table.Summary.Row>
            {result.columns.map((c, i) => (
              <Table.Summary.Cell key={c.key} index={i} align={c.role === 'measure' ? 'right' : undefined}>
                <Typography.Text strong data-testid={`report-total-${c.key}`}>
                  {i === 0 ? t('reports.total') : c.role === 'measure' ? formatCell(c, result.totals[c.key], lang) : ''}
                </Typography.Text>
              </Table.Summary.Cell>
            ))}
          </Table.Summary.Row>
        ) : null
      }
    />
  );
}

export default function ReportView({ result }: { result: ReportResult }) {
  return (
    <div>
      <ReportChart result={result} />
      <ReportTable result={result} />
    </div>
  );
}
