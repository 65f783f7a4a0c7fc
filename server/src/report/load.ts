// Reading a run folder (run.json, journal.jsonl, and a random baseline beside it) into report
// data: the one loader of the VS Code results panel and `mnas report --html`, so the panel and
// the page show the same numbers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { childFileName, type ChildRecord, runPaths } from '../search/runFolder';
import { finalTable } from './finalTable';
import { readFullRecords } from '../final/store';
import { readJournal } from '../util/journal';
import { prepareReport, type ReportData, type ReportRunInfo, type RunStatus } from './data';

// What the extension needs of a child record: its type, and the file name it is exported under.
export { childFileName, type ChildRecord };

/** A run folder that cannot be read as a report; the message names the file. */
export class ReportError extends Error {}

export interface LoadedRun {
  data: ReportData;
  /** Child records by id (full model text and spec, for open / export / copy / detail). */
  children: Map<number, ChildRecord>;
}

function readInfo(dir: string): ReportRunInfo {
  const file = runPaths(dir).info;
  if (!fs.existsSync(file)) throw new ReportError(`${dir} is not a run folder (no run.json).`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ReportRunInfo;
  } catch (e) {
    throw new ReportError(`${file}: not valid JSON (${(e as Error).message}).`);
  }
}

/** The newest random-search run of the same search beside this one (same parent folder), if any. */
export function findBaseline(dir: string, info: ReportRunInfo): string | null {
  if (info.strategy === 'random') return null;
  const parent = path.dirname(dir);
  let best: { dir: string; mtime: number } | null = null;
  for (const name of fs.readdirSync(parent)) {
    const other = path.join(parent, name);
    if (other === dir) continue;
    const file = runPaths(other).info;
    try {
      const o = JSON.parse(fs.readFileSync(file, 'utf8')) as ReportRunInfo;
      if (o.strategy !== 'random' || o.search !== info.search) continue;
      const mtime = fs.statSync(file).mtimeMs;
      if (!best || mtime > best.mtime) best = { dir: other, mtime };
    } catch {
      // not a run folder
    }
  }
  return best?.dir ?? null;
}

/** Reads a run folder (run.json, journal.jsonl, and a random baseline beside it) into report data. */
export function loadRun(runDir: string, opts: { status?: RunStatus; topK?: number } = {}): LoadedRun {
  const dir = path.resolve(runDir);
  const info = readInfo(dir);
  const entries = readJournal<{ type?: string }>(runPaths(dir).journal).entries;
  const baselineDir = findBaseline(dir, info);
  const baseline = baselineDir ? { run: baselineDir, entries: readJournal<{ type?: string }>(runPaths(baselineDir).journal).entries } : null;
  const final = finalTable(readFullRecords(dir), info.config?.targetMs ?? 0);
  const data = prepareReport({ run: dir, info, entries, status: opts.status, baseline, topK: opts.topK, final });
  const children = new Map<number, ChildRecord>();
  for (const e of entries) if (e.type === 'child') children.set((e as ChildRecord).id, e as ChildRecord);
  return { data, children };
}
