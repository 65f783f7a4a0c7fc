// `mnas train --queue`: full trainings as long jobs on a real redis-server, taken by a
// `mnas worker` process from the CLI bundle. The skeleton is timed and proxy-trained by queue
// jobs too; the trained files come back into the run folder; the worker keeps no copy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FullTrainingEvent } from '../../server/src/final/events';
import { runFullTraining } from '../../server/src/final/fullTraining';
import type { FullRecord } from '../../server/src/final/store';
import { runSearch } from '../../server/src/search/engine';
import { localEvaluator } from '../../server/src/search/evaluator';
import { BASELINE_CHILD, runQueueId } from '../../server/src/queue/topology';
import { CLI, redisMissing, startRedis, startWorker, writeSearch } from '../fixtures/queue/harness';

const missing = redisMissing();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-queue-full-'));
const env = { ...process.env, MNAS_CACHE: path.join(tmp, 'cache') };
const cacheDir = path.join(env.MNAS_CACHE, 'datasets');

before(() => { if (!missing) execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' }); });
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('mnas train --queue: the top child and the skeleton trained by a mnas worker, results in the run folder', { skip: missing, timeout: 600_000 }, async () => {
  const redis = await startRedis();
  const worker = await startWorker(redis.url, 'w1', ['--concurrency', '1', '--devices', 'none'], env);
  try {
    const file = writeSearch(tmp, { children: 2, batch: 2 });
    const search = await runSearch({ file, out: tmp, cacheDir, evaluator: localEvaluator({ workers: 1 }) });
    assert.equal(search.status, 'done');
    const events: FullTrainingEvent[] = [];
    const r = await runFullTraining({
      run: search.dir, top: 1, recipe: { epochs: 2, batchSize: 64 }, sizes: { train: 600, test: 200 }, cacheDir,
      queue: { url: redis.url }, onEvent: (e) => events.push(e),
    });
    assert.equal(r.status, 'done', JSON.stringify(events.filter((e) => e.event === 'failed')));
    const run = runQueueId(search.dir);
    const child = r.records.find((x) => x.target.kind === 'child')!;
    const id = child.target.kind === 'child' ? child.target.id : -1;
    const dir = path.join(search.dir, 'children', String(id));
    const rec = JSON.parse(fs.readFileSync(path.join(dir, 'full.json'), 'utf8')) as FullRecord;
    assert.equal(rec.job, `${run}.${id}.full`);
    assert.equal(rec.worker, 'w1');
    assert.equal(rec.epochs.length, 2);
    assert.ok(rec.accuracy > 0 && rec.accuracy <= 1);
    for (const f of ['weights-full.pt', 'weights-full-last.pt', 'arch-full.json']) assert.ok(fs.statSync(path.join(dir, f)).size > 100, `${f} came back`);
    assert.ok(!fs.existsSync(path.join(env.MNAS_CACHE, 'worker', run, `${id}-full`)), 'the worker removed its copy');
    const base = JSON.parse(fs.readFileSync(path.join(search.dir, 'baseline', 'full.json'), 'utf8')) as FullRecord;
    assert.equal(base.job, `${run}.${BASELINE_CHILD}.full`);
    assert.match(base.latencySource ?? '', new RegExp(`on ${os.hostname()}$`), 'the skeleton was timed by the worker, as the children were');
    assert.ok(base.proxyAccuracy !== null && base.proxyAccuracy > 0);
    assert.ok(events.some((e) => e.event === 'epoch' && e.key === 'baseline'), 'epoch progress crossed Redis');
    assert.ok(worker.lines.some((l) => l.includes(`took ${run}.${id}.full`)));
    // The exported file is the fully trained network.
    const out = execFileSync(process.execPath, [CLI, 'export', '--weights', path.join(search.dir, String(id)), '-o', path.join(tmp, 'c.tflite')], { env, encoding: 'utf8' });
    assert.match(out, /weights-full\.pt/);
  } finally {
    await worker.stop();
    await redis.stop();
  }
});
