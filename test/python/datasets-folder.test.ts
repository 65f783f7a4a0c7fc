// End to end through the real PyTorch worker: a generated 3-class PNG/JPEG folder (images
// dominated by red, green or blue) and a tiny CIFAR-format set are prepared in TypeScript and
// trained on; the resize is cross-checked against PyTorch's antialiased bilinear.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Arch } from '../../server/src/language/arch';
import { mulberry32, prepareDataset } from '../../server/src/train/datasets';
import { resizeBilinear } from '../../server/src/train/datasets/images';
import type { TrainRecipe } from '../../server/src/train/trainer';
import { findPython, TorchTrainer } from '../../server/src/train/torchTrainer';
import { cifarFolder, colourFolder } from '../unit/datasets-fixtures';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mnas-ds-worker-'));
let trainer: TorchTrainer;
before(async () => { trainer = await TorchTrainer.start(); }, { timeout: 120_000 });
after(async () => {
  await trainer?.close();
  rmSync(tmp, { recursive: true, force: true });
});

function rgbArch(side: number, c: number, classes: number): Arch {
  return {
    name: 'tiny-rgb', input: { h: side, w: side, c },
    stem: { k: 3, s: 1, f: 8, act: 'relu' },
    blocks: [{ name: 'b1', op: 'mbconv', e: 3, k: 3, s: 2, f: 16, x: 1, se: 0, skip: 'identity', act: 'relu' }],
    head: { f: null, pool: 'avg', classes, dropout: 0 },
  };
}
const recipe: TrainRecipe = { epochs: 1, batchSize: 16, lr: 0.01, optimizer: 'adam', momentum: 0.9, weightDecay: 0, bnMomentum: 0.1, labelSmoothing: 0 };

test('folder dataset, 3 colour classes, 300 PNG/JPEG images, 1 epoch: held-out accuracy well above chance', { timeout: 600_000 }, async () => {
  const images = path.join(tmp, 'colours');
  colourFolder(images, { red: 100, green: 100, blue: 100 }, 11);
  const data = await prepareDataset({ name: 'folder', path: 'colours', baseDir: tmp, train: 240, test: 60, seed: 1, resolution: 16, cacheDir: path.join(tmp, 'cache') });
  assert.deepEqual([data.classes, data.shape], [3, [3, 16, 16]]);
  const r = await trainer.train({ arch: rgbArch(16, 3, 3), data, seed: 1, outDir: path.join(tmp, 'run'), recipe });
  console.log(`folder: accuracy ${r.accuracy} after ${r.steps} steps (chance 0.33)`);
  assert.equal(r.diverged, false);
  assert.equal(r.steps, Math.ceil(240 / 16));
  assert.ok(r.accuracy >= 0.8, `held-out accuracy ${r.accuracy}`);
  // A 1-channel arch cannot take RGB data: the error says how to prepare it instead.
  await assert.rejects(trainer.train({ arch: rgbArch(16, 1, 3), data, seed: 1, outDir: path.join(tmp, 'run1'), recipe }), /arch input has 1 channels but the data has 3 .*`channels 1`/);
  // channels 1 data trains a 1-channel arch (luminance still separates these colours).
  const grey = await prepareDataset({ name: 'folder', path: images, train: 240, test: 60, seed: 1, resolution: 16, channels: 1, cacheDir: path.join(tmp, 'cache') });
  const g = await trainer.train({ arch: rgbArch(16, 1, 3), data: grey, seed: 1, outDir: path.join(tmp, 'run2'), recipe });
  assert.equal(g.diverged, false);
  assert.ok(g.accuracy > 0.34, `grey accuracy ${g.accuracy}`);
});

test('cifar10 format: the worker reads the prepared 3x32x32 splits and trains', { timeout: 600_000 }, async () => {
  const root = path.join(tmp, 'cifar');
  cifarFolder(root, 20, 30);
  const data = await prepareDataset({ name: 'cifar10', path: root, train: 100, test: 30, seed: 1, cacheDir: path.join(tmp, 'cache') });
  // The generated records encode their label in the red plane: learnable in a few short epochs.
  const r = await trainer.train({ arch: rgbArch(32, 3, 10), data, seed: 1, outDir: path.join(tmp, 'run-cifar'), recipe: { ...recipe, epochs: 10 } });
  assert.equal(r.diverged, false);
  console.log(`cifar10 format: accuracy ${r.accuracy} after ${r.steps} steps (chance 0.1)`);
  assert.ok(r.accuracy >= 0.4, `held-out accuracy ${r.accuracy} (chance 0.1)`);
});

test('the resize agrees with PyTorch bilinear (antialias=True, align_corners=False) within rounding', { timeout: 120_000 }, () => {
  const rand = mulberry32(3);
  for (const [h, w, oh, ow] of [[37, 23, 16, 16], [9, 12, 20, 7], [64, 64, 32, 32]]) {
    const src = Float32Array.from({ length: 2 * h * w }, () => Math.round(rand() * 255));
    const ours = resizeBilinear({ channels: 2, height: h, width: w, data: src }, oh, ow).data;
    const script = 'import json,sys,torch\nimport torch.nn.functional as F\n' +
      'd=json.load(sys.stdin); x=torch.tensor(d["x"],dtype=torch.float64).view(1,2,d["h"],d["w"])\n' +
      'print(json.dumps(F.interpolate(x,size=(d["oh"],d["ow"]),mode="bilinear",align_corners=False,antialias=True).flatten().tolist()))';
    const theirs = JSON.parse(execFileSync(findPython(), ['-c', script], { input: JSON.stringify({ x: [...src], h, w, oh, ow }) }).toString()) as number[];
    const worst = Math.max(...theirs.map((v, i) => Math.abs(v - ours[i])));
    assert.ok(worst < 0.01, `${h}x${w} -> ${oh}x${ow}: max difference ${worst}`);
  }
});
