// The stand-in trainer of scale measurements (mnas worker --stand-in-training): a seeded wait with
// a straggler tail and an accuracy that is a function of the architecture alone.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { analyze, diskHost } from '../../server/src/analysis/analysis';
import { toArch } from '../../server/src/language/arch';
import { decisions, sample } from '../../server/src/language/space';
import { costOf } from '../../server/src/cost/model';
import { STAND_IN, standInAccuracy, standInSeconds, StandInTrainer } from '../../server/src/train/standInTrainer';
import { TrainerPool } from '../../server/src/train/trainerPool';
import { Rng } from '../../server/src/util/rng';
import type { DataSpec, TrainRecipe } from '../../server/src/train/trainer';

function paperSpace() {
  const file = path.resolve('examples', 'mnas-space.mnas');
  const a = analyze(file, fs.readFileSync(file, 'utf8'), diskHost);
  const sp = a.scope.get('MnasSpace');
  assert.ok(sp?.kind === 'space' && sp.resolution.space);
  return sp.resolution.space;
}

describe('stand-in trainer', () => {
  test('the wait is a function of the seed: lognormal around the mean, about 5% stragglers at 3-5x', () => {
    assert.equal(standInSeconds(12345, 2), standInSeconds(12345, 2));
    assert.notEqual(standInSeconds(12345, 2), standInSeconds(12346, 2));
    const xs = Array.from({ length: 4000 }, (_, i) => standInSeconds(100_003 + i, 2));
    const stragglers = xs.filter((x) => x > 2 * 2.4).length / xs.length;
    assert.ok(stragglers > 0.03 && stragglers < 0.08, `straggler share ${stragglers}`);
    assert.ok(Math.max(...xs) <= 2 * Math.exp(4 * STAND_IN.sigma) * STAND_IN.stragglerMax);
    const body = xs.filter((x) => x <= 2 * 2.4);
    const mean = body.reduce((a, b) => a + b, 0) / body.length;
    assert.ok(Math.abs(mean - 2) < 0.1, `body mean ${mean}`);
    assert.ok(Math.min(...xs) > 0.5);
  });

  test('the accuracy is a function of the architecture: same arch same figure, bigger children score higher on average', () => {
    const space = paperSpace();
    const ds = decisions(space);
    const rng = new Rng(7);
    const archs = Array.from({ length: 200 }, (_, i) => toArch(sample(space, ds.map((d) => rng.int(d.options)), `c${i}`)));
    const accs = archs.map(standInAccuracy);
    assert.equal(standInAccuracy(archs[0]), accs[0]);
    assert.ok(new Set(accs).size > 150, 'architectures differ');
    for (const a of accs) assert.ok(a > 0 && a < 1);
    const byMadds = archs.map((a, i) => ({ m: costOf(a).multAdds, acc: accs[i] })).sort((x, y) => x.m - y.m);
    const lo = byMadds.slice(0, 50).reduce((s, x) => s + x.acc, 0) / 50;
    const hi = byMadds.slice(-50).reduce((s, x) => s + x.acc, 0) / 50;
    assert.ok(hi > lo + 0.005, `large children ${hi} vs small ${lo}`);
  });

  test('a pool of stand-in trainers runs as many children at once as it has slots, and reports no weights and 0 images/s', async () => {
    const pool = await TrainerPool.start({ size: 4, standInSeconds: 0.2 });
    try {
      assert.equal(pool.size, 4);
      assert.match(pool.backend, /^STAND-IN/);
      const space = paperSpace();
      const arch = toArch(sample(space, decisions(space).map(() => 0), 'x'));
      const req = (seed: number) => ({ arch, data: {} as DataSpec, recipe: {} as TrainRecipe, seed, outDir: '/nonexistent' });
      const t0 = performance.now();
      const rs = await Promise.all([1, 2, 3, 4].map((s) => pool.train(req(s))));
      const wall = (performance.now() - t0) / 1000;
      const longest = Math.max(...rs.map((r) => r.trainSeconds));
      assert.ok(wall < longest + 0.5 && wall >= longest - 0.01, `4 at once: wall ${wall} s, longest ${longest} s`);
      for (const [i, r] of rs.entries()) {
        assert.equal(r.trainSeconds, standInSeconds(i + 1, 0.2));
        assert.equal(r.accuracy, standInAccuracy(arch));
        assert.equal(r.weightsPath, '');
        assert.equal(r.imagesPerSecond, 0);
        assert.equal(r.params, costOf(arch).params);
      }
    } finally {
      await pool.close();
    }
    assert.throws(() => new StandInTrainer(0), /seconds > 0/);
  });
});
