// Reading .mnas files for the CLI: one clear error per unreadable file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AnalysisCache, analyze, type Analysis, diskHost } from '../analysis/analysis';

export class CliError extends Error {}

export function load(file: string, cache = new AnalysisCache()): Analysis {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${file}: no such file. Check the path (it is relative to ${process.cwd()}).`
      : code === 'EISDIR' ? `${file}: is a directory. Pass .mnas files, e.g. ${path.join(file, '*.mnas')}.`
        : `${file}: cannot read it (${(e as Error).message}).`);
  }
  return analyze(abs, text, diskHost, cache);
}
