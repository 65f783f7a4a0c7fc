// Job payloads on the queue and their results, with JSON schemas (ajv) checked on both ends:
// a worker takes nothing from a job but the architecture it describes, the dataset it names
// (built in, or under the worker's --data folders) and numbers within limits; it picks its own
// output folder, interpreter and devices. A payload that fails the check is failed at once,
// never retried, with every bad field named.
import Ajv, { type ErrorObject } from 'ajv';
import type { Arch } from '../language/arch';
import { ACT_NAMES, OP_NAMES, POOL_NAMES, SKIP_NAMES } from '../language/ast';
import { LIMITS } from '../language/resolve';
import { costOf } from '../cost/model';
import { fieldOf } from '../util/schema';
import { ARTIFACTS, FULL_ARTIFACTS } from './artifacts';
import type { LatencyMeasurement } from '../util/timing';
import type { ChildEvaluation } from '../search/evaluator';
import { DATASET_NAMES, type DatasetRequest, MAX_RESOLUTION, PATH_DATASETS } from '../train/datasets';
import type { FullTrainRecipe, FullTrainResult, TrainRecipe } from '../train/trainer';

export const PAYLOAD_VERSION = 1;
/** Children bigger than this are not trained by a worker (about 10x the largest ImageNet mobile nets x 1000). */
export const MAX_MULT_ADDS = 1e12;

/** What every training job carries: the child, its data and its seed. */
interface TrainingJobBase {
  v: typeof PAYLOAD_VERSION;
  /** The run's queue id (letters, digits, . _ -). */
  run: string;
  child: number;
  arch: Arch;
  dataset: DatasetRequest;
  /** What the controller prepared: a worker whose data differs fails the job instead of training on other data. */
  expect: { shape: [number, number, number]; classes: number };
  seed: number;
}

export interface TrainJobData extends TrainingJobBase {
  recipe: TrainRecipe;
}

/** A full training after a search (`mnas train --queue`): one long job; the worker resumes its own checkpoint on a retry. */
export interface FullTrainJobData extends TrainingJobBase {
  /** The child id, or BASELINE_CHILD for the space's skeleton. */
  child: number;
  recipe: FullTrainRecipe;
}

export interface FullTrainJobResult extends WorkerStamp {
  result: Omit<FullTrainResult, 'weightsPath' | 'lastWeightsPath'>;
  artifacts?: string[];
}

export type LatencyTarget = { kind: 'local' } | { kind: 'adb'; model: string };

export interface LatencyJobData {
  v: typeof PAYLOAD_VERSION;
  run: string;
  child: number;
  arch: Arch;
  target: LatencyTarget;
}

/** Who did the work: kept with the child in the journal. */
export interface WorkerStamp { worker: string; host: string }

export interface TrainJobResult extends WorkerStamp {
  accuracy: number;
  train: ChildEvaluation['train'];
  /** Files stored in Redis for the controller (artifacts.ts); absent or [] = they stayed on the worker. */
  artifacts?: string[];
}

export interface LatencyJobResult extends WorkerStamp {
  latency: LatencyMeasurement;
}

const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum });
const num = (minimum: number, maximum: number) => ({ type: 'number', minimum, maximum });
const act = { enum: [...ACT_NAMES] };
const name = { type: 'string', maxLength: 200 };
// Part of the worker's output path: never '.' or '..'.
const runId = { type: 'string', pattern: '^(?!\\.{1,2}$)[A-Za-z0-9._-]{1,160}$' };

const ARCH_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'input', 'stem', 'blocks', 'head'],
  properties: {
    name,
    input: {
      type: 'object', additionalProperties: false, required: ['h', 'w', 'c'],
      properties: { h: int(1, LIMITS.input), w: int(1, LIMITS.input), c: int(1, LIMITS.channels) },
    },
    stem: {
      anyOf: [{ type: 'null' }, {
        type: 'object', additionalProperties: false, required: ['k', 's', 'f', 'act'],
        properties: { k: int(1, LIMITS.k), s: int(1, LIMITS.s), f: int(1, LIMITS.f), act },
      }],
    },
    blocks: {
      type: 'array', maxItems: 4096,
      items: {
        type: 'object', additionalProperties: false, required: ['name', 'op', 'e', 'k', 's', 'f', 'x', 'se', 'skip', 'act'],
        properties: {
          name, op: { enum: [...OP_NAMES] }, e: num(0, LIMITS.e), k: int(1, LIMITS.k), s: int(1, LIMITS.s), f: int(1, LIMITS.f),
          x: int(1, LIMITS.x), se: num(0, 1), skip: { enum: [...SKIP_NAMES] }, act,
        },
      },
    },
    head: {
      anyOf: [{ type: 'null' }, {
        type: 'object', additionalProperties: false, required: ['f', 'pool', 'classes', 'dropout'],
        properties: {
          f: { anyOf: [{ type: 'null' }, int(1, LIMITS.f)] }, pool: { enum: [...POOL_NAMES] },
          classes: { anyOf: [{ type: 'null' }, int(1, LIMITS.classes)] }, dropout: num(0, 1), act,
        },
      }],
    },
  },
};

const DATASET_SCHEMA = {
  type: 'object', additionalProperties: false, required: ['name', 'train', 'test', 'seed'],
  properties: {
    name: { enum: [...DATASET_NAMES] }, train: int(1, 10_000_000), test: int(1, 10_000_000), seed: int(0, 2 ** 31),
    path: { type: 'string', minLength: 1, maxLength: 4096 }, resolution: int(1, MAX_RESOLUTION), channels: { enum: [1, 3] },
  },
};

const RECIPE_SCHEMA = {
  type: 'object', additionalProperties: false,
  required: ['epochs', 'batchSize', 'lr', 'optimizer', 'momentum', 'weightDecay', 'bnMomentum', 'labelSmoothing'],
  properties: {
    epochs: int(1, 10_000), batchSize: int(1, 65_536), lr: num(0, 100), optimizer: { enum: ['sgd', 'adam', 'rmsprop'] },
    momentum: num(0, 1), weightDecay: num(0, 1), bnMomentum: num(0, 1), labelSmoothing: num(0, 1),
    schedule: { enum: ['cosine', 'constant'] }, bnRecalibrationBatches: int(0, 100_000), lossEvery: int(1, 1_000_000),
    evalBatchSize: int(1, 65_536),
  },
};

const FULL_RECIPE_SCHEMA = {
  type: 'object', additionalProperties: false,
  required: ['epochs', 'batchSize', 'lr', 'momentum', 'nesterov', 'weightDecay', 'labelSmoothing', 'warmupEpochs', 'emaDecay', 'cropPadding', 'flip', 'valFraction', 'bnMomentum'],
  properties: {
    epochs: int(1, 10_000), batchSize: int(1, 65_536), lr: num(0, 100), momentum: num(0, 0.9999), nesterov: { type: 'boolean' },
    weightDecay: num(0, 1), labelSmoothing: num(0, 0.999), warmupEpochs: num(0, 10_000), emaDecay: num(0, 0.999999),
    cropPadding: int(0, 256), flip: { type: 'boolean' }, valFraction: num(0, 0.5), bnMomentum: num(0, 1), evalBatchSize: int(1, 65_536),
  },
};

const TRAIN_SCHEMA = {
  type: 'object', additionalProperties: false, required: ['v', 'run', 'child', 'arch', 'dataset', 'expect', 'recipe', 'seed'],
  properties: {
    v: { const: PAYLOAD_VERSION }, run: runId, child: int(0, 1e9), arch: ARCH_SCHEMA, dataset: DATASET_SCHEMA,
    expect: {
      type: 'object', additionalProperties: false, required: ['shape', 'classes'],
      properties: { shape: { type: 'array', items: int(1, LIMITS.input), minItems: 3, maxItems: 3 }, classes: int(1, LIMITS.classes) },
    },
    recipe: RECIPE_SCHEMA, seed: int(0, Number.MAX_SAFE_INTEGER),
  },
};

const FULL_SCHEMA = {
  ...TRAIN_SCHEMA,
  properties: { ...TRAIN_SCHEMA.properties, recipe: FULL_RECIPE_SCHEMA },
};

const LATENCY_SCHEMA = {
  type: 'object', additionalProperties: false, required: ['v', 'run', 'child', 'arch', 'target'],
  properties: {
    v: { const: PAYLOAD_VERSION }, run: runId, child: int(0, 1e9), arch: ARCH_SCHEMA,
    target: {
      anyOf: [
        { type: 'object', additionalProperties: false, required: ['kind'], properties: { kind: { const: 'local' } } },
        { type: 'object', additionalProperties: false, required: ['kind', 'model'], properties: { kind: { const: 'adb' }, model: { type: 'string', minLength: 1, maxLength: 200 } } },
      ],
    },
  },
};

const finite = { type: 'number' };
const STAMP = { worker: { type: 'string', maxLength: 300 }, host: { type: 'string', maxLength: 300 } };
const TRAIN_RESULT_SCHEMA = {
  type: 'object', required: ['accuracy', 'train', 'worker', 'host'],
  properties: {
    ...STAMP, accuracy: num(0, 1), artifacts: { type: 'array', maxItems: ARTIFACTS.length, items: { enum: [...ARTIFACTS] } },
    train: {
      type: 'object', required: ['trainSeconds', 'evalSeconds', 'imagesPerSecond', 'params', 'weightsPath', 'loss', 'diverged', 'threads'],
      properties: {
        trainSeconds: finite, evalSeconds: finite, imagesPerSecond: finite, params: finite, weightsPath: { type: 'string' },
        loss: { type: 'array', items: { type: ['number', 'null'] } }, diverged: { type: 'boolean' }, threads: finite,
      },
    },
  },
};
const FULL_RESULT_SCHEMA = {
  type: 'object', required: ['result', 'worker', 'host'],
  properties: {
    ...STAMP, artifacts: { type: 'array', maxItems: FULL_ARTIFACTS.length, items: { enum: [...FULL_ARTIFACTS] } },
    result: {
      type: 'object',
      required: ['accuracy', 'lastAccuracy', 'valAccuracy', 'bestEpoch', 'bestSource', 'epochs', 'steps', 'trainImages', 'valImages', 'testImages', 'trainSeconds', 'evalSeconds', 'params', 'resumedFrom', 'threads'],
      properties: {
        accuracy: num(0, 1), lastAccuracy: num(0, 1), valAccuracy: { anyOf: [{ type: 'null' }, num(0, 1)] }, bestEpoch: int(0, 10_000),
        bestSource: { enum: ['ema', 'raw'] }, steps: finite, trainImages: finite, valImages: finite, testImages: finite, trainSeconds: finite,
        evalSeconds: finite, params: finite, resumedFrom: finite, threads: finite,
        epochs: {
          type: 'array', maxItems: 10_000,
          items: {
            type: 'object', additionalProperties: false, required: ['epoch', 'loss', 'trainAccuracy', 'valAccuracy', 'valAccuracyEma', 'lr', 'seconds'],
            properties: {
              epoch: finite, loss: finite, trainAccuracy: finite, valAccuracy: { type: ['number', 'null'] }, valAccuracyEma: { type: ['number', 'null'] },
              lr: finite, seconds: finite,
            },
          },
        },
      },
    },
  },
};
const LATENCY_RESULT_SCHEMA = {
  type: 'object', required: ['latency', 'worker', 'host'],
  properties: {
    ...STAMP,
    latency: {
      type: 'object', required: ['ms', 'median', 'min', 'max', 'spread', 'repeats', 'source'],
      properties: {
        ms: num(0, 1e9), median: finite, min: finite, max: finite, spread: finite, repeats: finite, source: { type: 'string' },
        clock: { enum: ['cpu', 'wall'] }, statistic: { enum: ['min', 'median', 'trimmed-mean'] }, cpuMs: finite, wallMs: finite, splitHalfPct: { type: 'number' }, stable: { type: 'boolean' },
      },
    },
  },
};

export class PayloadError extends Error {}

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = {
  train: ajv.compile(TRAIN_SCHEMA),
  latency: ajv.compile(LATENCY_SCHEMA),
  trainResult: ajv.compile(TRAIN_RESULT_SCHEMA),
  full: ajv.compile(FULL_SCHEMA),
  fullResult: ajv.compile(FULL_RESULT_SCHEMA),
  latencyResult: ajv.compile(LATENCY_RESULT_SCHEMA),
};

function describe(errors: ErrorObject[]): string {
  // anyOf branches repeat themselves: keep one line per field and message.
  const says = (e: ErrorObject) => e.keyword === 'additionalProperties' ? 'is not allowed' : e.keyword === 'required' ? 'is missing' : e.message ?? 'is invalid';
  // Fields that should not be there first: they are what a tampered job looks like.
  const sorted = [...errors.filter((e) => e.keyword === 'additionalProperties'), ...errors.filter((e) => e.keyword !== 'additionalProperties' && e.keyword !== 'anyOf')];
  const lines = [...new Set(sorted.map((e) => `${fieldOf(e)} ${says(e)}`))];
  return lines.slice(0, 12).join('; ') + (lines.length > 12 ? `; and ${lines.length - 12} more` : '');
}

function check<T>(kind: keyof typeof validators, what: string, data: unknown): T {
  const v = validators[kind];
  if (!v(data)) throw new PayloadError(`${what}: ${describe(v.errors ?? [])}`);
  return data as T;
}

/** The architecture also has to build: every stage keeps a positive size, and its cost is bounded. */
function checkArch(arch: Arch, what: string): void {
  let cost;
  try {
    cost = costOf(arch);
  } catch (e) {
    throw new PayloadError(`${what}: arch does not build: ${(e as Error).message}`);
  }
  if (!(cost.multAdds <= MAX_MULT_ADDS)) throw new PayloadError(`${what}: arch has ${cost.multAdds} mult-adds, over the worker limit of ${MAX_MULT_ADDS}`);
}

export function checkTrainJob(data: unknown): TrainJobData {
  const job = check<TrainJobData>('train', 'training job', data);
  // Path datasets read the folder named (under the worker's --data folders); the others read nothing a job names.
  const reads = PATH_DATASETS.includes(job.dataset.name);
  if (reads && !job.dataset.path) throw new PayloadError(`training job: dataset.path is missing (${job.dataset.name} reads files)`);
  if (!reads && job.dataset.path !== undefined) throw new PayloadError(`training job: dataset.path is given but ${job.dataset.name} takes no path (only ${PATH_DATASETS.join(', ')} do)`);
  checkArch(job.arch, 'training job');
  return job;
}

export function checkFullTrainJob(data: unknown): FullTrainJobData {
  const job = check<FullTrainJobData>('full', 'full-training job', data);
  const reads = PATH_DATASETS.includes(job.dataset.name);
  if (reads && !job.dataset.path) throw new PayloadError(`full-training job: dataset.path is missing (${job.dataset.name} reads files)`);
  if (!reads && job.dataset.path !== undefined) throw new PayloadError(`full-training job: dataset.path is given but ${job.dataset.name} takes no path (only ${PATH_DATASETS.join(', ')} do)`);
  checkArch(job.arch, 'full-training job');
  return job;
}

export function checkFullTrainResult(data: unknown): FullTrainJobResult {
  return check('fullResult', 'full-training result', data);
}

export function checkLatencyJob(data: unknown): LatencyJobData {
  const job = check<LatencyJobData>('latency', 'latency job', data);
  checkArch(job.arch, 'latency job');
  return job;
}

export function checkTrainResult(data: unknown): TrainJobResult {
  return check('trainResult', 'training result', data);
}

export function checkLatencyResult(data: unknown): LatencyJobResult {
  return check('latencyResult', 'latency result', data);
}
