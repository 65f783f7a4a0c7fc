// End to end: a tiny MBConv net trained for one epoch on 2,000 digits reaches well above
// chance on 500 held-out digits, writes its weights, and its train loss goes down.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { costOf } from '../../server/src/cost/model';
import { prepareDataset } from '../../server/src/train/datasets';
import type { TrainProgress } from '../../server/src/train/trainer';
import { TorchTrainer } from '../../server/src/train/torchTrainer';
import { tinyArch } from './helpers';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mnas-train-test-'));
let trainer: TorchTrainer;
before(async () => { trainer = await TorchTrainer.start(); }, { timeout: 120_000 });
after(async () => {
  await trainer?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('tiny arch, 1 epoch on 2000 digits: held-out accuracy > 0.5, weights written, loss falls', { timeout: 900_000 }, async () => {
  const data = await prepareDataset({ name: 'mnist', train: 2000, test: 500, seed: 1, cacheDir: path.join(tmp, 'cache') });
  const arch = tinyArch();
  const progress: TrainProgress[] = [];
  const outDir = path.join(tmp, 'run');
  const r = await trainer.train({
    arch, data, seed: 1, outDir,
    recipe: { epochs: 1, batchSize: 32, lr: 0.01, optimizer: 'adam', momentum: 0.9, weightDecay: 0, bnMomentum: 0.1, labelSmoothing: 0 },
  }, (p) => progress.push(p));
  console.log(`accuracy ${r.accuracy}, ${r.imagesPerSecond.toFixed(0)} images/s on ${r.threads} threads, ` +
    `train ${r.trainSeconds.toFixed(1)} s, eval ${r.evalSeconds.toFixed(1)} s (${trainer.backend})`);
  assert.ok(r.accuracy > 0.5, `held-out accuracy ${r.accuracy}`);
  assert.equal(r.diverged, false);
  assert.equal(r.params, costOf(arch).params);
  assert.equal(r.steps, Math.ceil(2000 / 32));
  assert.equal(r.weightsPath, path.join(outDir, 'weights.pt'));
  assert.ok(statSync(r.weightsPath).size > 4 * r.params, 'weights.pt holds the parameters');
  assert.ok(existsSync(path.join(outDir, 'arch.json')));
  // Mean of the first and last quarter of the loss curve: robust to noisy single windows.
  const q = Math.max(1, Math.floor(r.loss.length / 4));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(r.loss.length >= 4, `loss points: ${r.loss.length}`);
  assert.ok(mean(r.loss.slice(-q)) < mean(r.loss.slice(0, q)), `loss did not fall: ${r.loss.join(', ')}`);
  assert.ok(progress.length >= 4 && progress.at(-1)!.step <= r.steps, 'progress events arrived');
  assert.ok(progress.every((p) => p.epoch === 1 && Number.isFinite(p.loss)));
});
