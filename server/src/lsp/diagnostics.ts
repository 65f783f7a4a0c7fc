// Problem (core, offsets) -> LSP Diagnostic. Quick fixes travel in `data` so a client that
// echoes diagnostics back in a code-action request carries them along.
import { type Diagnostic, DiagnosticSeverity } from 'vscode-languageserver';
import type { Analysis } from '../analysis/analysis';
import type { Problem, QuickFix, Severity } from '../language/problems';
import { rangeOf } from './positions';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
};

export interface DiagnosticData { fixes?: QuickFix[] }

export function toDiagnostic(a: Analysis, p: Problem): Diagnostic {
  const d: Diagnostic = {
    severity: SEVERITY[p.severity],
    range: rangeOf(a, p.span),
    message: p.message,
    code: p.code,
    source: 'mnas',
  };
  if (p.fixes?.length) d.data = { fixes: p.fixes } satisfies DiagnosticData;
  return d;
}

/** The first `maxProblems` (setting `mnas.maxProblems`), and one more that counts the rest. */
export function diagnostics(a: Analysis, maxProblems = Infinity): Diagnostic[] {
  const shown = a.problems.slice(0, maxProblems).map((p) => toDiagnostic(a, p));
  const rest = a.problems.length - shown.length;
  if (rest > 0) {
    const at = a.problems[shown.length].span;
    shown.push({ severity: DiagnosticSeverity.Information, range: rangeOf(a, { start: at.start, end: at.start }), source: 'mnas', code: 'too-many-problems',
      message: `…and ${rest} more problem${rest === 1 ? '' : 's'} not shown (setting mnas.maxProblems is ${maxProblems}).` });
  }
  return shown;
}
