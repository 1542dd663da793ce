// The gallery's preview drawer: what a built-in template contains (GET /templates/{name}) —
// objects with their labels and fields, each pipeline's stages in order, metrics, and the
// target plan skeletons — so an admin knows what an install brings before the dry run.
import { Fragment, useEffect, useState, type ReactNode } from 'react';
import { Button, Descriptions, Drawer, Empty, Grid, List, Space, Spin, Table, Tag, Typography } from 'antd';
import { ArrowRightOutlined, DownloadOutlined } from '@ant-design/icons';
import { api, enc } from '../../api/client.ts';
import type { MetricDefinition, ObjectDefinition, TemplateBundle } from '../../api/types.ts';
import { loc, useI18n, type Lang } from '../../i18n/index.tsx';
import { fieldLabel, fieldOrder } from '../../lib/definition.ts';
import { formatMoney, wan } from '../../lib/money.ts';
import { downloadJSON, isMoneyField, OTHER_SECTIONS, safeFileName, tr } from '../../lib/templates.ts';
import { InlineError } from '../PageState.tsx';

const MAX_FIELD_TAGS = 14;

interface Props {
  /** name is the template to preview; the drawer is open while it is set. */
  name: string | null;
  onClose: () => void;
  /** onInstall, when given (admins), adds an install button. */
  onInstall?: (name: string, bundle: TemplateBundle) => void;
}

function Section({ title, count, children, testId }: { title: string; count?: number; children: ReactNode; testId: string }) {
  return (
    <section data-testid={testId} style={{ marginBottom: 24 }}>
      <Typography.Title level={5} style={{ marginTop: 0 }}>
        {title}
        {count !== undefined && <Typography.Text type="secondary"> · {count}</Typography.Text>}
      </Typography.Title>
      {children}
    </section>
  );
}

/** amountText shows a plan amount in its metric's unit: money (分) as 万元 in Chinese, else plain. */
function amountText(v: unknown, money: boolean, lang: Lang): string {
  if (typeof v !== 'number') return '—';
  if (!money) return v.toLocaleString(lang);
  return lang === 'zh-CN' ? `¥${wan(v)}万` : formatMoney(v);
}

export function TemplatePreview({ name, onClose, onInstall }: Props) {
  const { t, lang } = useI18n();
  const screens = Grid.useBreakpoint();
  const [bundle, setBundle] = useState<TemplateBundle | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    if (!name) return;
    let live = true;
    setBundle(null);
    setError(null);
    api
      .get<TemplateBundle>(`templates/${enc(name)}`)
      .then((b) => live && setBundle(b))
      .catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [name]);

  const objects = bundle?.objects ?? [];
  const objectOf = (key: string | undefined): ObjectDefinition | undefined => objects.find((o) => o.key === key);
  const objectName = (key: string | undefined) => loc(objectOf(key)?.label, lang) ?? key ?? '—';
  const metrics = bundle?.metrics ?? [];
  const metricOf = (key: unknown) => metrics.find((m) => m.key === key);
  const metricIsMoney = (m: MetricDefinition | undefined) => !!m && (m.unit === 'money' || isMoneyField(objectOf(m.object), m.value));

  const howMetric = (m: MetricDefinition) => {
    const derived = m.derived as { formula?: string } | undefined;
    if (derived?.formula) return t('templates.preview.derived', { formula: derived.formula });
    if (m.value) return t('templates.preview.sum', { field: fieldLabel(objectOf(m.object), m.value, lang) });
    return t('templates.preview.count');
  };

  const label = bundle ? (loc(bundle.metadata.label, lang) ?? bundle.metadata.name) : (name ?? '');
  const others = bundle
    ? OTHER_SECTIONS.flatMap((s) => {
        const v = bundle[s];
        if (v == null) return [];
        const n = Array.isArray(v) ? v.length : Object.keys(v as object).length;
        return n > 0 ? [{ s, n: Array.isArray(v) ? n : undefined }] : [];
      })
    : [];

  return (
    <Drawer
      open={!!name}
      onClose={onClose}
      title={t('templates.preview.title', { label })}
      size={screens.md ? 720 : '100%'}
      destroyOnHidden
      data-testid="template-preview"
      extra={
        bundle && (
          <Space>
            <Button icon={<DownloadOutlined />} onClick={() => downloadJSON(bundle, `${safeFileName(bundle.metadata.name)}.template.json`)} aria-label="JSON" title="JSON">
              {screens.sm ? 'JSON' : null}
            </Button>
            {onInstall && name && (
              <Button type="primary" onClick={() => onInstall(name, bundle)} data-testid="preview-install">
                {t('templates.install')}
              </Button>
            )}
          </Space>
        )
      }
    >
      {error != null && <InlineError error={error} />}
      {!bundle && error == null && <Spin style={{ display: 'block', margin: '48px auto' }} />}
      {bundle && (
        <>
          {bundle.metadata.description && (
            <Typography.Paragraph type="secondary" style={{ marginTop: 0 }}>
              {loc(bundle.metadata.description, lang)}
            </Typography.Paragraph>
          )}

          <Section title={t('templates.count.objects')} count={objects.length} testId="preview-objects">
            {objects.length === 0 ? (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} />
            ) : (
              <List
                size="small"
                bordered
                dataSource={objects}
                renderItem={(o) => {
                  const fields = fieldOrder(o);
                  return (
                    <List.Item data-testid={`preview-object-${o.key}`}>
                      <div style={{ minWidth: 0, width: '100%' }}>
                        <Space size={6} wrap>
                          <Typography.Text strong>{loc(o.label, lang) ?? o.key}</Typography.Text>
                          <Typography.Text code>{o.key}</Typography.Text>
                          <Typography.Text type="secondary">{t('templates.preview.fields', { count: fields.length })}</Typography.Text>
                        </Space>
                        <div style={{ marginTop: 4 }}>
                          {fields.slice(0, MAX_FIELD_TAGS).map((f) => (
                            <Tag key={f} bordered={false} style={{ marginBottom: 4 }}>
                              {fieldLabel(o, f, lang)}
                            </Tag>
                          ))}
                          {fields.length > MAX_FIELD_TAGS && <Typography.Text type="secondary">…</Typography.Text>}
                        </div>
                      </div>
                    </List.Item>
                  );
                }}
              />
            )}
          </Section>

          <Section title={t('templates.count.pipelines')} count={bundle.pipelines?.length ?? 0} testId="preview-pipelines">
            {(bundle.pipelines ?? []).length === 0 && <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} />}
            {(bundle.pipelines ?? []).map((p) => (
              <div key={p.key} data-testid={`preview-pipeline-${p.key}`} style={{ border: '1px solid #f0f0f0', borderRadius: 6, padding: 12, marginBottom: 8 }}>
                <Space size={6} wrap style={{ marginBottom: 8 }}>
                  <Typography.Text strong>{loc(p.label, lang) ?? p.key}</Typography.Text>
                  <Typography.Text code>{p.key}</Typography.Text>
                  <Typography.Text type="secondary">
                    {t('templates.preview.object')}：{objectName(p.object)}
                  </Typography.Text>
                </Space>
                <div style={{ display: 'flex', flexWrap: 'wrap', alignItems: 'center', gap: 4 }}>
                  {p.stages.map((s, i) => (
                    <Fragment key={s.key}>
                      {i > 0 && <ArrowRightOutlined style={{ color: 'rgba(0,0,0,0.3)', fontSize: 11 }} />}
                      <Tag
                        color={s.terminal === 'won' ? 'green' : s.terminal === 'lost' ? 'red' : 'blue'}
                        style={{ marginInlineEnd: 0 }}
                        data-testid={`preview-stage-${p.key}-${s.key}`}
                        title={s.probability !== undefined ? `${s.probability}%` : undefined}
                      >
                        {i + 1}. {loc(s.label, lang) ?? s.key}
                        {s.probability !== undefined && !s.terminal && <span style={{ opacity: 0.65 }}> {s.probability}%</span>}
                      </Tag>
                    </Fragment>
                  ))}
                </div>
              </div>
            ))}
          </Section>

          <Section title={t('templates.count.metrics')} count={metrics.length} testId="preview-metrics">
            <Table<MetricDefinition>
              size="small"
              rowKey="key"
              dataSource={metrics}
              pagination={false}
              scroll={{ x: 'max-content' }}
              columns={[
                {
                  key: 'label',
                  title: t('objects.label'),
                  render: (_: unknown, m) => (
                    <span>
                      {loc(m.label, lang) ?? m.key} <Typography.Text type="secondary" code>{m.key}</Typography.Text>
                    </span>
                  ),
                },
                { key: 'object', title: t('templates.preview.object'), render: (_: unknown, m) => (m.object ? objectName(m.object) : '—') },
                {
                  key: 'how',
                  title: t('templates.preview.value'),
                  render: (_: unknown, m) => (
                    <div>
                      <div>{howMetric(m)}</div>
                      {m.where && (
                        <Typography.Text type="secondary" className="mono" style={{ fontSize: 12 }}>
                          {t('templates.preview.where', { where: m.where })}
                        </Typography.Text>
                      )}
                    </div>
                  ),
                },
              ]}
            />
          </Section>

          <Section title={t('templates.count.targetPlans')} count={bundle.targetPlans?.length ?? 0} testId="preview-plans">
            {(bundle.targetPlans ?? []).length > 0 && (
              <Typography.Paragraph type="secondary" style={{ fontSize: 12 }}>
                {t('templates.preview.skeleton')}
              </Typography.Paragraph>
            )}
            {(bundle.targetPlans ?? []).map((p) => {
              const d = p.definition as {
                label?: Record<string, string>;
                metric?: string;
                amounts?: Record<string, number>;
                allocation?: { formula?: string; levels?: { depth: number; formula: string }[] };
                seasonality?: { source?: string };
                org?: { root?: string };
              };
              const m = metricOf(d.metric);
              const money = metricIsMoney(m);
              const off = p.yearOffset ?? 0;
              return (
                <Descriptions
                  key={p.key}
                  data-testid={`preview-plan-${p.key}`}
                  size="small"
                  bordered
                  column={1}
                  style={{ marginBottom: 12 }}
                  title={
                    <Space size={6}>
                      <span>{loc(d.label, lang) ?? p.key}</span>
                      <Typography.Text code>{p.key}</Typography.Text>
                    </Space>
                  }
                  items={[
                    { key: 'metric', label: t('templates.count.metrics'), children: m ? (loc(m.label, lang) ?? m.key) : (d.metric ?? '—') },
                    { key: 'year', label: t('templates.preview.year'), children: off === 0 ? t('templates.preview.yearCurrent') : t('templates.preview.yearOffset', { offset: off > 0 ? `+${off}` : off }) },
                    ...(['floor', 'target', 'stretch'] as const)
                      .filter((lv) => d.amounts?.[lv] !== undefined)
                      .map((lv) => ({ key: lv, label: t(`targets.level.${lv}`), children: amountText(d.amounts?.[lv], money, lang) })),
                    {
                      key: 'formula',
                      label: t('templates.preview.formula'),
                      children: (
                        <div className="mono" style={{ fontSize: 12 }}>
                          {d.allocation?.formula && <div>{d.allocation.formula}</div>}
                          {(d.allocation?.levels ?? []).map((l) => (
                            <div key={l.depth}>{t('templates.preview.depthFormula', { depth: l.depth, formula: l.formula })}</div>
                          ))}
                          {!d.allocation?.formula && !(d.allocation?.levels ?? []).length && '—'}
                        </div>
                      ),
                    },
                    ...(d.seasonality?.source ? [{ key: 'season', label: t('targets.editor.seasonality'), children: d.seasonality.source }] : []),
                    ...(d.org?.root ? [{ key: 'org', label: t('templates.preview.org'), children: d.org.root }] : []),
                  ]}
                />
              );
            })}
          </Section>

          {others.length > 0 && (
            <Section title={t('templates.preview.other')} testId="preview-other">
              <Space size={[4, 4]} wrap>
                {others.map(({ s, n }) => (
                  <Tag key={s}>
                    {tr(t, `templates.section.${s}`, s)}
                    {n !== undefined && ` ${n}`}
                  </Tag>
                ))}
              </Space>
            </Section>
          )}
        </>
      )}
    </Drawer>
  );
}
