// Opening a run folder: a new one for a search of a .mnas file, or an existing one to resume
// (its run.json holds everything the run needs). The folder's files are runFolder.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decisions as spaceDecisions } from '../language/space';
import type { TrainRecipe } from '../train/trainer';
import { writeAtomic } from '../util/atomicWrite';
import { RUN_FORMAT, type RunInfo, runPaths } from './runFolder';
import { loadSearch, SearchInputError } from './searchInput';

/**
 * Child training recipe for proxy runs (Adam, BN momentum 0.1). The learning rate decays to 0 by
 * a cosine: a child's final weights then do not depend on its last few noisy steps, which the
 * proxy-rank benchmark measured as the difference between a ranking and noise (docs/search.md).
 */
export const DEFAULT_RECIPE: Omit<TrainRecipe, 'epochs' | 'batchSize'> = {
  lr: 0.01, optimizer: 'adam', momentum: 0.9, weightDecay: 0, bnMomentum: 0.1, labelSmoothing: 0, schedule: 'cosine',
};

export interface RunOptions {
  /** The .mnas file (new runs). */
  file?: string;
  /** Which search of the file; default its only (or first) search. */
  search?: string;
  /** Parent folder of new runs; default ./mnas-runs. */
  out?: string;
  /** A run folder to continue. */
  resume?: string;
  seed?: number;
  /** Total children (overrides the file's budget; on resume, extends the run). */
  budget?: number;
  strategy?: 'rl' | 'random';
}

export interface OpenedRun {
  dir: string;
  info: RunInfo;
  resumed: boolean;
}

/**
 * A new run folder for a search of a .mnas file (named SEARCH-STRATEGY-TIMESTAMP under `out`),
 * or an existing one to resume (its run.json holds everything the run needs; a new `budget`
 * extends it). New runs write run.json later, once the evaluator and dataset are known.
 */
export function openRun(opts: RunOptions): OpenedRun {
  let info: RunInfo;
  let dir: string;
  if (opts.resume) {
    dir = path.resolve(opts.resume);
    const p = runPaths(dir);
    if (!fs.existsSync(p.info)) throw new SearchInputError(`${dir} is not a run folder (no run.json). Pass the folder \`mnas search\` created, e.g. mnas-runs/Quickstart-20261123-101500.`);
    try {
      info = JSON.parse(fs.readFileSync(p.info, 'utf8')) as RunInfo;
    } catch (e) {
      throw new SearchInputError(`${p.info}: not valid JSON (${(e as Error).message}). The run folder is damaged; start a new run.`);
    }
    if (info.format !== RUN_FORMAT) throw new SearchInputError(`${p.info}: not an mnas run (format ${String(info.format)}).`);
    if (opts.budget && opts.budget !== info.children) {
      info.children = opts.budget;
      writeAtomic(p.info, JSON.stringify(info, null, 2) + '\n');
    }
  } else {
    if (!opts.file) throw new SearchInputError('no .mnas file given: `mnas search FILE` (or --resume RUN).');
    const { config, space } = loadSearch(opts.file, opts.search);
    const seed = opts.seed ?? config.seed;
    const strategy = opts.strategy ?? config.strategy;
    dir = path.resolve(opts.out ?? 'mnas-runs', `${config.name}-${strategy}-${stamp()}`);
    ensureWritable(dir);
    info = {
      format: RUN_FORMAT, version: 1, file: path.resolve(opts.file), search: config.name, config: { ...config, seed, strategy },
      space, decisions: spaceDecisions(space).map((d) => d.key), strategy, seed, children: opts.budget ?? config.budget.children,
      created: new Date().toISOString(), versions: { node: process.version, mnas: '0.1.0' },
      backend: { trainer: '', controller: '', latency: '' },
      dataset: { split: '', train: config.dataset.train, test: config.dataset.test, classes: 0, shape: [] },
      recipe: { ...DEFAULT_RECIPE, epochs: config.budget.epochs, batchSize: config.budget.batch },
    };
  }
  const decisions = spaceDecisions(info.space);
  if (decisions.map((d) => d.key).join() !== info.decisions.join()) {
    throw new SearchInputError(`${runPaths(dir).info}: the stored space no longer matches its decisions; the run folder is damaged. Start a new run.`);
  }
  if (decisions.length === 0) throw new SearchInputError(`space ${info.space.name} leaves nothing open: every field is fixed. Add choice lists such as \`k [3, 5]\`.`);
  return { dir, info, resumed: !!opts.resume };
}

function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

function ensureWritable(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    const probe = path.join(dir, `.write-test-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
  } catch (e) {
    throw new SearchInputError(`cannot write the run folder ${dir}: ${(e as Error).message}. Choose another folder with --out.`);
  }
}
