// `controller { overlap on }`: the engine keeps every worker busy (samples while others are
// evaluated, updates on each group of `batch` finished children) and its journal stays exact:
// a run stopped with children out, or killed between a checkpoint and its journal line, resumes
// to the same children, the same updates and the same controller as a run never interrupted.
//
// The evaluator is a discrete-event simulation in virtual time (bench/lib/virtualTime.ts, also
// the surrogate benchmark's 64 workers): each child takes a seeded time (a 5% straggler tail), and
// whenever the engine has nothing left to do (it waits for a result) the child that finishes first
// in virtual time finishes. So the order of results is a function of the children alone, and two
// runs can be compared line by line.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSearch, type SearchResult } from '../../server/src/search/engine';
import type { ChildEvaluation, ChildJob, Evaluator } from '../../server/src/search/evaluator';
import type { SearchEvent } from '../../server/src/search/events';
import type { Arch } from '../../server/src/language/arch';
import { costOf } from '../../server/src/cost/model';
import { standInAccuracy } from '../../server/src/train/standInTrainer';
import { readJournal } from '../../server/src/util/journal';
import type { LatencyMeasurement } from '../../server/src/util/timing';
import { VirtualTimeEvaluator } from '../../bench/lib/virtualTime';
import { staleness } from '../../bench/lib/searchQuality';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-overlap-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const cacheDir = path.join(tmp, 'cache');

function searchFile(name: string, o: { children: number; batch: number; overlap: boolean; strategy?: string }): string {
  const dir = fs.mkdtempSync(path.join(tmp, `${name}-`));
  const file = path.join(dir, 'overlap.mnas');
  fs.writeFileSync(file, `import "${path.resolve('examples', 'mnas-space.mnas').split(path.sep).join('/')}"
search Overlap {
  space MnasSpace
  target 75ms
  latency profile pixel1-published
  dataset mnist { train 100  test 50 }
  budget { children ${o.children}  epochs 1  batch 32 }
  controller { batch ${o.batch}  hidden 16  overlap ${o.overlap ? 'on' : 'off'} }
  ${o.strategy ? `strategy ${o.strategy}` : ''}
}
`);
  return file;
}

/** The stand-in's results (an accuracy from the architecture, latency from its mult-adds), given at once: the virtual pool decides when. */
const standIn: Evaluator = {
  backend: 'stand-in (test)',
  evaluate: (job: ChildJob): Promise<ChildEvaluation> => {
    const cost = costOf(job.full);
    return Promise.resolve({
      accuracy: standInAccuracy(job.proxy), attempts: 1, latency: latencyOf(job.full),
      train: { trainSeconds: 0, evalSeconds: 0, imagesPerSecond: 0, params: cost.params, weightsPath: '', loss: [], diverged: false, threads: 0 },
    });
  },
  measureLatency: (arch: Arch) => Promise.resolve(latencyOf(arch)),
  close: () => Promise.resolve(),
};
function latencyOf(arch: Arch): LatencyMeasurement {
  const ms = costOf(arch).multAdds / 4e6;
  return { ms, median: ms, min: ms, max: ms, spread: 0, repeats: 1, source: 'virtual' };
}
/** `slots` workers in virtual time (bench/lib/virtualTime.ts). */
const virtual = (slots: number) => new VirtualTimeEvaluator(standIn, slots);

type Line = Record<string, unknown> & { type: string };
/** The journal without wall-clock times. */
function journal(dir: string): Line[] {
  return readJournal<Line>(path.join(dir, 'journal.jsonl')).entries.map((e) => {
    const { time: _t, ...rest } = e;
    return rest as Line;
  });
}
const weights = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'controller.json'), 'utf8')) as { step: number; children?: number[]; controller: { weights: unknown; adamM: unknown; step: number } };

/** A search of `file` into its own folder (two runs started within a second would otherwise share a run folder name). */
async function search(file: string, ev: VirtualTimeEvaluator, extra: { resume?: string; stopWhen?: (e: SearchEvent) => boolean } = {}): Promise<SearchResult> {
  const stop = new AbortController();
  return runSearch({
    ...(extra.resume ? { resume: extra.resume } : { file, out: path.dirname(file) }), cacheDir, evaluator: ev, signal: stop.signal,
    onEvent: (e) => { if (extra.stopWhen?.(e)) stop.abort(); },
  });
}

describe('overlap on: every worker busy, the journal exact', () => {
  test('a setting of the search: on or off, a clear error otherwise', async () => {
    const bad = searchFile('bad', { children: 4, batch: 2, overlap: true }).replace(/overlap\.mnas$/, 'bad.mnas');
    fs.writeFileSync(bad, fs.readFileSync(bad.replace(/bad\.mnas$/, 'overlap.mnas'), 'utf8').replace('overlap on', 'overlap sometimes'));
    await assert.rejects(runSearch({ file: bad, out: path.dirname(bad), cacheDir, evaluator: virtual(2) }), /Expected `on` or `off`, got `sometimes`/);
  });

  test('the window stays full and the run takes the work divided by the slots; synchronous batches wait for their slowest child', { timeout: 300_000 }, async () => {
    const slots = 8;
    const on = virtual(slots);
    const rOn = await search(searchFile('on', { children: 48, batch: 8, overlap: true }), on);
    const off = virtual(slots);
    const rOff = await search(searchFile('off', { children: 48, batch: 8, overlap: false }), off);
    for (const r of [rOn, rOff]) {
      assert.equal(r.status, 'done');
      assert.equal(r.children.length, 48);
    }
    // Overlap: every result handed back while all 8 slots were busy, until the budget ran out.
    assert.deepEqual(on.busyAtResult.slice(0, 48 - slots + 1), Array(48 - slots + 1).fill(slots));
    const idleOn = 1 - on.busy / (slots * on.now);
    const idleOff = 1 - off.busy / (slots * off.now);
    assert.ok(idleOff > 0.3, `synchronous: workers idle ${(100 * idleOff).toFixed(0)}% waiting for stragglers`);
    assert.ok(idleOn < idleOff / 2, `overlap idle ${(100 * idleOn).toFixed(0)}% vs synchronous ${(100 * idleOff).toFixed(0)}%`);
    // Every finished child is in exactly one update; the updates name them, groups of 8 (the last may be smaller).
    const updates = journal(rOn.dir).filter((e) => e.type === 'update');
    const used = updates.flatMap((u) => u.children as number[]);
    assert.deepEqual([...used].sort((a, b) => a - b), rOn.children.map((c) => c.id));
    assert.ok(updates.every((u) => (u.children as number[]).length === 8));
    assert.equal(weights(rOn.dir).controller.step, updates.length);
    // Overlap's updates are decoupled PPO (ratio against the policy at the update; by default
    // weight 1): the journal says how stale each was; synchronous updates are plain PPO.
    const stats = updates.map((u) => u.stats as Record<string, number>);
    assert.ok(stats.every((x) => x.weightMean! > 0 && x.weightMean! <= 1 && x.staleLogRatio! >= 0), JSON.stringify(stats.map((x) => x.weightMean)));
    assert.ok(stats.some((x) => x.staleLogRatio! > 0.01), 'some update weighed children an older policy sampled');
    assert.ok(journal(rOff.dir).filter((e) => e.type === 'update').every((u) => !('weightMean' in (u.stats as object))));
    // Later updates learn from children an older policy sampled: the journal keeps each one's step (the policy + 1).
    const batches = journal(rOn.dir).filter((e) => e.type === 'batch');
    const stepOf = new Map(batches.flatMap((b) => (b.samples as { id: number }[]).map((x) => [x.id, b.step as number])));
    assert.ok(updates.some((u, i) => (u.children as number[]).some((id) => stepOf.get(id)! < i + 1)), 'some update used children sampled before the previous update');
    // staleness() (the benchmarks' measure) reads the same: 0 for every child of the synchronous run, 1 or more for some of overlap's.
    assert.deepEqual(staleness(rOff.dir), Array(48).fill(0));
    const stale = staleness(rOn.dir);
    assert.equal(stale.length, 48);
    assert.ok(Math.max(...stale) >= 1 && Math.min(...stale) >= 0, `overlap staleness ${Math.min(...stale)}-${Math.max(...stale)}`);
  });

  test('stopped with children out, then resumed: the same journal, children and controller as a run never stopped', { timeout: 300_000 }, async () => {
    const o = { children: 40, batch: 4, overlap: true };
    const whole = await search(searchFile('whole', o), virtual(6));
    const ev = virtual(6);
    let seen = 0;
    const first = await search(searchFile('stopped', o), ev, { stopWhen: (e) => e.event === 'child' && ++seen === 17 });
    assert.equal(first.status, 'stopped');
    const open = journal(first.dir).filter((e) => e.type === 'batch').flatMap((b) => (b.samples as { id: number }[]).map((x) => x.id)).filter((id) => !first.children.some((c) => c.id === id));
    assert.ok(open.length >= 5, `children were out at the stop (${open.length})`);
    const second = await search('', ev, { resume: first.dir });
    assert.equal(second.status, 'done');
    assert.deepEqual(journal(second.dir), journal(whole.dir));
    assert.deepEqual(weights(second.dir), weights(whole.dir));
    // ... including the proximal log-probs, recomputed from the checkpointed controller after the resume.
    assert.ok(journal(whole.dir).some((e) => e.type === 'update' && (e.stats as Record<string, number>).staleLogRatio! > 0.01));
  });

  test('killed between a checkpoint and its journal line: the update and the children it used come back from the checkpoint', { timeout: 300_000 }, async () => {
    const o = { children: 32, batch: 4, overlap: true };
    const whole = await search(searchFile('whole2', o), virtual(6));
    const ev = virtual(6);
    let updates = 0;
    const first = await search(searchFile('killed', o), ev, { stopWhen: (e) => e.event === 'update' && ++updates === 3 });
    assert.equal(first.status, 'stopped');
    // What a kill -9 right after the checkpoint write leaves: the journal without its last line (update 3).
    const file = path.join(first.dir, 'journal.jsonl');
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.equal(JSON.parse(lines[lines.length - 1]).type, 'update');
    fs.writeFileSync(file, lines.slice(0, -1).join('\n') + '\n');
    assert.equal(weights(first.dir).step, 3);
    assert.equal(weights(first.dir).children?.length, 4);
    const second = await search('', ev, { resume: first.dir });
    assert.equal(second.status, 'done');
    const a = journal(whole.dir);
    const b = journal(second.dir);
    assert.equal(b.length, a.length);
    b.forEach((line, i) => {
      if (line.type === 'update' && line.step === 3) {
        assert.deepEqual(line.stats, { recovered: 1 });
        assert.deepEqual(line.children, a[i].children);
      } else {
        assert.deepEqual(line, a[i], `journal line ${i + 1}`);
      }
    });
    assert.deepEqual(weights(second.dir), weights(whole.dir));
  });

  test('random search overlaps too (no controller), every child once', { timeout: 120_000 }, async () => {
    const ev = virtual(4);
    const r = await search(searchFile('random', { children: 12, batch: 2, overlap: true, strategy: 'random' }), ev);
    assert.equal(r.status, 'done');
    assert.deepEqual(r.children.map((c) => c.id), [...Array(12).keys()]);
    assert.deepEqual(ev.busyAtResult.slice(0, 9), Array(9).fill(4));
  });
});
