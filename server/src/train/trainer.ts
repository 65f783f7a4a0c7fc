// The child trainer: what the search engine calls to train one sampled architecture on the
// proxy task and get its held-out accuracy. Backends implement `Trainer`; the default is the
// PyTorch worker (torchTrainer.ts). Field names match the worker protocol
// (docs/worker-protocol.md), so requests go over the wire unchanged.
import type { Arch } from '../language/arch';

/** A prepared proxy dataset (see datasets.ts): header files the worker reads directly. */
export interface DataSpec {
  name: string;
  /** JSON header of the training split; its binary files sit next to it. */
  trainPath: string;
  testPath: string;
  /** Native image shape, channels first: [c, h, w]. */
  shape: [number, number, number];
  classes: number;
  train: number;
  test: number;
  /** How the split was made, for run metadata: "stratified seeded (seed 1) ...". */
  split: string;
}

export type OptimizerName = 'sgd' | 'adam' | 'rmsprop';

export interface TrainRecipe {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: OptimizerName;
  /** SGD / RMSProp momentum (ignored by Adam). */
  momentum: number;
  weightDecay: number;
  /** PyTorch convention: fraction of the new batch statistic (0.1 = Keras 0.9). */
  bnMomentum: number;
  labelSmoothing: number;
  /** Learning-rate schedule over all steps; default cosine (decays to 0). */
  schedule?: 'cosine' | 'constant';
  /** Training batches used to recompute BN statistics before evaluation; default 10, 0 = off. */
  bnRecalibrationBatches?: number;
  /** Report the mean train loss every this many steps; default about 20 points per run. */
  lossEvery?: number;
  evalBatchSize?: number;
}

export interface TrainRequest {
  arch: Arch;
  data: DataSpec;
  recipe: TrainRecipe;
  seed: number;
  /** Folder for weights.pt and arch.json; created if missing. */
  outDir: string;
  /** Intra-op threads for this request; default the worker's (all cores). */
  threads?: number;
}

export interface TrainResult {
  /** Top-1 accuracy on the held-out split, 0..1. */
  accuracy: number;
  /** Training accuracy over the last epoch, measured on the fly (dropout on). */
  trainAccuracy: number;
  /** Mean train loss over consecutive windows of `lossEvery` steps. */
  loss: number[];
  epochLoss: number[];
  lossEvery: number;
  steps: number;
  /** The loss became NaN/Infinity; training stopped there. */
  diverged: boolean;
  trainSeconds: number;
  /** BN recalibration plus the held-out pass. */
  evalSeconds: number;
  imagesPerSecond: number;
  params: number;
  weightsPath: string;
  threads: number;
}

export interface TrainProgress {
  epoch: number;
  step: number;
  steps: number;
  loss: number;
}

export interface HelloInfo {
  backend: string;
  threads: number;
  python: string;
  protocol: number;
}

/** Full training (after a search): the recipe of final/recipe.ts, run by the worker's `trainFull`. */
export interface FullTrainRecipe {
  epochs: number;
  batchSize: number;
  /** Peak learning rate (SGD), reached after the warm-up, then cosine decay to 0 per step. */
  lr: number;
  momentum: number;
  nesterov: boolean;
  /** On conv and linear weights only (not BN parameters or biases). */
  weightDecay: number;
  labelSmoothing: number;
  warmupEpochs: number;
  /** Decay of the weights' exponential moving average; 0 = no EMA. */
  emaDecay: number;
  /** Random crop of the zero-padded image (pixels of padding); 0 = none. */
  cropPadding: number;
  /** Random horizontal flip. */
  flip: boolean;
  /** Share of the training split held out to pick the best epoch. */
  valFraction: number;
  bnMomentum: number;
  evalBatchSize?: number;
}

export interface FullTrainRequest {
  arch: Arch;
  data: DataSpec;
  recipe: FullTrainRecipe;
  seed: number;
  /** Holds checkpoint-full.pt, weights-full.pt (best), weights-full-last.pt, arch-full.json. */
  outDir: string;
  /** Continue from the folder's checkpoint (an error without one is not raised: it starts fresh). */
  resume: boolean;
  threads?: number;
}

export interface FullEpoch {
  epoch: number;
  loss: number;
  trainAccuracy: number;
  /** Validation accuracy (held out from the training split) of the raw and the EMA weights; null without. */
  valAccuracy: number | null;
  valAccuracyEma: number | null;
  lr: number;
  seconds: number;
}

export interface FullTrainResult {
  /** Held-out test accuracy of the best weights (by validation), 0..1. */
  accuracy: number;
  /** Held-out test accuracy of the last epoch's weights. */
  lastAccuracy: number;
  valAccuracy: number | null;
  bestEpoch: number;
  /** Which weights won: the EMA or the raw ones. */
  bestSource: 'ema' | 'raw';
  epochs: FullEpoch[];
  steps: number;
  trainImages: number;
  valImages: number;
  testImages: number;
  trainSeconds: number;
  evalSeconds: number;
  params: number;
  weightsPath: string;
  lastWeightsPath: string;
  /** Epochs already done when this request started (0 = fresh). */
  resumedFrom: number;
  threads: number;
}

export type FullTrainEvent =
  | { event: 'progress'; epoch: number; epochs: number; step: number; steps: number; loss: number }
  | ({ event: 'epoch'; epochs: number; best: number; elapsed: number } & FullEpoch)
  | { event: 'resumed'; epoch: number; epochs: number };

export interface Trainer {
  /** "torch 1.13.0 cpu"; known once the backend has started. */
  readonly backend: string;
  hello(): Promise<HelloInfo>;
  /** Trainable parameters of the built network (equals costOf(arch).params). */
  count(arch: Arch): Promise<number>;
  train(request: TrainRequest, onProgress?: (p: TrainProgress) => void): Promise<TrainResult>;
  /** Full training with checkpoints; only the PyTorch worker has it. */
  trainFull?(request: FullTrainRequest, onEvent?: (e: FullTrainEvent) => void): Promise<FullTrainResult>;
  close(): Promise<void>;
}
