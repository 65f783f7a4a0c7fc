// The timing statistic and the adaptive repeat rule (server/src/latency/statistic.ts, timeLoop.ts).
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { quantile, splitHalfPct, statisticOf, stopState, summarizeSamples, trimmedMean } from '../../server/src/util/timing';
import { timeInvocations } from '../../server/src/latency/timeLoop';

describe('timing statistic', () => {
  it('quantile interpolates, trimmed mean drops 10% at each end', () => {
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantile([5], 0.9), 5);
    assert.ok(Number.isNaN(quantile([], 0.5)));
    assert.equal(trimmedMean([100, 1, 1, 1, 1, 1, 1, 1, 1, 0]), 1);
  });

  it('the minimum ignores added time; the median and trimmed mean do not', () => {
    const clean = [1.0, 1.01, 1.02, 1.0, 1.03, 1.01, 1.0, 1.02, 1.01, 1.0];
    const loaded = clean.map((v, i) => (i % 3 === 0 ? v : v * 2.1)); // a busy neighbour slows 2 runs in 3
    assert.equal(statisticOf(loaded, 'min'), statisticOf(clean, 'min'));
    assert.ok(statisticOf(loaded, 'median') > 1.5 * statisticOf(clean, 'median'));
    assert.ok(statisticOf(loaded, 'trimmed-mean') > 1.3 * statisticOf(clean, 'trimmed-mean'));
    const s = summarizeSamples(loaded);
    assert.equal(s.ms, s.min);
    assert.ok(s.spread > 0 && s.p90 >= s.p10);
  });

  it('split halves interleave rounds, so a slow stretch lands in both', () => {
    const rounds = [[1], [1.001], [5], [5], [5], [5], [1.002], [1]];
    assert.ok(splitHalfPct(rounds) < 0.2);
    // Only one half reached the floor: they disagree.
    assert.ok(splitHalfPct([[1], [2], [1], [2]]) >= 99);
    assert.equal(splitHalfPct([[1]]), Infinity);
  });

  it('stops when both halves agree (after the minimum), or at the cap', () => {
    const rule = { boundPct: 1, minRounds: 4, maxRounds: 6 };
    assert.equal(stopState([[1], [1], [1]], rule), 'more');
    assert.equal(stopState([[1], [1], [1], [1]], rule), 'stable');
    assert.equal(stopState([[1], [2], [1], [2]], rule), 'more');
    assert.equal(stopState([[1], [2], [1], [2], [1], [2]], rule), 'capped');
  });
});

/** About `us` microseconds of real work. */
function work(us: number): void {
  const t = process.hrtime.bigint() + BigInt(Math.round(us * 1000));
  let x = 0;
  while (process.hrtime.bigint() < t) x += Math.sqrt(x + 1);
  if (x < 0) throw new Error('unreachable');
}

/** A fixed amount of arithmetic: the same CPU time every call, whatever the load. */
function fixed(n: number): void {
  let x = 0;
  for (let i = 0; i < n; i++) x += Math.sqrt(x + i);
  if (x < 0) throw new Error('unreachable');
}

describe('adaptive timing loop (real clocks)', () => {
  it('times a steady workload on both clocks and stops once the halves agree', async () => {
    const t = await timeInvocations(() => fixed(100_000), { stop: { boundPct: 5, minRounds: 6, maxRounds: 400 }, maxSeconds: 5 });
    assert.equal(t.clock, 'cpu');
    assert.equal(t.statistic, 'min');
    assert.ok(t.stable, `split-half ${t.splitHalfPct}% after ${t.rounds} rounds`);
    assert.ok(t.rounds >= 6 && t.rounds < 400);
    assert.equal(t.repeats, t.rounds * t.perRound);
    // Single-threaded arithmetic: CPU time per inference is its undisturbed wall time, give or take.
    assert.ok(t.cpuMs > 0.7 * t.wallMs && t.cpuMs < 1.5 * t.wallMs, `cpu ${t.cpuMs} ms, wall ${t.wallMs} ms`);
    assert.ok(t.ms <= t.median);
    assert.equal(t.ms, t.cpuMs);
  });

  it('a workload that keeps changing never agrees: repeats stop at the cap and say so', async () => {
    let n = 0;
    // Alternate rounds differ by 40%: the two halves can never agree within 1%.
    const t = await timeInvocations(() => work(n++ % 2 === 0 ? 200 : 280), { roundMs: 0.001, stop: { boundPct: 1, minRounds: 4, maxRounds: 12 }, clock: 'wall' });
    assert.equal(t.perRound, 1);
    assert.equal(t.rounds, 12);
    assert.equal(t.stable, false);
    assert.ok(t.splitHalfPct > 10);
  });

  it('the seconds cap ends a slow measurement', async () => {
    const t = await timeInvocations(() => work(20_000), { warmup: 1, stop: { boundPct: 0.000001, minRounds: 2, maxRounds: 1000 }, maxSeconds: 0.3 });
    assert.ok(t.seconds < 1.5, `${t.seconds} s`);
    assert.ok(t.rounds < 40);
  });

  it('refuses a nonsensical rule', async () => {
    await assert.rejects(timeInvocations(() => undefined, { stop: { minRounds: 1 } }), /minRounds must be an integer >= 2/);
    await assert.rejects(timeInvocations(() => undefined, { stop: { boundPct: 0 } }), /bound must be > 0/);
  });
});

test('the minimum of more samples than a call can take as arguments (a microsecond unit timed for 10 s)', () => {
  const samples = Array.from({ length: 1_000_000 }, (_, i) => 1 + ((i * 7919) % 1000) / 1000);
  samples[654_321] = 0.25;
  assert.equal(statisticOf(samples, 'min'), 0.25);
  assert.equal(summarizeSamples(samples).ms, 0.25);
});
