// The exporter against PyTorch: every exported model runs in the real TFLite runtime and its
// output matches the worker's eval-mode `forward` on the same input and weights within 1e-4
// (random init with randomized BN statistics, and a child trained for one short epoch); the
// flatbuffer's ops, weight shapes and output shapes follow the cost model op for op.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Arch } from '../../server/src/language/arch';
import { costOf, seWidth, type OpCost } from '../../server/src/cost/model';
import { decodeModel, exportWithWorker, headAct, tensorFloats, torchForward, type DecodedModel } from '../../server/src/device/tflite/index';
import { BuiltinOperator, OP_VERSION } from '../../server/src/device/tflite/schema';
import { loadTflite } from '../../server/src/device/tfliteRuntime';
import { prepareDataset } from '../../server/src/train/datasets';
import { TorchTrainer } from '../../server/src/train/torchTrainer';
import { randomArchs } from '../python/helpers';
import { CASES, maxAbs, maxAbsDiff, seededInput, trainArch } from './tflite-helpers';

const TOL = 1e-4;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mnas-tflite-test-'));
let worker: TorchTrainer;
before(async () => { worker = await TorchTrainer.start({ threads: 1 }); }, { timeout: 120_000 });
after(async () => {
  await worker?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Export, run in TFLite, run in PyTorch, compare; returns the decoded file. */
async function roundTrip(arch: Arch, from: { seed?: number; weightsPath?: string }, softmax = false): Promise<DecodedModel> {
  const ex = await exportWithWorker(worker, arch, from, { softmax });
  const model = await loadTflite(ex.bytes, { numThreads: 1 });
  try {
    const x = seededInput(arch, 7);
    const [y] = model.run(x);
    const ref = await torchForward(worker, arch, x, from);
    let want = ref.data;
    if (softmax) {
      const m = Math.max(...want);
      const e = want.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      want = e.map((v) => v / s);
    }
    const o = costOf(arch).output;
    const outShape = arch.head ? [1, o.c] : [1, o.h, o.w, o.c];
    assert.deepEqual(model.outputs[0].shape, outShape, `${arch.name}: output shape`);
    assert.deepEqual(ref.shape, outShape, `${arch.name}: PyTorch output shape (NHWC)`);
    assert.deepEqual(model.inputs[0].shape, [1, arch.input.h, arch.input.w, arch.input.c]);
    const d = maxAbsDiff(y, want);
    assert.ok(d <= TOL, `${arch.name}: max |tflite - torch| = ${d} (output magnitude ${maxAbs(want)})`);
    assert.ok(maxAbs(want) > 1e-3, `${arch.name}: a degenerate output proves nothing`);
  } finally {
    model.close();
  }
  const decoded = decodeModel(ex.bytes);
  checkStructure(arch, decoded, softmax);
  return decoded;
}

/**
 * The flatbuffer against the cost model: header, op versions, and the sequence of weighted ops
 * (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) with their weight and output shapes, derived
 * here from costOf independently of the exporter; constants add up to the cost model's params
 * minus one per BN channel (gamma and beta fold into one bias).
 */
function checkStructure(arch: Arch, m: DecodedModel, softmax: boolean): void {
  assert.equal(m.identifier, 'TFL3');
  assert.equal(m.version, 3);
  for (const op of m.ops) {
    assert.ok(op.op in BuiltinOperator, `unexpected op ${op.op}`);
    assert.equal(op.version, OP_VERSION[op.op as keyof typeof OP_VERSION]);
    if (op.op === 'CONV_2D') assert.ok(op.version <= 3);
    if (op.op === 'SOFTMAX') assert.deepEqual([op.options.beta, op.options.betaWritten], [1, true]);
  }
  assert.equal(m.ops.some((o) => o.op === 'SOFTMAX'), softmax);
  const cost = costOf(arch);
  const expected: { op: string; w: number[]; out: number[] }[] = [];
  let bnChannels = 0;
  const nhwc = (c: OpCost) => [1, c.out.h, c.out.w, c.out.c];
  const conv = (c: OpCost, k: number) => {
    expected.push({ op: 'CONV_2D', w: [c.out.c, k, k, c.in.c], out: nhwc(c) });
    bnChannels += c.out.c;
  };
  if (cost.stem && arch.stem) conv(cost.stem, arch.stem.k);
  cost.blocks.forEach((b, bi) => b.layers.forEach((l) => {
    for (const c of l.ops) {
      if (c.kind === 'conv') conv(c, arch.blocks[bi].k);
      else if (c.kind === 'expand' || c.kind === 'project' || c.kind === 'shortcut') conv(c, 1);
      else if (c.kind === 'depthwise') {
        expected.push({ op: 'DEPTHWISE_CONV_2D', w: [1, arch.blocks[bi].k, arch.blocks[bi].k, c.out.c], out: nhwc(c) });
        bnChannels += c.out.c;
      } else if (c.kind === 'se') {
        const r = seWidth(l.in.c, arch.blocks[bi].se);
        expected.push({ op: 'CONV_2D', w: [r, 1, 1, c.in.c], out: [1, 1, 1, r] }, { op: 'CONV_2D', w: [c.in.c, 1, 1, r], out: [1, 1, 1, c.in.c] });
      }
    }
  }));
  for (const h of cost.head) {
    if (h.kind === 'head') conv(h, 1);
    if (h.kind === 'fc') expected.push({ op: 'FULLY_CONNECTED', w: [h.out.c, h.in.c], out: [1, h.out.c] });
  }
  const got = m.ops.filter((o) => ['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED'].includes(o.op))
    .map((o) => ({ op: o.op, w: m.tensors[o.inputs[1]].shape, out: m.tensors[o.outputs[0]].shape }));
  assert.deepEqual(got, expected, `${arch.name}: weighted ops follow the cost model`);
  // Every constant: finite, and the float ones add up (the pool count-fix factors excepted).
  let floats = 0;
  for (const t of m.tensors) {
    if (!t.data) continue;
    if (t.type === 0) {
      const v = tensorFloats(t);
      assert.ok(v.every(Number.isFinite), `${t.name} has non-finite values`);
      if (!t.name.endsWith('pool_count_fix')) floats += v.length;
    }
  }
  assert.equal(floats, cost.params - bnChannels, `${arch.name}: folded constants`);
  // The activations the cost model's layers ask for are there.
  const acts = new Set([arch.stem?.act, ...arch.blocks.map((b) => b.act), arch.head?.f ? headAct(arch) : undefined]);
  if (acts.has('hswish')) assert.ok(m.ops.some((o) => o.op === 'HARD_SWISH'));
  if (acts.has('swish')) assert.ok(m.ops.some((o) => o.op === 'LOGISTIC'));
  // The declared shape of the final tensor is the model's output.
  const out = m.tensors[m.outputs[0]].shape;
  assert.deepEqual(out, arch.head ? [1, cost.output.c] : [1, cost.output.h, cost.output.w, cost.output.c]);
}

for (const [name, arch] of Object.entries(CASES)) {
  test(`random init: ${name} matches PyTorch within ${TOL}`, { timeout: 120_000 }, async () => {
    const m = await roundTrip(arch, { seed: 11 });
    if (name === 'sepEvenS2Swish') assert.ok(m.ops.some((o) => o.op === 'PAD'), 'even input, stride 2: explicit PAD');
    if (name === 'convOddS2') assert.ok(!m.ops.some((o) => o.op === 'PAD'), 'odd input, stride 2: SAME is exact, no PAD');
    if (name === 'poolSkips') {
      assert.equal(m.ops.filter((o) => o.op === 'AVERAGE_POOL_2D').length, 3);
      assert.ok(m.ops.some((o) => o.op === 'MAX_POOL_2D') && m.ops.some((o) => o.op === 'RESHAPE'));
      assert.ok(m.tensors.some((t) => t.name.endsWith('pool_count_fix')), 'stride 3 on 7 rows: PAD + VALID pool + count fix');
    }
  });
}

test('softmax head: SOFTMAX with beta 1 written, matches softmax(PyTorch logits)', { timeout: 120_000 }, async () => {
  await roundTrip(CASES.convOddS2, { seed: 2 }, true);
});

test('random archs of the search space (seeded) match PyTorch', { timeout: 600_000 }, async () => {
  // Kernels 3/5/7, strides 1/2, every op, act, skip and head variant, 1- and 3-channel inputs.
  for (const arch of randomArchs(20260, 16)) await roundTrip(arch, { seed: 5 });
});

test('trained child (one short epoch on MNIST): TFLite matches PyTorch with the trained weights', { timeout: 900_000 }, async () => {
  const data = await prepareDataset({ name: 'mnist', train: 600, test: 100, seed: 1, cacheDir: path.join(tmp, 'cache') });
  const arch = trainArch();
  const r = await worker.train({
    arch, data, seed: 1, outDir: path.join(tmp, 'child'), threads: 2,
    recipe: { epochs: 1, batchSize: 32, lr: 0.01, optimizer: 'adam', momentum: 0.9, weightDecay: 0, bnMomentum: 0.1, labelSmoothing: 0 },
  });
  const trained = await roundTrip(arch, { weightsPath: r.weightsPath });
  // The trained weights really are in the file (not a random init with the same seed).
  const random = decodeModel((await exportWithWorker(worker, arch, { seed: 0 })).bytes);
  const stem = (m: DecodedModel) => tensorFloats(m.tensors.find((t) => t.name === 'stem.weight')!);
  assert.ok(maxAbsDiff(stem(trained), stem(random)) > 1e-3);
});

test('weights of another arch are refused with a clear error', { timeout: 120_000 }, async () => {
  const arch = trainArch();
  const r = await worker.request('export', { arch, seed: 0, outPath: path.join(tmp, 'w.f32') });
  assert.ok(Number(r.bytes) > 0);
  const other = { ...arch, blocks: arch.blocks.map((b) => ({ ...b, f: b.f * 2 })) };
  await assert.rejects(worker.request('forward', { arch: other, weightsPath: path.join(tmp, 'nope.pt'), input: {} }), /weightsPath .*nope\.pt: no such file/);
  await assert.rejects(worker.request('forward', { arch, seed: 0, input: { data: '', shape: [1, 3, 28, 28], layout: 'nhwc' } }), /does not match the arch input 28x28x1/);
});
