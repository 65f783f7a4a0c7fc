// textDocument/formatting: one whole-document edit when the canonical layout differs, none
// when the text is already formatted or cannot be formatted safely (syntax errors).
import type { TextEdit } from 'vscode-languageserver';
import type { Analysis } from '../analysis/analysis';
import { format } from '../language/format';
import { rangeOf } from './positions';

export function formatting(a: Analysis): TextEdit[] {
  const r = format(a.text);
  if (!r.ok || r.text === a.text) return [];
  return [{ range: rangeOf(a, { start: 0, end: a.text.length }), newText: r.text }];
}
