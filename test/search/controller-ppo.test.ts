import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as TfTypes from '@tensorflow/tfjs';
import { loadTf } from '../../server/src/platform/tfjs';
import { Controller } from '../../server/src/search/controller/controller';
import type { Decision } from '../../server/src/search/controller/hyper';
import { gatherRows, lstmSequence, packHeads } from '../../server/src/search/controller/lstm';
import { decoupledSurrogate, ppoLoss, ppoSurrogate, ppoSurrogateTensor, staleWeight } from '../../server/src/search/controller/ppo';
import { Rng } from '../../server/src/util/rng';
import { decisions, sample, type ResolvedSpace } from '../../server/src/language/space';
import type { SpaceEntry } from '../../server/src/analysis/analysis';
import { analyzeText } from '../helpers/analyze';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('shapes: per-decision probabilities have `options` entries and sum to 1; sample(n) is n valid action vectors', async () => {
  const { tf } = await loadTf();
  const space: Decision[] = [2, 5, 1, 3, 4].map((options, i) => ({ key: `d${i}`, options }));
  const ctl = new Controller(tf, space, { seed: 4, hidden: 16, embedding: 12, initRange: 0.5 });
  try {
    const samples = ctl.sample(13, new Rng(3));
    assert.equal(samples.length, 13);
    for (const s of samples) {
      assert.equal(s.actions.length, space.length);
      s.actions.forEach((a, i) => assert.ok(Number.isInteger(a) && a >= 0 && a < space[i]!.options));
      assert.ok(Number.isFinite(s.logProb) && s.logProb <= 0);
      const probs = ctl.optionProbs(s.actions);
      assert.equal(probs.length, space.length);
      probs.forEach((p, i) => {
        assert.equal(p.length, space[i]!.options);
        assert.ok(p.every((x) => x > 0 && x <= 1));
        close(p.reduce((a, b) => a + b, 0), 1, 1e-5);
      });
      close(probs[2]![0]!, 1, 0); // a one-option decision is certain
    }
    assert.equal(ctl.logProbs(samples.map((s) => s.actions)).length, 13);
  } finally {
    ctl.dispose();
  }
});

// Blocks fix fields in three ways: not listed (skeleton value), a one-value list, or `block *`
// overridden per block.
const SPACE_TEXT = `model M { input 32x32x3 stem conv k3 s2 f16
  block b1 { mbconv e6 k3 s1 f16 x1 }
  block b2 { mbconv e6 k3 s2 f24 x2 se 0.25 }
  block b3 { mbconv e3 k5 s2 f40 x2 }
  head conv f64 classes 10 }
space S from M {
  block * { k [3, 5] f * [0.75, 1.0, 1.25] }
  block b1 { e [3, 6] }
  block b2 { k [5] skip [identity, none] x + [-1, 0, 1] }
  block b3 { op [conv, mbconv] se [0, 0.25] f * [1.0] }
}`;

test('masking: the controller decides exactly the open fields; fixed fields keep their values', async () => {
  const a = analyzeText(SPACE_TEXT);
  assert.deepEqual(a.problems.filter((p) => p.severity === 'error'), []);
  const sp: ResolvedSpace = ([...a.local.values()].find((e): e is SpaceEntry => e.kind === 'space')!).resolution.space!;
  const ds = decisions(sp);
  assert.deepEqual(ds.map((d) => d.key), ['b1.e', 'b1.k', 'b1.f', 'b2.skip', 'b2.f', 'b2.x', 'b3.op', 'b3.k', 'b3.se']);
  const { tf } = await loadTf();
  const ctl = new Controller(tf, ds, { seed: 8, hidden: 16, embedding: 16, initRange: 1 });
  try {
    assert.deepEqual(ctl.decisions, ds.map((d) => ({ key: d.key, options: d.options })));
    const skel = sp.skeleton.blocks;
    const seen = new Set<string>();
    for (const s of ctl.sample(64, new Rng(12))) {
      const m = sample(sp, s.actions);
      const [b1, b2, b3] = m.blocks as [typeof skel[0], typeof skel[0], typeof skel[0]];
      // Fixed by omission: the skeleton's values.
      for (const [b, base] of [[b1, skel[0]!], [b2, skel[1]!], [b3, skel[2]!]] as const) {
        assert.equal(b.s, base.s);
        assert.equal(b.act, base.act);
      }
      assert.equal(b1.op, 'mbconv'); assert.equal(b1.se, skel[0]!.se); assert.equal(b1.skip, skel[0]!.skip); assert.equal(b1.x, skel[0]!.x);
      assert.equal(b2.op, 'mbconv'); assert.equal(b2.e, skel[1]!.e); assert.equal(b2.se, skel[1]!.se);
      assert.equal(b3.skip, skel[2]!.skip); assert.equal(b3.x, skel[2]!.x);
      if (b3.op === 'mbconv') assert.equal(b3.e, skel[2]!.e);
      // Fixed by a one-value list: that value.
      assert.equal(b2.k, 5);
      assert.equal(b3.f, skel[2]!.f);
      // Open fields take their sampled option.
      assert.equal(b1.e, [3, 6][s.actions[0]!]);
      assert.equal(b2.x, skel[1]!.x + [-1, 0, 1][s.actions[5]!]!);
      seen.add(`${b1.e},${b1.k},${b2.skip},${b3.op},${b3.se}`);
    }
    assert.ok(seen.size > 8, 'samples vary over the open fields');
  } finally {
    ctl.dispose();
  }
});

test('ppo: the clipped objective by hand', async () => {
  const eps = 0.2;
  const lr = (r: number) => Math.log(r); // new log-prob for ratio r when the old one is 0
  // Inside [1-eps, 1+eps]: plain r * A.
  close(ppoSurrogate(lr(1.1), 0, 2, eps), 2.2);
  close(ppoSurrogate(lr(0.9), 0, -1, eps), -0.9);
  // Above 1+eps with A > 0: clipped to (1+eps) A = 1.2 * 3.
  close(ppoSurrogate(lr(1.5), 0, 3, eps), 3.6);
  // Below 1-eps with A < 0: clipped to (1-eps) A = 0.8 * -2.
  close(ppoSurrogate(lr(0.5), 0, -2, eps), -1.6);
  // min() keeps the unclipped term when it is the smaller (pessimistic) one:
  close(ppoSurrogate(lr(1.5), 0, -1, eps), -1.5); // r A = -1.5 < clip(r) A = -1.2
  close(ppoSurrogate(lr(0.5), 0, 2, eps), 1.0); // r A = 1.0 < clip(r) A = 1.6
  // The ratio is exp(new - old), and the loss is the negated objective.
  close(ppoSurrogate(-2 + Math.log(1.1), -2, 1, eps), 1.1, 1e-12);
  close(ppoLoss(lr(1.5), 0, 3, eps), -3.6);

  // The tensor form used by the controller agrees, and its gradient wrt the new log-prob is
  // r A inside the range and 0 where the clipped term wins.
  const { tf } = await loadTf();
  const cases: [number, number][] = [[1.1, 2], [0.9, -1], [1.5, 3], [0.5, -2], [1.5, -1], [0.5, 2]];
  const logp = tf.tensor1d(cases.map(([r]) => lr(r)));
  const old = tf.zeros([cases.length]) as TfTypes.Tensor1D;
  const adv = tf.tensor1d(cases.map(([, A]) => A));
  const surrogate = tf.tidy(() => Array.from(ppoSurrogateTensor(tf, logp, old, adv, eps).surrogate.dataSync()));
  const grad = tf.tidy(() => Array.from(tf.grad((x: TfTypes.Tensor) => tf.sum(ppoSurrogateTensor(tf, x as TfTypes.Tensor1D, old, adv, eps).surrogate))(logp).dataSync()));
  tf.dispose([logp, old, adv]);
  cases.forEach(([r, A], i) => {
    close(surrogate[i]!, ppoSurrogate(lr(r), 0, A, eps), 1e-6);
    const clippedWins = (A > 0 && r > 1 + eps) || (A < 0 && r < 1 - eps);
    close(grad[i]!, clippedWins ? 0 : r * A, 1e-5);
  });
});

test('decoupled ppo: the weighted objective by hand (ratio against the proximal policy, truncated importance weight)', () => {
  const eps = 0.2;
  const truncated = { kind: 'truncated', cap: 1 } as const;
  // Proximal log-prob 0; behaviour log(2): the policy moved away from the sample, pi_prox/pi_b = 0.5.
  close(staleWeight(0, Math.log(2), truncated), 0.5, 1e-12);
  close(decoupledSurrogate(Math.log(1.1), 0, Math.log(2), 2, eps, truncated), 0.5 * 2.2, 1e-12);
  // Moved toward it (pi_prox/pi_b = 4): truncated at the cap 1, so the sample counts as on-policy ...
  close(decoupledSurrogate(Math.log(1.1), 0, Math.log(0.25), 2, eps, truncated), 2.2, 1e-12);
  // ... and a cap of 3 keeps 3 of the 4.
  close(decoupledSurrogate(Math.log(1.1), 0, Math.log(0.25), 2, eps, { kind: 'truncated', cap: 3 }), 3 * 2.2, 1e-12);
  // The clip applies to the ratio new/prox, not new/behaviour: 1.5 clips to 1.2 with A > 0.
  close(decoupledSurrogate(Math.log(1.5), 0, Math.log(2), 3, eps, truncated), 0.5 * 3.6, 1e-12);
  // Plain PPO against the behaviour log-prob would see ratio 1.1 / 0.5 = 2.2 here and clip it: 1.2 * 2.
  close(ppoSurrogate(Math.log(1.1), Math.log(0.5), 2, eps), 2.4, 1e-12);
  // w = 1: stale samples treated as on-policy, whatever the behaviour log-prob.
  close(decoupledSurrogate(Math.log(0.9), 0, Math.log(2), -1, eps, { kind: 'one' }), -0.9, 1e-12);
  close(decoupledSurrogate(Math.log(0.5), -1, -7, -2, eps, { kind: 'one' }), ppoSurrogate(Math.log(0.5), -1, -2, eps), 1e-12);
});

test('decoupled ppo: stale children plain PPO learns nothing from are learnt from, each weighted by min(cap, pi_prox / pi_behaviour)', async () => {
  const { tf } = await loadTf();
  const space: Decision[] = [3, 2, 4, 3, 2, 3].map((options, i) => ({ key: `d${i}`, options }));
  const good = [0, 1, 2, 0, 1, 2];
  const bad = [2, 0, 1, 2, 0, 0];
  const run = (weighting?: Parameters<Controller['update']>[1]) => {
    const ctl = new Controller(tf, space, { seed: 5, hidden: 16, embedding: 16, ppoEpochs: 1, entropyWeight: 0, learningRate: 0.01 });
    try {
      const [g0, b0] = ctl.logProbs([good, bad]) as [number, number];
      // Sampled by earlier policies: the good child was e^3 less likely then (the policy moved
      // toward it), the bad one 4 times more likely (moved away). Advantages +0.5 and -0.5.
      const st = ctl.update([{ actions: good, logProbOld: g0 - 3, reward: 1 }, { actions: bad, logProbOld: b0 + Math.log(4), reward: 0 }], weighting);
      const [g1, b1] = ctl.logProbs([good, bad]) as [number, number];
      return { st, dg: g1 - g0, db: b1 - b0 };
    } finally {
      ctl.dispose();
    }
  };
  // Plain PPO: ratios e^3 (A > 0) and 1/4 (A < 0) are both past the clip in the advantage's
  // direction: zero gradient, the policy does not move at all.
  const plain = run();
  assert.equal(plain.st.clipFraction, 1);
  assert.equal(plain.dg, 0);
  assert.equal(plain.db, 0);
  // Decoupled, cap 1: ratios against the proximal policy start at 1 (nothing clipped); weights
  // min(1, e^3) = 1 and min(1, 1/4) = 0.25, so the first epoch's loss is
  // -mean(w * A) = -(1 * 0.5 + 0.25 * -0.5) / 2 = -0.1875; both children move.
  const dec = run({ kind: 'truncated', cap: 1 });
  assert.equal(dec.st.clipFraction, 0);
  close(dec.st.loss, -0.1875, 1e-6);
  close(dec.st.weightMean!, 0.625, 1e-6);
  close(dec.st.staleLogRatio!, (3 + Math.log(4)) / 2, 1e-5);
  assert.ok(dec.dg > 0 && dec.db < 0, `decoupled: good ${dec.dg}, bad ${dec.db}`);
  // w = 1: loss -mean(A) = 0, both move too.
  const one = run({ kind: 'one' });
  close(one.st.loss, 0, 1e-6);
  close(one.st.weightMean!, 1, 0);
  assert.ok(one.dg > 0 && one.db < 0, `w = 1: good ${one.dg}, bad ${one.db}`);
  // The default (no weighting) is plain PPO, exactly.
  const explicit = run({ kind: 'behaviour' });
  assert.deepEqual([explicit.st, explicit.dg, explicit.db], [plain.st, plain.dg, plain.db]);
});

test('ppo: one update raises the log-prob of a positive-advantage architecture and lowers a negative one', async () => {
  const { tf } = await loadTf();
  const space: Decision[] = [3, 2, 4, 3, 2, 3].map((options, i) => ({ key: `d${i}`, options }));
  const ctl = new Controller(tf, space, { seed: 5, hidden: 16, embedding: 16, ppoEpochs: 1, entropyWeight: 0, learningRate: 0.01 });
  try {
    const good = [0, 1, 2, 0, 1, 2];
    const bad = [2, 0, 1, 2, 0, 0];
    const [g0, b0] = ctl.logProbs([good, bad]) as [number, number];
    // The first batch's baseline is its mean reward: advantages +0.5 and -0.5.
    const st = ctl.update([{ actions: good, logProbOld: g0, reward: 1 }, { actions: bad, logProbOld: b0, reward: 0 }]);
    assert.equal(st.baselineUsed, 0.5);
    const [g1, b1] = ctl.logProbs([good, bad]) as [number, number];
    assert.ok(g1 > g0, `positive advantage: ${g0} -> ${g1}`);
    assert.ok(b1 < b0, `negative advantage: ${b0} -> ${b1}`);
  } finally {
    ctl.dispose();
  }
});

test('fused kernels: gradients equal plain tf autodiff (gather, LSTM recurrence, head packing)', async () => {
  const { tf } = await loadTf();
  const r = new Rng(77);
  const rand = (shape: number[], scale = 1) => tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r.next() * 2 - 1) * scale), shape);
  const D = 4, n = 3, H = 5, R = 6;
  const start = tf.memory().numTensors;
  tf.tidy(() => {
    const table = rand([R, 4 * H]) as TfTypes.Tensor2D;
    const bias = rand([4 * H]) as TfTypes.Tensor1D;
    const wh = rand([H, 4 * H]) as TfTypes.Tensor2D;
    const w = rand([D, n, H]);
    const rows = Int32Array.from({ length: D * n }, () => r.int(R));
    const fused = (tb: TfTypes.Tensor, b: TfTypes.Tensor, u: TfTypes.Tensor) =>
      tf.sum(tf.mul(lstmSequence(tf, gatherRows(tf, tb as TfTypes.Tensor2D, b as TfTypes.Tensor1D, rows), u as TfTypes.Tensor2D, D, n), w));
    const plain = (tb: TfTypes.Tensor, b: TfTypes.Tensor, u: TfTypes.Tensor) => {
      const xs = tf.add(tf.gather(tb, tf.tensor1d(rows, 'int32')), b);
      let h = tf.zeros([n, H]) as TfTypes.Tensor2D;
      let c = tf.zeros([n, H]) as TfTypes.Tensor2D;
      const hs: TfTypes.Tensor2D[] = [];
      for (let d = 0; d < D; d++) {
        const z = tf.add(tf.slice(xs, [d * n, 0], [n, 4 * H]), tf.matMul(h, u as TfTypes.Tensor2D));
        const [i, f, g, o] = tf.split(z, 4, 1);
        c = tf.add(tf.mul(tf.sigmoid(f!), c), tf.mul(tf.sigmoid(i!), tf.tanh(g!))) as TfTypes.Tensor2D;
        h = tf.mul(tf.sigmoid(o!), tf.tanh(c)) as TfTypes.Tensor2D;
        hs.push(h);
      }
      return tf.sum(tf.mul(tf.stack(hs), w));
    };
    close(fused(table, bias, wh).dataSync()[0]!, plain(table, bias, wh).dataSync()[0]!, 1e-5);
    const gf = tf.grads(fused)([table, bias, wh]);
    const gp = tf.grads(plain)([table, bias, wh]);
    gf.forEach((g, k) => {
      const a = g.dataSync(), b = gp[k]!.dataSync();
      assert.deepEqual(g.shape, gp[k]!.shape);
      a.forEach((v, i) => close(v, b[i]!, 1e-5));
    });
    // packHeads: [H, k_d] pieces into zero-padded [D, H, kMax] (and tiled biases).
    const ks = [2, 3, 1];
    const parts = ks.map((k) => rand([2, k]) as TfTypes.Tensor2D);
    const weight = rand([3, 4, 3]);
    const packed = (...ps: TfTypes.Tensor[]) => tf.sum(tf.mul(packHeads(tf, ps as TfTypes.Tensor2D[], 3, 2), weight));
    const reference = (...ps: TfTypes.Tensor[]) => tf.sum(tf.mul(tf.stack(ps.map((p, d) => {
      const padded = tf.pad(p as TfTypes.Tensor2D, [[0, 0], [0, 3 - ks[d]!]]);
      return tf.reshape(tf.tile(tf.reshape(padded, [2, 1, 3]), [1, 2, 1]), [4, 3]);
    })), weight));
    close(packed(...parts).dataSync()[0]!, reference(...parts).dataSync()[0]!, 1e-5);
    const ga = tf.grads(packed)(parts), gb = tf.grads(reference)(parts);
    ga.forEach((g, k) => g.dataSync().forEach((v, i) => close(v, gb[k]!.dataSync()[i]!, 1e-5)));
  });
  assert.equal(tf.memory().numTensors, start);
});

test('learning vs random: with 320 samples PPO concentrates on the known optimum, uniform sampling does not', async () => {
  const { tf } = await loadTf();
  // 12 decisions, 2-4 options (1.9e5 architectures). Each decision scores 1 at its target option
  // and 0-0.5 elsewhere; the reward is the mean score, so the unique optimum is all-target.
  const OPTS = [3, 2, 3, 4, 2, 3, 3, 2, 4, 3, 2, 3];
  const space: Decision[] = OPTS.map((options, i) => ({ key: `d${i}`, options }));
  const pick = new Rng(101);
  const target = OPTS.map((k) => pick.int(k));
  const scores = OPTS.map((k, i) => Array.from({ length: k }, (_, j) => (j === target[i] ? 1 : 0.5 * pick.next())));
  const reward = (a: number[]) => a.reduce((s, v, i) => s + scores[i]![v]!, 0) / a.length;
  const dist = (a: number[]) => a.filter((v, i) => v !== target[i]).length;
  const near = (xs: number[][]) => xs.filter((a) => dist(a) <= 2).length / xs.length;
  const UPDATES = 40, BATCH = 8;
  // A 32-unit LSTM for speed, and lr 0.001: the default 0.00035 is tuned for ~1000 batches; a
  // 40-batch budget needs a faster step (measured at 0.00035: P(optimum) 2e-3, 400x uniform).
  const ctl = new Controller(tf, space, { seed: 1, hidden: 32, embedding: 32, learningRate: 0.001 });
  try {
    const rng = new Rng(7);
    const lastQuarter: number[][] = [];
    for (let u = 0; u < UPDATES; u++) {
      const s = ctl.sample(BATCH, rng);
      if (u >= (UPDATES * 3) / 4) lastQuarter.push(...s.map((x) => x.actions));
      ctl.update(s.map((x) => ({ actions: x.actions, logProbOld: x.logProb, reward: reward(x.actions) })));
    }
    const rr = new Rng(7);
    const random = Array.from({ length: UPDATES * BATCH }, () => OPTS.map((k) => rr.int(k))).slice((UPDATES * BATCH * 3) / 4);
    const pOpt = Math.exp(ctl.logProbs([target])[0]!);
    const pUniform = 1 / OPTS.reduce((a, b) => a * b, 1);
    // Measured (seed 1): 90% of PPO's last-quarter samples within 2 decisions of the optimum,
    // 0% of the random ones; P(optimum) 0.35 vs uniform 5.4e-6.
    assert.ok(near(lastQuarter) >= 0.5, `PPO: ${near(lastQuarter)} of the last quarter within 2 of the optimum`);
    assert.ok(near(random) <= 0.05, `random: ${near(random)}`);
    assert.ok(pOpt > 1000 * pUniform, `P(optimum) ${pOpt} vs uniform ${pUniform}`);
    const meanDist = (xs: number[][]) => xs.reduce((s, a) => s + dist(a), 0) / xs.length;
    assert.ok(meanDist(lastQuarter) + 4 < meanDist(random), `mean distance ${meanDist(lastQuarter)} vs random ${meanDist(random)}`);
  } finally {
    ctl.dispose();
  }
});
