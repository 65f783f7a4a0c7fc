// End to end through the real PyTorch worker: Fashion-MNIST from Debian's dataset-fashion-mnist
// package, prepared in TypeScript from its gzipped IDX files, trains a tiny greyscale net well
// above chance; the generic `idx` dataset trains too (generated IDX files, label in the pixels).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Arch } from '../../server/src/language/arch';
import { FASHION_MNIST_DIR, prepareDataset } from '../../server/src/train/datasets';
import type { TrainRecipe } from '../../server/src/train/trainer';
import { TorchTrainer } from '../../server/src/train/torchTrainer';
import { idxFolder } from '../unit/datasets-fixtures';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mnas-ds-idx-worker-'));
let trainer: TorchTrainer;
before(async () => { trainer = await TorchTrainer.start(); }, { timeout: 120_000 });
after(async () => {
  await trainer?.close();
  rmSync(tmp, { recursive: true, force: true });
});

function greyArch(side: number, classes: number): Arch {
  return {
    name: 'tiny-grey', input: { h: side, w: side, c: 1 },
    stem: { k: 3, s: 1, f: 8, act: 'relu' },
    blocks: [{ name: 'b1', op: 'mbconv', e: 3, k: 3, s: 2, f: 16, x: 1, se: 0, skip: 'identity', act: 'relu' }],
    head: { f: null, pool: 'avg', classes, dropout: 0 },
  };
}
const recipe: TrainRecipe = { epochs: 1, batchSize: 16, lr: 0.01, optimizer: 'adam', momentum: 0.9, weightDecay: 0, bnMomentum: 0.1, labelSmoothing: 0 };

const installed = existsSync(FASHION_MNIST_DIR);
if (!installed) console.log(`# fashion-mnist training: skipped, ${FASHION_MNIST_DIR} is missing (sudo apt-get install dataset-fashion-mnist)`);

test('fashion-mnist, 800 train / 200 test, 3 epochs: held-out accuracy well above chance', { skip: !installed && 'dataset-fashion-mnist is not installed', timeout: 600_000 }, async () => {
  const data = await prepareDataset({ name: 'fashion-mnist', train: 800, test: 200, seed: 1, cacheDir: path.join(tmp, 'cache') });
  const r = await trainer.train({ arch: greyArch(28, 10), data, seed: 1, outDir: path.join(tmp, 'run-fm'), recipe: { ...recipe, epochs: 3 } });
  console.log(`fashion-mnist: accuracy ${r.accuracy} after ${r.steps} steps (chance 0.1)`);
  assert.equal(r.diverged, false);
  assert.equal(r.steps, 3 * 800 / 16);
  assert.ok(r.accuracy >= 0.35, `held-out accuracy ${r.accuracy} (chance 0.1)`);
});

test('idx folder (gzipped, 12x12, 4 classes): the worker reads the prepared splits and trains', { timeout: 600_000 }, async () => {
  const root = path.join(tmp, 'idx');
  idxFolder(root, { trainCount: 200, testCount: 40, side: 12, classes: 4, gzip: true });
  const data = await prepareDataset({ name: 'idx', path: root, train: 200, test: 40, seed: 1, cacheDir: path.join(tmp, 'cache') });
  assert.deepEqual([data.classes, data.shape], [4, [1, 12, 12]]);
  // The generated images carry their label in every pixel but three: learnable in a few epochs.
  const r = await trainer.train({ arch: greyArch(12, 4), data, seed: 1, outDir: path.join(tmp, 'run-idx'), recipe: { ...recipe, epochs: 5 } });
  console.log(`idx: accuracy ${r.accuracy} after ${r.steps} steps (chance 0.25)`);
  assert.equal(r.diverged, false);
  assert.ok(r.accuracy >= 0.6, `held-out accuracy ${r.accuracy} (chance 0.25)`);
});
