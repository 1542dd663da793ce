// Shared formatting of scorecard numbers: scores with up to two decimals, grade colours,
// and a metric value in its unit (money in 元 from 分).
import type { MetricUnit } from '../../api/types.ts';
import { formatMoney } from '../../lib/money.ts';

export function formatScore(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

const GRADE_COLORS = ['magenta', 'green', 'blue', 'orange', 'red', 'volcano', 'purple', 'cyan', 'gold', 'lime'];

/** gradeColor colours a grade by its position among the thresholds (the fallback grade last). */
export function gradeColor(grade: string | null | undefined, grades: { grade: string }[], fallback?: string): string | undefined {
  if (!grade) return undefined;
  const i = grades.findIndex((g) => g.grade === grade);
  if (i >= 0) return GRADE_COLORS[i % GRADE_COLORS.length];
  if (grade === fallback) return 'default';
  return undefined;
}

/** formatMeasure shows a stored metric value (scale units per 1) in its unit. */
export function formatMeasure(v: number | null | undefined, unit: MetricUnit | undefined, scale: number | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const s = scale && scale > 0 ? scale : unit === 'money' ? 100 : 1;
  if (unit === 'money') return formatMoney(Math.round((v / s) * 100));
  if (unit === 'percent') return `${((v / s) * 100).toFixed(1)}%`;
  return (v / s).toLocaleString('en-US', { maximumFractionDigits: 2 });
}

export function pct(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${(v * 100).toFixed(1)}%`;
}
