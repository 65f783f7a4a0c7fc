// The worker survives bad input (answering each bad line with an error reply) and its
// driver rejects pending requests with a clear error when the process dies.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fullRecipe } from '../../server/src/final/recipe';
import { findPython, TorchTrainer } from '../../server/src/train/torchTrainer';
import { hostileDatasets, refusal, smallDataset } from '../helpers/hostileDataset';
import { tinyArch, writeMaliciousWeights } from './helpers';

let trainer: TorchTrainer;
before(async () => { trainer = await TorchTrainer.start(); }, { timeout: 120_000 });
after(async () => { await trainer?.close(); });

test('a non-JSON line gets an error reply with id null, then hello still works', { timeout: 60_000 }, async () => {
  trainer.writeRaw('this is not json');
  trainer.writeRaw('[1, 2, 3]');
  const hello = await trainer.hello();
  assert.match(hello.backend, /^torch \d+\.\d+/);
  assert.ok(hello.threads >= 1);
  const orphans = trainer.orphanReplies;
  assert.equal(orphans.length, 2);
  assert.deepEqual(orphans.map((o) => [o.id, o.ok]), [[null, false], [null, false]]);
  assert.match(String(orphans[0].error), /not valid JSON/);
  assert.match(String(orphans[1].error), /JSON object/);
});

test('unknown request type: error reply naming the known types', { timeout: 60_000 }, async () => {
  await assert.rejects(trainer.request('fly'), /unknown request type 'fly'; known: count, export, forward, hello, latency, train/);
  assert.equal((await trainer.hello()).protocol, 1);
});

test('invalid archs: clear errors, worker keeps serving', { timeout: 60_000 }, async () => {
  const bad = tinyArch();
  bad.blocks[0].f = -4;
  await assert.rejects(trainer.count(bad), /arch\.blocks\[0\]\.f must be in 1\.\.\d+, got -4/);
  const badOp = tinyArch() as unknown as { blocks: { op: string }[] };
  badOp.blocks[1].op = 'transformer';
  await assert.rejects(trainer.count(badOp as never), /arch\.blocks\[1\]\.op must be one of conv, sepconv, mbconv/);
  await assert.rejects(trainer.request('count', {}), /arch must be an object/);
  const featureOnly = { ...tinyArch(), head: { f: null, pool: 'avg' as const, classes: null, dropout: 0 } };
  await assert.rejects(trainer.train({
    arch: featureOnly, seed: 1, outDir: '/nonexistent/never-written',
    data: { name: 'x', trainPath: '/nonexistent/train.json', testPath: '/nonexistent/test.json', shape: [1, 28, 28], classes: 10, train: 1, test: 1, split: '' },
    recipe: { epochs: 1, batchSize: 8, lr: 0.01, optimizer: 'adam', momentum: 0.9, weightDecay: 0, bnMomentum: 0.1, labelSmoothing: 0 },
  }), /cannot read dataset header \/nonexistent\/train\.json/);
  assert.ok((await trainer.count(tinyArch())) > 0);
});

test('a dataset header naming a file outside its folder is refused, naming the header and the fix', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mnas-header-'));
  try {
    const recipe = { epochs: 1, batchSize: 8, lr: 0.01, optimizer: 'adam' as const, momentum: 0.9, weightDecay: 0, bnMomentum: 0.1, labelSmoothing: 0 };
    const ok = await smallDataset(dir, 'valid');
    const r = await trainer.train({ arch: tinyArch(), seed: 1, outDir: path.join(dir, 'out-valid'), data: ok, recipe });
    assert.ok(r.accuracy >= 0 && r.accuracy <= 1, 'the untouched dataset trains');
    for (const { how, spec, want } of await hostileDatasets(dir)) {
      const outDir = path.join(dir, `out-${path.basename(path.dirname(spec.trainPath))}`);
      await assert.rejects(trainer.train({ arch: tinyArch(), seed: 1, outDir, data: spec, recipe }), refusal(spec, want), how);
      assert.equal(existsSync(path.join(outDir, 'weights.pt')), false, `${how}: nothing trained`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('seed: one check for train, trainFull, export and forward; the largest seed the driver can send trains fully', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mnas-seed-'));
  try {
    const data = await smallDataset(dir, 'seed');
    const recipe = { epochs: 1, batchSize: 8, lr: 0.01, optimizer: 'adam' as const, momentum: 0.9, weightDecay: 0, bnMomentum: 0.1, labelSmoothing: 0 };
    const input = { data: Buffer.alloc(28 * 28 * 4).toString('base64'), shape: [1, 28, 28, 1], layout: 'nhwc' };
    const bodies: Record<string, Record<string, unknown>> = {
      train: { arch: tinyArch(), data, recipe, outDir: path.join(dir, 'train') },
      trainFull: { arch: tinyArch(), data, recipe: fullRecipe(data, { epochs: 1 }), outDir: path.join(dir, 'full'), resume: false },
      export: { arch: tinyArch() },
      forward: { arch: tinyArch(), input },
    };
    for (const [type, body] of Object.entries(bodies)) {
      for (const seed of [-1, true, 1.5, '3', 2 ** 53]) {
        await assert.rejects(trainer.request(type, { ...body, seed }), /seed must be a whole number in 0\.\.9007199254740991, got /, `${type} seed ${seed}`);
      }
    }
    // Per-epoch seeds are the seed times a million: they wrap to torch's 64 bits instead of overflowing.
    const r = await trainer.trainFull({ ...bodies.trainFull, seed: Number.MAX_SAFE_INTEGER } as never);
    assert.equal(r.epochs.length, 1);
    assert.ok((await trainer.request('forward', { ...bodies.forward, seed: Number.MAX_SAFE_INTEGER })).ok);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a weights.pt whose pickle would run a command is refused and nothing runs (weights_only)', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mnas-evil-'));
  try {
    const evil = path.join(dir, 'weights.pt');
    const marker = path.join(dir, 'pwned');
    writeMaliciousWeights(findPython(), evil, marker);
    for (const type of ['export', 'forward'] as const) {
      const input = { data: '', shape: [1, 28, 28, 1], layout: 'nhwc' };
      await assert.rejects(trainer.request(type, { arch: tinyArch(), weightsPath: evil, ...(type === 'forward' ? { input } : {}) }),
        /weights\.pt: refused, it holds more than tensors \(Unsupported class [\w.]+\.call\)/);
      assert.equal(existsSync(marker), false, `${type}: the pickle's command ran`);
    }
    assert.ok((await trainer.count(tinyArch())) > 0, 'the worker keeps serving');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('process exit rejects pending requests with the exit status and stderr tail', { timeout: 120_000 }, async () => {
  const doomed = await TorchTrainer.start();
  // A slow first request (a large input to build and check) keeps the rest queued.
  const big = { ...tinyArch(), input: { h: 1536, w: 1536, c: 1 } };
  const pending = [doomed.count(big), doomed.hello(), doomed.count(tinyArch())];
  doomed.kill('SIGKILL');
  for (const p of pending) await assert.rejects(p, /mnas torch worker .* exited \(signal SIGKILL\)/);
  await assert.rejects(doomed.hello(), /exited/);
  assert.equal(doomed.alive, false);
  await doomed.close();
});

test('Ctrl-C (SIGINT to the process group) does not kill the worker: its owner decides what a stop means', { timeout: 120_000 }, async () => {
  const w = await TorchTrainer.start();
  try {
    // A request in progress, as when Ctrl-C lands mid-training.
    const big = { ...tinyArch(), input: { h: 1024, w: 1024, c: 1 } };
    const busy = w.count(big);
    w.kill('SIGINT');
    assert.ok((await busy) > 0, 'the request in progress finished');
    assert.equal((await w.hello()).protocol, 1);
    assert.equal(w.alive, true);
  } finally {
    await w.close();
  }
});

test('findPython: an interpreter without torch is refused with the exact fix', () => {
  assert.throws(() => findPython('/nonexistent/python3'), /cannot import torch .*apt-get install -y python3-torch.*MNAS_PYTHON/s);
  assert.throws(() => findPython(undefined, { MNAS_PYTHON: '/nonexistent/python3' }), /Python from MNAS_PYTHON cannot import torch/);
});
