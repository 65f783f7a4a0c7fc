// Number display shared by hover and code lens: exact counts with thousands separators,
// and short forms for one-line summaries.

/** `3887038` -> `3,887,038` (locale-independent). */
export function grouped(n: number | bigint): string {
  // Past 2^53 a number is no longer an exact count: say so rather than print a rounded one.
  if (typeof n === 'number' && !Number.isSafeInteger(Math.round(n))) return Number.isFinite(n) ? `~${n.toExponential(3)} (over 2^53, not exact)` : String(n);
  const s = (typeof n === 'bigint' ? n : BigInt(Math.round(n))).toString();
  const neg = s.startsWith('-');
  const digits = neg ? s.slice(1) : s;
  return (neg ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

const UNITS: [number, string][] = [[1e9, 'G'], [1e6, 'M'], [1e3, 'K']];

/** Three significant digits with a unit: `1.67M`, `14.0M`, `268K`. */
export function short(n: number): string {
  for (const [size, unit] of UNITS) if (Math.abs(n) >= size) return `${(n / size).toPrecision(3)}${unit}`;
  return String(Math.round(n));
}

/** Mult-adds as the papers print them: `311.6M` (one decimal, in millions). */
export function millions(n: number): string {
  return `${(n / 1e6).toFixed(1)}M`;
}

export function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '–';
}

export function shape(s: { h: number; w: number; c: number }): string {
  return `${s.h}x${s.w}x${s.c}`;
}
