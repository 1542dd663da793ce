// Reports (报表): the built-in reports and the tenant's defined reports, run for a period and an
// org node, drawn as the result's chart hint with ECharts and a typed table, exported as CSV or
// XLSX (GET /reports/builtin/{name}, /reports/{key}/run, ?format=csv|xlsx).
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { Alert, App as AntApp, Button, Card, Col, Input, List, Row, Segmented, Select, Space, Spin, Tag, Typography } from 'antd';
import { DownloadOutlined, LeftOutlined, PlayCircleOutlined, RightOutlined } from '@ant-design/icons';
import { api, enc } from '../api/client.ts';
import type { ReportBuiltin, ReportResult } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { useObjects } from '../objects.tsx';
import { periodKey, periodKind, shiftPeriod, type PeriodKind } from '../lib/period.ts';
import { problemText } from '../lib/problem.ts';
import ReportView from '../components/reports/ReportView.tsx';
import { downloadExport } from '../components/reports/download.ts';

interface ConfigItem {
  key: string;
  label?: Record<string, string>;
  status: string;
  publishedVersion: number;
}
interface Team {
  id: string;
  name: string;
}

export default function ReportsPage() {
  const { t, lang } = useI18n();
  const { message } = AntApp.useApp();
  const { pipelines } = useObjects();
  const [params, setParams] = useSearchParams();
  const [builtins, setBuiltins] = useState<ReportBuiltin[]>([]);
  const [defined, setDefined] = useState<ConfigItem[]>([]);
  const [metrics, setMetrics] = useState<ConfigItem[]>([]);
  const [teams, setTeams] = useState<Team[]>([]);
  const [result, setResult] = useState<ReportResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);

  const sel = params.get('report') ?? 'builtin:attainment';
  const period = params.get('period') || periodKey('quarter');
  const kind: PeriodKind = periodKind(period) ?? 'quarter';
  const node = params.get('node') ?? '';
  const metric = params.get('metric') ?? '';
  const pipeline = params.get('pipeline') ?? '';
  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next);
  };

  useEffect(() => {
    api.get<{ items: ReportBuiltin[] }>('reports/builtin').then((r) => setBuiltins(r.items), setError);
    api.get<{ items: ConfigItem[] }>('reports').then((r) => setDefined(r.items ?? []), () => setDefined([]));
    api.get<{ items: ConfigItem[] }>('metrics').then((r) => setMetrics((r.items ?? []).filter((m) => m.publishedVersion > 0)), () => setMetrics([]));
    api.get<{ items: Team[] }>('teams').then((r) => setTeams(r.items ?? []), () => setTeams([]));
  }, []);

  const builtin = sel.startsWith('builtin:') ? builtins.find((b) => b.name === sel.slice(8)) : undefined;
  const needs = (p: string) => builtin?.params.includes(p) ?? false;
  const effMetric = metric || (needs('metric') ? metrics[0]?.key ?? '' : '');
  const publishedPipes = pipelines.filter((p) => (p.publishedVersion ?? 0) > 0);
  const effPipeline = pipeline || (needs('pipeline') ? publishedPipes[0]?.key ?? '' : '');

  const target = useMemo(() => {
    if (sel.startsWith('builtin:')) {
      return { path: `reports/builtin/${enc(sel.slice(8))}`, query: { period, node, metric: needs('metric') ? effMetric : undefined, pipeline: needs('pipeline') ? effPipeline : undefined } };
    }
    return { path: `reports/${enc(sel.slice(7))}/run`, query: { period, node } };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sel, period, node, effMetric, effPipeline, builtin]);

  const run = useCallback(async () => {
    if (sel.startsWith('builtin:') && !builtin) return;
    setLoading(true);
    setError(null);
    try {
      setResult(await api.get<ReportResult>(target.path, { query: target.query }));
    } catch (e) {
      setResult(null);
      setError(e);
    } finally {
      setLoading(false);
    }
  }, [target, sel, builtin]);
  useEffect(() => {
    void run();
  }, [run]);

  const exportAs = async (format: 'csv' | 'xlsx') => {
    try {
      await downloadExport(target.path, { ...target.query, format } as Record<string, string | undefined>, `report.${format}`);
    } catch (e) {
      message.error(problemText(e, t));
    }
  };

  const items = [
    ...builtins.map((b) => ({ id: `builtin:${b.name}`, label: loc(b.label, lang) ?? b.name, tag: t('reports.builtin') })),
    ...defined.filter((d) => d.publishedVersion > 0).map((d) => ({ id: `report:${d.key}`, label: loc(d.label, lang) ?? d.key, tag: t('reports.defined') })),
  ];

  return (
    <div>
      <div className="page-header">
        <h1>{t('reports.title')}</h1>
        <Link to="/reports/reviews">
          <Button>{t('reports.reviews')}</Button>
        </Link>
      </div>
      <Row gutter={16}>
        <Col xs={24} md={6}>
          <Card size="small" title={t('reports.list')}>
            <List
              size="small"
              dataSource={items}
              renderItem={(it) => (
                <List.Item
                  data-testid={`report-item-${it.id}`}
                  onClick={() => set('report', it.id)}
                  style={{ cursor: 'pointer', background: it.id === sel ? 'rgba(47,84,235,0.08)' : undefined, paddingInline: 8 }}
                >
                  <Space>
                    <span>{it.label}</span>
                    <Tag>{it.tag}</Tag>
                  </Space>
                </List.Item>
              )}
            />
          </Card>
        </Col>
        <Col xs={24} md={18}>
          <Card
            size="small"
            title={items.find((i) => i.id === sel)?.label ?? sel}
            extra={
              <Space wrap>
                <Button icon={<DownloadOutlined />} onClick={() => void exportAs('csv')} data-testid="export-csv">
                  CSV
                </Button>
                <Button icon={<DownloadOutlined />} onClick={() => void exportAs('xlsx')} data-testid="export-xlsx">
                  Excel
                </Button>
              </Space>
            }
          >
            <Space wrap style={{ marginBottom: 12 }}>
              <Segmented<PeriodKind>
                value={kind}
                onChange={(k) => set('period', periodKey(k))}
                options={[
                  { value: 'month', label: t('progress.month') },
                  { value: 'quarter', label: t('progress.quarter') },
                  { value: 'year', label: t('progress.year') },
                ]}
              />
              <Space.Compact>
                <Button icon={<LeftOutlined />} onClick={() => set('period', shiftPeriod(period, -1))} aria-label={t('progress.prev')} />
                <Input value={period} onChange={(e) => set('period', e.target.value)} style={{ width: 110 }} data-testid="report-period" />
                <Button icon={<RightOutlined />} onClick={() => set('period', shiftPeriod(period, 1))} aria-label={t('progress.next')} />
              </Space.Compact>
              <Select
                style={{ minWidth: 160 }}
                value={node}
                onChange={(v) => set('node', v)}
                data-testid="report-node"
                options={[
                  { value: '', label: t('reports.nodeDefault') },
                  { value: 'company', label: t('reports.company') },
                  ...teams.map((tm) => ({ value: `team:${tm.id}`, label: tm.name })),
                ]}
              />
              {needs('metric') && (
                <Select
                  style={{ minWidth: 160 }}
                  value={effMetric}
                  onChange={(v) => set('metric', v)}
                  data-testid="report-metric"
                  options={metrics.map((m) => ({ value: m.key, label: loc(m.label, lang) ?? m.key }))}
                />
              )}
              {needs('pipeline') && (
                <Select
                  style={{ minWidth: 160 }}
                  value={effPipeline}
                  onChange={(v) => set('pipeline', v)}
                  options={publishedPipes.map((p) => ({ value: p.key, label: loc(p.label, lang) ?? p.key }))}
                />
              )}
              <Button icon={<PlayCircleOutlined />} type="primary" onClick={() => void run()} data-testid="report-run">
                {t('reports.run')}
              </Button>
            </Space>
            {error ? <Alert type="error" showIcon message={problemText(error, t)} style={{ marginBottom: 12 }} /> : null}
            {loading && !result ? <Spin /> : null}
            {result ? <ReportView result={result} /> : null}
            {result ? (
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {t('reports.scanned', { n: result.scanned, groups: result.groups })}
              </Typography.Text>
            ) : null}
          </Card>
        </Col>
      </Row>
    </div>
  );
}
