import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyze, diskHost, type SpaceEntry } from '../../server/src/analysis/analysis';
import { decisions, sample, spaceSize, type ResolvedSpace } from '../../server/src/language/space';
import { spaceStats } from '../../server/src/cost/spaceStats';
import { toArch } from '../../server/src/language/arch';
import { costOf } from '../../server/src/cost/model';
import { printModel } from '../../server/src/language/print';
import { analyzeText } from '../helpers/analyze';

function space(text: string, name?: string): ResolvedSpace {
  const a = analyzeText(text);
  assert.deepEqual(a.problems.filter((p) => p.severity === 'error'), []);
  const e = [...a.local.values()].find((x): x is SpaceEntry => x.kind === 'space' && (!name || x.node.name.value === name));
  return e!.resolution.space!;
}

const SMALL = `model M { input 16x16x3 stem conv k3 s2 f8
  block b1 { mbconv e6 k3 s1 f8 x1 }
  block b2 { mbconv e6 k3 s2 f16 x2 se 0.25 }
  head conv f32 classes 10 }
space S from M {
  block b1 { op [sepconv, mbconv] e [3, 6] k [3, 5] }
  block b2 { f * [0.75, 1.0, 1.25] x + [-1, 0, 1] skip [identity, pool, none] se [0, 0.25] }
}`;

/** Every action sequence of a space. */
function* all(sp: ResolvedSpace): Generator<number[]> {
  const ds = decisions(sp);
  const idx = ds.map(() => 0);
  while (true) {
    yield [...idx];
    let i = ds.length - 1;
    while (i >= 0 && ++idx[i] === ds[i].options) idx[i--] = 0;
    if (i < 0) return;
  }
}

test('the paper space: 7 blocks, exact size', () => {
  const abs = path.resolve('examples/mnas-space.mnas');
  const a = analyze(abs, fs.readFileSync(abs, 'utf8'), diskHost);
  const e = a.local.get('MnasSpace') as SpaceEntry;
  const sp = e.resolution.space!;
  assert.equal(sp.blocks.length, 7);
  // Per block: (conv + sepconv + mbconv x 2 expansions) x 2 kernels x 2 SE x 3 skips x 3 factors x 3 deltas = 432
  // (the paper's S = 432); b1 and b7 have 2 deltas (288).
  assert.equal(spaceSize(sp), 432n ** 5n * 288n ** 2n);
  assert.equal(decisions(sp).length, 49);
});

test('stats: exact min, max and mean against brute force', () => {
  const sp = space(SMALL);
  const stats = spaceStats(sp);
  let n = 0, pMin = Infinity, pMax = 0, mMin = Infinity, mMax = 0, pSum = 0, mSum = 0;
  const seen = new Set<string>();
  for (const actions of all(sp)) {
    const spec = sample(sp, actions);
    const c = costOf(toArch(spec));
    seen.add(JSON.stringify(spec.blocks.map((b) => (b.op === 'mbconv' ? b : { ...b, e: 1 }))));
    n++; pSum += c.params; mSum += c.multAdds;
    pMin = Math.min(pMin, c.params); pMax = Math.max(pMax, c.params);
    mMin = Math.min(mMin, c.multAdds); mMax = Math.max(mMax, c.multAdds);
  }
  // The size counts distinct models: e is only a choice under mbconv.
  assert.equal(BigInt(seen.size), stats.size);
  assert.equal(stats.params.min, pMin);
  assert.equal(stats.params.max, pMax);
  assert.equal(stats.multAdds.min, mMin);
  assert.equal(stats.multAdds.max, mMax);
  // Brute force over action sequences weights sepconv twice (its e is ignored); compare
  // the mean over distinct models instead.
  let dn = 0, dp = 0;
  const done = new Set<string>();
  for (const actions of all(sp)) {
    const spec = sample(sp, actions);
    const key = JSON.stringify(spec.blocks.map((b) => (b.op === 'mbconv' ? b : { ...b, e: 1 })));
    if (done.has(key)) continue;
    done.add(key);
    dn++; dp += costOf(toArch(spec)).params;
  }
  assert.ok(Math.abs(stats.params.mean - dp / dn) < 1e-6 * dp / dn);
  assert.ok(n > dn);
  assert.ok(mSum > 0 && pSum > 0);
});

test('sampling applies factors and deltas to the skeleton', () => {
  const sp = space(SMALL);
  const ds = decisions(sp);
  assert.deepEqual(ds.map((d) => d.key), ['b1.op', 'b1.e', 'b1.k', 'b2.se', 'b2.skip', 'b2.f', 'b2.x']);
  const m = sample(sp, [1, 0, 1, 0, 1, 2, 2], 'child');
  assert.deepEqual(m.blocks.map((b) => [b.op, b.e, b.k, b.f, b.x, b.se, b.skip]), [
    ['mbconv', 3, 5, 8, 1, 0, 'identity'],
    ['mbconv', 6, 3, 20, 3, 0, 'pool'],
  ]);
  assert.throws(() => sample(sp, [0, 0]), /7 decisions, got 2/);
  assert.throws(() => sample(sp, [0, 0, 0, 0, 0, 0, 3]), /out of range for b2.x/);
});

test('a printed child parses back to the same model', () => {
  const sp = space(SMALL);
  for (const actions of [[0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 2, 1, 1], [1, 0, 1, 0, 1, 2, 2]]) {
    const spec = sample(sp, actions, 'Child');
    const text = printModel(spec, 'sampled');
    const a = analyzeText(text);
    assert.deepEqual(a.problems, [], text);
    const m = a.local.get('Child');
    assert.ok(m?.kind === 'model');
    assert.deepEqual(m.arch, toArch(spec));
  }
});
