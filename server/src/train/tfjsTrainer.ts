// The TensorFlow.js child trainer: the same `Trainer` contract as the PyTorch worker
// (torchTrainer.ts, server/python/mnas_worker/train.py), in process. It reads the prepared
// dataset files (datasets/write.ts), normalizes like the worker (per-channel statistics of the
// training split, bilinear resize to the arch input, grey repeated to RGB), trains with the recipe
// (sgd/adam/rmsprop, constant or cosine schedule, L2 weight decay, label smoothing, seeded order),
// recomputes BN statistics on a few training batches, evaluates on the held-out split and saves
// the model as tfjs layers format (model.json + weights.bin, written by this module, so it works
// without tfjs-node's file:// handler) plus arch.json.
//
// Speed: with `@tensorflow/tfjs-node` this is a usable trainer. Pure-JS tfjs (cpu backend) trains
// conv nets at a few images per second (conv backprop ~60x slower than forward; measured figures
// in docs/search.md, "Training backends"): only for tiny smoke runs, and every result says so.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LayersModel, Optimizer, Scalar, Tensor, Tensor4D, Variable } from '@tensorflow/tfjs';
import type { Arch } from '../language/arch';
import { waitWhileTiming } from '../platform/hostLock';
import { loadTf, quietPlatformNotice, type Tf, type TfRuntime } from '../platform/tfjs';
import { plainFileIn } from '../util/plainFile';
import { DATASET_FORMAT } from './datasets/write';
import { mulberry32 } from './datasets/split';
import { buildTfjsModel } from './tfjsBuilder';
import type { HelloInfo, Trainer, TrainProgress, TrainRecipe, TrainRequest, TrainResult } from './trainer';

export const PURE_JS_BACKEND = 'tfjs cpu (pure JS)';
export const NATIVE_BACKEND = 'tfjs-node';

export const PURE_JS_WARNING =
  'WARNING: training children with pure-JS TensorFlow.js (cpu backend). It trains conv nets at about ' +
  '4 images/s on a 2-core machine (conv backprop is ~60x slower than forward): use it only for tiny smoke ' +
  'runs (a few hundred images, 1 epoch). For a real search install PyTorch for the system Python ' +
  '(`apt-get install -y python3-torch`, then --backend torch or auto) or use tfjs-node where it installs.';

export interface TfjsTrainResult extends TrainResult {
  /** "tfjs-node" or "tfjs cpu (pure JS)". */
  backend: string;
  /** Set on pure JS: the speed warning, with the measured rate. */
  warning?: string;
  /** outDir/model.json (tfjs layers format; weightsPath is its weights.bin). */
  modelPath: string;
}

export interface TfjsTrainerOptions {
  /**
   * `auto` (default): tfjs-node when it loads, else pure JS; `native`: tfjs-node or an error;
   * `cpu`: pure JS even when tfjs-node is installed.
   */
  runtime?: 'auto' | 'native' | 'cpu';
  /** Called once, when the pure-JS trainer starts (and the text is repeated in each result). */
  onWarning?: (message: string) => void;
}

// ---------------------------------------------------------------------------------------------
// Runtime

let pure: Promise<TfRuntime> | undefined;

/** Pure-JS tfjs on the cpu backend, even when tfjs-node is installed (it re-exports the same engine). */
export function loadPureTf(): Promise<TfRuntime> {
  pure ??= (async () => {
    const tf = await quietPlatformNotice(async () => (await import('@tensorflow/tfjs')) as Tf);
    await tf.setBackend('cpu');
    await tf.ready();
    // Silence the one-time "install tfjs-node" banner: the backend is reported anyway.
    const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
    if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
    return { tf, backend: PURE_JS_BACKEND, native: false };
  })();
  return pure;
}

async function loadRuntime(which: 'auto' | 'native' | 'cpu'): Promise<TfRuntime> {
  if (which === 'cpu') return loadPureTf();
  const rt = await loadTf();
  if (which === 'native' && !rt.native) {
    throw new Error(`tfjs-node is not available (${rt.fallbackReason ?? 'the package @tensorflow/tfjs-node is not installed'}); ` +
      'its install script downloads libtensorflow, which needs internet access');
  }
  return rt;
}

// ---------------------------------------------------------------------------------------------
// Data

export interface LoadedSplit {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  /** [c, h, w] */
  shape: [number, number, number];
  classes: number;
  scale: number;
  mean: number;
  std: number;
  channelMean?: number[];
  channelStd?: number[];
}

/** Reads one split written by datasets/write.ts (the same checks as the worker's data.py). */
export async function loadSplit(headerPath: string): Promise<LoadedSplit> {
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(await readFile(headerPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`cannot read dataset header ${headerPath}: ${(e as Error).message}`);
  }
  if (!h || typeof h !== 'object' || Array.isArray(h)) throw new Error(`${headerPath}: header is not a JSON object`);
  if (h.format !== DATASET_FORMAT) throw new Error(`${headerPath}: format ${JSON.stringify(h.format)}, expected "${DATASET_FORMAT}"`);
  const need = (k: string) => {
    if (!(k in h)) throw new Error(`${headerPath}: header has no '${k}'`);
    return h[k];
  };
  const shape = (need('shape') as number[]).map(Number) as [number, number, number];
  const count = Number(need('count'));
  const base = path.dirname(path.resolve(headerPath));
  const file = (k: 'images' | 'labels') => {
    const name = need(k);
    try {
      return plainFileIn(base, name);
    } catch (e) {
      throw new Error(`${headerPath}: '${k}' ${JSON.stringify(name)} ${(e as Error).message}. A dataset header names only files beside it ` +
        `(here "${path.basename(headerPath, '.json')}-${k}.u8"); this one is damaged or was written by something else: delete ${base} and run again.`);
    }
  };
  const images = new Uint8Array(await readFile(file('images')));
  const labels = new Uint8Array(await readFile(file('labels')));
  const [c, hh, ww] = shape;
  if (images.length !== count * c * hh * ww || labels.length !== count) {
    throw new Error(`${headerPath}: files hold ${images.length} pixels / ${labels.length} labels, header says ${count} images of ${c}x${hh}x${ww}`);
  }
  const classes = Number(need('classes'));
  let maxLabel = -1;
  for (const l of labels) if (l > maxLabel) maxLabel = l;
  if (count && maxLabel >= classes) throw new Error(`${headerPath}: label ${maxLabel} >= classes ${classes}`);
  const stats = (k: string) => {
    const v = h[k];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.length !== c || !v.every((x) => typeof x === 'number')) throw new Error(`${headerPath}: '${k}' must be a list of ${c} numbers`);
    return v as number[];
  };
  return {
    images, labels, count, shape, classes,
    scale: Number(h.scale ?? 255), mean: Number(need('mean')), std: Number(need('std')),
    channelMean: stats('channelMean'), channelStd: stats('channelStd'),
  };
}

function checkFit(split: LoadedSplit, arch: Arch, classes: number): void {
  const dc = split.shape[0];
  const c = arch.input.c;
  if (!(dc === c || (dc === 1 && c === 3))) {
    const hint = c === 1 && dc === 3 ? ' (prepare the dataset with `channels 1`)' : '';
    throw new Error(`arch input has ${c} channels but the data has ${dc} (only 1 -> 3 is converted)${hint}`);
  }
  if (classes < split.classes) throw new Error(`arch.head.classes is ${classes} but the dataset has ${split.classes} classes`);
}

/**
 * uint8 N x C x H x W rows -> normalized float NHWC batch at the arch's size and channels
 * (statistics of the training split; bilinear resize with half-pixel centers = PyTorch's
 * align_corners=False; grey repeated to RGB).
 */
function prepareBatch(tf: Tf, of: LoadedSplit, idx: ArrayLike<number>, norm: LoadedSplit, arch: Arch): Tensor {
  const [c, h, w] = of.shape;
  const plane = h * w;
  const n = idx.length;
  const out = new Float32Array(n * plane * c);
  const perChannel = norm.channelMean && norm.channelStd && norm.channelMean.length === c;
  const mean = Array.from({ length: c }, (_, ch) => (perChannel ? norm.channelMean![ch] : norm.mean));
  const inv = Array.from({ length: c }, (_, ch) => 1 / Math.max(perChannel ? norm.channelStd![ch] : norm.std, 1e-6));
  const scale = 1 / norm.scale;
  for (let b = 0; b < n; b++) {
    const src = idx[b] * c * plane;
    const dst = b * plane * c;
    for (let ch = 0; ch < c; ch++) {
      const m = mean[ch];
      const s = inv[ch];
      const off = src + ch * plane;
      for (let p = 0; p < plane; p++) out[dst + p * c + ch] = (of.images[off + p] * scale - m) * s;
    }
  }
  return tf.tidy(() => {
    let x: Tensor = tf.tensor4d(out, [n, h, w, c]);
    if (h !== arch.input.h || w !== arch.input.w) x = tf.image.resizeBilinear(x as Tensor4D, [arch.input.h, arch.input.w], false, true);
    if (c !== arch.input.c) x = tf.tile(x, [1, 1, 1, arch.input.c]);
    return x;
  });
}

/** Batches of indices like the worker: seeded permutation (or in order), a trailing 1-image batch dropped when training. */
function batches(n: number, size: number, rand: (() => number) | null): Int32Array[] {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  if (rand) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }
  const out: Int32Array[] = [];
  for (let i = 0; i < n; i += size) out.push(order.subarray(i, Math.min(n, i + size)));
  if (rand && out.length > 1 && out.at(-1)!.length === 1) out.pop();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Recipe

interface Recipe {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: TrainRecipe['optimizer'];
  momentum: number;
  weightDecay: number;
  bnMomentum: number;
  labelSmoothing: number;
  schedule: 'cosine' | 'constant';
  bnRecalibrationBatches: number;
  lossEvery?: number;
  evalBatchSize: number;
}

/** The worker's defaults and ranges (docs/worker-protocol.md); the schedule defaults to constant, as there. */
export function parseRecipe(r: Partial<TrainRecipe>): Recipe {
  const num = (key: keyof TrainRecipe, def: number | undefined, lo: number, hi: number, int = false): number => {
    const v = r[key] ?? def;
    if (v === undefined) throw new Error(`recipe.${key} is required`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`recipe.${key} must be a number, got ${JSON.stringify(v)}`);
    if (v < lo || v > hi) throw new Error(`recipe.${key} must be in [${lo}, ${hi}], got ${v}`);
    if (int && !Number.isInteger(v)) throw new Error(`recipe.${key} must be an integer, got ${v}`);
    return v;
  };
  const optimizer = r.optimizer ?? 'sgd';
  if (!['sgd', 'adam', 'rmsprop'].includes(optimizer)) throw new Error(`recipe.optimizer must be sgd, adam or rmsprop; got ${JSON.stringify(optimizer)}`);
  const schedule = r.schedule ?? 'constant';
  if (schedule !== 'cosine' && schedule !== 'constant') throw new Error(`recipe.schedule must be cosine or constant; got ${JSON.stringify(schedule)}`);
  return {
    epochs: num('epochs', undefined, 1, 10_000, true),
    batchSize: num('batchSize', undefined, 1, 1 << 16, true),
    lr: num('lr', undefined, 0, 100),
    optimizer,
    momentum: num('momentum', 0.9, 0, 0.9999),
    weightDecay: num('weightDecay', 0, 0, 1),
    bnMomentum: num('bnMomentum', 0.1, 0, 1),
    labelSmoothing: num('labelSmoothing', 0, 0, 0.999),
    schedule,
    bnRecalibrationBatches: num('bnRecalibrationBatches', 10, 0, 1 << 20, true),
    lossEvery: r.lossEvery === undefined ? undefined : num('lossEvery', undefined, 1, 2 ** 30, true),
    evalBatchSize: num('evalBatchSize', 256, 1, 1 << 16, true),
  };
}

function makeOptimizer(tf: Tf, r: Recipe): { opt: Optimizer; setLr: (lr: number) => void } {
  if (r.optimizer === 'sgd') {
    const opt = r.momentum > 0 ? tf.train.momentum(r.lr, r.momentum) : tf.train.sgd(r.lr);
    return { opt, setLr: (lr) => opt.setLearningRate(lr) };
  }
  // Adam and RMSProp read `learningRate` on every step.
  const opt = r.optimizer === 'adam' ? tf.train.adam(r.lr, 0.9, 0.999, 1e-8)
    // TF MnasNet's RMSProp: decay 0.9, epsilon 1e-3 (as the worker).
    : tf.train.rmsprop(r.lr, 0.9, r.momentum, 1e-3);
  return { opt, setLr: (lr) => { (opt as unknown as { learningRate: number }).learningRate = lr; } };
}

/** The BN layers of a model, with the (mutable) Keras momentum their call() reads. */
function bnLayers(model: LayersModel): { momentum: number }[] {
  return model.layers.filter((l) => l.getClassName() === 'BatchNormalization') as unknown as { momentum: number }[];
}

// ---------------------------------------------------------------------------------------------
// Trainer

export class TfjsTrainer implements Trainer {
  private warned = false;

  private constructor(private readonly rt: TfRuntime, private readonly options: TfjsTrainerOptions) {}

  static async start(options: TfjsTrainerOptions = {}): Promise<TfjsTrainer> {
    const t = new TfjsTrainer(await loadRuntime(options.runtime ?? 'auto'), options);
    if (!t.native) t.warnOnce();
    return t;
  }

  get backend(): string { return this.rt.native ? NATIVE_BACKEND : PURE_JS_BACKEND; }
  get native(): boolean { return this.rt.native; }
  get tf(): Tf { return this.rt.tf; }
  /** Why tfjs-node was not used although installed (it failed to load). */
  get fallbackReason(): string | undefined { return this.rt.fallbackReason; }
  /** The pure-JS speed warning, or undefined on tfjs-node. */
  get warning(): string | undefined { return this.native ? undefined : PURE_JS_WARNING; }

  private get threads(): number {
    return this.native ? (os.availableParallelism?.() ?? os.cpus().length) : 1;
  }

  private warnOnce(): void {
    if (this.warned || this.native) return;
    this.warned = true;
    this.options.onWarning?.(PURE_JS_WARNING);
  }

  /** tf keeps one global engine: make sure this trainer's backend is the active one. */
  private async activate(): Promise<void> {
    const want = this.native ? 'tensorflow' : 'cpu';
    if (this.rt.tf.getBackend() !== want) await this.rt.tf.setBackend(want);
  }

  async hello(): Promise<HelloInfo> {
    await this.activate();
    return { backend: this.backend, threads: this.threads, python: 'none (in-process TensorFlow.js)', protocol: 1 };
  }

  async count(arch: Arch): Promise<number> {
    await this.activate();
    const built = buildTfjsModel(this.rt.tf, arch);
    built.model.dispose();
    return built.params;
  }

  async train(request: TrainRequest, onProgress?: (p: TrainProgress) => void): Promise<TfjsTrainResult> {
    await this.activate();
    this.warnOnce();
    const tf = this.rt.tf;
    const { arch, seed, outDir } = request;
    if (!arch.head || arch.head.classes === null) throw new Error('arch has no classifier (head or head.classes is null); cannot train it');
    if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${seed}`);
    const classes = arch.head.classes;
    const r = parseRecipe(request.recipe);
    const trainSet = await loadSplit(request.data.trainPath);
    const testSet = await loadSplit(request.data.testPath);
    checkFit(trainSet, arch, classes);
    checkFit(testSet, arch, classes);
    if (trainSet.count === 0 || testSet.count === 0) throw new Error('train and test splits must not be empty');

    const { model, params } = buildTfjsModel(tf, arch, { seed, bnMomentum: r.bnMomentum });
    const { opt, setLr } = makeOptimizer(tf, r);
    try {
      const vars = model.trainableWeights.map((w) => w.read() as Variable);
      const stepsPerEpoch = batches(trainSet.count, r.batchSize, mulberry32(0)).length;
      const total = stepsPerEpoch * r.epochs;
      const lrAt = (s: number) => (r.schedule === 'cosine' ? r.lr * 0.5 * (1 + Math.cos((Math.PI * s) / total)) : r.lr);
      const every = r.lossEvery ?? Math.max(1, Math.floor(total / 20));
      const order = mulberry32(seed ^ 0x5eed);
      const losses: number[] = [];
      const epochLoss: number[] = [];
      let window: number[] = [];
      let seen = 0;
      let seenEpoch = 0;
      let correct = 0;
      let diverged = false;
      let step = 0;
      const t0 = performance.now();
      for (let epoch = 0; epoch < r.epochs && !diverged; epoch++) {
        let sum = 0;
        let n = 0;
        correct = 0;
        seenEpoch = 0;
        for (const idx of batches(trainSet.count, r.batchSize, order)) {
          // No signal can pause training in this process: it waits while the host times a model.
          await waitWhileTiming();
          setLr(lrAt(step));
          const x = prepareBatch(tf, trainSet, idx, trainSet, arch);
          const y = tf.tensor1d(Array.from(idx, (i) => trainSet.labels[i]), 'int32');
          let ce: Tensor | undefined;
          let hits: Tensor | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const logits = model.apply(x, { training: true }) as Tensor;
            const c = tf.losses.softmaxCrossEntropy(tf.oneHot(y, classes), logits, undefined, r.labelSmoothing);
            ce = tf.keep(c);
            hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32')));
            if (r.weightDecay <= 0) return c as Scalar;
            // PyTorch's weight_decay: gradient + wd * w on every parameter, i.e. + wd/2 * sum(w^2).
            const l2 = tf.addN(vars.map((v) => tf.sum(tf.square(v))));
            return tf.add(c, tf.mul(l2, r.weightDecay / 2)) as Scalar;
          }, vars);
          opt.applyGradients(grads);
          const v = (await ce!.data())[0];
          const hit = (await hits!.data())[0];
          tf.dispose([x, y, value, ce!, hits!, ...Object.values(grads)]);
          step++;
          if (!Number.isFinite(v)) {
            diverged = true;
            break;
          }
          window.push(v);
          sum += v;
          n++;
          seen += idx.length;
          seenEpoch += idx.length;
          correct += hit;
          if (window.length === every) {
            losses.push(window.reduce((a, b) => a + b, 0) / window.length);
            window = [];
            onProgress?.({ epoch: epoch + 1, step, steps: total, loss: losses.at(-1)! });
          }
        }
        if (!diverged) epochLoss.push(sum / Math.max(1, n));
      }
      if (window.length) losses.push(window.reduce((a, b) => a + b, 0) / window.length);
      const trainSeconds = (performance.now() - t0) / 1000;
      const trainAccuracy = diverged ? 0 : correct / Math.max(1, seenEpoch);

      const t1 = performance.now();
      if (r.bnRecalibrationBatches > 0 && !diverged) {
        // Cumulative average of the batch statistics under the final weights: momentum 1 - 1/(i+1)
        // at the i-th calibration batch (the first one overwrites the stale statistics).
        const bns = bnLayers(model);
        const saved = bns.map((b) => b.momentum);
        const cal = batches(trainSet.count, r.batchSize, mulberry32(seed + 1)).slice(0, r.bnRecalibrationBatches);
        cal.forEach((idx, i) => {
          for (const b of bns) b.momentum = 1 - 1 / (i + 1);
          tf.tidy(() => { model.apply(prepareBatch(tf, trainSet, idx, trainSet, arch), { training: true }); });
        });
        bns.forEach((b, i) => { b.momentum = saved[i]; });
      }
      let hits = 0;
      for (const idx of batches(testSet.count, r.evalBatchSize, null)) {
        const pred = tf.tidy(() => tf.argMax(model.apply(prepareBatch(tf, testSet, idx, trainSet, arch), { training: false }) as Tensor, 1));
        const p = await pred.data();
        pred.dispose();
        for (let i = 0; i < idx.length; i++) if (p[i] === testSet.labels[idx[i]]) hits++;
      }
      const evalSeconds = (performance.now() - t1) / 1000;

      const saved = await saveModel(tf, model, arch, outDir);
      const imagesPerSecond = trainSeconds > 0 ? seen / trainSeconds : 0;
      return {
        accuracy: hits / testSet.count,
        trainAccuracy,
        loss: losses,
        epochLoss,
        lossEvery: every,
        steps: step,
        diverged,
        trainSeconds,
        evalSeconds,
        imagesPerSecond,
        params,
        weightsPath: saved.weightsPath,
        modelPath: saved.modelPath,
        threads: this.threads,
        backend: this.backend,
        ...(this.native ? {} : { warning: `${PURE_JS_WARNING} (measured here: ${imagesPerSecond.toFixed(1)} images/s)` }),
      };
    } finally {
      opt.dispose();
      model.dispose();
    }
  }

  async close(): Promise<void> {
    // In-process: nothing to stop. Models are disposed after each request.
  }
}

/**
 * Writes outDir/model.json + weights.bin (tfjs layers format, loadable with tf.loadLayersModel)
 * and outDir/arch.json, through a custom save handler (file:// needs tfjs-node).
 */
async function saveModel(tf: Tf, model: LayersModel, arch: Arch, outDir: string): Promise<{ modelPath: string; weightsPath: string }> {
  const dir = path.resolve(outDir);
  await mkdir(dir, { recursive: true });
  const modelPath = path.join(dir, 'model.json');
  const weightsPath = path.join(dir, 'weights.bin');
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const data = artifacts.weightData;
    const parts = data === undefined ? [] : Array.isArray(data) ? data : [data];
    await writeFile(weightsPath, Buffer.concat(parts.map((b) => Buffer.from(b))));
    await writeFile(modelPath, JSON.stringify({
      format: 'layers-model', generatedBy: `mnas-studio TfjsTrainer (TensorFlow.js ${tf.version.tfjs})`, convertedBy: null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
    }));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  await writeFile(path.join(dir, 'arch.json'), JSON.stringify(arch, null, 2));
  return { modelPath, weightsPath };
}
