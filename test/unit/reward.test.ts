import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reward, REWARD_PRESETS, presetWeights } from '../../server/src/search/reward';

const soft = REWARD_PRESETS.soft;
const hard = REWARD_PRESETS.hard;
const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`);

test('soft preset: the paper derivation, +5% accuracy at 2x latency is about equal reward', () => {
  // b = -ln(1.05)/ln(2) = -0.0704; the paper rounds to -0.07.
  close(Math.log(1 / 1.05) / Math.log(2), -0.0704, 1e-4);
  close(2 ** soft.beta, 0.953, 1e-3);
  const base = reward({ ...soft, accuracy: 0.7, latencyMs: 50, targetMs: 75 });
  const better = reward({ ...soft, accuracy: 0.7 * 1.05, latencyMs: 100, targetMs: 75 });
  assert.ok(Math.abs(better.reward / base.reward - 1) < 0.005, `${better.reward} vs ${base.reward}`);
  // On both sides of T the soft weight is the same, so the trade-off holds across T.
  assert.equal(base.weight, -0.07);
  assert.equal(better.weight, -0.07);
});

test('soft preset: faster than target raises the reward, slower lowers it', () => {
  const at = reward({ ...soft, accuracy: 0.8, latencyMs: 75, targetMs: 75 });
  const fast = reward({ ...soft, accuracy: 0.8, latencyMs: 40, targetMs: 75 });
  const slow = reward({ ...soft, accuracy: 0.8, latencyMs: 110, targetMs: 75 });
  close(at.reward, 0.8);
  assert.ok(fast.reward > at.reward && slow.reward < at.reward);
});

test('hard preset: accuracy only at or under T, (LAT/T)^-1 over it', () => {
  for (const lat of [1, 30, 74.9, 75]) {
    const r = reward({ ...hard, accuracy: 0.75, latencyMs: lat, targetMs: 75 });
    close(r.reward, 0.75);
    assert.equal(r.weight, 0);
    assert.equal(r.parts.latencyFactor, 1);
  }
  const over = reward({ ...hard, accuracy: 0.75, latencyMs: 150, targetMs: 75 });
  close(over.reward, 0.375);
  assert.equal(over.weight, -1);
  assert.equal(over.parts.branch, 'beta');
});

test('LAT == T takes the alpha branch', () => {
  const r = reward({ alpha: -0.5, beta: -2, accuracy: 0.6, latencyMs: 20, targetMs: 20 });
  assert.equal(r.parts.branch, 'alpha');
  assert.equal(r.weight, -0.5);
  const above = reward({ alpha: -0.5, beta: -2, accuracy: 0.6, latencyMs: 20.000001, targetMs: 20 });
  assert.equal(above.parts.branch, 'beta');
  assert.equal(above.weight, -2);
  const below = reward({ alpha: -0.5, beta: -2, accuracy: 0.6, latencyMs: 10, targetMs: 20 });
  close(below.reward, 0.6 * 0.5 ** -0.5);
});

test('constraints: factor 1 at or under the cap, (value/max)^-1 over it, combined multiplicatively', () => {
  const base = { ...hard, accuracy: 0.8, latencyMs: 10, targetMs: 20 };
  const under = reward({ ...base, params: 3e6, multAdds: 300e6, constraints: { maxParams: 3e6, maxMultAdds: 400e6 } });
  close(under.reward, 0.8);
  assert.equal(under.parts.paramsFactor, 1);
  assert.equal(under.parts.multAddsFactor, 1);
  const overParams = reward({ ...base, params: 6e6, constraints: { maxParams: 3e6 } });
  close(overParams.parts.paramsFactor, 0.5);
  close(overParams.reward, 0.4);
  const both = reward({ ...base, params: 6e6, multAdds: 800e6, constraints: { maxParams: 3e6, maxMultAdds: 400e6 } });
  close(both.reward, 0.2);
  // Caps only apply when set; values without caps are ignored.
  close(reward({ ...base, params: 1e9 }).reward, 0.8);
});

test('errors: non-positive target or latency, bad accuracy, missing constrained value', () => {
  const ok = { ...soft, accuracy: 0.5, latencyMs: 10, targetMs: 20 };
  assert.throws(() => reward({ ...ok, targetMs: 0 }), /targetMs must be positive/);
  assert.throws(() => reward({ ...ok, targetMs: -5 }), /targetMs must be positive/);
  assert.throws(() => reward({ ...ok, latencyMs: 0 }), /latencyMs must be positive/);
  assert.throws(() => reward({ ...ok, latencyMs: Number.NaN }), /latencyMs must be a finite number/);
  assert.throws(() => reward({ ...ok, accuracy: -0.1 }), /accuracy must be non-negative/);
  assert.throws(() => reward({ ...ok, constraints: { maxParams: 1e6 } }), /params were not given/);
  assert.throws(() => reward({ ...ok, params: 5, constraints: { maxParams: 0 } }), /maxParams must be positive/);
  assert.throws(() => presetWeights('medium' as 'soft'), /unknown preset/);
  assert.deepEqual(presetWeights('hard'), { alpha: 0, beta: -1 });
});
