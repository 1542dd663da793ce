// The plan editor's structured form: basics, credited records, rate rules (constant / tier /
// marginal / expr, tables edited as rows with sorted thresholds and rates ≥ 0 checked as typed),
// caps, SPIFs, quota bonuses, team bonuses and clawback. Every field shows the errors whose JSON
// pointer names it — from the live check (POST /commission-plans/{key}/check) or a save's 422 —
// and formula errors come with line, column, caret snippet and hint.
import { useEffect, useState, type ReactNode } from 'react';
import { Button, Card, Col, Form, Input, InputNumber, Row, Select, Space, Switch, Table, Tooltip, Typography } from 'antd';
import { ArrowDownOutlined, ArrowUpOutlined, DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import type { CommissionPlanDefinition, CommissionQuotaBonus, CommissionRate, CommissionRateKind, CommissionRule, CommissionSpif, CommissionTeamBonus, CommissionText, ObjectSummary, ProblemError, ConfigSummary } from '../../api/types.ts';
import { loc, useI18n } from '../../i18n/index.tsx';
import type { MsgKey } from '../../i18n/messages.ts';
import { fenToYuanString, yuanStringToFen } from '../../lib/money.ts';
import { fromPercent, toPercent } from './common.tsx';

export type Path = (string | number)[];
export type SetAt = (path: Path, value: unknown) => void;

/** pointerOf turns a path into a JSON pointer. */
export const pointerOf = (path: Path) => '/' + path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** fieldId is the DOM id of the field a pointer names (for jumping to it). */
export const fieldId = (ptr: string) => `cf${ptr.replace(/[^\w]/g, '_')}`;

interface Ctx {
  set: SetAt;
  errs: (ptr: string) => ProblemError[];
}

function ErrorList({ errors }: { errors: ProblemError[] }) {
  const { t } = useI18n();
  return (
    <div className="comm-formula-error" data-testid="field-error">
      {errors.map((e, i) => (
        <div key={i}>
          <span>{e.message}</span>
          {e.line != null && e.column != null && <Typography.Text type="secondary"> （{t('editor.jsonPosition', { line: e.line, column: e.column })}）</Typography.Text>}
          {e.snippet && <pre>{e.snippet}</pre>}
          {e.hint && <div style={{ color: '#d48806' }}>{t('editor.hint', { hint: e.hint })}</div>}
        </div>
      ))}
    </div>
  );
}

/** Field is a labelled control showing the errors at its pointer. */
function Field({ ctx, path, label, help, children, required, span = 12 }: { ctx: Ctx; path: Path; label: ReactNode; help?: ReactNode; children: ReactNode; required?: boolean; span?: number }) {
  const ptr = pointerOf(path);
  const errors = ctx.errs(ptr);
  return (
    <Col xs={24} md={span}>
      <Form.Item
        label={label}
        required={required}
        id={fieldId(ptr)}
        data-pointer={ptr}
        validateStatus={errors.length ? 'error' : undefined}
        help={errors.length ? <ErrorList errors={errors} /> : help}
        style={{ marginBottom: 12 }}
      >
        {children}
      </Form.Item>
    </Col>
  );
}

function FormulaInput({ value, onChange, placeholder, testId }: { value?: string; onChange: (v: string | undefined) => void; placeholder?: string; testId?: string }) {
  return (
    <Input.TextArea
      className="mono"
      autoSize={{ minRows: 1, maxRows: 6 }}
      value={value ?? ''}
      placeholder={placeholder}
      spellCheck={false}
      onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)}
      data-testid={testId}
    />
  );
}

function PercentInput({ value, onChange, testId, status }: { value?: number; onChange: (v: number | undefined) => void; testId?: string; status?: 'error' }) {
  return <InputNumber value={toPercent(value)} onChange={(v) => onChange(fromPercent(v as number | null))} suffix="%" style={{ width: '100%' }} step={1} status={status} data-testid={testId} />;
}

/** MoneyInput edits fen as yuan text. */
function MoneyInput({ value, onChange, testId }: { value?: number; onChange: (v: number | undefined) => void; testId?: string }) {
  const [text, setText] = useState(value == null ? '' : fenToYuanString(value));
  useEffect(() => {
    const cur = yuanStringToFen(text);
    if (cur !== value) setText(value == null ? '' : fenToYuanString(value));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  return (
    <Input
      prefix="¥"
      value={text}
      inputMode="decimal"
      onChange={(e) => {
        setText(e.target.value);
        const f = yuanStringToFen(e.target.value);
        onChange(f === undefined || Number.isNaN(f) ? undefined : f);
      }}
      status={text !== '' && Number.isNaN(yuanStringToFen(text) as number) ? 'error' : undefined}
      data-testid={testId}
    />
  );
}

function NameInputs({ ctx, path, value }: { ctx: Ctx; path: Path; value?: CommissionText }) {
  const { t } = useI18n();
  const set = (lang: 'zh-CN' | 'en', v: string) => {
    const next = { ...(value ?? {}), [lang]: v || undefined };
    if (!next['zh-CN'] && !next.en) ctx.set(path, undefined);
    else ctx.set(path, JSON.parse(JSON.stringify(next)));
  };
  return (
    <>
      <Field ctx={ctx} path={[...path, 'zh-CN']} label={t('objects.labelZh')} span={6}>
        <Input value={value?.['zh-CN'] ?? ''} onChange={(e) => set('zh-CN', e.target.value)} />
      </Field>
      <Field ctx={ctx} path={[...path, 'en']} label={t('objects.labelEn')} span={6}>
        <Input value={value?.en ?? ''} onChange={(e) => set('en', e.target.value)} />
      </Field>
    </>
  );
}

/** tableProblems checks a rate table as typed: thresholds strictly ascending and ≥ 0, rates ≥ 0. */
export function tableProblems(rows: [number, number][] | undefined, t: (k: MsgKey) => string): Record<string, string> {
  const out: Record<string, string> = {};
  (rows ?? []).forEach(([th, rate], i) => {
    if (typeof th !== 'number' || !Number.isFinite(th)) out[`${i}/0`] = t('comm.table.thresholdRequired');
    else if (th < 0) out[`${i}/0`] = t('comm.table.thresholdNegative');
    else if (i > 0 && typeof rows![i - 1][0] === 'number' && th <= rows![i - 1][0]) out[`${i}/0`] = t('comm.table.unsorted');
    if (typeof rate !== 'number' || !Number.isFinite(rate)) out[`${i}/1`] = t('comm.table.rateRequired');
    else if (rate < 0) out[`${i}/1`] = t('comm.table.rateNegative');
  });
  return out;
}

function RateTable({ ctx, path, rate }: { ctx: Ctx; path: Path; rate: CommissionRate }) {
  const { t } = useI18n();
  const rows = rate.table ?? [];
  const asPercent = (rate.kind === 'tier' && !rate.on) || (rate.kind === 'marginal' && (rate.basis ?? 'quota') === 'quota');
  const local = tableProblems(rows, t);
  const ptr = pointerOf(path);
  const cellErr = (i: number, j: number) => [local[`${i}/${j}`], ...ctx.errs(`${ptr}/${i}/${j}`).map((e) => e.message), ...(j === 0 ? ctx.errs(`${ptr}/${i}`).map((e) => e.message) : [])].filter(Boolean) as string[];
  const setRows = (next: [number, number][]) => ctx.set(path, next);
  const tableErr = ctx.errs(ptr);
  return (
    <div id={fieldId(ptr)} data-testid={`table-${ptr}`}>
      <Table<[number, number]>
        size="small"
        pagination={false}
        rowKey={(_, i) => String(i)}
        dataSource={rows}
        columns={[
          {
            key: 'th',
            title: asPercent ? t('comm.table.thresholdPct') : rate.kind === 'tier' ? t('comm.table.thresholdValue') : t('comm.table.thresholdYuan'),
            render: (_: unknown, r, i) => {
              const e = cellErr(i, 0);
              return (
                <Tooltip title={e.join('；')} open={e.length ? undefined : false}>
                  <InputNumber
                    value={asPercent ? toPercent(r[0]) : r[0]}
                    status={e.length ? 'error' : undefined}
                    suffix={asPercent ? '%' : rate.kind === 'marginal' ? '元' : undefined}
                    style={{ width: '100%' }}
                    onChange={(v) => setRows(rows.map((x, k) => (k === i ? [(asPercent ? fromPercent(v as number) : (v as number)) ?? (null as unknown as number), x[1]] : x)))}
                    data-testid={`row-${i}-threshold`}
                  />
                  {e.length > 0 && <div style={{ color: '#ff4d4f', fontSize: 12 }}>{e[0]}</div>}
                </Tooltip>
              );
            },
          },
          {
            key: 'rate',
            title: t('comm.table.rate'),
            render: (_: unknown, r, i) => {
              const e = cellErr(i, 1);
              return (
                <>
                  <PercentInput value={r[1]} status={e.length ? 'error' : undefined} onChange={(v) => setRows(rows.map((x, k) => (k === i ? [x[0], v ?? (null as unknown as number)] : x)))} testId={`row-${i}-rate`} />
                  {e.length > 0 && <div style={{ color: '#ff4d4f', fontSize: 12 }}>{e[0]}</div>}
                </>
              );
            },
          },
          {
            key: 'x',
            width: 48,
            render: (_: unknown, _r, i) => <Button type="text" danger icon={<DeleteOutlined />} disabled={rows.length <= 1} onClick={() => setRows(rows.filter((_x, k) => k !== i))} aria-label={t('common.delete')} />,
          },
        ]}
      />
      {tableErr.length > 0 && <ErrorList errors={tableErr} />}
      <Button
        size="small"
        type="dashed"
        icon={<PlusOutlined />}
        style={{ marginTop: 8 }}
        onClick={() => {
          const last = rows[rows.length - 1];
          setRows([...rows, last ? [asPercent ? Number((last[0] + 0.5).toPrecision(12)) : last[0] * 2 || 1, last[1]] : [0, 0.05]]);
        }}
        data-testid="add-row"
      >
        {t('comm.table.addRow')}
      </Button>
    </div>
  );
}

function RuleCard({ ctx, rule, i, count }: { ctx: Ctx; rule: CommissionRule; i: number; count: number }) {
  const { t } = useI18n();
  const path = ['rules', i];
  const rate = rule.rate ?? { kind: 'constant' };
  const setKind = (kind: CommissionRateKind) => {
    const base: CommissionRate = { kind };
    if (kind === 'constant') base.value = rate.value ?? 0.05;
    if (kind === 'tier' || kind === 'marginal') base.table = rate.table ?? [[0, 0.03], [1, 0.05], [1.2, 0.08]];
    if (kind === 'expr') base.expr = rate.expr ?? '0.05';
    ctx.set([...path, 'rate'], base);
  };
  return (
    <div className="comm-rule" data-testid={`rule-${i}`}>
      <div className="comm-rule-head">
        <Typography.Text strong>{t('comm.f.ruleN', { n: i + 1 })}</Typography.Text>
        <Space size={0}>
          <Button type="text" icon={<ArrowUpOutlined />} disabled={i === 0} onClick={() => ctx.set(['rules', '__move', i], -1)} aria-label="up" />
          <Button type="text" icon={<ArrowDownOutlined />} disabled={i === count - 1} onClick={() => ctx.set(['rules', '__move', i], 1)} aria-label="down" />
          <Button type="text" danger icon={<DeleteOutlined />} onClick={() => ctx.set(['rules', '__remove', i], null)} aria-label={t('common.delete')} />
        </Space>
      </div>
      <Row gutter={12}>
        <Field ctx={ctx} path={[...path, 'key']} label={t('comm.f.key')} required span={6}>
          <Input className="mono" value={rule.key} onChange={(e) => ctx.set([...path, 'key'], e.target.value)} />
        </Field>
        <NameInputs ctx={ctx} path={[...path, 'name']} value={rule.name} />
        <Field ctx={ctx} path={[...path, 'rate', 'kind']} label={t('comm.f.rateKind')} span={6}>
          <Select value={rate.kind} onChange={setKind} options={(['constant', 'tier', 'marginal', 'expr'] as const).map((k) => ({ value: k, label: t(`comm.rateKind.${k}`) }))} data-testid={`rule-${i}-kind`} />
        </Field>
        <Field ctx={ctx} path={[...path, 'when']} label={t('comm.f.ruleWhen')} help={t('comm.f.ruleWhenHelp')} span={24}>
          <FormulaInput value={rule.when} onChange={(v) => ctx.set([...path, 'when'], v)} placeholder="productLine == 'new'" testId={`rule-${i}-when`} />
        </Field>
        {rate.kind === 'constant' && (
          <Field ctx={ctx} path={[...path, 'rate', 'value']} label={t('comm.f.rate')} span={8}>
            <PercentInput value={rate.value} onChange={(v) => ctx.set([...path, 'rate', 'value'], v)} testId={`rule-${i}-value`} />
          </Field>
        )}
        {rate.kind === 'expr' && (
          <Field ctx={ctx} path={[...path, 'rate', 'expr']} label={t('comm.f.rateExpr')} help={t('comm.f.rateExprHelp')} span={24}>
            <FormulaInput value={rate.expr} onChange={(v) => ctx.set([...path, 'rate', 'expr'], v)} placeholder="attainment >= 1 ? 0.08 : 0.05" testId={`rule-${i}-expr`} />
          </Field>
        )}
        {rate.kind === 'tier' && (
          <Field ctx={ctx} path={[...path, 'rate', 'on']} label={t('comm.f.tierOn')} help={t('comm.f.tierOnHelp')} span={24}>
            <FormulaInput value={rate.on} onChange={(v) => ctx.set([...path, 'rate', 'on'], v)} placeholder={t('comm.f.tierOnPlaceholder')} testId={`rule-${i}-on`} />
          </Field>
        )}
        {rate.kind === 'marginal' && (
          <Field ctx={ctx} path={[...path, 'rate', 'basis']} label={t('comm.f.basis')} span={12}>
            <Select value={rate.basis ?? 'quota'} onChange={(v) => ctx.set([...path, 'rate', 'basis'], v === 'quota' ? undefined : v)} options={(['quota', 'amount', 'line'] as const).map((b) => ({ value: b, label: t(`comm.basis.${b}`) }))} />
          </Field>
        )}
      </Row>
      {(rate.kind === 'tier' || rate.kind === 'marginal') && (
        <>
          <Typography.Paragraph type="secondary" style={{ fontSize: 12, marginBottom: 6 }}>
            {t(rate.kind === 'tier' ? 'comm.f.tierHelp' : 'comm.f.marginalHelp')}
          </Typography.Paragraph>
          <RateTable ctx={ctx} path={[...path, 'rate', 'table']} rate={rate} />
        </>
      )}
    </div>
  );
}

interface ListEditorProps<T> {
  ctx: Ctx;
  name: 'spifs' | 'quotaBonuses' | 'teamBonuses';
  items: T[] | undefined;
  make: () => T;
  render: (item: T, path: Path) => ReactNode;
  addLabel: string;
}

function ListEditor<T>({ ctx, name, items, make, render, addLabel }: ListEditorProps<T>) {
  const { t } = useI18n();
  const list = items ?? [];
  return (
    <div id={fieldId(`/${name}`)}>
      {list.map((it, i) => (
        <div key={i} className="comm-rule" data-testid={`${name}-${i}`}>
          <Row gutter={12} align="top">
            {render(it, [name, i])}
            <Col flex="none" style={{ paddingTop: 30 }}>
              <Button type="text" danger icon={<DeleteOutlined />} onClick={() => ctx.set([name, '__remove', i], null)} aria-label={t('common.delete')} />
            </Col>
          </Row>
        </div>
      ))}
      {ctx.errs(`/${name}`).length > 0 && <ErrorList errors={ctx.errs(`/${name}`)} />}
      <Button type="dashed" icon={<PlusOutlined />} onClick={() => ctx.set([name], [...list, make()])} data-testid={`add-${name}`}>
        {addLabel}
      </Button>
    </div>
  );
}

interface PlanFormProps {
  def: CommissionPlanDefinition;
  set: SetAt;
  errs: (ptr: string) => ProblemError[];
  objects: ObjectSummary[];
  metrics: ConfigSummary[];
}

export function PlanForm({ def, set, errs, objects, metrics }: PlanFormProps) {
  const { t, lang } = useI18n();
  const ctx: Ctx = { set, errs };
  const cr = def.credits ?? ({} as CommissionPlanDefinition['credits']);
  const rules = def.rules ?? [];
  const nextKey = (prefix: string) => {
    const used = new Set([...(def.rules ?? []), ...(def.spifs ?? []), ...(def.quotaBonuses ?? []), ...(def.teamBonuses ?? [])].map((r) => r.key));
    for (let n = 1; ; n++) if (!used.has(`${prefix}${n}`)) return `${prefix}${n}`;
  };

  return (
    <Form layout="vertical" component="div" requiredMark="optional">
      <Card size="small" title={t('comm.f.basics')} style={{ marginBottom: 12 }}>
        <Row gutter={12}>
          <NameInputs ctx={ctx} path={['name']} value={def.name} />
          <Field ctx={ctx} path={['grain']} label={t('comm.f.grain')} span={6}>
            <Select value={def.grain ?? 'month'} onChange={(v) => set(['grain'], v)} options={(['month', 'quarter', 'year'] as const).map((g) => ({ value: g, label: t(`comm.grain.${g}`) }))} />
          </Field>
          <Field ctx={ctx} path={['quotaGrain']} label={t('comm.f.quotaGrain')} help={t('comm.f.quotaGrainHelp')} span={6}>
            <Select allowClear value={def.quotaGrain} placeholder={t('comm.f.sameAsGrain')} onChange={(v) => set(['quotaGrain'], v || undefined)} options={(['month', 'quarter', 'year'] as const).map((g) => ({ value: g, label: t(`comm.grain.${g}`) }))} />
          </Field>
          <Field ctx={ctx} path={['quota', 'metric']} label={t('comm.f.quotaMetric')} required span={6}>
            <Select
              showSearch
              value={def.quota?.metric}
              onChange={(v) => set(['quota', 'metric'], v)}
              options={metrics.map((m) => ({ value: m.key, label: `${loc(m.label, lang) ?? m.key} (${m.key})` }))}
            />
          </Field>
          <Field ctx={ctx} path={['quota', 'level']} label={t('comm.f.quotaLevel')} span={6}>
            <Select value={def.quota?.level ?? 'target'} onChange={(v) => set(['quota', 'level'], v === 'target' ? undefined : v)} options={(['floor', 'target', 'stretch'] as const).map((l) => ({ value: l, label: t(`comm.level.${l}`) }))} />
          </Field>
          <Field ctx={ctx} path={['assign', 'roles']} label={t('comm.f.assignRoles')} help={t('comm.f.assignHelp')} span={6}>
            <Select mode="tags" value={def.assign?.roles ?? []} onChange={(v) => set(['assign', 'roles'], v.length ? v : undefined)} options={['rep', 'manager'].map((r) => ({ value: r, label: t(`role.${r}` as MsgKey) }))} />
          </Field>
          <Field ctx={ctx} path={['effectiveFrom']} label={t('comm.f.effectiveFrom')} span={6}>
            <Input placeholder="2026-01-01" className="mono" value={def.effectiveFrom ?? ''} onChange={(e) => set(['effectiveFrom'], e.target.value || undefined)} />
          </Field>
          <Field ctx={ctx} path={['effectiveTo']} label={t('comm.f.effectiveTo')} span={6}>
            <Input placeholder={t('comm.f.openEnded')} className="mono" value={def.effectiveTo ?? ''} onChange={(e) => set(['effectiveTo'], e.target.value || undefined)} />
          </Field>
        </Row>
      </Card>

      <Card size="small" title={t('comm.f.credits')} style={{ marginBottom: 12 }}>
        <Row gutter={12}>
          <Field ctx={ctx} path={['credits', 'object']} label={t('comm.f.object')} required span={8}>
            <Select value={cr.object} onChange={(v) => set(['credits', 'object'], v)} options={objects.map((o) => ({ value: o.key, label: `${loc(o.label, lang) ?? o.key} (${o.key})` }))} />
          </Field>
          <Field ctx={ctx} path={['credits', 'dateField']} label={t('comm.f.dateField')} required span={8}>
            <Input className="mono" value={cr.dateField ?? ''} onChange={(e) => set(['credits', 'dateField'], e.target.value)} />
          </Field>
          <Field ctx={ctx} path={['credits', 'ownerField']} label={t('comm.f.ownerField')} span={8}>
            <Input className="mono" placeholder="owner" value={cr.ownerField ?? ''} onChange={(e) => set(['credits', 'ownerField'], e.target.value || undefined)} />
          </Field>
          <Field ctx={ctx} path={['credits', 'when']} label={t('comm.f.creditsWhen')} help={t('comm.f.creditsWhenHelp')} span={24}>
            <FormulaInput value={cr.when} onChange={(v) => set(['credits', 'when'], v)} placeholder={'stage == "won"'} testId="credits-when" />
          </Field>
          <Field ctx={ctx} path={['credits', 'base']} label={t('comm.f.base')} help={t('comm.f.baseHelp')} required span={16}>
            <FormulaInput value={cr.base} onChange={(v) => set(['credits', 'base'], v ?? '')} placeholder="amount" testId="credits-base" />
          </Field>
          <Field ctx={ctx} path={['credits', 'splitField']} label={t('comm.f.splitField')} help={t('comm.f.splitHelp')} span={8}>
            <Input className="mono" value={cr.splitField ?? ''} onChange={(e) => set(['credits', 'splitField'], e.target.value || undefined)} />
          </Field>
        </Row>
      </Card>

      <Card size="small" title={t('comm.f.rules')} style={{ marginBottom: 12 }} extra={<Typography.Text type="secondary">{t('comm.f.rulesHelp')}</Typography.Text>}>
        <div id={fieldId('/rules')}>
          {rules.map((r, i) => (
            <RuleCard key={i} ctx={ctx} rule={r} i={i} count={rules.length} />
          ))}
          {errs('/rules').length > 0 && <ErrorList errors={errs('/rules')} />}
          <Button type="dashed" icon={<PlusOutlined />} onClick={() => set(['rules'], [...rules, { key: nextKey('rule'), rate: { kind: 'constant', value: 0.05 } }])} data-testid="add-rule">
            {t('comm.f.addRule')}
          </Button>
        </div>
      </Card>

      <Card size="small" title={t('comm.f.caps')} style={{ marginBottom: 12 }}>
        <Row gutter={12}>
          <Field ctx={ctx} path={['caps', 'perLine']} label={t('comm.f.capPerLine')} help={t('comm.f.capPerLineHelp')} span={12}>
            <MoneyInput value={def.caps?.perLine} onChange={(v) => set(['caps', 'perLine'], v)} testId="cap-per-line" />
          </Field>
          <Field ctx={ctx} path={['caps', 'perPeriod']} label={t('comm.f.capPerPeriod')} help={t('comm.f.capPerPeriodHelp')} span={12}>
            <MoneyInput value={def.caps?.perPeriod} onChange={(v) => set(['caps', 'perPeriod'], v)} testId="cap-per-period" />
          </Field>
        </Row>
      </Card>

      <Card size="small" title={t('comm.f.spifs')} style={{ marginBottom: 12 }} extra={<Typography.Text type="secondary">{t('comm.f.spifsHelp')}</Typography.Text>}>
        <ListEditor<CommissionSpif>
          ctx={ctx}
          name="spifs"
          items={def.spifs}
          addLabel={t('comm.f.addSpif')}
          make={() => ({ key: nextKey('spif'), when: 'amount >= 100000', amount: 50000 })}
          render={(s, p) => (
            <>
              <Field ctx={ctx} path={[...p, 'key']} label={t('comm.f.key')} span={4}>
                <Input className="mono" value={s.key} onChange={(e) => set([...p, 'key'], e.target.value)} />
              </Field>
              <Field ctx={ctx} path={[...p, 'name', 'zh-CN']} label={t('objects.labelZh')} span={5}>
                <Input value={s.name?.['zh-CN'] ?? ''} onChange={(e) => set([...p, 'name'], e.target.value ? { ...(s.name ?? {}), 'zh-CN': e.target.value } : undefined)} />
              </Field>
              <Field ctx={ctx} path={[...p, 'when']} label={t('comm.f.spifWhen')} required span={8}>
                <FormulaInput value={s.when} onChange={(v) => set([...p, 'when'], v ?? '')} testId={`spif-${p[1]}-when`} />
              </Field>
              <Field ctx={ctx} path={[...p, 'amount']} label={t('comm.f.amount')} required span={5}>
                <MoneyInput value={s.amount} onChange={(v) => set([...p, 'amount'], v)} />
              </Field>
            </>
          )}
        />
      </Card>

      <Card size="small" title={t('comm.f.quotaBonuses')} style={{ marginBottom: 12 }} extra={<Typography.Text type="secondary">{t('comm.f.quotaBonusesHelp')}</Typography.Text>}>
        <ListEditor<CommissionQuotaBonus>
          ctx={ctx}
          name="quotaBonuses"
          items={def.quotaBonuses}
          addLabel={t('comm.f.addQuotaBonus')}
          make={() => ({ key: nextKey('bonus'), threshold: 1, amount: 100000 })}
          render={(b, p) => (
            <>
              <Field ctx={ctx} path={[...p, 'key']} label={t('comm.f.key')} span={5}>
                <Input className="mono" value={b.key} onChange={(e) => set([...p, 'key'], e.target.value)} />
              </Field>
              <Field ctx={ctx} path={[...p, 'name', 'zh-CN']} label={t('objects.labelZh')} span={7}>
                <Input value={b.name?.['zh-CN'] ?? ''} onChange={(e) => set([...p, 'name'], e.target.value ? { ...(b.name ?? {}), 'zh-CN': e.target.value } : undefined)} />
              </Field>
              <Field ctx={ctx} path={[...p, 'threshold']} label={t('comm.f.threshold')} required span={5}>
                <PercentInput value={b.threshold} onChange={(v) => set([...p, 'threshold'], v)} />
              </Field>
              <Field ctx={ctx} path={[...p, 'amount']} label={t('comm.f.amount')} required span={5}>
                <MoneyInput value={b.amount} onChange={(v) => set([...p, 'amount'], v)} />
              </Field>
            </>
          )}
        />
      </Card>

      <Card size="small" title={t('comm.f.teamBonuses')} style={{ marginBottom: 12 }} extra={<Typography.Text type="secondary">{t('comm.f.teamBonusesHelp')}</Typography.Text>}>
        <ListEditor<CommissionTeamBonus>
          ctx={ctx}
          name="teamBonuses"
          items={def.teamBonuses}
          addLabel={t('comm.f.addTeamBonus')}
          make={() => ({ key: nextKey('team'), threshold: 1, amount: 50000 })}
          render={(b, p) => (
            <>
              <Field ctx={ctx} path={[...p, 'key']} label={t('comm.f.key')} span={4}>
                <Input className="mono" value={b.key} onChange={(e) => set([...p, 'key'], e.target.value)} />
              </Field>
              <Field ctx={ctx} path={[...p, 'name', 'zh-CN']} label={t('objects.labelZh')} span={4}>
                <Input value={b.name?.['zh-CN'] ?? ''} onChange={(e) => set([...p, 'name'], e.target.value ? { ...(b.name ?? {}), 'zh-CN': e.target.value } : undefined)} />
              </Field>
              <Field ctx={ctx} path={[...p, 'threshold']} label={t('comm.f.teamThreshold')} required span={4}>
                <PercentInput value={b.threshold} onChange={(v) => set([...p, 'threshold'], v)} />
              </Field>
              <Field ctx={ctx} path={[...p, 'amount']} label={t('comm.f.fixedAmount')} span={5}>
                <MoneyInput value={b.amount} onChange={(v) => set([...p, 'amount'], v)} />
              </Field>
              <Field ctx={ctx} path={[...p, 'rate']} label={t('comm.f.orRate')} span={5}>
                <PercentInput value={b.rate} onChange={(v) => set([...p, 'rate'], v)} />
              </Field>
            </>
          )}
        />
      </Card>

      <Card
        size="small"
        title={t('comm.f.clawback')}
        style={{ marginBottom: 12 }}
        extra={
          <Switch
            checked={!!def.clawback}
            onChange={(on) => set(['clawback'], on ? { when: 'status == "refunded"', withinDays: 90, dateField: 'updatedAt' } : undefined)}
            data-testid="clawback-switch"
          />
        }
      >
        {def.clawback ? (
          <Row gutter={12}>
            <Field ctx={ctx} path={['clawback', 'when']} label={t('comm.f.clawbackWhen')} required span={12}>
              <FormulaInput value={def.clawback.when} onChange={(v) => set(['clawback', 'when'], v ?? '')} testId="clawback-when" />
            </Field>
            <Field ctx={ctx} path={['clawback', 'withinDays']} label={t('comm.f.withinDays')} required span={6}>
              <InputNumber min={0} max={3660} value={def.clawback.withinDays} onChange={(v) => set(['clawback', 'withinDays'], v ?? undefined)} style={{ width: '100%' }} />
            </Field>
            <Field ctx={ctx} path={['clawback', 'dateField']} label={t('comm.f.reversalDate')} required span={6}>
              <Input className="mono" value={def.clawback.dateField} onChange={(e) => set(['clawback', 'dateField'], e.target.value)} />
            </Field>
          </Row>
        ) : (
          <Typography.Text type="secondary">{t('comm.f.clawbackOff')}</Typography.Text>
        )}
      </Card>
    </Form>
  );
}
