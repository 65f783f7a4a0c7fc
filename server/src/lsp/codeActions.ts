// Quick fixes straight from the core's Problem.fixes: every fix is a WorkspaceEdit on this
// document. Problems are re-read from the analysis (not from the client's echo), so a client
// that drops `data` still gets its fixes.
import { type CodeAction, CodeActionKind, type CodeActionParams, type TextEdit } from 'vscode-languageserver';
import type { Analysis } from '../analysis/analysis';
import { toDiagnostic } from './diagnostics';
import { rangeOf, spanOf } from './positions';

export function codeActions(a: Analysis, params: Pick<CodeActionParams, 'textDocument' | 'range' | 'context'>): CodeAction[] {
  const only = params.context.only;
  if (only && !only.some((k) => CodeActionKind.QuickFix.startsWith(k))) return [];
  const want = spanOf(a, params.range);
  const out: CodeAction[] = [];
  for (const p of a.problems) {
    if (!p.fixes?.length) continue;
    // Overlap, with empty spans (a missing token) touching the range counting as overlap.
    if (p.span.end < want.start || p.span.start > want.end) continue;
    const diagnostic = toDiagnostic(a, p);
    for (const fix of p.fixes) {
      const edits: TextEdit[] = fix.edits.map((e) => ({ range: rangeOf(a, e.span), newText: e.newText }));
      out.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [diagnostic],
        isPreferred: fix.preferred ? true : undefined,
        edit: { changes: { [params.textDocument.uri]: edits } },
      });
    }
  }
  return out;
}
