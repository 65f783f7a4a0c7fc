import * as path from 'node:path';
import { AnalysisCache, analyze, type Analysis, type FileHost } from '../../server/src/analysis/analysis';

/** Analyzes an in-memory file set; `main.mnas` is the entry. */
export function analyzeFiles(files: Record<string, string>, entry = 'main.mnas'): Analysis {
  const root = '/virtual';
  const host: FileHost = { read: (f) => files[path.relative(root, f)] };
  return analyze(path.join(root, entry), files[entry], host, new AnalysisCache());
}

export function analyzeText(text: string): Analysis {
  return analyzeFiles({ 'main.mnas': text });
}
