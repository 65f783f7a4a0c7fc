// Worker-slot busy time from per-child intervals (the queue-scale bench's steady-state share of
// the ideal). Pure: intervals in, shares out. The window is fixed by events that do not depend on
// how busy the slots were (when the last slot got its first child, when the controller submitted
// its last child), so the share is not biased the way a rate between chosen results is (an
// estimate from result arrival times came out above 100% in short runs).

/** One child on one worker slot, from start to end (any time unit, the same for all). */
export interface SlotInterval { slot: string; start: number; end: number }

/**
 * When every one of `slots` slots had started a child: the latest first start over the slots
 * (NaN when fewer than `slots` slots ever started one).
 */
export function allSlotsStarted(intervals: readonly SlotInterval[], slots: number): number {
  const first = new Map<string, number>();
  for (const iv of intervals) first.set(iv.slot, Math.min(first.get(iv.slot) ?? Infinity, iv.start));
  return first.size < slots ? NaN : Math.max(...first.values());
}

/**
 * Busy share of `slots` slots over [from, to]: per slot, the union of its intervals clipped to the
 * window (a slot counted twice at once, e.g. a job retried while its first attempt still ran, is
 * busy once), summed over the slots, over slots x (to - from). NaN for an empty window.
 */
export function busyShare(intervals: readonly SlotInterval[], slots: number, from: number, to: number): number {
  if (!(to > from) || !(slots > 0)) return NaN;
  const bySlot = new Map<string, [number, number][]>();
  for (const iv of intervals) {
    const s = Math.max(iv.start, from);
    const e = Math.min(iv.end, to);
    if (e <= s) continue;
    const list = bySlot.get(iv.slot) ?? [];
    list.push([s, e]);
    bySlot.set(iv.slot, list);
  }
  let busy = 0;
  for (const list of bySlot.values()) {
    list.sort((a, b) => a[0] - b[0]);
    let [s, e] = list[0];
    for (const [s2, e2] of list.slice(1)) {
      if (s2 > e) { busy += e - s; [s, e] = [s2, e2]; } else e = Math.max(e, e2);
    }
    busy += e - s;
  }
  return busy / (slots * (to - from));
}

/**
 * The steady-state window of a run and its busy share: from the moment all slots had a child to
 * the moment the controller submitted its last child (after that nothing new enters the queue: it
 * only empties, and the slots left without work are the drain), neither chosen by how busy the
 * slots were.
 */
export function steadyShare(intervals: readonly SlotInterval[], slots: number, lastSubmitted: number): { from: number; to: number; share: number } {
  const from = allSlotsStarted(intervals, slots);
  return { from, to: lastSubmitted, share: busyShare(intervals, slots, from, lastSubmitted) };
}
