// Money travels as integer minor units (分) and is typed and shown in major units (元).
// Conversions are done on decimal strings, never by float multiplication, so 12500.50 元
// is exactly 1250050 分.

/** fenToYuanString renders integer fen as a plain decimal string with two decimals ("12500.50"). */
export function fenToYuanString(fen: number | null | undefined): string {
  if (fen === null || fen === undefined || !Number.isFinite(fen)) return '';
  const n = Math.trunc(fen);
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  const yuan = Math.floor(abs / 100);
  const cents = abs % 100;
  return `${sign}${yuan}.${String(cents).padStart(2, '0')}`;
}

/**
 * yuanStringToFen parses what a person typed in yuan ("12,500.5", "¥ 3", "-0.01") into
 * integer fen. Digits past the second decimal are rounded half away from zero. It
 * returns undefined for an empty input and NaN for something that is not a number.
 */
export function yuanStringToFen(input: string | number | null | undefined): number | undefined {
  if (input === null || input === undefined) return undefined;
  const s = String(input).replace(/[¥￥,，\s]/g, '');
  if (s === '' || s === '-' || s === '.') return undefined;
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m) return NaN;
  const [, sign, intPart, fracPart = ''] = m;
  const frac = (fracPart + '000').slice(0, 3);
  let fen = Number(intPart || '0') * 100 + Number(frac.slice(0, 2));
  if (Number(frac[2]) >= 5) fen += 1;
  return sign === '-' ? -fen : fen;
}

function groupThousands(intDigits: string): string {
  return intDigits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** formatMoney shows fen as ¥ with thousands separators and two decimals ("¥12,500.50"). */
export function formatMoney(fen: unknown): string {
  if (typeof fen !== 'number' || !Number.isFinite(fen)) return '';
  const s = fenToYuanString(fen);
  const neg = s.startsWith('-');
  const [i, f] = (neg ? s.slice(1) : s).split('.');
  return `${neg ? '-' : ''}¥${groupThousands(i)}.${f}`;
}

/** wan renders an amount of fen in 万元 with up to two decimals ("125.01"), for Chinese readers. */
export function wan(fen: number): string {
  const v = fen / 100 / 10000;
  return v.toLocaleString('zh-CN', { maximumFractionDigits: 2 });
}
