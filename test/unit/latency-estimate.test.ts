import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles } from '../helpers/analyze';
import type { ModelEntry } from '../../server/src/analysis/analysis';
import { estimate, unitSums } from '../../server/src/cost/latency/estimate';
import { FEATURES, unitsOf } from '../../server/src/cost/latency/keys';
import { compile, type DeviceProfile } from '../../server/src/cost/latency/profile';
import { builtinProfile } from '../../server/src/cost/latency/store';
import { fitPublished, NOT_FITTED, PUBLISHED, PUBLISHED_TOLERANCE_PCT, publishedArch } from '../../server/src/latency/published';
import { costOf } from '../../server/src/cost/model';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const model = (f: string) => [...analyzeFiles({ 'main.mnas': fs.readFileSync(path.join(ROOT, 'examples', f), 'utf8') }).local.values()][0] as ModelEntry;

type Placed = ReturnType<typeof unitsOf>[number];
function profileFor(e: ModelEntry, measured: (u: Placed) => boolean, over: Partial<DeviceProfile> = {}): DeviceProfile {
  const table: DeviceProfile['table'] = {};
  for (const u of unitsOf(e.arch, e.cost)) if (measured(u)) table[u.key] = { ms: 1, n: 10, spread: 0 };
  const coef = FEATURES.map((f) => (f === 'one' ? 2 : 0));
  return {
    format: 'mnas-device-profile', version: 1, name: 'synthetic', approximate: true,
    device: { model: 'x', abi: 'x', cores: 1, governor: 'x', runtime: 'x', threads: 1 },
    created: 'now', source: { kind: 'synthetic' }, table,
    fallback: { features: [...FEATURES], kinds: {}, default: { coef, n: 3, rmsePct: 50 } },
    overhead: { ms: 0.5, scale: 2 },
    accuracy: { models: 0, rmsePct: 5, within5: 0, within10: 0, maxErrorPct: 0 },
    ...over,
  };
}

describe('estimate()', () => {
  test('table units, fallback units, overhead and scale add up; coverage counts table hits', () => {
    const e = model('mnasnet-a1.mnas');
    const full = estimate(compile(profileFor(e, () => true)), e.arch, e.cost);
    // 18 units of 1 ms, scaled by 2, plus 0.5 ms.
    assert.equal(full.ms, 0.5 + 2 * 18);
    assert.equal(full.coverage, 1);
    assert.equal(full.perLayer.length, 18);
    assert.deepEqual(full.perBlock, [2, 4, 6, 8, 4, 6, 2]);
    assert.equal(full.stemMs, 2);
    assert.equal(full.headMs, 2);
    assert.ok(Math.abs(full.uncertaintyPct - 5) < 1e-9, 'table only: the profile\'s model error');

    // Stem, head and blocks b1, b3, b5, b7 measured: 9 of the 18 units (repeats share a key).
    const half = estimate(compile(profileFor(e, (u) => typeof u.block !== 'number' || u.block % 2 === 0)), e.arch, e.cost);
    assert.equal(half.coverage, 0.5);
    // Fallback units: 2 ms each (intercept), scaled by 2.
    assert.equal(half.ms, 0.5 + 2 * (9 * 1 + 9 * 2));
    assert.deepEqual(half.perLayer.map((l) => l.from).slice(0, 4), ['table', 'table', 'fallback', 'fallback']);
    assert.ok(half.uncertaintyPct > full.uncertaintyPct, 'fallback units widen the uncertainty');
  });

  test('the whole-model correction weighs the looked-up units and every unit\'s fallback (fitScale)', () => {
    const e = model('mnasnet-a1.mnas');
    // Half the units in the table (1 ms), fallback 2 ms for every unit.
    const p = compile(profileFor(e, (u) => typeof u.block !== 'number' || u.block % 2 === 0, { overhead: { ms: 0.5, scale: 0.5, fitScale: 0.25 } }));
    const sums = unitSums(p, e.arch, e.cost);
    assert.deepEqual(sums, { units: 9 * 1 + 9 * 2, fallback: 18 * 2 });
    const r = estimate(p, e.arch, e.cost);
    assert.ok(Math.abs(r.ms - (0.5 + 0.5 * 27 + 0.25 * 36)) < 1e-9, `${r.ms}`);
    // A table unit: 0.5 x 1 ms + 0.25 x its 2 ms fallback; the blocks and overhead still add up to the total.
    assert.equal(r.stemMs, 0.5 + 0.5);
    assert.ok(Math.abs(r.overheadMs + r.stemMs + r.headMs + r.perBlock.reduce((a, b) => a + b, 0) - r.ms) < 1e-9);
  });

  test('the per-kind fit is used over the default when present', () => {
    const e = model('mnasnet-a1.mnas');
    const coef = FEATURES.map((f) => (f === 'one' ? 10 : 0));
    const p = profileFor(e, () => false, { overhead: { ms: 0, scale: 1 } });
    p.fallback.kinds.mbconv = { coef, n: 5, rmsePct: 1 };
    const r = estimate(compile(p), e.arch, e.cost);
    // stem, sepconv and head from the default (2 ms), 15 mbconv layers at 10 ms.
    assert.equal(r.ms, 3 * 2 + 15 * 10);
    assert.equal(r.coverage, 0);
  });

  test('pure: no I/O, the same answer every time, cost computed when not given', () => {
    const e = model('mnasnet-b1.mnas');
    const p = builtinProfile();
    assert.deepEqual(estimate(p, e.arch), estimate(p, e.arch, e.cost));
  });
});

describe('the built-in profile pixel1-published', () => {
  test(`reproduces the published Pixel 1 figures it was fitted on within ${PUBLISHED_TOLERANCE_PCT}%`, () => {
    const p = builtinProfile();
    for (const m of PUBLISHED) {
      const r = estimate(p, publishedArch(m.text));
      assert.ok(Math.abs(r.ms - m.ms) / m.ms <= PUBLISHED_TOLERANCE_PCT / 100, `${m.name}: ${r.ms.toFixed(1)} ms vs published ${m.ms} ms`);
      assert.equal(r.coverage, 0);
      assert.ok(r.uncertaintyPct >= 10);
    }
    assert.deepEqual(NOT_FITTED.map((m) => m.name), ['NASNet-A', 'MnasNet-A2', 'MnasNet-A3']);
  });

  test('the examples: MobileNetV2 75 ms and MnasNet-A1 78 ms', () => {
    const p = builtinProfile();
    assert.equal(estimate(p, model('mobilenetv2.mnas').arch).ms.toFixed(1), '75.0');
    assert.equal(estimate(p, model('mnasnet-a1.mnas').arch).ms.toFixed(1), '78.0');
  });

  test('MobileNetV2 1.4 as described matches the published 585M mult-adds within 3%', () => {
    // Params: 6.11M here; the paper's table says 6.9M, TF-slim's released model 6.06M.
    const c = costOf(publishedArch(PUBLISHED[1].text));
    assert.ok(Math.abs(c.multAdds - 585e6) / 585e6 < 0.03, String(c.multAdds));
    assert.ok(Math.abs(c.params - 6.06e6) / 6.06e6 < 0.03, String(c.params));
  });

  test('the shipped JSON is what fitPublished() produces, labelled approximate', () => {
    const shipped = JSON.parse(fs.readFileSync(path.join(ROOT, 'profiles', 'pixel1-published.json'), 'utf8')) as DeviceProfile;
    const fresh = fitPublished(shipped.created);
    assert.deepEqual(shipped, fresh);
    assert.equal(shipped.approximate, true);
    assert.equal(shipped.source.kind, 'published');
    assert.match(shipped.description!, /Approximate/);
  });
});

describe('mnas estimate --profile', () => {
  test('adds each model\'s predicted latency, per block, and the blocks plus stem, head and overhead make the total', async () => {
    const { estimate: estimateCli } = await import('../../server/src/cli/estimate');
    const r = estimateCli(path.join(ROOT, 'examples', 'mnasnet-a1.mnas'), undefined, 'pixel1-published');
    const m = r.models[0];
    assert.ok(m.latency);
    assert.equal(m.latency.profile, 'pixel1-published');
    assert.ok(Math.abs(m.latency.ms - 78) < 0.5, `A1 on pixel1-published: ${m.latency.ms} ms`);
    const sum = m.blocks.reduce((s, b) => s + ('latencyMs' in b && b.latencyMs !== undefined ? b.latencyMs : NaN), 0) + m.latency.stemMs + m.latency.headMs + m.latency.overheadMs;
    assert.ok(Math.abs(sum - m.latency.ms) < 0.01, `${sum} vs ${m.latency.ms}`);
    assert.equal(estimateCli(path.join(ROOT, 'examples', 'mnasnet-a1.mnas')).models[0].latency, undefined);
    assert.throws(() => estimateCli(path.join(ROOT, 'examples', 'mnasnet-a1.mnas'), undefined, 'no-such-phone'), /--profile: Device profile `no-such-phone` not found/);
  });
});
