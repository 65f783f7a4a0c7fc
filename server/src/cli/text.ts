// Plain-text rendering for the CLI: numbers with separators, shapes, tables.
import type { Shape } from '../cost/model';

/** A count with thousands separators; past 2^53 it says it is not exact instead of rounding silently. */
export const int = (n: number) => (Number.isSafeInteger(Math.round(n)) ? Math.round(n).toLocaleString('en-US') : `~${n.toExponential(3)} (over 2^53, not exact)`);
export const shape = (s: Shape) => `${s.h}x${s.w}x${s.c}`;
export function short(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(Math.round(n));
}

export function table(header: string[], rows: string[][], rightAlign: boolean[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (rightAlign[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
