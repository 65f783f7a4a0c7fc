// Relative targets end to end: `target 0.9x T` measures T's reference model once on the run's
// own latency source (real TFLite timing here), keeps it in run.json, and a resumed run reuses it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Arch } from '../../server/src/language/arch';
import { runSearch } from '../../server/src/search/engine';
import type { SearchEvent } from '../../server/src/search/events';
import { type ChildEvaluation, type ChildJob, type Evaluator, LocalEvaluator } from '../../server/src/search/evaluator';
import type { LatencyMeasurement } from '../../server/src/util/timing';
import { readJournal } from '../../server/src/util/journal';
import type { ChildRecord, RunInfo } from '../../server/src/search/runFolder';

let out: string;
let file: string;
before(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-target-'));
  file = path.join(out, 'relative.mnas');
  fs.writeFileSync(file, fs.readFileSync(path.resolve('test/fixtures/tiny-search.mnas'), 'utf8').replace('target 1ms', 'target 0.9x T'));
});
after(() => fs.rmSync(out, { recursive: true, force: true }));

/** The real local evaluator, counting reference measurements. */
class Counting implements Evaluator {
  references: Arch[] = [];
  constructor(readonly inner: Evaluator) {}
  get backend(): string { return this.inner.backend; }
  evaluate(job: ChildJob): Promise<ChildEvaluation> { return this.inner.evaluate(job); }
  measureLatency(arch: Arch): Promise<LatencyMeasurement> { this.references.push(arch); return this.inner.measureLatency(arch); }
  close(): Promise<void> { return Promise.resolve(); }
}

test('target 0.9x T: measured once at the start, recorded in run.json, reused on resume', { timeout: 600_000 }, async () => {
  const local = await LocalEvaluator.start({ latency: { kind: 'local' } });
  try {
    const ev = new Counting(local);
    const events: SearchEvent[] = [];
    const cacheDir = path.join(out, 'cache');
    const r = await runSearch({ file, out, cacheDir, strategy: 'random', budget: 2, evaluator: ev, onEvent: (e) => events.push(e) });
    assert.equal(r.status, 'done');
    assert.equal(ev.references.length, 1, 'the reference model is measured once');
    assert.equal(ev.references[0].name, 'T');
    const info = JSON.parse(fs.readFileSync(path.join(r.dir, 'run.json'), 'utf8')) as RunInfo;
    assert.ok(info.target, 'run.json records how T was resolved');
    assert.equal(info.target.factor, 0.9);
    assert.equal(info.target.model, 'T');
    assert.ok(info.target.referenceMs > 0);
    assert.match(info.target.source, /^local tflite xnnpack/);
    assert.ok(Math.abs(info.config.targetMs - 0.9 * info.target.referenceMs) < 1e-12);
    assert.deepEqual(info.config.target, { kind: 'relative', factor: 0.9, model: 'T' });
    const start = events.find((e) => e.event === 'start') as Extract<SearchEvent, { event: 'start' }>;
    assert.equal(start.target.ms, info.config.targetMs);
    // The reward of every child uses the resolved T.
    const children = readJournal<ChildRecord>(path.join(r.dir, 'journal.jsonl')).entries.filter((e) => e.type === 'child');
    assert.equal(children.length, 2);
    for (const c of children) assert.ok(Math.abs(c.reward - c.accuracy * (c.latencyMs / info.config.targetMs) ** -0.07) < 1e-9);

    // Resume (one more child): T comes from run.json, nothing is measured again.
    const again = new Counting(local);
    const resumedEvents: SearchEvent[] = [];
    const r2 = await runSearch({ resume: r.dir, cacheDir, budget: 3, evaluator: again, onEvent: (e) => resumedEvents.push(e) });
    assert.equal(r2.status, 'done');
    assert.equal(again.references.length, 0, 'a resumed run reuses the recorded T');
    const start2 = resumedEvents.find((e) => e.event === 'start') as Extract<SearchEvent, { event: 'start' }>;
    assert.equal(start2.target.ms, info.config.targetMs);
    const info2 = JSON.parse(fs.readFileSync(path.join(r.dir, 'run.json'), 'utf8')) as RunInfo;
    assert.deepEqual(info2.target, info.target);
  } finally {
    await local.close();
  }
});

test('a reference model that cannot be measured stops the run before it starts, and leaves no run folder', async () => {
  const failing: Evaluator = {
    backend: 'failing',
    evaluate: () => Promise.reject(new Error('not reached')),
    measureLatency: () => Promise.reject(new Error('the phone went away')),
    close: () => Promise.resolve(),
  };
  const before = fs.readdirSync(out).length;
  await assert.rejects(runSearch({ file, out, cacheDir: path.join(out, 'cache'), strategy: 'random', evaluator: failing }),
    /relative\.mnas: search Tiny: target 0\.9x T: measuring T on the run's latency source failed: the phone went away/);
  assert.equal(fs.readdirSync(out).length, before);
});
