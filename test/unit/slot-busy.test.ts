// The queue-scale bench's steady-state share of the ideal (bench/lib/slotBusy.ts) on intervals whose
// answer is known: hand-made cases, and simulated slots whose busy share renewal theory predicts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allSlotsStarted, busyShare, type SlotInterval, steadyShare } from '../../bench/lib/slotBusy';
import { standInSeconds } from '../../server/src/train/standInTrainer';

const slots = (n: number) => Array.from({ length: n }, (_, i) => `w${i + 1}`);

/**
 * `n` slots run `children` stand-in children (mean `mean` s, the bench's distribution) from a
 * queue: each child goes to the slot free first, and starts `gap` s after that slot's previous
 * child ended (the turnaround); slot k starts its first child at k x `ramp` s. A child is submitted
 * when its slot frees. The long-run busy share of a slot is E[t] / (E[t] + gap).
 */
function simulate(n: number, children: number, mean: number, gap: number, ramp: number): { intervals: SlotInterval[]; lastSubmitted: number; meanT: number } {
  const free = slots(n).map((slot, k) => ({ slot, at: k * ramp - gap }));
  const intervals: SlotInterval[] = [];
  let lastSubmitted = 0;
  let sum = 0;
  for (let i = 0; i < children; i++) {
    free.sort((a, b) => a.at - b.at);
    const s = free[0];
    const t = standInSeconds(1000 + i, mean);
    sum += t;
    lastSubmitted = Math.max(s.at, 0);
    const start = s.at + gap;
    intervals.push({ slot: s.slot, start, end: start + t });
    s.at = start + t;
  }
  return { intervals, lastSubmitted, meanT: sum / children };
}

describe('slot busy share (queue-scale steady state)', () => {
  test('every slot busy over the whole window: 100%', () => {
    const ivs = slots(64).map((slot) => ({ slot, start: 0, end: 100 }));
    assert.equal(busyShare(ivs, 64, 10, 90), 1);
  });

  test('one slot of 64 idle for half the window: 100 - 50/64 %', () => {
    const ivs = slots(64).map((slot, i) => ({ slot, start: 0, end: i === 0 ? 50 : 100 }));
    assert.ok(Math.abs(100 * busyShare(ivs, 64, 0, 100) - (100 - 50 / 64)) < 1e-9);
  });

  test('intervals are clipped to the window, and a slot counted twice at once is busy once', () => {
    const ivs: SlotInterval[] = [
      { slot: 'a', start: -10, end: 5 }, { slot: 'a', start: 3, end: 8 }, { slot: 'a', start: 8, end: 9 },
      { slot: 'b', start: 12, end: 30 },
    ];
    // a: [0, 9] busy, b: none inside [0, 10].
    assert.equal(busyShare(ivs, 2, 0, 10), 9 / 20);
    // A slot with no child at all is idle, not left out.
    assert.equal(busyShare(ivs, 4, 0, 10), 9 / 40);
    assert.ok(Number.isNaN(busyShare(ivs, 2, 10, 10)));
  });

  test('the window starts when the last slot first had a child; NaN while a slot never had one', () => {
    const ivs: SlotInterval[] = [{ slot: 'a', start: 1, end: 4 }, { slot: 'b', start: 3, end: 5 }, { slot: 'a', start: 5, end: 9 }];
    assert.equal(allSlotsStarted(ivs, 2), 3);
    assert.ok(Number.isNaN(allSlotsStarted(ivs, 3)));
    assert.ok(Number.isNaN(steadyShare(ivs, 3, 9).share));
  });

  for (const [perSlot, gap, tolerance] of [[20, 0.4, 0.25], [20, 5, 0.75], [3, 0.4, 0.75]] as const) {
    test(`simulated 64 slots, 20 s children, ${perSlot} per slot, ${gap} s turnaround: the renewal prediction, never above 100%`, () => {
      const { intervals, lastSubmitted, meanT } = simulate(64, 64 * perSlot, 20, gap, 0.05);
      const { share, from, to } = steadyShare(intervals, 64, lastSubmitted);
      const predicted = meanT / (meanT + gap);
      assert.ok(to > from, `window ${from}-${to}`);
      assert.ok(share <= 1);
      assert.ok(Math.abs(100 * (share - predicted)) < tolerance, `steady share ${(100 * share).toFixed(2)}% against ${(100 * predicted).toFixed(2)}% predicted`);
    });
  }
});
