// Full training in the PyTorch worker (`trainFull`): the recipe runs (augmentation, warm-up and
// cosine, EMA, validation split), best and last weights and a checkpoint are written, and a
// checkpoint is only continued when asked for and only with the settings it was made with.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { costOf } from '../../server/src/cost/model';
import { fullRecipe } from '../../server/src/final/recipe';
import { prepareDataset } from '../../server/src/train/datasets';
import type { FullTrainEvent } from '../../server/src/train/trainer';
import { TorchTrainer } from '../../server/src/train/torchTrainer';
import { tinyArch } from './helpers';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mnas-full-test-'));
let trainer: TorchTrainer;
before(async () => { trainer = await TorchTrainer.start(); }, { timeout: 120_000 });
after(async () => {
  await trainer?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('trainFull: 5 epochs with crop, flips and EMA on 1,500 digits; weights, checkpoint, resume rules', { timeout: 900_000 }, async () => {
  const data = await prepareDataset({ name: 'mnist', train: 1500, test: 300, seed: 2, cacheDir: path.join(tmp, 'cache') });
  const arch = tinyArch();
  // Flips on for the test's sake (the recipe leaves them off for digits): the augmentation path runs.
  const recipe = { ...fullRecipe(data, { epochs: 5, batchSize: 64 }), flip: true };
  assert.ok(recipe.emaDecay > 0, 'EMA is on from 5 epochs');
  const outDir = path.join(tmp, 'net');
  const events: FullTrainEvent[] = [];
  const r = await trainer.trainFull({ arch, data, recipe, seed: 3, outDir, resume: false }, (e) => events.push(e));
  console.log(`full: test ${r.accuracy} (last ${r.lastAccuracy}), val ${r.valAccuracy}, best epoch ${r.bestEpoch} (${r.bestSource}), ${r.trainSeconds.toFixed(1)} s`);
  assert.ok(r.accuracy > 0.5, `test accuracy ${r.accuracy} well above chance`);
  assert.equal(r.params, costOf(arch).params);
  assert.equal(r.valImages, 150);
  assert.equal(r.trainImages, 1350);
  assert.equal(r.testImages, 300);
  assert.equal(r.epochs.length, 5);
  assert.equal(r.resumedFrom, 0);
  assert.ok(r.bestEpoch >= 1 && r.bestEpoch <= 5);
  assert.ok(['ema', 'raw'].includes(r.bestSource));
  assert.ok(r.epochs.every((e) => e.valAccuracyEma !== null && e.valAccuracy !== null));
  assert.ok(r.epochs[4].lr < 0.01 * recipe.lr, `cosine decays to ~0 (last lr ${r.epochs[4].lr})`);
  assert.ok(r.epochs[4].loss < r.epochs[0].loss, 'loss falls');
  for (const f of ['weights-full.pt', 'weights-full-last.pt', 'checkpoint-full.pt', 'arch-full.json']) assert.ok(existsSync(path.join(outDir, f)), f);
  assert.equal(r.weightsPath, path.join(outDir, 'weights-full.pt'));
  assert.deepEqual(events.filter((e) => e.event === 'epoch').map((e) => (e as { epoch: number }).epoch), [1, 2, 3, 4, 5]);
  assert.ok(events.some((e) => e.event === 'progress'), 'progress within epochs');

  // A checkpoint is never overwritten silently ...
  await assert.rejects(trainer.trainFull({ arch, data, recipe, seed: 3, outDir, resume: false }), /already holds a full-training checkpoint.*--resume/);
  // ... nor continued with other settings (here: more epochs) ...
  await assert.rejects(trainer.trainFull({ arch, data, recipe: { ...recipe, epochs: 6 }, seed: 3, outDir, resume: true }), /another network, recipe, seed or dataset/);
  // ... and a finished one resumes to the same result without training again.
  const again = await trainer.trainFull({ arch, data, recipe, seed: 3, outDir, resume: true });
  assert.equal(again.resumedFrom, 5);
  assert.equal(again.accuracy, r.accuracy);
  assert.deepEqual(again.epochs, r.epochs);
});

test('trainFull refuses a bad recipe with the field named', { timeout: 120_000 }, async () => {
  const data = await prepareDataset({ name: 'mnist', train: 200, test: 50, seed: 2, cacheDir: path.join(tmp, 'cache') });
  const recipe = { ...fullRecipe(data, { epochs: 1 }), valFraction: 0.9 };
  await assert.rejects(trainer.trainFull({ arch: tinyArch(), data, recipe, seed: 1, outDir: path.join(tmp, 'bad'), resume: false }), /recipe\.valFraction must be in \[0\.0, 0\.5\]/);
});
