// An exported model's output is judged relative to the output's scale: a correct export of a
// model with large outputs passes, a wrong one fails at any scale.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareOutputs, EXPORT_TOLERANCE } from '../../server/src/device/tflite/compare';

const logits = (scale: number) => Float32Array.from({ length: 1000 }, (_, i) => scale * Math.sin(i * 0.37));

test('large outputs: float32 rounding (relative 1e-6) passes although it is far above 1e-3 absolute', () => {
  const want = logits(1e6);
  const got = want.map((v, i) => v * (1 + (i % 2 ? 1e-6 : -1e-6)));
  const c = compareOutputs(got, want);
  assert.ok(c.maxAbsDiff > 0.5, `absolute difference ${c.maxAbsDiff}`);
  assert.ok(c.scale > 9e5 && c.relativeDiff < 2e-6 && c.ok, JSON.stringify(c));
});

test('a wrong export fails at every scale (one output off by 1% of the scale, a swapped pair, a NaN, a wrong length)', () => {
  for (const scale of [1e-2, 1, 1e3, 1e6]) {
    const want = logits(scale);
    const off = Float32Array.from(want);
    off[17] += 0.01 * Math.max(1, scale);
    assert.equal(compareOutputs(off, want).ok, false, `scale ${scale}: 1% off`);
    const swapped = Float32Array.from(want);
    [swapped[3], swapped[4]] = [swapped[4], swapped[3]];
    if (scale >= 1) assert.equal(compareOutputs(swapped, want).ok, false, `scale ${scale}: swapped`);
    const nan = Float32Array.from(want);
    nan[5] = NaN;
    assert.equal(compareOutputs(nan, want).ok, false, `scale ${scale}: NaN`);
    assert.equal(compareOutputs(want.subarray(1), want).ok, false, `scale ${scale}: length`);
  }
});

test('small outputs keep the absolute tolerance (the scale is at least 1)', () => {
  const want = logits(1e-3);
  const c = compareOutputs(want.map((v) => v + 0.9 * EXPORT_TOLERANCE), want);
  assert.equal(c.scale, 1);
  assert.ok(c.ok);
  assert.equal(compareOutputs(want.map((v) => v + 1.1 * EXPORT_TOLERANCE), want).ok, false);
});
