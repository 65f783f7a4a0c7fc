import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyze, diskHost, type ModelEntry } from '../../server/src/analysis/analysis';
import { roundFilters, toArch } from '../../server/src/language/arch';
import { costOf } from '../../server/src/cost/model';

function model(file: string): ModelEntry {
  const abs = path.resolve('examples', file);
  const a = analyze(abs, fs.readFileSync(abs, 'utf8'), diskHost);
  const m = [...a.local.values()].find((e): e is ModelEntry => e.kind === 'model');
  assert.ok(m, file);
  return m;
}

test('MnasNet-A1 hits the published figures exactly', () => {
  const m = model('mnasnet-a1.mnas');
  assert.equal(m.cost.params, 3_887_038);
  assert.equal(m.cost.multAdds, 311_579_072);
  assert.deepEqual(m.cost.output, { h: 1, w: 1, c: 1000 });
});

test('MobileNetV2 1.0 hits the published figures exactly', () => {
  const m = model('mobilenetv2.mnas');
  assert.equal(m.cost.params, 3_504_872);
  assert.equal(m.cost.multAdds, 300_774_272);
});

test('MnasNet-B1 matches torchvision mnasnet1_0 params', () => {
  assert.equal(model('mnasnet-b1.mnas').cost.params, 4_383_312);
});

test('block shapes follow same padding: ceil(H / stride)', () => {
  const m = model('mnasnet-a1.mnas');
  assert.deepEqual(m.cost.blocks.map((b) => `${b.out.h}x${b.out.w}x${b.out.c}`),
    ['112x112x16', '56x56x24', '28x28x40', '14x14x80', '14x14x112', '7x7x160', '7x7x320']);
  const odd = costOf({ ...m.arch, input: { h: 225, w: 225, c: 3 } });
  assert.deepEqual(odd.blocks.map((b) => b.out.h), [113, 57, 29, 15, 15, 8, 8]);
});

test('a non-224 resolution scales mult-adds but not params', () => {
  const m = model('mobilenetv2.mnas');
  const c = costOf({ ...m.arch, input: { h: 160, w: 160, c: 3 } });
  assert.equal(c.params, 3_504_872);
  // Published (TF-slim table, rounded): MobileNetV2 1.0 @ 160 has 154M mult-adds.
  assert.equal(Math.round(c.multAdds / 1e6), 154);
  assert.ok(c.multAdds < 300_774_272 * (160 * 160) / (224 * 224) * 1.02);
});

test('width multiplier: TF round_filters, stem scaled, 1280 head not scaled', () => {
  assert.equal(roundFilters(32, 0.5), 16);
  assert.equal(roundFilters(24, 0.35), 8);
  assert.equal(roundFilters(40, 1.4), 56);
  assert.equal(roundFilters(36, 1), 36, 'width 1.0 keeps filters as written');
  assert.equal(roundFilters(20, 0.75), 16, 'nearest multiple of 8, not below 90%');
  const m = model('mobilenetv2.mnas');
  const a = toArch({ ...m.resolved.spec, width: 0.5 });
  assert.equal(a.stem?.f, 16);
  assert.deepEqual(a.blocks.map((b) => b.f), [8, 16, 16, 32, 48, 80, 160]);
  assert.equal(a.head?.f, 1280);
  const c = costOf(a);
  // Published (TF-slim table, rounded): MobileNetV2 0.5 @ 224 has 97M mult-adds, 1.95M params
  // (its released checkpoints keep the 1280 head; its first block rounding differs slightly).
  assert.equal(Math.round(c.multAdds / 1e6), 97);
  assert.ok(Math.abs(c.params - 1.95e6) / 1.95e6 < 0.02, String(c.params));
});

test('SE width comes from the layer input filters', () => {
  const m = model('mnasnet-a1.mnas');
  const b3 = m.cost.blocks[2];
  const se0 = b3.layers[0].ops.find((o) => o.kind === 'se')!;
  assert.equal(se0.label, 'SE 72->6->72', 'first layer: 24 input filters x 0.25 = 6, on 24x3 = 72 channels');
  const se1 = b3.layers[1].ops.find((o) => o.kind === 'se')!;
  assert.equal(se1.label, 'SE 120->10->120');
  assert.equal(se1.params, 120 * 10 + 10 + 10 * 120 + 120);
  assert.equal(se1.multAdds, 2 * 120 * 10);
});

test('residuals: identity where shapes match, pool projects, none has none', () => {
  const base = model('mnasnet-a1.mnas').arch;
  const b2 = { ...base.blocks[1] };
  const c = (skip: 'identity' | 'pool' | 'none') => costOf({ ...base, blocks: [base.blocks[0], { ...b2, skip }] }).blocks[1];
  assert.deepEqual(c('identity').layers.map((l) => l.residual), ['none', 'identity']);
  assert.deepEqual(c('none').layers.map((l) => l.residual), ['none', 'none']);
  const pool = c('pool');
  assert.deepEqual(pool.layers.map((l) => l.residual), ['pool', 'identity']);
  const proj = pool.layers[0].ops.find((o) => o.kind === 'shortcut')!;
  assert.equal(proj.params, 16 * 24 + 2 * 24);
  assert.equal(proj.multAdds, 16 * 24 * 56 * 56);
  assert.equal(pool.params - c('identity').params, proj.params);
});

test('the conv op: one kxk conv + BN', () => {
  const c = costOf({ name: 't', input: { h: 8, w: 8, c: 4 }, stem: null, head: null,
    blocks: [{ name: 'b', op: 'conv', e: 1, k: 3, s: 2, f: 6, x: 1, se: 0, skip: 'none', act: 'relu' }] });
  assert.equal(c.params, 3 * 3 * 4 * 6 + 12);
  assert.equal(c.multAdds, 3 * 3 * 4 * 6 * 4 * 4);
});

test('the depthwise-separable cost formula from the paper: H*W*M*(K*K + N)', () => {
  const H = 14, M = 32, N = 64, K = 5;
  const c = costOf({ name: 't', input: { h: H, w: H, c: M }, stem: null, head: null,
    blocks: [{ name: 'b', op: 'sepconv', e: 1, k: K, s: 1, f: N, x: 1, se: 0, skip: 'none', act: 'relu' }] });
  assert.equal(c.multAdds, H * H * M * (K * K + N));
});
