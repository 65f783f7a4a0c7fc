// Diagnostics in document offsets; the LSP layer and the CLI turn spans into positions.
import type { Span } from './ast';

export type Severity = 'error' | 'warning' | 'info';

export interface TextEdit { span: Span; newText: string }
export interface QuickFix { title: string; edits: TextEdit[]; preferred?: boolean }

export interface Problem {
  severity: Severity;
  message: string;
  span: Span;
  /** Stable code, listed in docs/language.md. */
  code: string;
  fixes?: QuickFix[];
}

export function error(code: string, span: Span, message: string, fixes?: QuickFix[]): Problem {
  return { severity: 'error', code, span, message, fixes };
}
export function warning(code: string, span: Span, message: string, fixes?: QuickFix[]): Problem {
  return { severity: 'warning', code, span, message, fixes };
}

/** Levenshtein distance, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length];
}

export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = distance(word, c);
    if (dist < bestD) { bestD = dist; best = c; }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** " Did you mean `x`?" with a replace fix, or nothing. */
export function suggest(word: string, candidates: Iterable<string>, at: Span): { hint: string; fixes?: QuickFix[] } {
  const c = closest(word, candidates);
  if (!c) return { hint: '' };
  return { hint: ` Did you mean \`${c}\`?`, fixes: [{ title: `Change to '${c}'`, edits: [{ span: at, newText: c }], preferred: true }] };
}

/**
 * Text from the document as it may appear in a message: control characters (NUL, escape
 * sequences, line breaks) escaped as \u{..}, never echoed raw, and at most `max` characters.
 */
export function quoted(text: string, max = 40): string {
  const cut = [...text];
  const shown = cut.length > max ? `${cut.slice(0, max).join('')}…` : text;
  return printable(shown);
}

/** A message with every control character (and lone surrogate) escaped. */
export function printable(message: string): string {
  return message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}}`);
}
