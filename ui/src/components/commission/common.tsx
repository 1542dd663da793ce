// Shared parts of the commission pages (issue 6): roles, money and percent formatting, status
// tags with the lock, the period picker, plan names, a statement's lines grouped by kind with
// each line's explanation in plain words, and file downloads of exports.
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import './commission.css';
import { Button, Descriptions, Empty, Input, Space, Tag, Tooltip, Typography } from 'antd';
import { CheckCircleOutlined, DownOutlined, EditOutlined, FlagOutlined, LeftOutlined, LockOutlined, RightOutlined } from '@ant-design/icons';
import { api, enc, tokenStore } from '../../api/client.ts';
import type { CommissionPlanDefinition, CommissionText, ConfigEnvelope, Dispute, DisputeStatus, Statement, StatementLine, StatementLineKind, StatementStatus } from '../../api/types.ts';
import { useAuth } from '../../auth.tsx';
import { currentLang, useI18n, type TFunc } from '../../i18n/index.tsx';
import type { MsgKey } from '../../i18n/messages.ts';
import { formatMoney } from '../../lib/money.ts';
import { periodKey, periodKind, shiftPeriod } from '../../lib/period.ts';

/** useCommissionRoles says what the signed-in user may do with commission. */
export function useCommissionRoles() {
  const { me } = useAuth();
  const roles = me?.roles ?? [];
  const admin = roles.includes('admin');
  const finance = roles.includes('finance');
  const manager = roles.includes('manager');
  return {
    me,
    admin,
    finance,
    manager,
    /** canRun: start runs and simulations (admin, finance). */
    canRun: admin || finance,
    /** canApprove: the approval queue and disputes (manager, finance, admin). */
    canApprove: admin || finance || manager,
    /** canPay: mark approved statements paid (finance, admin). */
    canPay: admin || finance,
  };
}

/** text picks a bilingual plan text in the UI language. */
export function txt(v: CommissionText | undefined | null, lang: string, fallback = ''): string {
  if (!v) return fallback;
  return (lang === 'en' ? v.en || v['zh-CN'] : v['zh-CN'] || v.en) || fallback;
}

/** Money shows fen as ¥ with a sign colour for negatives. */
export function Money({ fen, strong, testId }: { fen: number | null | undefined; strong?: boolean; testId?: string }) {
  if (fen == null) return <Typography.Text type="secondary">—</Typography.Text>;
  return (
    <Typography.Text strong={strong} type={fen < 0 ? 'danger' : undefined} data-testid={testId} data-amount={fen} style={{ fontVariantNumeric: 'tabular-nums', whiteSpace: 'nowrap' }}>
      {formatMoney(fen)}
    </Typography.Text>
  );
}

/** signedMoney shows a delta with its sign ("+¥1.00"). */
export function signedMoney(fen: number): string {
  return fen > 0 ? `+${formatMoney(fen)}` : formatMoney(fen);
}

/** pct shows a ratio as a percentage (0.85 → 85.0%). */
export function pct(x: number | null | undefined, digits = 1): string {
  if (x == null || !Number.isFinite(x)) return '—';
  return `${(x * 100).toFixed(digits)}%`;
}

/** toPercent and fromPercent convert a rate between a fraction and the percent the admin types, without float noise. */
export const toPercent = (x: number | undefined | null): number | null => (x == null || !Number.isFinite(x) ? null : Number((x * 100).toPrecision(12)));
export const fromPercent = (p: number | null | undefined): number | undefined => (p == null || !Number.isFinite(p) ? undefined : Number((p / 100).toPrecision(12)));

const STATUS_COLOR: Record<StatementStatus, string> = { draft: 'default', approved: 'blue', paid: 'green' };

/** StatementStatusTag shows a statement's status; approved and paid carry a lock. */
export function StatementStatusTag({ status }: { status: StatementStatus }) {
  const { t } = useI18n();
  const locked = status !== 'draft';
  return (
    <Tooltip title={locked ? t('comm.lockedHint') : undefined}>
      <Tag color={STATUS_COLOR[status]} icon={locked ? <LockOutlined /> : <EditOutlined />} data-testid="statement-status" data-status={status}>
        {t(`comm.status.${status}` as MsgKey)}
      </Tag>
    </Tooltip>
  );
}

const DISPUTE_COLOR: Record<DisputeStatus, string> = { open: 'orange', accepted: 'green', rejected: 'red' };

export function DisputeStatusTag({ status }: { status: DisputeStatus }) {
  const { t } = useI18n();
  return (
    <Tag color={DISPUTE_COLOR[status]} data-testid="dispute-status" data-status={status}>
      {t(`comm.dispute.${status}` as MsgKey)}
    </Tag>
  );
}

export const KIND_ORDER: StatementLineKind[] = ['rate', 'cap_line', 'spif', 'quota_bonus', 'team_bonus', 'cap_period', 'clawback', 'adjustment'];
const KIND_COLOR: Record<StatementLineKind, string> = {
  rate: 'blue',
  cap_line: 'volcano',
  cap_period: 'volcano',
  spif: 'purple',
  quota_bonus: 'gold',
  team_bonus: 'cyan',
  clawback: 'red',
  adjustment: 'magenta',
};

export function kindLabel(t: TFunc, kind: string): string {
  const k = `comm.kind.${kind}` as MsgKey;
  const s = t(k);
  return s === k ? kind : s;
}

export function KindTag({ kind }: { kind: StatementLineKind }) {
  const { t } = useI18n();
  return <Tag color={KIND_COLOR[kind] ?? 'default'}>{kindLabel(t, kind)}</Tag>;
}

/** repErrorText says a run or simulation report's per-rep error code in the UI language. */
export function repErrorText(t: TFunc, code: string): string {
  const k = `comm.repError.${code}` as MsgKey;
  const s = t(k);
  return s === k ? code : s;
}

/** PeriodPicker edits a period key (2026-03, 2026-Q1, 2026) with ‹ › to step. */
export function PeriodPicker({ value, onChange, testId = 'period' }: { value: string; onChange: (v: string) => void; testId?: string }) {
  const { t } = useI18n();
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const valid = !!periodKind(draft);
  const commit = () => {
    if (periodKind(draft)) onChange(draft);
    else setDraft(value);
  };
  return (
    <Space.Compact>
      <Button icon={<LeftOutlined />} onClick={() => onChange(shiftPeriod(value, -1))} aria-label={t('comm.prevPeriod')} />
      <Input
        value={draft}
        onChange={(e) => setDraft(e.target.value.trim())}
        onBlur={commit}
        onPressEnter={commit}
        status={valid ? undefined : 'error'}
        style={{ width: 110, textAlign: 'center' }}
        className="mono"
        data-testid={testId}
        placeholder="2026-03"
      />
      <Button icon={<RightOutlined />} onClick={() => onChange(shiftPeriod(value, 1))} aria-label={t('comm.nextPeriod')} />
    </Space.Compact>
  );
}

/** defaultPeriod is the current month. */
export const defaultPeriod = () => periodKey('month');

type PlanCache = Record<string, CommissionPlanDefinition | null>;
const planCache: PlanCache = {};

/** usePlans loads the working copies of the named plans (for their names and rule names), cached for the session. */
export function usePlans(keys: string[]): PlanCache {
  const [, setTick] = useState(0);
  const sig = [...new Set(keys)].sort().join(',');
  useEffect(() => {
    const missing = sig.split(',').filter((k) => k && !(k in planCache));
    if (missing.length === 0) return;
    let live = true;
    void Promise.all(
      missing.map(async (k) => {
        try {
          planCache[k] = (await api.get<ConfigEnvelope<CommissionPlanDefinition>>(`commission-plans/${enc(k)}`)).definition;
        } catch {
          planCache[k] = null;
        }
      }),
    ).then(() => live && setTick((n) => n + 1));
    return () => {
      live = false;
    };
  }, [sig]);
  return planCache;
}

const titleCache: Record<string, string | null> = {};

/** useRecordTitles reads the credited records' names (data.name or data.title) for the lines, cached for the session; records the viewer cannot read keep their id. */
export function useRecordTitles(lines: StatementLine[] | undefined): Record<string, string | null> {
  const [, setTick] = useState(0);
  const sig = [...new Set((lines ?? []).filter((l) => l.record && l.object).map((l) => `${l.object}/${l.record}`))].sort().slice(0, 40).join(',');
  useEffect(() => {
    const missing = sig.split(',').filter((k) => k && !(k in titleCache));
    if (!missing.length) return;
    let live = true;
    void Promise.all(
      missing.map(async (k) => {
        const [obj, id] = k.split('/');
        try {
          const r = await api.get<{ data?: Record<string, unknown> }>(`records/${enc(obj)}/${enc(id)}`);
          const v = r.data?.name ?? r.data?.title;
          titleCache[k] = typeof v === 'string' && v ? v : null;
        } catch {
          titleCache[k] = null;
        }
      }),
    ).then(() => live && setTick((n) => n + 1));
    return () => {
      live = false;
    };
  }, [sig]);
  return titleCache;
}

/** ruleName is a line's rule name from its plan (else the rule key). */
export function ruleName(plan: CommissionPlanDefinition | null | undefined, rule: string, lang: string): string {
  if (!plan) return rule;
  for (const list of [plan.rules, plan.spifs, plan.quotaBonuses, plan.teamBonuses] as ({ key: string; name?: CommissionText }[] | undefined)[]) {
    const hit = list?.find((r) => r.key === rule);
    if (hit) return txt(hit.name, lang, rule);
  }
  return rule;
}

/** planName is a plan's display name. */
export function planName(plans: PlanCache, key: string, lang: string): string {
  return txt(plans[key]?.name, lang, key);
}

function bandText(line: StatementLine, t: TFunc): string | undefined {
  const b = line.band;
  if (!b) return undefined;
  if (b.index < 0) return t('comm.line.belowBands');
  const marginal = line.explanation.cumBefore != null;
  if (marginal && line.explanation.quota != null) {
    const to = b.to != null ? formatMoney(b.to) : '∞';
    return t('comm.line.bandMoney', { n: b.index + 1, from: formatMoney(b.from), to });
  }
  return t('comm.line.band', { n: b.index + 1, from: pct(b.threshold), to: b.until != null ? pct(b.until) : '∞' });
}

/** LineExplain is a line's explanation: the server's text in the UI language and the numbers behind it. */
export function LineExplain({ line }: { line: StatementLine }) {
  const { t, lang } = useI18n();
  const e = line.explanation ?? {};
  const items: { key: string; label: string; children: ReactNode; span?: 'filled' }[] = [];
  const add = (key: string, label: string, v: ReactNode | undefined | null | false) => {
    if (v !== undefined && v !== null && v !== false && v !== '') items.push({ key, label, children: v, ...(key === 'formula' || key === 'note' ? { span: 'filled' as const } : {}) });
  };
  add('base', t('comm.line.base'), line.kind !== 'spif' && line.kind !== 'quota_bonus' && line.kind !== 'adjustment' && line.base ? formatMoney(line.base) : undefined);
  add('record', t('comm.line.recordBase'), e.recordBase != null && e.sharePct != null && e.sharePct !== 100 ? formatMoney(e.recordBase) : undefined);
  add('share', t('comm.line.share'), e.sharePct != null && e.sharePct !== 100 ? `${e.sharePct}%` : undefined);
  add('rate', t('comm.line.rate'), line.rate != null ? `${toPercent(line.rate)}%` : undefined);
  add('band', t('comm.line.bandLabel'), bandText(line, t));
  add('cum', t('comm.line.cumBefore'), e.cumBefore != null ? formatMoney(e.cumBefore) : undefined);
  add('att', t('comm.line.attainment'), e.attainment != null ? (e.before != null ? `${pct(e.before)} → ${pct(e.attainment)}` : pct(e.attainment)) : undefined);
  add('thr', t('comm.line.threshold'), e.threshold != null ? pct(e.threshold) : undefined);
  add('quota', t('comm.line.quota'), e.quota != null ? formatMoney(e.quota) : undefined);
  add('earned', t('comm.line.earned'), e.earned != null ? formatMoney(e.earned) : undefined);
  add('cap', t('comm.line.cap'), e.cap != null ? formatMoney(e.cap) : undefined);
  add('paid', t('comm.line.paid'), e.paid != null ? formatMoney(e.paid) : undefined);
  add('rev', t('comm.line.reversedAt'), e.reversedAt ? `${e.reversedAt}${e.days != null ? ` (${t('comm.line.days', { days: e.days })})` : ''}` : undefined);
  add('team', t('comm.line.team'), e.team);
  add('formula', t('comm.line.formula'), e.formula ? <Typography.Text code>{e.formula}</Typography.Text> : undefined);
  add('note', t('comm.line.note'), line.kind === 'adjustment' ? undefined : e.note);
  add('amount', t('comm.line.amount'), <strong>{formatMoney(line.amount)}</strong>);
  add('src', t('comm.line.source'), line.source?.period ? t('comm.line.sourcePeriod', { period: line.source.period }) : line.source?.dispute ? t('comm.line.sourceDispute') : undefined);
  const text = line.text?.[lang === 'en' ? 'en' : 'zh-CN'] ?? line.text?.['zh-CN'] ?? '';
  return (
    <div className="comm-explain" data-testid="line-explain">
      <Typography.Paragraph style={{ marginBottom: 8 }} data-testid="line-text">
        {text}
      </Typography.Paragraph>
      {items.length > 0 && <Descriptions size="small" column={{ xs: 1, sm: 2, md: 3 }} items={items} />}
    </div>
  );
}

interface LinesProps {
  statement: Statement;
  plan?: CommissionPlanDefinition | null;
  disputes?: Dispute[];
  /** onDispute, when given, offers 申诉 on each line without an open dispute. */
  onDispute?: (line: StatementLine) => void;
  /** expanded: line ids open at first. */
  expanded?: string[];
}

/** StatementLines lists a statement's lines grouped by kind, each expandable into its explanation. */
export function StatementLines({ statement, plan, disputes, onDispute }: LinesProps) {
  const { t, lang } = useI18n();
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const groups = useMemo(() => {
    const by = new Map<string, StatementLine[]>();
    for (const l of statement.lines ?? []) {
      const list = by.get(l.kind) ?? [];
      list.push(l);
      by.set(l.kind, list);
    }
    return [...by.entries()].sort((a, b) => KIND_ORDER.indexOf(a[0] as StatementLineKind) - KIND_ORDER.indexOf(b[0] as StatementLineKind));
  }, [statement]);
  const titles = useRecordTitles(statement.lines);
  const disputeOf = (lineId: string) => disputes?.filter((d) => d.statement === statement.id && d.line === lineId) ?? [];

  if (!statement.lines?.length) return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('comm.noLines')} />;

  return (
    <div className="comm-lines" data-testid="statement-lines">
      {groups.map(([kind, lines]) => (
        <div key={kind} className="comm-group" data-testid={`group-${kind}`}>
          <div className="comm-group-head">
            <Space size={6}>
              <KindTag kind={kind as StatementLineKind} />
              <Typography.Text type="secondary">{t('comm.lineCount', { count: lines.length })}</Typography.Text>
            </Space>
            <Money fen={lines.reduce((s, l) => s + l.amount, 0)} strong />
          </div>
          {lines.map((l) => {
            const ds = disputeOf(l.id);
            const openDispute = ds.find((d) => d.status === 'open');
            const isOpen = !!open[l.id];
            const title = l.kind === 'adjustment' && l.source?.dispute ? t('comm.line.disputeAdjustment') : ruleName(plan, l.rule, lang);
            return (
              <div key={l.id} className={`comm-line${isOpen ? ' open' : ''}`} data-testid={`line-${l.id}`} data-kind={l.kind} data-record={l.record}>
                <div
                  className="comm-line-head"
                  role="button"
                  tabIndex={0}
                  aria-expanded={isOpen}
                  onClick={() => setOpen((o) => ({ ...o, [l.id]: !o[l.id] }))}
                  onKeyDown={(ev) => {
                    if (ev.key === 'Enter' || ev.key === ' ') {
                      ev.preventDefault();
                      setOpen((o) => ({ ...o, [l.id]: !o[l.id] }));
                    }
                  }}
                  data-testid="line-toggle"
                >
                  <span className="comm-line-caret">{isOpen ? <DownOutlined /> : <RightOutlined />}</span>
                  <span className="comm-line-title">
                    <Typography.Text strong>{title}</Typography.Text>
                    {l.record && (
                      <Typography.Text type="secondary" className="comm-line-sub" title={l.record}>
                        {(l.object && titles[`${l.object}/${l.record}`]) || l.record}
                        {l.creditDate && ` · ${l.creditDate}`}
                      </Typography.Text>
                    )}
                    {openDispute && (
                      <Tag color="orange" icon={<FlagOutlined />} style={{ marginInlineStart: 6 }}>
                        {t('comm.dispute.open')}
                      </Tag>
                    )}
                    {!openDispute && ds.some((d) => d.status !== 'open') && (
                      <Tag icon={<CheckCircleOutlined />} style={{ marginInlineStart: 6 }}>
                        {t('comm.dispute.resolved')}
                      </Tag>
                    )}
                  </span>
                  <Money fen={l.amount} testId="line-amount" />
                </div>
                {isOpen && (
                  <div className="comm-line-body">
                    <LineExplain line={l} />
                    {onDispute && !openDispute && l.kind !== 'adjustment' && (
                      <Button size="small" icon={<FlagOutlined />} onClick={() => onDispute(l)} data-testid="line-dispute">
                        {t('comm.raiseDispute')}
                      </Button>
                    )}
                    {ds.map((d) => (
                      <DisputeSummary key={d.id} dispute={d} />
                    ))}
                  </div>
                )}
              </div>
            );
          })}
        </div>
      ))}
    </div>
  );
}

/** DisputeSummary is a dispute in one block: comment, status and resolution. */
export function DisputeSummary({ dispute: d }: { dispute: Dispute }) {
  const { t } = useI18n();
  return (
    <div className="comm-dispute" data-testid={`dispute-${d.id}`}>
      <Space wrap size={6}>
        <DisputeStatusTag status={d.status} />
        <Typography.Text>{d.comment}</Typography.Text>
      </Space>
      {d.status === 'accepted' && d.amount != null && (
        <div>
          <Typography.Text type="success">{t('comm.dispute.acceptedWith', { amount: signedMoney(d.amount) })}</Typography.Text>
          {d.adjustment && d.adjustment.statement !== d.statement && (
            <Typography.Text type="secondary"> · {t('comm.dispute.inStatement', { period: d.adjustment.statement.split(':')[1] ?? '' })}</Typography.Text>
          )}
        </div>
      )}
      {d.status === 'rejected' && <Typography.Text type="danger">{t('comm.dispute.rejectedBecause', { reason: d.reason ?? '' })}</Typography.Text>}
    </div>
  );
}

/** download fetches an export with the session's token and saves it under the server's file name. */
export async function download(path: string, query: Record<string, string | undefined>, fallbackName: string) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) qs.set(k, v);
  const res = await fetch(`/api/v1/${path}?${qs}`, {
    headers: { Authorization: `Bearer ${tokenStore.get() ?? ''}`, 'Accept-Language': currentLang() },
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const cd = res.headers.get('Content-Disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(cd)?.[1] ?? fallbackName;
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
