// Reading target plan numbers: amounts are integers in the metric's stored unit (money: 分,
// scale 100) and are typed and shown in major units (元, or 万元 when large), converted on
// decimal strings so no float error creeps into what is sent.
import type { MetricUnit, TargetLevel } from '../api/types.ts';
import type { Lang } from '../i18n/index.tsx';
import { formatMoney, wan, yuanStringToFen } from './money.ts';

/** Measure is how to read a plan's amounts. */
export interface Measure {
  unit: MetricUnit;
  scale: number;
}

export const MONEY: Measure = { unit: 'money', scale: 100 };

export function measureOf(t: { unit?: MetricUnit; scale?: number } | undefined | null): Measure {
  if (!t?.unit) return MONEY;
  return { unit: t.unit, scale: t.scale && t.scale > 0 ? t.scale : t.unit === 'money' ? 100 : 1 };
}

/** toFen rescales a stored amount to 分 when the scale is not 100 (money is always 分 today). */
function toFen(v: number, m: Measure): number {
  return m.scale === 100 ? v : Math.round((v / m.scale) * 100);
}

/** formatAmount shows an amount: money ≥ 10 万元 as "123.45 万" in Chinese, else ¥ with decimals. */
export function formatAmount(v: number | null | undefined, m: Measure, lang: Lang): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (m.unit === 'money') {
    const fen = toFen(v, m);
    if (lang === 'zh-CN' && Math.abs(fen) >= 10_000_000) return `¥${wan(fen)} 万`;
    const s = formatMoney(fen);
    return s.endsWith('.00') ? s.slice(0, -3) : s;
  }
  return (v / m.scale).toLocaleString(lang, { maximumFractionDigits: 4 });
}

/** exactAmount is the full amount, for tooltips and dialogs ("¥6,000,000.00"). */
export function exactAmount(v: number | null | undefined, m: Measure, lang: Lang): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (m.unit === 'money') return formatMoney(toFen(v, m));
  return (v / m.scale).toLocaleString(lang, { maximumFractionDigits: 6 });
}

/** amountText renders a stored amount for an input box in major units, without grouping. */
export function amountText(v: number | null | undefined, m: Measure): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '';
  const s = (Math.abs(v) / m.scale).toFixed(Math.max(0, Math.round(Math.log10(m.scale))));
  const trimmed = s.includes('.') ? s.replace(/\.?0+$/, '') : s;
  return (v < 0 ? '-' : '') + trimmed;
}

/** parseAmount reads what a person typed in major units into the stored unit (undefined = empty, NaN = not a number). */
export function parseAmount(text: string, m: Measure): number | undefined {
  if (m.scale === 100) return yuanStringToFen(text);
  const s = text.replace(/[¥￥,，\s]/g, '');
  if (s === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? Math.round(n * m.scale) : NaN;
}

export function pct(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${(v * 100).toFixed(digits)}%`;
}

export const LEVELS: TargetLevel[] = ['floor', 'target', 'stretch'];

/** PeriodOption is one period of the plan year for the selector. */
export interface PeriodOption {
  key: string;
  kind: 'year' | 'quarter' | 'month' | 'week';
  start: string; // YYYY-MM-DD
}

const ymd = (d: Date) => d.toISOString().slice(0, 10);

/** isoWeek returns the ISO week-year and week of a UTC date. */
function isoWeek(d: Date): [number, number] {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const y = t.getUTCFullYear();
  const w = Math.ceil(((t.getTime() - Date.UTC(y, 0, 1)) / 86_400_000 + 1) / 7);
  return [y, w];
}

/**
 * planPeriods lists the periods of a fiscal year that starts on `start` (YYYY-MM-DD, as the
 * year's tree reports it): the year, its quarters, its months and the ISO weeks that touch it.
 * Quarter keys are fiscal (Q1 = the first three months of the plan year), as the server parses them.
 */
export function planPeriods(fiscalYear: number, start: string | undefined): PeriodOption[] {
  const y0 = start ? Number(start.slice(0, 4)) : fiscalYear;
  const m0 = start ? Number(start.slice(5, 7)) - 1 : 0;
  const out: PeriodOption[] = [{ key: String(fiscalYear), kind: 'year', start: ymd(new Date(Date.UTC(y0, m0, 1))) }];
  for (let q = 1; q <= 4; q++) out.push({ key: `${fiscalYear}-Q${q}`, kind: 'quarter', start: ymd(new Date(Date.UTC(y0, m0 + (q - 1) * 3, 1))) });
  for (let i = 0; i < 12; i++) {
    const d = new Date(Date.UTC(y0, m0 + i, 1));
    out.push({ key: `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`, kind: 'month', start: ymd(d) });
  }
  const first = new Date(Date.UTC(y0, m0, 1));
  const end = new Date(Date.UTC(y0, m0 + 12, 1));
  const monday = new Date(first);
  monday.setUTCDate(monday.getUTCDate() - ((monday.getUTCDay() + 6) % 7));
  for (const d = monday; d < end; d.setUTCDate(d.getUTCDate() + 7)) {
    const [wy, w] = isoWeek(d);
    out.push({ key: `${wy}-W${String(w).padStart(2, '0')}`, kind: 'week', start: ymd(d) });
  }
  return out;
}
