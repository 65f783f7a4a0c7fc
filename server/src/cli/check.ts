// `mnas check FILE...`: every diagnostic as `file:line:col: severity[code]: message`.
import * as path from 'node:path';
import { LineIndex } from '../language/lines';
import { load } from './load';
import { AnalysisCache } from '../analysis/analysis';

export interface CheckedProblem {
  file: string; line: number; column: number; endLine: number; endColumn: number;
  severity: string; code: string; message: string; fixes: string[];
}

export function check(files: string[]): { problems: CheckedProblem[]; errors: number; warnings: number } {
  const cache = new AnalysisCache();
  const problems: CheckedProblem[] = [];
  for (const file of files) {
    const a = load(file, cache);
    const idx = new LineIndex(a.text);
    for (const p of a.problems) {
      const s = idx.position(p.span.start);
      const e = idx.position(p.span.end);
      problems.push({
        file: path.relative(process.cwd(), a.file) || a.file, line: s.line, column: s.column, endLine: e.line, endColumn: e.column,
        severity: p.severity, code: p.code, message: p.message, fixes: (p.fixes ?? []).map((f) => f.title),
      });
    }
  }
  return {
    problems,
    errors: problems.filter((p) => p.severity === 'error').length,
    warnings: problems.filter((p) => p.severity === 'warning').length,
  };
}

export function renderCheck(r: ReturnType<typeof check>, fileCount: number): string {
  const lines = r.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.severity}[${p.code}]: ${p.message}${p.fixes.length ? ` (quick fix: ${p.fixes[0]})` : ''}`);
  lines.push(`${fileCount} file${fileCount === 1 ? '' : 's'} checked: ${r.errors} error${r.errors === 1 ? '' : 's'}, ${r.warnings} warning${r.warnings === 1 ? '' : 's'}`);
  return lines.join('\n');
}
