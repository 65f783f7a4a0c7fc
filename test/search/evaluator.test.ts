// A training worker killed mid-child: the child is retried once on a fresh worker; killed
// again, it fails with a clear error and the evaluator keeps serving.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChildFailedError, LocalEvaluator, type ChildJob } from '../../server/src/search/evaluator';
import { prepareDataset } from '../../server/src/train/datasets';
import { toArch } from '../../server/src/language/arch';
import { TrainerDiedError, TrainerPool } from '../../server/src/train/trainerPool';
import type { DataSpec } from '../../server/src/train/trainer';

let ev: LocalEvaluator;
let data: DataSpec;
let out: string;

before(async () => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-eval-'));
  data = await prepareDataset({ name: 'mnist', train: 600, test: 100, seed: 1, cacheDir: path.join(out, 'cache') });
  ev = await LocalEvaluator.start({ workers: 1, threads: 1, latency: { kind: 'local' }, latencyRepeats: 5 });
});
after(async () => { await ev.close(); });

function job(id: number): ChildJob {
  const arch = toArch({
    name: 'j', input: { h: 28, w: 28, c: 1 }, width: 1, depth: 1, act: 'relu', stem: { k: 3, s: 2, f: 8 },
    blocks: [{ name: 'b', op: 'mbconv', e: 3, k: 3, s: 2, f: 16, x: 1, se: 0, skip: 'identity' }],
    head: { f: null, pool: 'avg', classes: 10, dropout: 0 },
  });
  return { id, proxy: arch, full: arch, data, seed: id, outDir: path.join(out, String(id)),
    recipe: { epochs: 2, batchSize: 16, lr: 0.01, optimizer: 'adam', momentum: 0.9, weightDecay: 0, bnMomentum: 0.1, labelSmoothing: 0, lossEvery: 1 } };
}

test('a worker killed once: the child is retried and succeeds', { timeout: 300_000 }, async () => {
  let kills = 0;
  const r = await ev.evaluate(job(1), (p) => { if (kills === 0 && p.pid) { kills++; process.kill(p.pid, 'SIGKILL'); } });
  assert.equal(kills, 1);
  assert.equal(r.attempts, 2);
  assert.ok(r.accuracy > 0.1);
  assert.ok(r.latency.ms > 0);
});

test('a worker killed twice: the child fails clearly, the next child still runs', { timeout: 300_000 }, async () => {
  const killed = new Set<number>();
  await assert.rejects(
    ev.evaluate(job(2), (p) => { if (p.pid && !killed.has(p.pid)) { killed.add(p.pid); process.kill(p.pid, 'SIGKILL'); } }),
    (e: unknown) => e instanceof ChildFailedError && /died twice/.test((e as Error).message),
  );
  assert.equal(killed.size, 2);
  const ok = await ev.evaluate(job(3));
  assert.equal(ok.attempts, 1);
});

test('a pool killed with a child in training and one waiting: both fail with "stopped", none hangs', { timeout: 120_000 }, async () => {
  const pool = await TrainerPool.start({ size: 1, threads: 1 });
  const long = (id: number) => ({ ...job(id), recipe: { ...job(id).recipe, epochs: 50 } });
  let training!: () => void;
  const started = new Promise<void>((r) => { training = r; });
  const first = pool.train({ arch: long(4).proxy, data, recipe: long(4).recipe, seed: 4, outDir: long(4).outDir }, () => training());
  const waiting = pool.train({ arch: long(5).proxy, data, recipe: long(5).recipe, seed: 5, outDir: long(5).outDir });
  await started;
  pool.kill();
  const settled = await Promise.allSettled([first, waiting]);
  for (const s of settled) {
    assert.equal(s.status, 'rejected');
    assert.ok(s.status === 'rejected' && s.reason instanceof TrainerDiedError && s.reason.message === 'stopped', String(s.status === 'rejected' && s.reason));
  }
  assert.ok(!fs.existsSync(path.join(long(4).outDir, 'weights.pt')), 'the killed child wrote no weights');
});
