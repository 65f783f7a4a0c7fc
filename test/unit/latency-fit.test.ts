import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fitLinear, fitWholeModel, solve, WHOLE_MODEL_MIN_ROWS } from '../../server/src/cost/latency/fit';
import { trimmedMean } from '../../server/src/util/timing';
import { accuracyOf, fitFallback } from '../../server/src/latency/calibration';
import { FEATURES, type Unit } from '../../server/src/cost/latency/keys';
import { Rng } from '../../server/src/util/rng';

describe('least squares for the fallback', () => {
  test('solve() and a singular system', () => {
    assert.deepEqual(solve([[2, 0], [0, 4]], [2, 8]), [1, 2]);
    assert.equal(solve([[1, 2], [2, 4]], [1, 2]), null);
  });

  test('recovers known coefficients from noiseless synthetic layers', () => {
    const rng = new Rng(11);
    const truth = [0.05, 0.2, 0.6, 0, 0.03, 0.01];
    const X = Array.from({ length: 60 }, () => [1, 5 * rng.next(), rng.next(), rng.next(), 10 * rng.next(), 2 + rng.int(4)]);
    const y = X.map((r) => r.reduce((a, v, i) => a + v * truth[i], 0));
    const fit = fitLinear(X, y, { ridge: 1e-9 });
    fit.coef.forEach((c, i) => assert.ok(Math.abs(c - truth[i]) < 1e-4, `coef ${i}: ${c} vs ${truth[i]}`));
    assert.ok(fit.rmsePct < 1e-3);
  });

  test('keeps coefficients non-negative, and can use a subset of columns', () => {
    const X = [[1, 1], [1, 2], [1, 3], [1, 4]];
    const y = [4, 3, 2, 1]; // a negative slope would fit: refused
    const fit = fitLinear(X, y);
    assert.ok(fit.coef.every((c) => c >= 0));
    assert.equal(fitLinear(X, [2, 4, 6, 8], { use: [false, true] }).coef[0], 0);
  });

  test('fitFallback: one fit per op kind, noisy synthetic data within a few percent', () => {
    const rng = new Rng(5);
    const units: Unit[] = [];
    const table: Record<string, { ms: number; n: number; spread: number }> = {};
    const rate: Record<string, number> = { conv: 0.3, sepconv: 0.5, mbconv: 0.4 };
    for (const kind of ['conv', 'sepconv', 'mbconv'] as const) {
      for (let i = 0; i < 40; i++) {
        const x = [1, 10 * rng.next(), rng.next(), rng.next(), 5 * rng.next(), 3];
        const key = `${kind}-${i}`;
        units.push({ kind, key, x });
        const ms = 0.02 + rate[kind] * x[1] + 0.8 * x[2] + 0.05 * x[4];
        table[key] = { ms: ms * (1 + 0.02 * (rng.next() - 0.5)), n: 10, spread: 0 };
      }
    }
    const fb = fitFallback(units, table);
    assert.deepEqual(fb.features, [...FEATURES]);
    for (const kind of ['conv', 'sepconv', 'mbconv'] as const) {
      assert.equal(fb.kinds[kind]!.n, 40);
      assert.ok(fb.kinds[kind]!.rmsePct < 3, `${kind}: ${fb.kinds[kind]!.rmsePct}%`);
      assert.ok(Math.abs(fb.kinds[kind]!.coef[1] - rate[kind]) / rate[kind] < 0.05);
    }
    assert.equal(fb.kinds.stem, undefined);
    assert.equal(fb.default.n, 120);
  });

  test('fitWholeModel recovers the offset and the weights of the two sums, and with few children fits one scale', () => {
    const rng = new Rng(9);
    // Children whose table sum carries per-unit noise the fallback sum does not.
    const rows = Array.from({ length: 60 }, () => {
      const fallback = 10 + 60 * rng.next();
      const units = fallback * (0.8 + 0.4 * rng.next());
      return { units, fallback, measured: 1.5 + 0.3 * units + 0.6 * fallback };
    });
    const f = fitWholeModel(rows);
    assert.ok(Math.abs(f.ms - 1.5) < 1e-2 && Math.abs(f.scale - 0.3) < 1e-3 && Math.abs(f.fitScale - 0.6) < 1e-3, JSON.stringify(f));
    // Below WHOLE_MODEL_MIN_ROWS children: offset and one scale, no fallback weight.
    const few = rows.slice(0, WHOLE_MODEL_MIN_ROWS - 1).map((r) => ({ ...r, measured: 2 + 0.9 * r.units }));
    const g = fitWholeModel(few);
    assert.equal(g.fitScale, 0);
    assert.ok(Math.abs(g.ms - 2) < 1e-2 && Math.abs(g.scale - 0.9) < 1e-3, JSON.stringify(g));
    assert.deepEqual(fitWholeModel([{ units: 10, fallback: 9, measured: 12 }]), { ms: 2, scale: 1, fitScale: 0 });
    // Both sums useless (the children do not grow with them): the plain sum is kept, not a zero model.
    const flat = fitWholeModel(rows.map((r) => ({ ...r, measured: 5 })));
    assert.equal(flat.scale, 1);
    assert.equal(flat.fitScale, 0);
    const acc = accuracyOf([1, -4, 7, 12].map((e, i) => ({ name: `m${i}`, measuredMs: 1, predictedMs: 1, errorPct: e })));
    assert.equal(acc.within5, 0.5);
    assert.equal(acc.within10, 0.75);
    assert.equal(acc.maxErrorPct, 12);
    assert.equal(trimmedMean([100, 1, 2, 3, 4, 5, 6, 7, 8, -50]), 4.5);
  });
});
