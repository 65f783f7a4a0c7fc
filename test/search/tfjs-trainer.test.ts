// The TensorFlow.js child trainer: a tiny smoke training (64 train / 32 test digits, 1 epoch,
// a ~2K-param net) on pure-JS tfjs returns a valid TrainResult, writes loadable weights and
// warns about speed; the same run on tfjs-node when it is installed (skipped, with the reason,
// otherwise); createTrainer's backend choice.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { costOf } from '../../server/src/cost/model';
import type { Arch } from '../../server/src/language/arch';
import { createTrainer } from '../../server/src/train/createTrainer';
import { prepareDataset } from '../../server/src/train/datasets';
import { NATIVE_BACKEND, PURE_JS_BACKEND, TfjsTrainer, type TfjsTrainResult } from '../../server/src/train/tfjsTrainer';
import type { DataSpec, TrainProgress, TrainRecipe } from '../../server/src/train/trainer';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mnas-tfjs-train-'));
let data: DataSpec;
before(async () => { data = await prepareDataset({ name: 'mnist', train: 64, test: 32, seed: 1, cacheDir: path.join(tmp, 'cache') }); });
after(() => rmSync(tmp, { recursive: true, force: true }));

/** ~2K params; 28x28 digits resized to 14x14; SE, a pooled+projected shortcut, h-swish. */
function smokeArch(): Arch {
  return {
    name: 'smoke', input: { h: 14, w: 14, c: 1 },
    stem: { k: 3, s: 2, f: 8, act: 'relu' },
    blocks: [
      { name: 'b1', op: 'mbconv', e: 3, k: 3, s: 2, f: 16, x: 1, se: 0.25, skip: 'pool', act: 'hswish' },
      { name: 'b2', op: 'sepconv', e: 1, k: 3, s: 1, f: 16, x: 1, se: 0, skip: 'identity', act: 'relu6' },
    ],
    head: { f: null, pool: 'avg', classes: 10, dropout: 0.2 },
  };
}

const recipe: TrainRecipe = {
  epochs: 1, batchSize: 16, lr: 0.01, optimizer: 'adam', momentum: 0.9, weightDecay: 1e-4, bnMomentum: 0.1, labelSmoothing: 0.1,
  schedule: 'cosine', bnRecalibrationBatches: 2, lossEvery: 1,
};

async function smoke(trainer: TfjsTrainer, name: string): Promise<TfjsTrainResult> {
  const arch = smokeArch();
  const outDir = path.join(tmp, name);
  const progress: TrainProgress[] = [];
  const before = trainer.tf.memory().numTensors;
  const r = await trainer.train({ arch, data, recipe, seed: 3, outDir }, (p) => progress.push(p));
  console.log(`${r.backend}: ${r.imagesPerSecond.toFixed(1)} images/s training (${r.params} params, 14x14), ` +
    `train ${r.trainSeconds.toFixed(2)} s, eval ${r.evalSeconds.toFixed(2)} s, accuracy ${r.accuracy}, loss ${r.loss.map((l) => l.toFixed(3)).join(' ')}`);
  assert.equal(trainer.tf.memory().numTensors, before, 'no tensors leaked');
  assert.equal(r.params, costOf(arch).params);
  assert.ok(r.params > 1500 && r.params < 2500, `a ~2K-param net: ${r.params}`);
  assert.equal(r.steps, 64 / 16);
  assert.equal(r.loss.length, 4);
  assert.ok(r.loss.every(Number.isFinite) && r.epochLoss.length === 1 && Number.isFinite(r.epochLoss[0]));
  assert.equal(r.diverged, false);
  assert.ok(r.accuracy >= 0 && r.accuracy <= 1 && r.trainAccuracy >= 0 && r.trainAccuracy <= 1);
  assert.ok(Number.isInteger(r.accuracy * 32), 'accuracy is hits / 32');
  assert.ok(r.imagesPerSecond > 0 && r.trainSeconds > 0 && r.evalSeconds > 0);
  assert.deepEqual(progress.map((p) => p.step), [1, 2, 3, 4]);
  assert.ok(progress.every((p) => p.epoch === 1 && p.steps === 4));
  // Weights: tfjs layers format written by the trainer itself, with every weight (BN moving stats too).
  assert.equal(r.modelPath, path.join(outDir, 'model.json'));
  assert.equal(r.weightsPath, path.join(outDir, 'weights.bin'));
  const manifest = JSON.parse(readFileSync(r.modelPath, 'utf8')) as { format: string; weightsManifest: { weights: { shape: number[] }[] }[] };
  assert.equal(manifest.format, 'layers-model');
  const floats = manifest.weightsManifest[0].weights.reduce((a, w) => a + w.shape.reduce((p, d) => p * d, 1), 0);
  assert.equal(statSync(r.weightsPath).size, 4 * floats);
  assert.ok(floats > r.params, 'moving statistics saved as well');
  assert.deepEqual(JSON.parse(readFileSync(path.join(outDir, 'arch.json'), 'utf8')), arch);
  // The saved model loads back (custom h-swish layer included) and classifies a digit.
  const tf = trainer.tf;
  const loaded = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: (manifest as unknown as { modelTopology: object }).modelTopology,
    weightSpecs: manifest.weightsManifest[0].weights as never,
    weightData: new Uint8Array(readFileSync(r.weightsPath)).buffer,
  }));
  const y = tf.tidy(() => (loaded.predict(tf.zeros([1, 14, 14, 1])) as import('@tensorflow/tfjs').Tensor).shape);
  loaded.dispose();
  assert.deepEqual(y, [1, 10]);
  return r;
}

test('pure-JS tfjs: tiny smoke training returns a valid result, writes weights and warns', { timeout: 60_000 }, async () => {
  const warnings: string[] = [];
  const trainer = await TfjsTrainer.start({ runtime: 'cpu', onWarning: (w) => warnings.push(w) });
  assert.equal(trainer.backend, PURE_JS_BACKEND);
  assert.equal(warnings.length, 1, 'warned once at start');
  assert.match(warnings[0], /WARNING.*pure-JS.*4 images\/s.*smoke/s);
  const hello = await trainer.hello();
  assert.equal(hello.backend, 'tfjs cpu (pure JS)');
  assert.equal(hello.threads, 1);
  assert.equal(await trainer.count(smokeArch()), costOf(smokeArch()).params);
  const r = await smoke(trainer, 'pure');
  assert.equal(r.backend, 'tfjs cpu (pure JS)');
  assert.match(r.warning ?? '', /WARNING.*smoke runs.*measured here: [\d.]+ images\/s/s);
  assert.equal(r.threads, 1);
  assert.equal(warnings.length, 1, 'the callback is not repeated per request');
  await trainer.close();
});

test('pure-JS tfjs: the same seed gives the same run; bad requests fail clearly', { timeout: 60_000 }, async () => {
  const trainer = await TfjsTrainer.start({ runtime: 'cpu' });
  const arch = smokeArch();
  const quick = { ...recipe, bnRecalibrationBatches: 0 };
  const a = await trainer.train({ arch, data, recipe: { ...quick, epochs: 1, batchSize: 32 }, seed: 5, outDir: path.join(tmp, 'det-a') });
  const b = await trainer.train({ arch, data, recipe: { ...quick, epochs: 1, batchSize: 32 }, seed: 5, outDir: path.join(tmp, 'det-b') });
  assert.deepEqual(b.loss, a.loss);
  assert.equal(b.accuracy, a.accuracy);
  const req = (patch: Partial<Arch>, r: Partial<TrainRecipe> = {}) =>
    trainer.train({ arch: { ...arch, ...patch }, data, recipe: { ...recipe, ...r }, seed: 1, outDir: path.join(tmp, 'bad') });
  await assert.rejects(req({ head: { ...arch.head!, classes: null } }), /no classifier/);
  await assert.rejects(req({ input: { h: 14, w: 14, c: 3 }, head: { ...arch.head!, classes: 5 } }), /classes is 5 but the dataset has 10/);
  await assert.rejects(req({}, { optimizer: 'lamb' as never }), /optimizer must be sgd, adam or rmsprop/);
  await assert.rejects(trainer.train({ arch, data: { ...data, trainPath: path.join(tmp, 'missing.json') }, recipe, seed: 1, outDir: path.join(tmp, 'bad') }), /cannot read dataset header/);
  assert.equal(existsSync(path.join(tmp, 'bad')), false);
});

async function tfjsNodeProblem(): Promise<string | null> {
  const name = '@tensorflow/tfjs-node';
  try {
    await import(name);
    return null;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

test('tfjs-node: the same smoke training', { timeout: 60_000 }, async (t) => {
  const problem = await tfjsNodeProblem();
  if (problem) {
    t.skip(`tfjs-node is not installed: ${problem}`);
    return;
  }
  const trainer = await TfjsTrainer.start({ runtime: 'native' });
  assert.equal(trainer.backend, NATIVE_BACKEND);
  assert.equal(trainer.warning, undefined);
  const r = await smoke(trainer, 'native');
  assert.equal(r.backend, 'tfjs-node');
  assert.equal(r.warning, undefined);
  await trainer.close();
});

test('createTrainer: tfjs on request; auto without torch takes tfjs-node or fails with the fix', { timeout: 60_000 }, async () => {
  const warnings: string[] = [];
  const tfjs = await createTrainer({ backend: 'tfjs', onWarning: (w) => warnings.push(w) });
  assert.ok(tfjs instanceof TfjsTrainer);
  assert.ok([PURE_JS_BACKEND, NATIVE_BACKEND].includes(tfjs.backend));
  assert.equal(warnings.length, tfjs.backend === PURE_JS_BACKEND ? 1 : 0);
  await tfjs.close();
  await assert.rejects(createTrainer({ backend: 'gpu' as never }), /unknown trainer backend "gpu"; use torch, tfjs, auto/);
  // An interpreter that cannot import torch: auto must not fall back to pure JS silently.
  const noTorch = path.join(tmp, 'no-such-python');
  const nodeProblem = await tfjsNodeProblem();
  if (nodeProblem) {
    await assert.rejects(createTrainer({ backend: 'auto', python: noTorch }), (e: Error) => {
      assert.match(e.message, /apt-get install -y python3-torch/);
      assert.match(e.message, /--backend tfjs/);
      assert.match(e.message, /no-such-python/);
      return true;
    });
  } else {
    const t = await createTrainer({ backend: 'auto', python: noTorch });
    assert.equal(t.backend, NATIVE_BACKEND);
    await t.close();
  }
});
