// Distributed evaluation against the real thing: Debian's redis-server on a loopback port,
// `mnas worker` processes from the CLI bundle, the search engine with --queue. Each test has
// its own Redis, workers and run folder.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Job, Queue } from 'bullmq';
import { runSearch } from '../../server/src/search/engine';
import type { SearchEvent } from '../../server/src/search/events';
import { readJournal } from '../../server/src/util/journal';
import type { ChildRecord, FailedRecord } from '../../server/src/search/runFolder';
import { runQueueId } from '../../server/src/queue/topology';
import { QueueEvaluator, queueEvaluator } from '../../server/src/queue/queueEvaluator';
import { CLI, hostsMissing, makeCerts, redisMissing, startHost, type RedisHandle, startRedis, startWorker, type WorkerProcess, writeSearch } from '../fixtures/queue/harness';
import { connectDevice, startAdbServer, startLoopbackDevice, tfliteRuntimePath } from '../fixtures/loopback-device/harness';
import { writeFakeBenchmarkBinary } from '../fixtures/loopback-device/models';

const missing = redisMissing();
const opensslMissing = () => (spawnSync('openssl', ['version']).status === 0 ? false : 'openssl is not installed: no certificates for the TLS Redis');
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-queue-'));
// One dataset cache for the controller and every worker: MNIST is prepared once.
const env = { ...process.env, MNAS_CACHE: path.join(tmpRoot, 'cache') };
const cacheDir = path.join(env.MNAS_CACHE, 'datasets');

before(() => {
  if (!missing) execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
});
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** Redis, workers and everything else a test starts, stopped in reverse order. */
function scope() {
  const stops: (() => Promise<void>)[] = [];
  const first: (() => void)[] = [];
  return {
    add<T extends { stop(): Promise<void> }>(x: T): T { stops.push(() => x.stop()); return x; },
    /** Runs before anything is stopped (aborting a search). */
    onClose(f: () => void) { first.push(f); },
    async close() {
      for (const f of first) f();
      for (const s of stops.reverse()) await s().catch(() => undefined);
    },
  };
}

function dirFor(name: string): string {
  return fs.mkdtempSync(path.join(tmpRoot, `${name}-`));
}

function journalOf(run: string) {
  const entries = readJournal<{ type: string }>(path.join(run, 'journal.jsonl')).entries;
  return {
    children: entries.filter((e): e is ChildRecord => e.type === 'child'),
    failed: entries.filter((e): e is FailedRecord => e.type === 'failed'),
  };
}

/** How many times each job id was taken by any of the workers. */
function takes(workers: WorkerProcess[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const w of workers) {
    for (const l of w.lines) {
      const id = /took (\S+)/.exec(l)?.[1];
      if (id) m.set(id, [...(m.get(id) ?? []), w.id]);
    }
  }
  return m;
}

describe('distributed evaluation on a Redis queue (BullMQ)', { skip: missing }, () => {
  test('a search with 2 workers in separate processes', { timeout: 600_000 }, async () => {
    const s = scope();
    try {
      const redis = s.add(await startRedis());
      const w1 = s.add(await startWorker(redis.url, 'w1', ['--concurrency', '1', '--devices', 'none'], env));
      const w2 = s.add(await startWorker(redis.url, 'w2', ['--concurrency', '1', '--devices', 'none', '--no-local-latency'], env));
      const dir = dirFor('two');
      const file = writeSearch(dir, { children: 6, batch: 3, train: 1000 });
      const events: SearchEvent[] = [];
      const res = await runSearch({ file, out: dir, cacheDir, evaluator: queueEvaluator({ url: redis.url }), onEvent: (e) => events.push(e) });
      assert.equal(res.status, 'done');
      const { children, failed } = journalOf(res.dir);
      assert.deepEqual(failed, []);
      assert.deepEqual(children.map((c) => c.id).sort(), [0, 1, 2, 3, 4, 5], 'every child exactly once');
      const run = runQueueId(res.dir);
      for (const c of children) {
        if (c.cachedFrom !== undefined) continue;
        assert.deepEqual(c.jobs, { train: `${run}.${c.id}.train`, latency: `${run}.${c.id}.latency` });
        // Only w1 serves `latency local`; the figure says where it was timed.
        assert.equal(c.workers?.latency, 'w1');
        assert.match(c.latencySource, new RegExp(`on ${os.hostname()}$`));
        assert.ok(c.accuracy > 0.1 && c.latencyMs > 0, JSON.stringify(c));
      }
      // The trained files came back into the run folder (as in a local run); the workers kept no copy.
      for (const c of children.filter((x) => x.cachedFrom === undefined)) {
        assert.equal(c.weights, `children/${c.id}/weights.pt`);
        assert.ok(fs.statSync(path.join(res.dir, c.weights)).size > 1000 && fs.existsSync(path.join(res.dir, 'children', String(c.id), 'arch.json')));
        assert.ok(!fs.existsSync(path.join(env.MNAS_CACHE, 'worker', run, String(c.id))), 'the worker removed its copy');
      }
      assert.ok(fs.existsSync(path.join(env.MNAS_CACHE, 'worker', run)), 'the workers trained under their own work folder');
      // ...so a child trained on another process exports like a local one.
      const first = children.find((x) => x.cachedFrom === undefined)!;
      const tflite = path.join(dir, 'child.tflite');
      execFileSync(process.execPath, [CLI, 'export', '--weights', path.join(res.dir, String(first.id)), '-o', tflite], { env, encoding: 'utf8' });
      assert.ok(fs.statSync(tflite).size > 1000);
      const trainedBy = new Set(children.filter((c) => c.cachedFrom === undefined).map((c) => c.workers!.train));
      assert.deepEqual([...trainedBy].sort(), ['w1', 'w2'], 'both workers trained children');
      for (const [id, by] of takes([w1, w2])) assert.equal(by.length, 1, `${id} taken once (by ${by.join(', ')})`);
      const start = events.find((e) => e.event === 'start');
      assert.match(start?.event === 'start' ? start.backend.trainer : '', /^queue redis:\/\/127\.0\.0\.1:\d+$/);
      // `mnas workers`: who serves the queue, and the jobs per queue (all done now).
      const listing = execFileSync(process.execPath, [CLI, 'workers', redis.url], { encoding: 'utf8' });
      assert.match(listing, /^w1 .* local /m);
      assert.match(listing, /^w2 .* none /m);
      const trained = children.filter((c) => c.cachedFrom === undefined).length;
      assert.match(listing, new RegExp(`^train\\s+0\\s+0\\s+0\\s+0\\s+${trained}$`, 'm'), listing);
      assert.match(listing, new RegExp(`^latency-local\\s+0\\s+0\\s+0\\s+0\\s+${trained}$`, 'm'), listing);
      // The run folder is a normal one: the report reads it.
      const report = execFileSync(process.execPath, [CLI, 'report', res.dir], { encoding: 'utf8' });
      assert.match(report, /6\/6 children, 0 failed/);
    } finally {
      await s.close();
    }
  });

  test('a worker on another host (own network namespace and hostname) over a real link, with a password', { timeout: 600_000, skip: hostsMissing() ?? false }, async () => {
    const s = scope();
    try {
      const remote = s.add(startHost('mnas-remote-host'));
      const password = 'link-secret-19';
      const redis = s.add(await startRedis({ bind: ['127.0.0.1', remote.gateway], password }));
      const there = `redis://${remote.gateway}:${redis.port}`;
      // That host cannot reach this one's loopback: it is another machine as far as the network goes.
      const isolated = spawnSync(remote.wrap[0], [...remote.wrap.slice(1), process.execPath, CLI, 'workers', `redis://127.0.0.1:${redis.port}`], { env, encoding: 'utf8', timeout: 60_000 });
      assert.notEqual(isolated.status, 0);
      assert.match(isolated.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
      const w = s.add(await startWorker(there, 'remote', ['--concurrency', '1', '--devices', 'none'], { ...env, MNAS_REDIS_PASSWORD: password }, remote));
      const dir = dirFor('remote');
      const file = writeSearch(dir, { children: 2, batch: 2 });
      const res = await runSearch({ file, out: dir, cacheDir, evaluator: queueEvaluator({ url: `redis://:${password}@127.0.0.1:${redis.port}` }) });
      assert.equal(res.status, 'done');
      const { children } = journalOf(res.dir);
      assert.equal(children.length, 2);
      for (const c of children.filter((x) => x.cachedFrom === undefined)) {
        assert.equal(c.workers?.train, 'remote');
        assert.match(c.latencySource, /on mnas-remote-host$/, 'timed on the other host');
        assert.ok(fs.existsSync(path.join(res.dir, c.weights!)), 'its weights crossed the link into the run folder');
      }
      const ads = JSON.parse(execFileSync(process.execPath, [CLI, 'workers', `redis://:${password}@127.0.0.1:${redis.port}`, '--json'], { encoding: 'utf8' })) as { id: string; host: string }[];
      assert.equal(ads.find((a) => a.id === 'remote')?.host, 'mnas-remote-host');
      assert.ok(w.lines.some((l) => l.includes(`worker remote on ${there}`)));
    } finally {
      await s.close();
    }
  });

  test('kill -9 of a worker mid-job: the job is requeued, finished by the other worker, counted once', { timeout: 600_000 }, async () => {
    const s = scope();
    // A failed assertion must not leave the search waiting on jobs (and the test file never exiting).
    const stop = new AbortController();
    s.onClose(() => stop.abort());
    try {
      const redis = s.add(await startRedis());
      // A short lock so the stalled job is taken over within seconds.
      const args = ['--concurrency', '1', '--devices', 'none', '--lock-seconds', '2'];
      const doomed = s.add(await startWorker(redis.url, 'doomed', args, env));
      const dir = dirFor('kill');
      // Children that train for several seconds, so the kill lands mid-training.
      const file = writeSearch(dir, { children: 2, batch: 2, train: 3000, epochs: 2 });
      const search = runSearch({ file, out: dir, cacheDir, evaluator: queueEvaluator({ url: redis.url }), signal: stop.signal });
      const took = await doomed.waitFor(/took \S+\.train$/);
      const victim = /took (\S+)$/.exec(took)![1];
      // Give it a moment inside the PyTorch training loop, then kill it with its children.
      await new Promise((r) => setTimeout(r, 1500));
      await doomed.kill9();
      const rescuer = s.add(await startWorker(redis.url, 'rescuer', args, env));
      const res = await search;
      assert.equal(res.status, 'done');
      const { children, failed } = journalOf(res.dir);
      assert.deepEqual(failed, []);
      assert.deepEqual(children.map((c) => c.id).sort(), [0, 1], 'both children, once each');
      const child = children.find((c) => c.jobs?.train === victim);
      assert.ok(child, `the killed job ${victim} has its child in the journal`);
      assert.equal(child.workers?.train, 'rescuer', 'the killed job was finished by the other worker');
      assert.equal(child.attempts, 2, 'the journal records both attempts: the killed one and the one that finished');
      assert.ok(!doomed.lines.some((l) => l.includes(`trained ${victim}`)), 'the killed worker never finished it');
      assert.deepEqual(takes([rescuer]).get(victim), ['rescuer']);
    } finally {
      await s.close();
    }
  });

  test('a latency job is routed to the worker that has the phone (loopback adb device)', { timeout: 600_000, skip: tfliteRuntimePath() ? false : 'the TFLite runtime (@tensorflow/tfjs-tflite) is not installed: the loopback phone cannot run models' }, async () => {
    const s = scope();
    try {
      const redis = s.add(await startRedis());
      const adb = s.add(await startAdbServer());
      const phone = s.add(await startLoopbackDevice());
      await connectDevice(adb, phone);
      const binary = writeFakeBenchmarkBinary(path.join(dirFor('bin'), 'benchmark_model'));
      const quick = ['--warmup', '1', '--repeats', '5', '--rounds', '1', '--cooldown', '0'];
      const withPhone = s.add(await startWorker(redis.url, 'with-phone', ['--concurrency', '1', '--adb', `127.0.0.1:${adb.port}`, '--devices', 'all', '--binary', binary, '--no-local-latency', ...quick], env));
      const noPhone = s.add(await startWorker(redis.url, 'no-phone', ['--concurrency', '1', '--devices', 'none'], env));
      // The registry: what each worker advertises, as `mnas workers` shows it.
      const listed = JSON.parse(execFileSync(process.execPath, [CLI, 'workers', redis.url, '--json'], { encoding: 'utf8' })) as { id: string; latency: string[]; devices: { serial: string; model: string }[] }[];
      const ad = listed.find((w) => w.id === 'with-phone');
      assert.deepEqual(ad?.devices.map((d) => d.serial), [phone.serial]);
      assert.deepEqual(ad?.latency, ['adb:Loopback 8']);
      assert.deepEqual(listed.find((w) => w.id === 'no-phone')?.latency, ['local']);

      const dir = dirFor('adb');
      const file = writeSearch(dir, { children: 4, batch: 4, latency: `adb "${phone.serial}"` });
      const res = await runSearch({ file, out: dir, cacheDir, evaluator: queueEvaluator({ url: redis.url }) });
      const { children, failed } = journalOf(res.dir);
      assert.deepEqual(failed, []);
      assert.equal(children.length, 4);
      for (const c of children.filter((x) => x.cachedFrom === undefined)) {
        assert.equal(c.workers?.latency, 'with-phone');
        assert.match(c.latencySource, /^adb Loopback 8 \(127\.0\.0\.1:\d+\), benchmark_model/);
      }
      assert.ok(!noPhone.lines.some((l) => /took \S+\.latency/.test(l)), 'no latency job went to the worker without a phone');
      assert.ok(withPhone.lines.some((l) => /took \S+\.latency/.test(l)));
    } finally {
      await s.close();
    }
  });

  test('the last phone of a model goes away mid-benchmark: the job moves to another worker with that model; a new phone is served when plugged in', { timeout: 600_000, skip: tfliteRuntimePath() ? false : 'the TFLite runtime (@tensorflow/tfjs-tflite) is not installed: the loopback phone cannot run models' }, async () => {
    const s = scope();
    // A failed assertion must not leave the search waiting on jobs (and the test file never exiting).
    const stop = new AbortController();
    s.onClose(() => stop.abort());
    try {
      const redis = s.add(await startRedis());
      const adb = s.add(await startAdbServer());
      // Two phones of the same model; the first disappears when its first benchmark starts.
      const doomed = s.add(await startLoopbackDevice({ vanishOnBenchmark: 1 }));
      const steady = s.add(await startLoopbackDevice());
      // A phone of another model that answers getprop 3 s late: every listing of the adb server
      // (host-a's rescan each second) is still under way when the doomed phone goes, and comes
      // back showing it ready. That listing must not serve the lost phone again.
      const slow = s.add(await startLoopbackDevice({ getpropDelayMs: 3000, product: { model: 'Loopback Slow', device: 'loopslow' } }));
      for (const d of [doomed, steady, slow]) await connectDevice(adb, d);
      const binary = writeFakeBenchmarkBinary(path.join(dirFor('bin'), 'benchmark_model'));
      const phoneArgs = (serial: string) => ['--concurrency', '1', '--adb', `127.0.0.1:${adb.port}`, '--binary', binary, '--no-local-latency', '--warmup', '1', '--repeats', '5', '--rounds', '1', '--cooldown', '0', '--devices', serial];
      const a = s.add(await startWorker(redis.url, 'host-a', [...phoneArgs(doomed.serial), '--rescan-seconds', '1'], env));
      const ads = () => JSON.parse(execFileSync(process.execPath, [CLI, 'workers', redis.url, '--json'], { encoding: 'utf8' })) as { id: string; latency: string[]; devices: { serial: string }[] }[];
      const dir = dirFor('phone-lost');
      // Named by model: any worker with a Loopback 8 serves it.
      const file = writeSearch(dir, { children: 4, batch: 4, latency: 'adb "Loopback 8"' });
      const searching = runSearch({ file, out: dir, cacheDir, evaluator: queueEvaluator({ url: redis.url }), signal: stop.signal });
      // host-a takes a latency job first; its only phone vanishes under it. Then host-b comes up.
      const took = await a.waitFor(/took \S+\.latency$/);
      const lostJob = /took (\S+)$/.exec(took)![1];
      const lost = await a.waitFor(/no Loopback 8 left on this host/);
      // Every listing that started before the loss has come back by now (they take 3 s).
      await new Promise((r) => setTimeout(r, 4000));
      const afterLoss = a.lines.slice(a.lines.indexOf(lost) + 1);
      assert.deepEqual(afterLoss.filter((l) => /serving Loopback 8/.test(l)), [], `a listing from before the loss served the lost phone again:\n${a.lines.join('\n')}`);
      assert.deepEqual(ads().find((w) => w.id === 'host-a')?.latency, [], 'the advertisement follows the loss at once');
      const b = s.add(await startWorker(redis.url, 'host-b', phoneArgs(steady.serial), env));
      const res = await searching;
      const { children, failed } = journalOf(res.dir);
      assert.deepEqual(failed, [], 'no child failed: the job moved');
      assert.equal(children.length, 4);
      const moved = children.find((c) => c.jobs?.latency === lostJob);
      assert.ok(moved, `the child of ${lostJob} is journaled`);
      assert.equal(moved.workers?.latency, 'host-b');
      for (const c of children.filter((x) => x.cachedFrom === undefined)) assert.equal(c.workers?.latency, 'host-b', 'host-a took no phone job after its phone went away');
      assert.ok(b.lines.some((l) => l.includes(`took ${lostJob}`)));
      // host-a advertises no phone now; a new phone of the model plugged into its adb server is picked up by the rescan.
      assert.deepEqual(ads().find((w) => w.id === 'host-a')?.latency, []);
      await a.stop();
      const c = s.add(await startWorker(redis.url, 'host-c', [...phoneArgs('all').slice(0, -2), '--devices', 'all', '--rescan-seconds', '1'], env));
      const fresh = s.add(await startLoopbackDevice());
      await connectDevice(adb, fresh);
      await c.waitFor(new RegExp(`serving Loopback 8: .*${fresh.serial.replace(/[.]/g, '\\.')}`), 60_000);
      for (let i = 0; i < 100 && !ads().find((w) => w.id === 'host-c')?.devices.some((d) => d.serial === fresh.serial); i++) await new Promise((r) => setTimeout(r, 200));
      assert.ok(ads().find((w) => w.id === 'host-c')?.devices.some((d) => d.serial === fresh.serial), 'the new phone is advertised');
    } finally {
      await s.close();
    }
  });

  test('Redis killed and restarted (no persistence) mid-run: the run pauses, re-enqueues what was lost, completes', { timeout: 600_000 }, async () => {
    const s = scope();
    try {
      const redis: RedisHandle = s.add(await startRedis());
      const w = s.add(await startWorker(redis.url, 'w', ['--concurrency', '1', '--devices', 'none', '--lock-seconds', '3'], env));
      const dir = dirFor('restart');
      const file = writeSearch(dir, { children: 4, batch: 4, train: 1000 });
      const warnings: string[] = [];
      let killed = false;
      let restarted: Promise<void> | undefined;
      const res = await runSearch({
        file, out: dir, cacheDir, evaluator: queueEvaluator({ url: redis.url, reconcileMs: 500 }),
        onEvent: (e) => {
          if (e.event === 'warning') warnings.push(e.message);
          if (e.event === 'child' && !killed) {
            killed = true;
            // Down for 3 s, then back empty: the rest of the batch must be re-enqueued.
            restarted = redis.kill().then(() => new Promise((r) => setTimeout(r, 3000))).then(() => redis.start());
          }
        },
      });
      await restarted;
      assert.ok(killed);
      assert.equal(res.status, 'done');
      const { children, failed } = journalOf(res.dir);
      assert.deepEqual(failed, []);
      assert.deepEqual(children.map((c) => c.id).sort(), [0, 1, 2, 3]);
      assert.ok(warnings.some((m) => /no longer in Redis .*enqueued again/.test(m)), warnings.join('\n'));
      assert.ok(w.lines.length > 0);
    } finally {
      await s.close();
    }
  });

  test('a job that fails on every attempt is recorded as failed with its error, after its attempts, and the run goes on', { timeout: 600_000 }, async () => {
    const s = scope();
    try {
      const redis = s.add(await startRedis());
      // Weights cannot be written under /proc: every training attempt fails in the PyTorch worker.
      const w = s.add(await startWorker(redis.url, 'w', ['--concurrency', '1', '--devices', 'none', '--work', '/proc/mnas-cannot-write'], env));
      const dir = dirFor('fail');
      const file = writeSearch(dir, { children: 2, batch: 2 });
      const res = await runSearch({ file, out: dir, cacheDir, evaluator: queueEvaluator({ url: redis.url, attempts: 2 }) });
      assert.equal(res.status, 'done');
      const { children, failed } = journalOf(res.dir);
      assert.equal(children.length, 0);
      assert.deepEqual(failed.map((f) => f.id).sort(), [0, 1]);
      for (const f of failed) assert.match(f.error, /^training: .*mnas-cannot-write.*\(after 2 attempts on the queue\)$/s);
      const run = runQueueId(res.dir);
      for (const id of [0, 1]) assert.equal(takes([w]).get(`${run}.${id}.train`)?.length, 2, 'tried twice, not forever');
    } finally {
      await s.close();
    }
  });

  test('TLS with a private CA and a password: worker and controller over rediss://, the password never printed', { timeout: 600_000, skip: opensslMissing() }, async () => {
    const s = scope();
    try {
      const certs = makeCerts(dirFor('certs'));
      const password = 'queue-secret-7f3a';
      const redis = s.add(await startRedis({ tls: certs, password }));
      assert.match(redis.url, /^rediss:/);
      // No password: a clear refusal that names the server, not a hang.
      const refused = spawnSync(process.execPath, [CLI, 'worker', '--redis', redis.url, '--redis-tls-ca', certs.ca, '--devices', 'none'], { env, encoding: 'utf8', timeout: 60_000 });
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, new RegExp(`cannot reach Redis at rediss://127\\.0\\.0\\.1:${redis.port}: .*(NOAUTH|Authentication required)`));
      // Without the CA: the certificate is not trusted, and the message says which flag fixes it.
      const untrusted = spawnSync(process.execPath, [CLI, 'worker', '--redis', redis.url, '--devices', 'none'], { env: { ...env, MNAS_REDIS_PASSWORD: password }, encoding: 'utf8', timeout: 60_000 });
      assert.notEqual(untrusted.status, 0);
      assert.match(untrusted.stderr, /certificate.*pass the CA with --redis-tls-ca FILE/);
      // The worker takes the password from the environment, the controller from the URL.
      const w = s.add(await startWorker(redis.url, 'tls-w', ['--concurrency', '1', '--devices', 'none', '--redis-tls-ca', certs.ca], { ...env, MNAS_REDIS_PASSWORD: password }));
      const dir = dirFor('tls');
      const file = writeSearch(dir, { children: 2, batch: 2 });
      const url = redis.url.replace('rediss://', `rediss://:${password}@`);
      // A wrong password: a clear error, and no empty run folder left behind (nothing to resume).
      const badRuns = path.join(dir, 'bad-password-runs');
      await assert.rejects(runSearch({ file, out: badRuns, cacheDir, evaluator: queueEvaluator({ url: redis.url.replace('rediss://', 'rediss://:not-the-password@'), tlsCa: certs.ca }) }), /password/);
      assert.deepEqual(fs.existsSync(badRuns) ? fs.readdirSync(badRuns) : [], [], 'the failed start removed its run folder');
      const events: SearchEvent[] = [];
      const res = await runSearch({ file, out: dir, cacheDir, evaluator: queueEvaluator({ url, tlsCa: certs.ca }), onEvent: (e) => events.push(e) });
      assert.equal(res.status, 'done');
      assert.equal(journalOf(res.dir).children.length, 2);
      const info = fs.readFileSync(path.join(res.dir, 'run.json'), 'utf8');
      assert.match(info, /"trainer": "queue rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+"/);
      for (const text of [info, JSON.stringify(events), w.lines.join('\n'), refused.stderr + refused.stdout, untrusted.stderr + untrusted.stdout]) assert.ok(!text.includes(password), 'the password is never printed or stored');
    } finally {
      await s.close();
    }
  });

  test('stopping a queued search returns at once; --resume collects the jobs it left in the queue', { timeout: 600_000 }, async () => {
    const s = scope();
    try {
      const redis = s.add(await startRedis());
      const dir = dirFor('stop');
      const file = writeSearch(dir, { children: 2, batch: 2 });
      // No worker yet: the jobs wait. Stop after the first batch is enqueued.
      const stop = new AbortController();
      let started = '';
      const t0 = Date.now();
      const first = await runSearch({
        file, out: dir, cacheDir, evaluator: queueEvaluator({ url: redis.url }), signal: stop.signal,
        onEvent: (e) => { if (e.event === 'start') { started = e.run; setTimeout(() => stop.abort(), 1500); } },
      });
      assert.equal(first.status, 'stopped');
      assert.ok(Date.now() - t0 < 60_000, 'the stop did not wait for the jobs');
      assert.equal(journalOf(started).children.length, 0);
      const run = runQueueId(started);
      const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
      const train = new Queue('train', { connection, prefix: 'mnas' });
      try {
        assert.ok(await train.getJob(`${run}.0.train`), 'the jobs stay in Redis');
      } finally {
        await train.close();
      }
      const w = s.add(await startWorker(redis.url, 'late', ['--concurrency', '1', '--devices', 'none'], env));
      const res = await runSearch({ resume: started, cacheDir, evaluator: queueEvaluator({ url: redis.url }) });
      assert.equal(res.status, 'done');
      assert.deepEqual(journalOf(started).children.map((c) => c.id).sort(), [0, 1]);
      for (const [id, by] of takes([w])) assert.equal(by.length, 1, `${id} taken once`);
    } finally {
      await s.close();
    }
  });

  test('a child trained on a worker is journaled before its latency: a stop keeps it, --resume only times it', { timeout: 600_000 }, async () => {
    const s = scope();
    try {
      const redis = s.add(await startRedis());
      // This worker trains and never times: the latency jobs wait for a timing worker.
      const trainer = s.add(await startWorker(redis.url, 'trainer', ['--concurrency', '1', '--devices', 'none', '--no-local-latency'], env));
      const dir = dirFor('trained');
      const file = writeSearch(dir, { children: 1, batch: 1 });
      const stop = new AbortController();
      const events: SearchEvent[] = [];
      // Stop when the controller has the training (its 'trained' event), or 30 s after the worker
      // finished it if that event never comes (as before queue runs journaled trainings).
      const watch = setInterval(() => {
        if (!trainer.lines.some((l) => /trained \S+\.0\.train/.test(l))) return;
        clearInterval(watch);
        setTimeout(() => stop.abort(), 30_000);
      }, 200);
      s.onClose(() => { clearInterval(watch); stop.abort(); });
      const first = await runSearch({
        file, out: dir, cacheDir, evaluator: queueEvaluator({ url: redis.url }), signal: stop.signal,
        onEvent: (e) => { events.push(e); if (e.event === 'trained') stop.abort(); },
      });
      clearInterval(watch);
      assert.equal(first.status, 'stopped');
      const run = first.dir;
      const entries = readJournal<{ type: string; id: number; worker?: string; train?: { weightsPath: string } }>(path.join(run, 'journal.jsonl')).entries;
      const trained = entries.filter((e) => e.type === 'trained');
      assert.deepEqual(trained.map((e) => e.id), [0], `the training journaled: ${JSON.stringify(entries.map((e) => e.type))}`);
      for (const t of trained) {
        assert.equal(t.worker, 'trainer');
        assert.equal(t.train!.weightsPath, path.join(run, 'children', String(t.id), 'weights.pt'), 'the weights are in the run folder already');
        assert.ok(fs.existsSync(t.train!.weightsPath));
      }
      assert.equal(journalOf(run).children.length, 0, 'no latency yet');
      assert.deepEqual(events.filter((e) => e.event === 'trained').map((e) => (e as { id: number }).id), [0]);
      assert.deepEqual(events.filter((e) => e.event === 'stopping').map((e) => (e as { timing: number[] }).timing), [[0]], 'the stop says child 0 was trained, its latency not measured');
      const done = events.find((e) => e.event === 'done') as Extract<SearchEvent, { event: 'done' }>;
      assert.deepEqual({ train: done.resume!.train, time: done.resume!.time }, { train: [], time: [0] }, done.resume!.note);

      const tookBefore = takes([trainer]).size;
      const timer = s.add(await startWorker(redis.url, 'timer', ['--concurrency', '0', '--devices', 'none'], env));
      const res = await runSearch({ resume: run, cacheDir, evaluator: queueEvaluator({ url: redis.url }) });
      assert.equal(res.status, 'done');
      const children = journalOf(run).children;
      assert.deepEqual(children.map((c) => [c.id, c.workers?.train, c.workers?.latency]), [[0, 'trainer', 'timer']]);
      assert.ok(children.every((c) => c.weights === `children/${c.id}/weights.pt`));
      assert.equal(takes([trainer]).size, tookBefore, 'nothing trained again');
      for (const [id, by] of takes([trainer, timer])) assert.equal(by.length, 1, `${id} taken once`);
    } finally {
      await s.close();
    }
  });

  test('a controller with no worker yet says what it waits for', { timeout: 60_000 }, async () => {
    const s = scope();
    try {
      const redis = s.add(await startRedis());
      const warnings: string[] = [];
      const ev = await QueueEvaluator.start({ url: redis.url, run: 'r', latency: { kind: 'adb', serial: 'PHONE1' }, onWarning: (m) => warnings.push(m) });
      try {
        assert.match(warnings.join('\n'), /no worker trains children on redis:\/\/127\.0\.0\.1:\d+ yet: start `mnas worker --redis URL`/);
      } finally {
        await ev.close();
      }
    } finally {
      await s.close();
    }
  });

  test('a payload that fails validation is rejected at once, never run, never retried', { timeout: 120_000 }, async () => {
    const s = scope();
    try {
      const redis = s.add(await startRedis());
      const w = s.add(await startWorker(redis.url, 'w', ['--concurrency', '1', '--devices', 'none'], env));
      const queue = new Queue('train', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null }, prefix: 'mnas' });
      try {
        const job = await queue.add('train', { v: 1, run: 'evil', child: 0, outDir: '/etc', python: '/bin/sh', arch: { name: 'x' } }, { jobId: 'evil.0.train', attempts: 3 });
        let state = '';
        for (let i = 0; i < 200 && state !== 'failed'; i++) {
          await new Promise((r) => setTimeout(r, 100));
          state = await job.getState();
        }
        assert.equal(state, 'failed');
        const done = (await Job.fromId(queue, 'evil.0.train'))!;
        assert.equal(done.attemptsMade, 1, 'an invalid payload is not retried');
        assert.match(done.failedReason, /^rejected: training job: .*outDir is not allowed/);
        assert.match(done.failedReason, /python is not allowed/);
        assert.ok(!w.lines.some((l) => /trained/.test(l)));
      } finally {
        await queue.close();
      }
    } finally {
      await s.close();
    }
  });

  test('controller killed mid-batch: --resume collects what the workers finished meanwhile, trains nothing twice', { timeout: 600_000 }, async () => {
    const s = scope();
    try {
      const redis = s.add(await startRedis());
      const w = s.add(await startWorker(redis.url, 'w', ['--concurrency', '1', '--devices', 'none'], env));
      const dir = dirFor('resume');
      const file = writeSearch(dir, { children: 4, batch: 4, train: 1000 });
      // The controller as a real process, killed -9 after its first child.
      const child = spawn(process.execPath, [CLI, 'search', file, '--out', dir, '--queue', redis.url, '--events', 'ndjson'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let runDir = '';
      const killedAfter = new Promise<void>((resolve) => {
        readline.createInterface({ input: child.stdout! }).on('line', (line) => {
          const e = JSON.parse(line) as SearchEvent;
          if (e.event === 'start') runDir = e.run;
          if (e.event === 'child') { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } resolve(); }
        });
      });
      await killedAfter;
      // The worker goes on with the batch while no controller is running: wait until it is idle.
      const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
      const queues = ['train', 'latency-local'].map((name) => new Queue(name, { connection, prefix: 'mnas' }));
      try {
        for (let busy = 1; busy > 0;) {
          await new Promise((r) => setTimeout(r, 500));
          busy = 0;
          for (const q of queues) busy += Object.values(await q.getJobCounts('wait', 'active', 'delayed', 'prioritized')).reduce((a, b) => a + b, 0);
        }
      } finally {
        await Promise.all(queues.map((q) => q.close()));
      }
      const before = journalOf(runDir).children.length;
      assert.ok(before >= 1 && before < 4, `killed mid-batch (${before} journaled)`);
      const res = await runSearch({ resume: runDir, cacheDir, evaluator: queueEvaluator({ url: redis.url }) });
      assert.equal(res.status, 'done');
      const { children } = journalOf(runDir);
      assert.deepEqual(children.map((c) => c.id).sort(), [0, 1, 2, 3]);
      for (const [id, by] of takes([w])) assert.equal(by.length, 1, `${id} taken once`);
    } finally {
      await s.close();
    }
  });
});
