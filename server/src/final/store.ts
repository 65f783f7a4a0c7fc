// Full-training results on disk, beside what they trained: RUN/children/<id>/full.json for a
// search child, RUN/baseline/full.json for the space's skeleton, OUT/full.json for a model of a
// .mnas file. Each folder also holds weights-full.pt (the best epoch: what is exported),
// weights-full-last.pt, arch-full.json and checkpoint-full.pt (resume). full.json is written
// atomically once the training has finished, so it is either absent or complete.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Arch } from '../language/arch';
import { writeAtomic } from '../util/atomicWrite';
import { runPaths } from '../search/runFolder';
import type { FullEpoch, FullTrainRecipe } from '../train/trainer';

export const FULL_FORMAT = 'mnas-full-training';
export const FULL_FILES = {
  result: 'full.json', weights: 'weights-full.pt', last: 'weights-full-last.pt', arch: 'arch-full.json', checkpoint: 'checkpoint-full.pt',
} as const;

export type FullTarget = { kind: 'child'; id: number } | { kind: 'baseline' } | { kind: 'model' };

export interface FullRecord {
  format: typeof FULL_FORMAT;
  version: 1;
  target: FullTarget;
  name: string;
  /** The model as .mnas text (full size, as timed). */
  model: string;
  /** The network trained (the data's resolution and classes). */
  arch: Arch;
  /** Full-size cost, as in the search's table. */
  params: number;
  multAdds: number;
  latencyMs: number | null;
  latencySpread: number | null;
  latencySource: string | null;
  /** A child's latency as the search measured it (the table's latency is re-timed with the skeleton, same session). */
  searchLatencyMs?: number | null;
  /** Proxy accuracy from the search (for the skeleton: trained once with the search's proxy recipe). */
  proxyAccuracy: number | null;
  /** Test accuracy of the best epoch's weights (weights-full.pt). */
  accuracy: number;
  lastAccuracy: number;
  valAccuracy: number | null;
  bestEpoch: number;
  bestSource: 'ema' | 'raw';
  epochs: FullEpoch[];
  recipe: FullTrainRecipe;
  dataset: { name: string; train: number; test: number; split: string; valImages: number };
  seed: number;
  trainSeconds: number;
  backend: string;
  /** Queue runs: the job and worker that trained it. */
  job?: string;
  worker?: string;
  time: string;
}

export function fullDir(run: string, target: FullTarget): string {
  if (target.kind === 'child') return path.join(runPaths(run).children, String(target.id));
  if (target.kind === 'baseline') return path.join(run, 'baseline');
  return run;
}

export function writeFullRecord(dir: string, rec: FullRecord): void {
  fs.mkdirSync(dir, { recursive: true });
  writeAtomic(path.join(dir, FULL_FILES.result), JSON.stringify(rec, null, 2) + '\n');
}

export function readFullRecord(dir: string): FullRecord | null {
  const file = path.join(dir, FULL_FILES.result);
  if (!fs.existsSync(file)) return null;
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as FullRecord;
    return r.format === FULL_FORMAT ? r : null;
  } catch {
    return null;
  }
}

/** Every finished full training of a run: the skeleton's and the children's. */
export function readFullRecords(run: string): { baseline: FullRecord | null; children: Map<number, FullRecord> } {
  const children = new Map<number, FullRecord>();
  const dir = runPaths(run).children;
  if (fs.existsSync(dir)) {
    for (const name of fs.readdirSync(dir)) {
      if (!/^\d+$/.test(name)) continue;
      const r = readFullRecord(path.join(dir, name));
      if (r) children.set(Number(name), r);
    }
  }
  return { baseline: readFullRecord(fullDir(run, { kind: 'baseline' })), children };
}

/** A training that was started and not finished (checkpoint, no result): `--resume` continues it. */
export function hasCheckpoint(dir: string): boolean {
  return fs.existsSync(path.join(dir, FULL_FILES.checkpoint)) && !fs.existsSync(path.join(dir, FULL_FILES.result));
}
