// A tiny real search end to end: real PyTorch worker, real controller, real journal.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSearch } from '../../server/src/search/engine';
import type { SearchEvent } from '../../server/src/search/events';
import { localEvaluator } from '../../server/src/search/evaluator';
import { readJournal } from '../../server/src/util/journal';
import type { ChildRecord, RunInfo } from '../../server/src/search/runFolder';
import { analyzeText } from '../helpers/analyze';

const FIXTURE = path.resolve('test/fixtures/tiny-search.mnas');
let out: string;
let cacheDir: string;
before(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-search-'));
  cacheDir = path.join(out, 'cache');
});

test('a tiny RL search writes a complete run folder', { timeout: 600_000 }, async () => {
  const events: SearchEvent[] = [];
  const r = await runSearch({ file: FIXTURE, out, cacheDir, evaluator: localEvaluator(), onEvent: (e) => events.push(e) });
  assert.equal(r.status, 'done');
  assert.equal(r.children.length + r.failed.length, 4);
  assert.equal(r.failed.length, 0);
  const files = fs.readdirSync(r.dir).sort();
  for (const f of ['best', 'children', 'controller.json', 'journal.jsonl', 'pareto.json', 'results.csv', 'run.json']) assert.ok(files.includes(f), f);
  const info = JSON.parse(fs.readFileSync(path.join(r.dir, 'run.json'), 'utf8')) as RunInfo;
  assert.equal(info.strategy, 'rl');
  assert.match(info.backend.trainer, /^torch /);
  assert.match(info.backend.controller, /tfjs/);
  assert.match(info.dataset.split, /stratified/);
  const children = readJournal<ChildRecord>(path.join(r.dir, 'journal.jsonl')).entries.filter((e) => e.type === 'child');
  assert.deepEqual(children.map((c) => c.id).sort(), [0, 1, 2, 3]);
  for (const c of children) {
    assert.ok(c.accuracy > 0.2 && c.accuracy <= 1, `accuracy ${c.accuracy} above chance (0.1)`);
    assert.ok(c.latencyMs > 0);
    assert.match(c.latencySource, /^local tflite xnnpack/, 'local latency runs the exported model in TFLite\'s runtime');
    // R = ACC * (LAT/T)^w with the soft preset (w = -0.07 on both sides).
    assert.ok(Math.abs(c.reward - c.accuracy * (c.latencyMs / 1) ** -0.07) < 1e-9);
    // The journaled model text is a valid .mnas model with the journaled costs.
    const a = analyzeText(c.model);
    assert.deepEqual(a.problems, []);
    const m = [...a.local.values()][0];
    assert.ok(m.kind === 'model' && m.cost.params === c.params && m.cost.multAdds === c.multAdds);
    if (c.cachedFrom === undefined) {
      // Relative to the run folder, so a copied or moved run uses its own files.
      assert.equal(c.weights, `children/${c.id}/weights.pt`);
      assert.ok(fs.existsSync(path.join(r.dir, c.weights)));
    }
  }
  // Two controller updates (batch 2), each checkpointed and journaled.
  assert.deepEqual(events.filter((e) => e.event === 'update').map((e) => (e as { step: number }).step), [1, 2]);
  const ckpt = JSON.parse(fs.readFileSync(path.join(r.dir, 'controller.json'), 'utf8'));
  assert.equal(ckpt.step, 2);
  assert.equal(ckpt.controller.step, 2);
  const csv = fs.readFileSync(path.join(r.dir, 'results.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 5);
  assert.ok(fs.readdirSync(path.join(r.dir, 'best')).length >= 1);
  const pareto = JSON.parse(fs.readFileSync(path.join(r.dir, 'pareto.json'), 'utf8'));
  assert.ok(pareto.length >= 1);
  assert.ok(r.overheadMs.journal >= 0 && r.evaluationMs > 0);
});

test('random search with the same budget, and the architecture cache', { timeout: 600_000 }, async () => {
  // The space has 4 distinct models; 6 children must reuse some results.
  const r = await runSearch({ file: FIXTURE, out, cacheDir, evaluator: localEvaluator(), strategy: 'random', budget: 6 });
  assert.equal(r.status, 'done');
  assert.equal(r.children.length, 6);
  const cached = r.children.filter((c) => c.cachedFrom !== undefined);
  assert.ok(cached.length >= 2, `6 draws from 4 models repeat at least twice (got ${cached.length})`);
  for (const c of cached) {
    const src = r.children.find((x) => x.id === c.cachedFrom)!;
    assert.equal(c.accuracy, src.accuracy);
    assert.equal(c.model.replace(c.name, ''), src.model.replace(src.name, ''));
  }
  assert.equal(fs.existsSync(path.join(r.dir, 'controller.json')), false);
});

test('bad input: a missing search, a broken file, an unwritable folder', async () => {
  await assert.rejects(runSearch({ file: FIXTURE, search: 'Nope', out, evaluator: localEvaluator() }), /no search named `Nope`; it has Tiny/);
  const broken = path.join(out, 'broken.mnas');
  fs.writeFileSync(broken, 'search S {\n  space Missing\n  target 5\n}\n');
  await assert.rejects(runSearch({ file: broken, out, evaluator: localEvaluator() }), (e: Error) => /broken\.mnas has 2 errors/.test(e.message) && /broken\.mnas:3:10: Target latency `5` has no units/.test(e.message));
  const blocker = path.join(out, 'a-file');
  fs.writeFileSync(blocker, '');
  await assert.rejects(runSearch({ file: FIXTURE, out: path.join(blocker, 'runs'), evaluator: localEvaluator() }), /cannot write the run folder .*--out/);
  await assert.rejects(runSearch({ resume: out, evaluator: localEvaluator() }), /is not a run folder \(no run\.json\)/);
});
