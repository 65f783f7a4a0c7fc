// Opening a run folder: a new one for a search of a .mnas file, or an existing one to resume
// (its run.json holds everything the run needs). The folder's files are runFolder.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Arch } from '../language/arch';
import { decisions as spaceDecisions } from '../language/space';
import { absoluteTargetMs } from '../language/searchConfig';
import type { TrainRecipe } from '../train/trainer';
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
  /** Total children, at least 1 (overrides the file's budget; on resume, the run's new total, checked by the engine against its journal). */
  budget?: number;
  strategy?: 'rl' | 'random';
}

export interface OpenedRun {
  dir: string;
  info: RunInfo;
  resumed: boolean;
  /** This call made the folder (a new run): a start that fails removes it again. */
  created: boolean;
  /** What the user should know before the run goes on (a resumed run's .mnas file changed). */
  warnings: string[];
  /** New runs with a relative target: the model it names, measured once the evaluator is up (search/target.ts). */
  reference?: Arch;
}

/**
 * A new run folder for a search of a .mnas file (named SEARCH-STRATEGY-TIMESTAMP under `out`),
 * or an existing one to resume (its run.json holds everything the run needs). run.json is
 * written later, once the evaluator and dataset are known (and a resume's budget is checked).
 */
export function openRun(opts: RunOptions): OpenedRun {
  let info: RunInfo;
  let dir: string;
  let created = false;
  const warnings: string[] = [];
  if (opts.budget !== undefined && !(Number.isInteger(opts.budget) && opts.budget >= 1)) {
    throw new SearchInputError(`--budget ${opts.budget}: a search needs at least 1 child. Give the number of children to train in all, or leave it out for the file's \`budget { children N }\`.`);
  }
  let ref: Arch | undefined;
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
    if (opts.file && path.resolve(opts.file) !== info.file) {
      throw new SearchInputError(`${opts.file}: --resume ${opts.resume} continues that run with the settings it started with, from ${info.file}. ` +
        'Give a .mnas file to start a new run, or --resume RUN to continue one, not both.');
    }
    const drift = settingsDrift(info);
    if (drift) warnings.push(drift);
  } else {
    if (!opts.file) throw new SearchInputError('no .mnas file given: `mnas search FILE` (or --resume RUN).');
    const { config, space, reference } = loadSearch(opts.file, opts.search);
    ref = reference;
    const seed = opts.seed ?? config.seed;
    const strategy = opts.strategy ?? config.strategy;
    // Runs started within the same second into one folder get a suffix: the second would otherwise replay the first's journal as its own.
    const base = path.resolve(opts.out ?? 'mnas-runs', `${config.name}-${strategy}-${stamp()}`);
    dir = base;
    for (let i = 2; fs.existsSync(dir); i++) dir = `${base}-${i}`;
    created = true;
    ensureWritable(dir);
    info = {
      format: RUN_FORMAT, version: 1, file: path.resolve(opts.file), search: config.name, config: { ...config, seed, strategy, targetMs: absoluteTargetMs(config.target) ?? 0 },
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
  return { dir, info, resumed: !!opts.resume, created, warnings, reference: ref };
}

/**
 * How a resumed run's .mnas file differs from the settings the run started with (run.json).
 * The stored ones apply: the controller and the journal were made with them.
 */
function settingsDrift(info: RunInfo): string | undefined {
  const keep = 'the run goes on with the settings it started with (run.json), as a resumed run must';
  let now: ReturnType<typeof loadSearch>;
  try {
    now = loadSearch(info.file, info.search);
  } catch (e) {
    return `${info.file} cannot be read now (${(e as Error).message.split('\n')[0]}); ${keep}.`;
  }
  // --seed and --strategy given at the start are part of the stored settings, not a change.
  const diffs = differences(info.config, { ...now.config, seed: info.seed, strategy: info.strategy, targetMs: info.config.targetMs }, '');
  if (JSON.stringify(now.space) !== JSON.stringify(info.space)) diffs.push(`the search space ${info.space.name}`);
  if (diffs.length === 0) return undefined;
  const shown = diffs.slice(0, 6).join('; ') + (diffs.length > 6 ? `; and ${diffs.length - 6} more` : '');
  return `${info.file} changed since this run started (${shown}): ${keep}. Start a new run to search with the new settings` +
    `${diffs.some((d) => d.startsWith('budget.children')) ? '; --budget N changes how many children this one trains in all' : ''}.`;
}

/** Setting paths whose values differ, as "path: old -> new". */
function differences(a: unknown, b: unknown, at: string): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObject = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);
  if (isObject(a) && isObject(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((k) => differences(a[k], b[k], at ? `${at}.${k}` : k));
  }
  const show = (x: unknown) => (x === undefined ? 'none' : JSON.stringify(x).slice(0, 40));
  return [`${at}: ${show(a)} -> ${show(b)}`];
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
