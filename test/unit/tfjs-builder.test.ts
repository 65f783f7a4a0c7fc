// The TensorFlow.js builder mirrors the cost model exactly: for seeded random archs across the
// search space, the trainable-parameter count equals costOf(arch).params and the output shape
// (static, and computed on a zero image) equals the cost model's. Pure-JS tfjs always; the same
// checks on tfjs-node when it is installed (skipped, with the reason, otherwise).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor } from '@tensorflow/tfjs';
import { costOf } from '../../server/src/cost/model';
import type { ActName, OpName, SkipName } from '../../server/src/language/ast';
import { type Arch, type BlockArch, roundFilters } from '../../server/src/language/arch';
import type { Tf } from '../../server/src/platform/tfjs';
import { mulberry32 } from '../../server/src/train/datasets';
import { BN_EPSILON, buildTfjsModel } from '../../server/src/train/tfjsBuilder';
import { loadPureTf } from '../../server/src/train/tfjsTrainer';

/** Small sides keep the zero-image forward pass cheap on pure JS; odd sides exercise ceil(H/s). */
function randomArch(rand: () => number, name: string): Arch {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const acts: ActName[] = ['relu', 'relu6', 'swish', 'hswish'];
  const width = pick([0.5, 0.75, 1, 1, 1.4]);
  const side = int(7, 33);
  const blocks: BlockArch[] = Array.from({ length: int(1, 4) }, (_, i) => {
    const op = pick<OpName>(['conv', 'sepconv', 'mbconv']);
    return {
      name: `b${i}`, op, e: op === 'mbconv' ? pick([1, 3, 6]) : 1, k: pick([3, 5]), s: pick([1, 2]),
      f: roundFilters(pick([8, 12, 16, 24, 40]), width), x: int(1, 3), se: pick([0, 0.25]),
      skip: pick<SkipName>(['identity', 'pool', 'none']), act: pick(acts),
    };
  });
  return {
    name,
    input: { h: side, w: rand() < 0.7 ? side : int(7, 33), c: pick([1, 3]) },
    stem: rand() < 0.75 ? { k: pick([3, 5]), s: pick([1, 2]), f: roundFilters(pick([8, 16, 24]), width), act: pick(acts) } : null,
    blocks,
    head: rand() < 0.1 ? null : {
      f: rand() < 0.5 ? pick([32, 64, 128]) : null, pool: pick(['avg', 'max'] as const),
      classes: rand() < 0.8 ? int(2, 100) : null, dropout: pick([0, 0.2]),
      ...(rand() < 0.3 ? { act: pick(acts) } : {}),
    },
  };
}

const archs = (() => {
  const rand = mulberry32(20250117);
  return Array.from({ length: 40 }, (_, i) => randomArch(rand, `rand${i}`));
})();

function coverage(): void {
  const kinds = new Set(archs.flatMap((a) => a.blocks.map((b) => `${b.op}/${b.skip}/${b.se > 0 ? 'se' : 'nose'}`)));
  assert.ok(kinds.size >= 14, `generator covers too few combinations: ${[...kinds].join(' ')}`);
  const residuals = new Set(archs.flatMap((a) => costOf(a).blocks.flatMap((b) => b.layers.map((l) => l.residual + (l.ops.some((o) => o.kind === 'shortcut') ? '+proj' : '')))));
  assert.deepEqual([...residuals].sort(), ['identity', 'none', 'pool', 'pool+proj']);
  const has = (p: (a: Arch) => boolean) => archs.some(p);
  assert.ok(has((a) => a.head === null) && has((a) => a.head?.classes === null) && has((a) => a.head?.f !== null && a.head !== null));
  assert.ok(has((a) => a.input.c === 1) && has((a) => a.input.c === 3) && has((a) => a.stem === null));
  assert.ok(new Set(archs.flatMap((a) => a.blocks.map((b) => b.e))).size === 3);
  assert.ok(has((a) => a.blocks.some((b) => b.act === 'hswish')));
  assert.ok(has((a) => a.input.h % 2 === 1 && a.blocks.some((b) => b.s === 2)), 'odd sides with stride 2');
}

function checkAll(tf: Tf): void {
  const mismatches: string[] = [];
  for (const arch of archs) {
    const cost = costOf(arch);
    const built = buildTfjsModel(tf, arch, { seed: 7 });
    const o = cost.output;
    const want = arch.head ? [o.c] : [o.h, o.w, o.c];
    const got = tf.tidy(() => (built.model.predict(tf.zeros([2, arch.input.h, arch.input.w, arch.input.c])) as Tensor).shape);
    if (built.params !== cost.params) mismatches.push(`${arch.name}: tfjs ${built.params} params, cost model ${cost.params}: ${JSON.stringify(arch)}`);
    if (built.outputShape.join('x') !== want.join('x')) mismatches.push(`${arch.name}: static output [${built.outputShape}], cost model [${want}]`);
    if (got.join('x') !== [2, ...want].join('x')) mismatches.push(`${arch.name}: computed output [${got}], cost model [2,${want}]`);
    built.model.dispose();
  }
  assert.deepEqual(mismatches, []);
}

test('the random archs cover the search space', () => coverage());

test('pure-JS tfjs: params and output shapes equal the cost model for 40 random archs', { timeout: 60_000 }, async () => {
  const { tf } = await loadPureTf();
  const before = tf.memory().numTensors;
  checkAll(tf);
  assert.equal(tf.memory().numTensors, before, 'models disposed without leaks');
});

test('BN is Keras momentum 0.9 / epsilon 1e-3 with only gamma and beta trainable; same seed, same weights', async () => {
  const { tf } = await loadPureTf();
  const arch = archs.find((a) => a.stem && a.blocks.some((b) => b.op === 'mbconv' && b.e !== 1))!;
  const a = buildTfjsModel(tf, arch, { seed: 11 });
  const b = buildTfjsModel(tf, arch, { seed: 11 });
  const c = buildTfjsModel(tf, arch, { seed: 12, bnMomentum: 0.01 });
  const bn = a.model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
  assert.ok(bn.length > 0);
  for (const l of bn) {
    const cfg = l.getConfig();
    assert.equal(cfg.momentum, 0.9);
    assert.equal(cfg.epsilon, BN_EPSILON);
    assert.deepEqual(l.trainableWeights.map((w) => w.originalName.split('/').pop()).sort(), ['beta', 'gamma']);
    assert.equal(l.nonTrainableWeights.length, 2);
  }
  assert.ok(Math.abs((c.model.layers.find((l) => l.getClassName() === 'BatchNormalization')!.getConfig().momentum as number) - 0.99) < 1e-12);
  const values = (m: typeof a) => m.model.getWeights().map((w) => Array.from(w.dataSync()));
  assert.deepEqual(values(a), values(b));
  assert.notDeepEqual(values(a), values(c));
  for (const m of [a, b, c]) m.model.dispose();
});

test('published scale: MnasNet-A1 at 224x224x3 has the cost model count (static shapes)', async () => {
  const { tf } = await loadPureTf();
  const row = (name: string, op: 'sepconv' | 'mbconv', e: number, k: number, s: number, f: number, x: number, se: number): BlockArch =>
    ({ name, op, e, k, s, f, x, se, skip: op === 'sepconv' ? 'none' : 'identity', act: 'relu' });
  const arch: Arch = {
    name: 'A1', input: { h: 224, w: 224, c: 3 }, stem: { k: 3, s: 2, f: 32, act: 'relu' },
    blocks: [row('b1', 'sepconv', 1, 3, 1, 16, 1, 0), row('b2', 'mbconv', 6, 3, 2, 24, 2, 0), row('b3', 'mbconv', 3, 5, 2, 40, 3, 0.25),
      row('b4', 'mbconv', 6, 3, 2, 80, 4, 0), row('b5', 'mbconv', 6, 3, 1, 112, 2, 0.25), row('b6', 'mbconv', 6, 5, 2, 160, 3, 0.25),
      row('b7', 'mbconv', 6, 3, 1, 320, 1, 0)],
    head: { f: 1280, pool: 'avg', classes: 1000, dropout: 0.2 },
  };
  const built = buildTfjsModel(tf, arch);
  assert.equal(built.params, costOf(arch).params);
  assert.deepEqual(built.outputShape, [1000]);
  built.model.dispose();
});

test('tfjs-node: params and output shapes equal the cost model for 40 random archs', { timeout: 60_000 }, async (t) => {
  const name = '@tensorflow/tfjs-node';
  let tf: Tf;
  try {
    tf = (await import(name)) as Tf;
  } catch (e) {
    t.skip(`tfjs-node is not installed: ${(e as Error).message.split('\n')[0]}`);
    return;
  }
  const previous = tf.getBackend();
  await tf.setBackend('tensorflow');
  try {
    checkAll(tf);
  } finally {
    await tf.setBackend(previous);
  }
});
