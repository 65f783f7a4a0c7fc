import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles } from '../helpers/analyze';
import type { ModelEntry, SpaceEntry } from '../../server/src/analysis/analysis';
import { toArch } from '../../server/src/language/arch';
import { decisions, sample } from '../../server/src/language/space';
import { costOf } from '../../server/src/cost/model';
import { layerKey, unitArch, unitsOf } from '../../server/src/cost/latency/keys';
import { atResolution, spaceUnits } from '../../server/src/latency/calibration';
import { Rng } from '../../server/src/util/rng';

const EX = path.resolve(import.meta.dirname, '..', '..', 'examples');
const read = (f: string) => fs.readFileSync(path.join(EX, f), 'utf8');
const a1 = () => [...analyzeFiles({ 'main.mnas': read('mnasnet-a1.mnas') }).local.values()][0] as ModelEntry;
const mnasSpace = () => {
  const a = analyzeFiles({ 'main.mnas': read('mnas-space.mnas'), 'mobilenetv2.mnas': read('mobilenetv2.mnas') });
  return (a.local.get('MnasSpace') as SpaceEntry).resolution.space!;
};

describe('latency layer keys', () => {
  test('MnasNet-A1: stem, 16 layers and head, keyed by op, shapes, kernel, stride, expansion, SE, residual, act', () => {
    const e = a1();
    const units = unitsOf(e.arch, e.cost);
    assert.equal(units.length, 18);
    assert.equal(units[0].key, 'stem|224x224x3|f32|k3|s2|relu');
    assert.equal(units[17].key, 'head|7x7x320|f1280|avg|c1000|relu');
    const b3 = units.filter((u) => u.block === 2).map((u) => u.key);
    assert.deepEqual(b3, [
      'mbconv|56x56x24|f40|k5|s2|e3|se0.25|none|relu',
      'mbconv|28x28x40|f40|k5|s1|e3|se0.25|identity|relu',
      'mbconv|28x28x40|f40|k5|s1|e3|se0.25|identity|relu',
    ]);
    assert.equal(units[1].key, 'sepconv|112x112x32|f16|k3|s1|e1|se0|none|relu');
    // Features: dense and depthwise mult-adds in millions add up to the layer's mult-adds.
    const l = e.cost.blocks[2].layers[0];
    assert.ok(Math.abs((units[4].x[1] + units[4].x[2]) * 1e6 - l.multAdds) < 1e-3);
  });

  test('unitArch(key) builds the one-unit network whose only unit has that key', () => {
    const keys = new Set(unitsOf(a1().arch, a1().cost).map((u) => u.key));
    const space = mnasSpace();
    const ds = decisions(space);
    const rng = new Rng(7);
    for (let i = 0; i < 20; i++) {
      const arch = toArch(sample(space, ds.map((d) => rng.int(d.options))));
      for (const u of unitsOf(arch, costOf(arch))) keys.add(u.key);
    }
    for (const key of keys) {
      const arch = unitArch(key);
      const units = unitsOf(arch, costOf(arch));
      assert.equal(units.length, 1, key);
      assert.equal(units[0].key, key);
    }
  });

  test('a layer with skip pool on a shape change keys as a pooled residual; identity there keys as none', () => {
    const e = a1();
    const b = { ...e.arch.blocks[2], skip: 'pool' as const };
    const first = costOf({ ...e.arch, blocks: [...e.arch.blocks.slice(0, 2), b] }).blocks[2].layers[0];
    assert.match(layerKey(b, first), /\|pool\|relu$/);
  });

  test('the paper space: every child unit is among the enumerated units (also at a reduced resolution)', () => {
    for (const res of [undefined, 96]) {
      const space = atResolution(mnasSpace(), res);
      const all = new Set(spaceUnits(space).map((u) => u.key));
      assert.equal(all.size, 2500);
      const ds = decisions(space);
      const rng = new Rng(3);
      for (let i = 0; i < 50; i++) {
        const arch = toArch(sample(space, ds.map((d) => rng.int(d.options))));
        for (const u of unitsOf(arch, costOf(arch))) assert.ok(all.has(u.key), u.key);
      }
    }
  });
});
