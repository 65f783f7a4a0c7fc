// A run on disk: run.json (what was searched, with what), journal.jsonl (every batch, child
// and update, append-only), controller.json (the last checkpoint), and the summaries
// rewritten after every batch: results.csv, pareto.json, best/*.mnas.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelSpec } from '../language/arch';
import type { ResolvedSpace } from '../language/space';
import type { SearchConfig } from '../language/searchConfig';
import { printModel } from '../language/print';
import { writeAtomic } from '../util/atomicWrite';
import type { TrainResult } from '../train/trainer';
import type { TargetRecord } from './target';

export const RUN_FORMAT = 'mnas-run';

export interface RunInfo {
  format: typeof RUN_FORMAT;
  version: 1;
  /** The .mnas file and search it came from (the space is stored whole below). */
  file: string;
  search: string;
  /** The search's settings, with T resolved (`targetMs`; search/target.ts). */
  config: SearchConfig & { targetMs: number };
  /** How a relative target (`target 0.8x Tiny`) was measured when the run started; resume reuses it. */
  target?: TargetRecord;
  space: ResolvedSpace;
  decisions: string[];
  strategy: 'rl' | 'random';
  seed: number;
  children: number;
  created: string;
  versions: { node: string; mnas: string };
  backend: { trainer: string; controller: string; latency: string };
  dataset: { split: string; train: number; test: number; classes: number; shape: number[] };
  recipe: Record<string, unknown>;
}

export interface ChildRecord {
  type: 'child';
  id: number;
  step: number;
  actions: number[];
  name: string;
  spec: ModelSpec;
  /** The full model as .mnas text: openable, editable, re-estimable. */
  model: string;
  accuracy: number;
  latencyMs: number;
  latencySpread: number;
  latencySource: string;
  params: number;
  multAdds: number;
  proxyParams: number;
  reward: number;
  trainSeconds: number;
  imagesPerSecond: number;
  attempts: number;
  /** Id of the earlier child with the same architecture whose results were reused. */
  cachedFrom?: number;
  /** The trained weights, relative to the run folder ('/'-separated, e.g. children/7/weights.pt). */
  weights?: string;
  /** Queue runs: job ids on the queue and the workers that ran them. */
  jobs?: { train: string; latency?: string };
  workers?: { train: string; latency?: string };
  time: string;
}

export interface FailedRecord { type: 'failed'; id: number; step: number; actions: number[]; name: string; error: string; time: string }
export interface BatchRecord { type: 'batch'; step: number; rng: [number, number, number, number]; samples: { id: number; actions: number[]; logProb: number }[] }
/** A controller update; `children` (overlap runs) names the finished children it learned from, each used once. */
export interface UpdateRecord { type: 'update'; step: number; stats?: Record<string, number>; children?: number[] }
/**
 * A child's training, journaled as soon as it is in and before its latency: a stop or a kill
 * keeps it, and --resume only measures the child's latency (its weights are in children/ID).
 */
export type TrainedRecord = { type: 'trained'; id: number; step: number; time: string } & TrainedChild;

/** A child's training result as the journal keeps it (the evaluator reports it as soon as it is in). */
export interface TrainedChild {
  accuracy: number;
  train: Pick<TrainResult, 'trainSeconds' | 'evalSeconds' | 'imagesPerSecond' | 'params' | 'weightsPath' | 'loss' | 'diverged' | 'threads'>;
  attempts: number;
  /** Queue runs: the worker that trained it. */
  worker?: string;
}
export type JournalEntry = ChildRecord | TrainedRecord | FailedRecord | BatchRecord | UpdateRecord;

export function runPaths(dir: string) {
  return {
    dir,
    info: path.join(dir, 'run.json'),
    journal: path.join(dir, 'journal.jsonl'),
    controller: path.join(dir, 'controller.json'),
    csv: path.join(dir, 'results.csv'),
    pareto: path.join(dir, 'pareto.json'),
    best: path.join(dir, 'best'),
    children: path.join(dir, 'children'),
  };
}

/** `file` as a journal stores it: relative to the run folder `dir`, '/'-separated; undefined when outside it. */
export function runRelative(dir: string, file: string): string | undefined {
  const rel = path.relative(path.resolve(dir), path.resolve(file));
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

export class RunFileError extends Error {}

/**
 * A file a run's journal names, as its real path inside the run folder `dir`. Journals come from
 * other processes and machines (queue results, copied or downloaded run folders), so an absolute
 * path, a `..` step or a symbolic link leading out of the folder is refused; a relative path
 * resolves against the folder given, so a copied run uses its own files. `where` names the
 * journal line for the error. A missing file is returned as is (the caller says what is missing).
 */
export function fileInRun(dir: string, rel: string, where: string, example: string): string {
  const bad = (why: string) => new RunFileError(`${where}: ${JSON.stringify(rel)} ${why}. A run's journal may only name files inside its run folder, ` +
    `relative to it (here ${JSON.stringify(example)}); nothing outside it is read. If you wrote this run folder yourself, put ${JSON.stringify(example)} there.`);
  if (typeof rel !== 'string' || rel === '') throw bad('is not a path');
  if (path.isAbsolute(rel) || path.win32.isAbsolute(rel)) throw bad('is an absolute path');
  const parts = rel.split(/[\\/]/);
  if (parts.includes('..')) throw bad('climbs out with ".."');
  const root = fs.realpathSync(dir);
  const full = path.join(root, ...parts);
  if (!fs.existsSync(full)) return full;
  const real = fs.realpathSync(full);
  if (!real.startsWith(root + path.sep)) throw bad(`leads outside the run folder through a symbolic link (to ${real})`);
  return real;
}

/** A trained child's files, inside the run folder `dir` (see fileInRun); a cached child uses the child it was trained as. */
export function childFiles(dir: string, rec: ChildRecord, where: string): { dir: string; weights: string; arch: string } {
  const trained = rec.cachedFrom ?? rec.id;
  if (!Number.isSafeInteger(trained) || trained < 0) throw new RunFileError(`${where}: child ${JSON.stringify(rec.id)} has no valid id${rec.cachedFrom !== undefined ? ' (cachedFrom)' : ''}: ids are whole numbers.`);
  const folder = `children/${trained}`;
  return {
    dir: fileInRun(dir, folder, where, folder),
    weights: fileInRun(dir, rec.weights ?? `${folder}/weights.pt`, `${where}: the child's weights`, `${folder}/weights.pt`),
    arch: fileInRun(dir, `${folder}/arch.json`, where, `${folder}/arch.json`),
  };
}

/** A file name for a child (best/*.mnas, an exported .tflite): its name when that is a plain
 * identifier, else `child<id>`. Names come from the journal, which may have been edited. */
export function childFileName(c: Pick<ChildRecord, 'id' | 'name'>): string {
  return typeof c.name === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(c.name) ? c.name : `child${Number(c.id)}`;
}
/** Non-dominated children: no other child is both faster and more accurate. */
export function paretoFront(children: ChildRecord[]): ChildRecord[] {
  const sorted = [...children].sort((a, b) => a.latencyMs - b.latencyMs || b.accuracy - a.accuracy);
  const front: ChildRecord[] = [];
  let bestAcc = -Infinity;
  for (const c of sorted) {
    if (c.accuracy > bestAcc) {
      front.push(c);
      bestAcc = c.accuracy;
    }
  }
  return front;
}

const csvCell = (v: unknown) => {
  const s = v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function writeSummaries(dir: string, children: ChildRecord[], failed: FailedRecord[], topK = 5): void {
  const p = runPaths(dir);
  const header = ['id', 'step', 'name', 'accuracy', 'latency_ms', 'latency_spread_ms', 'latency_source', 'params', 'mult_adds', 'reward', 'train_seconds', 'images_per_second', 'cached_from', 'failed'];
  const rows = [
    ...children.map((c) => [c.id, c.step, c.name, c.accuracy, c.latencyMs, c.latencySpread, c.latencySource, c.params, c.multAdds, c.reward, c.trainSeconds, c.imagesPerSecond, c.cachedFrom ?? '', '']),
    ...failed.map((f) => [f.id, f.step, f.name, '', '', '', '', '', '', '', '', '', '', f.error]),
  ].sort((a, b) => Number(a[0]) - Number(b[0]));
  writeAtomic(p.csv, [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n');
  const front = paretoFront(children).map((c) => ({ id: c.id, name: c.name, accuracy: c.accuracy, latencyMs: c.latencyMs, params: c.params, multAdds: c.multAdds, reward: c.reward }));
  writeAtomic(p.pareto, JSON.stringify(front, null, 2) + '\n');
  fs.mkdirSync(p.best, { recursive: true });
  for (const f of fs.readdirSync(p.best)) if (f.endsWith('.mnas')) fs.rmSync(path.join(p.best, f));
  const unique = children.filter((c) => c.cachedFrom === undefined);
  [...unique].sort((a, b) => b.reward - a.reward).slice(0, topK).forEach((c, i) => {
    const comment = `rank ${i + 1} by reward in this run: child ${c.id} (step ${c.step})\n` +
      `reward ${c.reward.toFixed(4)}, proxy accuracy ${(100 * c.accuracy).toFixed(2)}%, latency ${c.latencyMs.toFixed(3)} ms (${c.latencySource})\n` +
      `${c.params.toLocaleString('en-US')} params, ${c.multAdds.toLocaleString('en-US')} mult-adds at full size`;
    writeAtomic(path.join(p.best, `${i + 1}-${childFileName(c)}.mnas`), printModel(c.spec, comment));
  });
}
