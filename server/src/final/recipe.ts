// The full-training recipe: what a practitioner would choose for small image datasets after a
// search, in one place (the worker only runs it: server/python/mnas_worker/full.py). Shown by
// `mnas train --help` and docs/search.md#full-training.
//
// - SGD with Nesterov momentum 0.9, batch 128, peak lr 0.1 (scaled linearly with the batch),
//   linear warm-up over the first epoch (a fifth of the run when shorter), then cosine decay per step to 0;
// - label smoothing 0.1; weight decay 5e-4 on conv and linear weights (none on BN and biases);
// - augmentation: 28x28 digits (mnist) random crop with 2 px padding, no flips (a flipped digit
//   is another symbol or none); other 28x28 data (fashion) crop 2 + horizontal flip; 32x32
//   (cifar10) crop 4 + flip; image folders crop of 1/8 of the side + flip;
// - EMA of the weights for runs of 5 epochs or more, horizon about one epoch (decay
//   1 - 1/steps per epoch, at most 0.9998); each epoch the EMA or the raw weights, whichever
//   validates better, is the candidate (short runs keep the raw ones: the average lags);
// - 10% of the training split held out (seeded) to pick the best epoch; the test split is read
//   once, at the end, for the reported accuracy.
import type { DataSpec, FullTrainRecipe } from '../train/trainer';

export const FULL_DEFAULTS = { epochs: 20, batchSize: 128, lrPer128: 0.1, valFraction: 0.1, emaMinEpochs: 5 } as const;

export const RECIPE_SUMMARY =
  'SGD (Nesterov, momentum 0.9), batch 128, lr 0.1 x batch/128 with 1 epoch of linear warm-up then cosine decay, ' +
  'label smoothing 0.1, weight decay 5e-4 (not on BN/biases), random crop (pad 2 at 28x28, 4 at 32x32, 1/8 of the side for ' +
  'image folders) with horizontal flips except for digits, EMA of the weights from 5 epochs on, best epoch chosen on 10% of ' +
  'the training split held out, accuracy on the held-out test split';

/** How images of this dataset are augmented: crop padding and flips. */
export function augmentationFor(data: Pick<DataSpec, 'name' | 'shape'>): { cropPadding: number; flip: boolean } {
  const side = Math.min(data.shape[1], data.shape[2]);
  if (data.name === 'mnist') return { cropPadding: 2, flip: false };
  if (side <= 28) return { cropPadding: 2, flip: true };
  if (data.name === 'cifar10' || side === 32) return { cropPadding: 4, flip: true };
  return { cropPadding: Math.max(1, Math.round(side / 8)), flip: true };
}

export interface RecipeOptions { epochs?: number; batchSize?: number; lr?: number; ema?: boolean }

export function fullRecipe(data: Pick<DataSpec, 'name' | 'shape' | 'train'>, o: RecipeOptions = {}): FullTrainRecipe {
  const epochs = o.epochs ?? FULL_DEFAULTS.epochs;
  const batchSize = o.batchSize ?? FULL_DEFAULTS.batchSize;
  const stepsPerEpoch = Math.max(1, Math.ceil((data.train * (1 - FULL_DEFAULTS.valFraction)) / batchSize));
  const ema = o.ema ?? epochs >= FULL_DEFAULTS.emaMinEpochs;
  return {
    epochs, batchSize,
    lr: o.lr ?? FULL_DEFAULTS.lrPer128 * (batchSize / 128),
    momentum: 0.9, nesterov: true, weightDecay: 5e-4, labelSmoothing: 0.1,
    warmupEpochs: Math.min(1, epochs / 5),
    emaDecay: ema ? Math.min(0.9998, 1 - 1 / stepsPerEpoch) : 0,
    ...augmentationFor(data),
    valFraction: FULL_DEFAULTS.valFraction, bnMomentum: 0.1,
  };
}
