// The surrogate pipeline of bench/search-quality-surrogate.bench.ts: the architecture encoding,
// the grouped held-out fit in bench/lib/surrogate.py (python3-sklearn) and the evaluator that
// answers a search from it; plus SharedEvaluator, which stops concurrent searches at once and
// tells each one the pool's size, and ReusedTrainings, which trains an earlier training's twin
// only once.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Arch, BlockArch } from '../../server/src/language/arch';
import { ChildFailedError, type ChildEvaluation, type ChildJob, type Evaluator } from '../../server/src/search/evaluator';
import { Rng } from '../../server/src/util/rng';
import { SharedEvaluator } from '../../bench/lib/search';
import { ReusedTrainings } from '../../bench/lib/reusedTrainings';
import { datasetKey, type TrainedChild } from '../../bench/lib/searchQuality';
import type { RunInfo } from '../../server/src/search/runFolder';
import { archFeatures, archGroup, Surrogate, type SurrogateRow } from '../../bench/lib/surrogate';

const PYTHON = '/usr/bin/python3';
const sklearn = spawnSync(PYTHON, ['-c', 'import sklearn'], { encoding: 'utf8' }).status === 0;
const NO_SKLEARN = 'python3-sklearn is not installed (apt-get install -y python3-sklearn)';

function arch(rng: Rng): Arch {
  const blocks: BlockArch[] = [16, 24, 40, 80].map((f, i) => {
    const op = rng.int(2) ? 'mbconv' : 'sepconv';
    return {
      name: `b${i + 1}`, op, e: op === 'mbconv' ? [3, 6][rng.int(2)] : 1, k: [3, 5][rng.int(2)], s: i === 1 || i === 2 ? 2 : 1,
      f: f * [0.75, 1, 1.25][rng.int(3)], x: 1 + rng.int(3), se: [0, 0.25][rng.int(2)], skip: 'identity', act: 'relu',
    } as BlockArch;
  });
  return { name: 'a', input: { h: 28, w: 28, c: 1 }, stem: { k: 3, s: 1, f: 16, act: 'relu' }, blocks, head: { f: 320, pool: 'avg', classes: 10, dropout: 0 } };
}

test('archFeatures: fixed length, equal for equal architectures, moved by every searched field', () => {
  const rng = new Rng(3);
  const a = arch(rng);
  const x = archFeatures(a);
  assert.equal(x.length, 6 * a.blocks.length + 2);
  assert.deepEqual(archFeatures(structuredClone(a)), x);
  assert.equal(archGroup(structuredClone(a)), archGroup(a));
  for (const field of ['k', 'se', 'f', 'x'] as const) {
    const b = structuredClone(a);
    b.blocks[2][field] = field === 'se' ? (a.blocks[2].se ? 0 : 0.25) : a.blocks[2][field] + 1;
    assert.notDeepEqual(archFeatures(b), x, field);
    assert.notEqual(archGroup(b), archGroup(a), field);
  }
});

test('surrogate fit: held-out Spearman on unseen architectures, seed noise from repeats, predictions served', { skip: !sklearn && NO_SKLEARN, timeout: 120_000 }, async () => {
  // A known accuracy: rises with log params and kernel 5 in block 3, plus seed noise of sd 0.01;
  // every architecture trained twice (two rows, one group).
  const rng = new Rng(11);
  const gauss = () => Math.sqrt(-2 * Math.log(Math.max(rng.next(), 1e-12))) * Math.cos(2 * Math.PI * rng.next());
  const truth = (a: Arch) => { const x = archFeatures(a); return 0.5 + 0.08 * x[x.length - 2] + 0.02 * (a.blocks[2].k === 5 ? 1 : 0); };
  const rows: SurrogateRow[] = [];
  const archs: Arch[] = [];
  for (let i = 0; i < 150; i++) {
    const a = arch(rng);
    archs.push(a);
    for (let r = 0; r < 2; r++) rows.push({ x: archFeatures(a), y: truth(a) + 0.01 * gauss(), group: archGroup(a) });
  }
  const s = await Surrogate.fit(rows, 1, PYTHON);
  try {
    const m = s.summary.models[s.summary.chosen];
    assert.deepEqual(Object.keys(s.summary.models).sort(), ['gbt', 'gp', 'ridge']);
    assert.ok(m.test_spearman > 0.8, `held-out Spearman ${m.test_spearman}`);
    assert.ok(s.summary.groups <= 150 && s.summary.train + s.summary.test === rows.length);
    assert.ok(s.summary.noise_sd > 0.006 && s.summary.noise_sd < 0.015, `noise sd ${s.summary.noise_sd} (true 0.01)`);
    assert.ok(s.summary.pairs >= 100);
    const fresh = Array.from({ length: 40 }, () => arch(rng));
    const [p1, p2] = await Promise.all([s.predict(fresh.slice(0, 20).map(archFeatures)), s.predict(fresh.slice(20).map(archFeatures))]);
    const pred = [...p1, ...p2];
    assert.equal(pred.length, 40);
    const err = pred.map((p, i) => Math.abs(p - truth(fresh[i])));
    assert.ok(err.reduce((a, b) => a + b, 0) / err.length < 0.02, `mean error ${err.reduce((a, b) => a + b, 0) / err.length}`);
  } finally {
    await s.close();
  }
});

test('surrogate fit: too few architectures is a clear error', { skip: !sklearn && NO_SKLEARN, timeout: 60_000 }, async () => {
  const rng = new Rng(5);
  const rows = Array.from({ length: 6 }, () => { const a = arch(rng); return { x: archFeatures(a), y: 0.5, group: archGroup(a) }; });
  await assert.rejects(Surrogate.fit(rows, 1, PYTHON), /need at least 10 distinct architectures, got 6/);
});

test('SharedEvaluator: abandon fails every pending evaluation with "stopped" at once', async () => {
  const never: Evaluator = { backend: 'never', evaluate: () => new Promise<ChildEvaluation>(() => undefined), measureLatency: () => new Promise(() => undefined), close: () => Promise.resolve() };
  const shared = new SharedEvaluator(never);
  const pending = [1, 2, 3].map((id) => shared.evaluate({ id } as ChildJob));
  shared.abandon();
  for (const p of pending) await assert.rejects(p, (e: Error) => e instanceof ChildFailedError && e.message === 'stopped');
  await assert.rejects(shared.evaluate({ id: 4 } as ChildJob), /stopped/);
});

/** An evaluator that answers when told to and remembers what it was asked. */
function controlled() {
  const calls: ChildJob[] = [];
  const waiting: (() => void)[] = [];
  const ev: Evaluator = {
    backend: 'controlled', measureLatency: () => new Promise(() => undefined), close: () => Promise.resolve(),
    evaluate: (job) => {
      calls.push(job);
      const answer = (): ChildEvaluation => ({
        accuracy: job.trained?.accuracy ?? 0.5 + job.seed / 1000, attempts: 1, latency: { ms: 1, median: 1, min: 1, max: 1, spread: 0, repeats: 1, source: 'test' },
        train: job.trained?.train ?? { trainSeconds: 1, evalSeconds: 0, imagesPerSecond: 1, params: 1, weightsPath: 'w.pt', loss: [], diverged: false, threads: 1 },
      });
      // A child already trained is only timed: no waiting for a trainer.
      return job.trained ? Promise.resolve(answer()) : new Promise((resolve) => waiting.push(() => resolve(answer())));
    },
  };
  return { ev, calls, release: () => { for (const w of waiting.splice(0)) w(); } };
}

test('SharedEvaluator: its capacity is its slots; a child already trained takes no training slot', async () => {
  const c = controlled();
  const shared = new SharedEvaluator(c.ev, 1);
  assert.equal(shared.capacity(), 1);
  const a = { id: 1, seed: 1 } as ChildJob;
  const trained = { id: 2, seed: 2, trained: { accuracy: 0.9, attempts: 1, train: { trainSeconds: 3, evalSeconds: 0, imagesPerSecond: 1, params: 1, weightsPath: '', loss: [], diverged: false, threads: 1 } } } as unknown as ChildJob;
  const first = shared.evaluate(a);
  // The one slot is busy with child 1; child 2 is only timed and comes back anyway.
  assert.equal((await shared.evaluate(trained)).accuracy, 0.9);
  c.release();
  assert.equal((await first).accuracy, 0.501);
});

test('ReusedTrainings: a training from the children file or from another run is reused (only timed again), a new seed is trained', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-reuse-'));
  try {
    const info = { config: { dataset: { name: 'mnist', train: 400, test: 100, width: 0.5 }, budget: { epochs: 1, batch: 64 } }, recipe: { lr: 0.01, optimizer: 'adam', schedule: 'cosine' } } as unknown as RunInfo;
    const runs = ['a', 'b'].map((r) => { fs.mkdirSync(path.join(dir, r), { recursive: true }); fs.writeFileSync(path.join(dir, r, 'run.json'), JSON.stringify(info)); return path.join(dir, r); });
    const net = arch(new Rng(9));
    const other = arch(new Rng(10));
    const job = (run: string, id: number, a: Arch, seed: number) => ({ id, full: { ...a, name: `${path.basename(run)}_c${id}` }, seed, outDir: path.join(run, 'children', String(id)) }) as ChildJob;
    const row: TrainedChild = { source: 'earlier', arch: net, dataset: datasetKey(info), accuracy: 0.93, trainSeed: 7, trainSeconds: 4 };
    // A row of another dataset (no width) matches nothing.
    const elsewhere: TrainedChild = { ...row, dataset: { ...datasetKey(info), width: 1 }, trainSeed: 8, accuracy: 0.1 };
    const c = controlled();
    const reuse = new ReusedTrainings(c.ev, [row, elsewhere]);

    const fromFile = await reuse.evaluate(job(runs[0], 0, net, 7));
    assert.equal(fromFile.accuracy, 0.93);
    assert.equal(fromFile.train.trainSeconds, 4);
    assert.equal(c.calls[0].trained?.accuracy, 0.93, 'passed on as trained: only its latency is measured');

    // Two runs sample the same child with the same training seed at once: one training, the other waits for it.
    const x = reuse.evaluate(job(runs[0], 1, other, 8));
    const y = reuse.evaluate(job(runs[1], 1, other, 8));
    await new Promise((r) => setImmediate(r));
    c.release();
    const [rx, ry] = await Promise.all([x, y]);
    assert.equal(rx.accuracy, 0.508);
    assert.equal(ry.accuracy, 0.508);
    assert.equal(c.calls.filter((j) => !j.trained).length, 1);
    assert.equal(reuse.reused.get(job(runs[1], 1, other, 8).outDir), 'this run');
    assert.equal(reuse.reused.get(job(runs[0], 0, net, 7).outDir), 'file');

    // The same network with another seed, or the other dataset's row, is a new training.
    const z = reuse.evaluate(job(runs[1], 2, net, 8));
    await new Promise((r) => setImmediate(r));
    c.release();
    assert.equal((await z).accuracy, 0.508);
    assert.equal(c.calls.filter((j) => !j.trained).length, 2);
    assert.equal(reuse.reused.size, 2);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
