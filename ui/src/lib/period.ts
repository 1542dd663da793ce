// Period keys as the progress and funnel endpoints take them: "2026" (year), "2026-Q4"
// (quarter, Q1 = Jan–Mar), "2026-11" (month). Computed client-side from the local date.

export type PeriodKind = 'month' | 'quarter' | 'year';

export function periodKey(kind: PeriodKind, d: Date = new Date()): string {
  const y = d.getFullYear();
  const m = d.getMonth(); // 0-based
  if (kind === 'year') return String(y);
  if (kind === 'quarter') return `${y}-Q${Math.floor(m / 3) + 1}`;
  return `${y}-${String(m + 1).padStart(2, '0')}`;
}

/** periodKind tells which kind a key is, or undefined for a key the UI does not produce. */
export function periodKind(key: string): PeriodKind | undefined {
  if (/^\d{4}$/.test(key)) return 'year';
  if (/^\d{4}-Q[1-4]$/.test(key)) return 'quarter';
  if (/^\d{4}-(0[1-9]|1[0-2])$/.test(key)) return 'month';
  return undefined;
}

/** shiftPeriod moves a period key by n periods of its own kind (n may be negative). */
export function shiftPeriod(key: string, n: number): string {
  const kind = periodKind(key);
  if (kind === 'year') return String(Number(key) + n);
  if (kind === 'quarter') {
    const y = Number(key.slice(0, 4));
    const q = Number(key.slice(6)) - 1 + n;
    return `${y + Math.floor(q / 4)}-Q${(((q % 4) + 4) % 4) + 1}`;
  }
  if (kind === 'month') {
    const y = Number(key.slice(0, 4));
    const m = Number(key.slice(5)) - 1 + n;
    return `${y + Math.floor(m / 12)}-${String((((m % 12) + 12) % 12) + 1).padStart(2, '0')}`;
  }
  return key;
}

/** daysSince counts whole days from an ISO instant to now (never negative). */
export function daysSince(iso: string | undefined, now: number = Date.now()): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, Math.floor((now - t) / 86_400_000));
}

/**
 * periodRange renders a period's [start, end) instants as inclusive dates ("2026-10-01 ~ 2026-12-31").
 * The server sends midnight instants in its business time zone (…T00:00:00+08:00); the date
 * part is read as written, so the browser's own time zone cannot shift a day.
 */
export function periodRange(start: string | undefined, end: string | undefined): string {
  const d = (s: string | undefined) => (s && /^\d{4}-\d{2}-\d{2}/.test(s) ? s.slice(0, 10) : undefined);
  const a = d(start);
  let b = d(end);
  if (b && end && end.length > 10 && /T00:00(:00(\.0+)?)?/.test(end)) {
    const t = Date.UTC(Number(b.slice(0, 4)), Number(b.slice(5, 7)) - 1, Number(b.slice(8, 10))) - 86_400_000;
    b = new Date(t).toISOString().slice(0, 10);
  }
  return a && b ? `${a} ~ ${b}` : [start, end].filter(Boolean).join(' ~ ');
}
