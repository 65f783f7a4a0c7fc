// The distributed evaluation mode's pure parts, without Redis or Python: the job payload
// schemas (what a worker accepts from the queue), the Redis URL handling, queue / job / run
// names, the worker's dataset-folder check, and `mnas worker`'s flag parsing.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { UnrecoverableError } from 'bullmq';
import { analyze, diskHost, type ModelEntry } from '../../server/src/analysis/analysis';
import type { Arch } from '../../server/src/language/arch';
import { costOf } from '../../server/src/cost/model';
import {
  checkFullTrainJob, checkFullTrainResult, type FullTrainJobData, checkLatencyJob, checkLatencyResult, checkTrainJob, checkTrainResult, type LatencyJobData, MAX_MULT_ADDS, PAYLOAD_VERSION, PayloadError,
  type TrainJobData,
} from '../../server/src/queue/payload';
import { DEFAULT_PREFIX, prefixOf, QueueConfigError, redactUrl, redisOptions, resolveUrl } from '../../server/src/queue/connection';
import { jobId, latencyQueue, runQueueId } from '../../server/src/queue/topology';
import { checkDataRoot } from '../../server/src/queue/worker';
import { workerOptions } from '../../server/src/cli/worker';
import { CliError } from '../../server/src/cli/load';
import { fullRecipe } from '../../server/src/final/recipe';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-queue-unit-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function models(file: string): ModelEntry[] {
  const abs = path.resolve('examples', file);
  const a = analyze(abs, fs.readFileSync(abs, 'utf8'), diskHost);
  const ms = [...a.local.values()].filter((e): e is ModelEntry => e.kind === 'model');
  assert.ok(ms.length > 0, `${file} has a model`);
  return ms;
}

/** MnasNet-A1 as the project's own loader builds it. */
const A1: Arch = models('mnasnet-a1.mnas')[0]!.arch;

/** A fresh deep copy, so each test can break its own job. */
function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

function trainJob(): TrainJobData {
  return clone({
    v: PAYLOAD_VERSION, run: 'quickstart-0a1b2c3d', child: 7, arch: A1,
    dataset: { name: 'mnist', train: 1000, test: 200, seed: 3, resolution: 28, channels: 1 },
    expect: { shape: [1, 28, 28], classes: 10 },
    recipe: {
      epochs: 1, batchSize: 64, lr: 0.01, optimizer: 'adam', momentum: 0.9, weightDecay: 0, bnMomentum: 0.1, labelSmoothing: 0,
      schedule: 'constant', bnRecalibrationBatches: 10, lossEvery: 5, evalBatchSize: 256,
    },
    seed: 300_016,
  } satisfies TrainJobData);
}

function latencyJob(): LatencyJobData {
  return clone({ v: PAYLOAD_VERSION, run: 'quickstart-0a1b2c3d', child: 7, arch: A1, target: { kind: 'adb', model: 'Pixel 4' } } satisfies LatencyJobData);
}

/** f throws a PayloadError whose message names the field (a regex on the message). */
function rejected(f: () => unknown, field: RegExp, what = field.source): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof PayloadError, `${what}: expected a PayloadError, got ${String(e)}`);
    assert.match(e.message, field, what);
    return true;
  });
}

/** Mutates a copy of the valid training job and expects checkTrainJob to reject it naming `field`. */
function trainRejects(mutate: (j: Record<string, unknown> & TrainJobData) => void, field: RegExp): void {
  const j = trainJob() as Record<string, unknown> & TrainJobData;
  mutate(j);
  rejected(() => checkTrainJob(j), field);
}

describe('payload: training jobs', () => {
  test('a job built from a real Arch passes, before and after the JSON round trip of the queue', () => {
    const j = trainJob();
    assert.equal(checkTrainJob(j), j);
    assert.doesNotThrow(() => checkTrainJob(clone(j)));
    // The loader's own object (not a JSON copy) passes too.
    assert.doesNotThrow(() => checkTrainJob({ ...j, arch: A1 }));
    // And a folder dataset with its path.
    assert.doesNotThrow(() => checkTrainJob({ ...j, dataset: { name: 'folder', path: '/data/images', train: 10, test: 5, seed: 1 } }));
    assert.doesNotThrow(() => checkTrainJob({ ...j, dataset: { name: 'idx', path: '/data/mnist', train: 10, test: 5, seed: 1 } }));
    assert.doesNotThrow(() => checkTrainJob({ ...j, dataset: { name: 'fashion-mnist', train: 4000, test: 1000, seed: 1 } }));
  });

  test('every example model passes as a latency job', () => {
    for (const file of fs.readdirSync('examples').filter((f) => f.endsWith('.mnas'))) {
      const abs = path.resolve('examples', file);
      const a = analyze(abs, fs.readFileSync(abs, 'utf8'), diskHost);
      for (const m of [...a.local.values()].filter((e): e is ModelEntry => e.kind === 'model')) {
        assert.doesNotThrow(() => checkLatencyJob({ ...latencyJob(), arch: m.arch }), `${file}: ${m.arch.name}`);
      }
    }
  });

  test('an unknown op is rejected, naming arch.blocks[i].op', () => {
    trainRejects((j) => { (j.arch.blocks[2] as { op: string }).op = 'rm -rf /'; }, /arch\.blocks\[2\]\.op/);
  });

  test('a worker takes nothing but the architecture: extra fields are rejected by name', () => {
    trainRejects((j) => { j.outDir = '/etc'; }, /\boutDir is not allowed/);
    trainRejects((j) => { j.python = '/bin/sh'; }, /\bpython is not allowed/);
    trainRejects((j) => { (j.arch as unknown as Record<string, unknown>).weights = '/etc/passwd'; }, /arch\.weights is not allowed/);
    trainRejects((j) => { (j.dataset as unknown as Record<string, unknown>).cacheDir = '/etc'; }, /dataset\.cacheDir is not allowed/);
    trainRejects((j) => { (j.recipe as unknown as Record<string, unknown>).script = 'import os'; }, /recipe\.script is not allowed/);
    rejected(() => checkLatencyJob({ ...latencyJob(), binary: '/tmp/evil' }), /\bbinary is not allowed/);
  });

  test('run ids that are not a plain name are rejected', () => {
    for (const run of ['a/b', '../x', 'run:1', '', 'a b', 'x'.repeat(161)]) {
      trainRejects((j) => { j.run = run; }, /\brun\b/);
    }
  });

  test("run ids '..' and '.' are rejected (the worker joins the run id into its output path)", () => {
    trainRejects((j) => { j.run = '..'; }, /\brun\b/);
    trainRejects((j) => { j.run = '.'; }, /\brun\b/);
  });

  test('kernels: negative, fractional and huge are rejected', () => {
    trainRejects((j) => { j.arch.blocks[0]!.k = -3; }, /arch\.blocks\[0\]\.k must be >= 1/);
    trainRejects((j) => { j.arch.blocks[0]!.k = 3.5; }, /arch\.blocks\[0\]\.k must be integer/);
    trainRejects((j) => { j.arch.blocks[0]!.k = 1e9; }, /arch\.blocks\[0\]\.k must be <= 31/);
    trainRejects((j) => { j.arch.stem!.k = 0; }, /arch\.stem\.k/);
  });

  test('child, version, dataset and seed are checked', () => {
    trainRejects((j) => { j.child = 1.5; }, /\bchild must be integer/);
    trainRejects((j) => { j.child = -1; }, /\bchild must be >= 0/);
    trainRejects((j) => { j.child = '7' as unknown as number; }, /\bchild must be integer/);
    trainRejects((j) => { (j as { v: number }).v = 2; }, /\bv must be equal to constant/);
    trainRejects((j) => { delete (j as Partial<TrainJobData>).v; }, /\bv\b/);
    trainRejects((j) => { (j.dataset as { name: string }).name = 'imagenet'; }, /dataset\.name must be equal to one of the allowed values/);
    trainRejects((j) => { j.dataset = { name: 'folder', train: 10, test: 5, seed: 1 }; }, /dataset\.path is missing/);
    trainRejects((j) => { j.dataset = { name: 'cifar10', train: 10, test: 5, seed: 1 }; }, /dataset\.path is missing/);
    trainRejects((j) => { j.dataset = { name: 'folder', path: '', train: 10, test: 5, seed: 1 }; }, /dataset\.path/);
    // idx reads a folder (so it is held to the worker's --data folders); fashion-mnist and mnist read nothing a job names.
    trainRejects((j) => { j.dataset = { name: 'idx', train: 10, test: 5, seed: 1 }; }, /dataset\.path is missing \(idx reads files\)/);
    trainRejects((j) => { j.dataset = { name: 'fashion-mnist', path: '/etc', train: 10, test: 5, seed: 1 }; }, /dataset\.path is given but fashion-mnist takes no path \(only folder, cifar10, idx do\)/);
    trainRejects((j) => { j.dataset = { name: 'mnist', path: '/etc', train: 10, test: 5, seed: 1 }; }, /mnist takes no path/);
    trainRejects((j) => { j.dataset.resolution = 100_000; }, /dataset\.resolution/);
    trainRejects((j) => { j.recipe.epochs = 0; }, /recipe\.epochs/);
    trainRejects((j) => { (j.recipe as { optimizer: string }).optimizer = 'lbfgs'; }, /recipe\.optimizer/);
    trainRejects((j) => { j.expect.shape = [1, 28] as unknown as [number, number, number]; }, /expect\.shape/);
  });

  test('every bad field is named in one message', () => {
    trainRejects((j) => { j.child = -1; j.arch.blocks[1]!.k = 2.5; j.outDir = '/etc'; }, /child.*arch\.blocks\[1\]\.k|arch\.blocks\[1\]\.k.*child/);
    trainRejects((j) => { j.child = -1; j.arch.blocks[1]!.k = 2.5; j.outDir = '/etc'; }, /outDir/);
  });

  test('an arch within the schema limits but over MAX_MULT_ADDS is rejected', () => {
    const huge: Arch = {
      name: 'huge', input: { h: 8192, w: 8192, c: 3 }, stem: null,
      blocks: [{ name: 'b', op: 'conv', e: 1, k: 3, s: 1, f: 65_536, x: 1, se: 0, skip: 'none', act: 'relu' }],
      head: null,
    };
    assert.ok(costOf(huge).multAdds > MAX_MULT_ADDS, 'the fixture really is over the limit');
    trainRejects((j) => { j.arch = huge; }, /arch has \d.* mult-adds, over the worker limit/);
    rejected(() => checkLatencyJob({ ...latencyJob(), arch: huge }), /mult-adds/);
  });
});

describe('payload: latency jobs and results', () => {
  test('local and adb targets pass; an unknown kind or an adb target without a model do not', () => {
    assert.doesNotThrow(() => checkLatencyJob(latencyJob()));
    assert.doesNotThrow(() => checkLatencyJob({ ...latencyJob(), target: { kind: 'local' } }));
    rejected(() => checkLatencyJob({ ...latencyJob(), target: { kind: 'ssh', host: 'x' } }), /target\.kind/);
    rejected(() => checkLatencyJob({ ...latencyJob(), target: { kind: 'adb' } }), /target\.model/);
    rejected(() => checkLatencyJob({ ...latencyJob(), target: { kind: 'adb', model: '' } }), /target\.model/);
    rejected(() => checkLatencyJob({ ...latencyJob(), target: { kind: 'local', cmd: 'sh' } }), /target\.cmd is not allowed/);
  });

  const trainResult = () => ({
    accuracy: 0.93, worker: 'gpu1-123', host: 'gpu1',
    train: { trainSeconds: 12.5, evalSeconds: 1.2, imagesPerSecond: 800, params: 12345, weightsPath: '/w/weights.pt', loss: [2.3, null, 0.4], diverged: false, threads: 4 },
  });
  const latencyResult = () => ({
    worker: 'lab-7', host: 'lab',
    latency: { ms: 12.3, median: 12.3, min: 11.9, max: 13.1, spread: 0.05, repeats: 50, source: 'adb Pixel 4 on lab' },
  });

  test('valid results pass', () => {
    assert.doesNotThrow(() => checkTrainResult(trainResult()));
    assert.doesNotThrow(() => checkLatencyResult(latencyResult()));
  });

  test('accuracy outside [0, 1] and missing fields are rejected by name', () => {
    rejected(() => checkTrainResult({ ...trainResult(), accuracy: 1.5 }), /accuracy must be <= 1/);
    rejected(() => checkTrainResult({ ...trainResult(), accuracy: -0.1 }), /accuracy must be >= 0/);
    rejected(() => checkTrainResult({ ...trainResult(), accuracy: '0.9' }), /accuracy/);
    const { train: _t, ...noTrain } = trainResult();
    rejected(() => checkTrainResult(noTrain), /\btrain\b/);
    const r = trainResult();
    delete (r.train as Partial<typeof r.train>).weightsPath;
    rejected(() => checkTrainResult(r), /train\.weightsPath/);
    const { worker: _w, ...noWorker } = trainResult();
    rejected(() => checkTrainResult(noWorker), /\bworker\b/);
    rejected(() => checkTrainResult(null), /training result/);
  });

  test('latency results: missing or negative ms, missing latency are rejected', () => {
    const l = latencyResult();
    delete (l.latency as Partial<typeof l.latency>).ms;
    rejected(() => checkLatencyResult(l), /latency\.ms/);
    rejected(() => checkLatencyResult({ ...latencyResult(), latency: { ...latencyResult().latency, ms: -1 } }), /latency\.ms/);
    const { latency: _l, ...noLatency } = latencyResult();
    rejected(() => checkLatencyResult(noLatency), /\blatency\b/);
    const { host: _h, ...noHost } = latencyResult();
    rejected(() => checkLatencyResult(noHost), /\bhost\b/);
  });
});

describe('connection', () => {
  test('redactUrl hides the password and leaves passwordless URLs alone', () => {
    const r = redactUrl('redis://user:secret@h:1/0');
    assert.doesNotMatch(r, /secret/);
    assert.match(r, /^redis:\/\/user:\*\*\*@h:1\/0$/);
    assert.doesNotMatch(redactUrl('rediss://:s3cr3t@cache.internal:6380'), /s3cr3t/);
    assert.equal(redactUrl('redis://h:6379'), 'redis://h:6379');
    assert.equal(redactUrl('redis://h:6379/2'), 'redis://h:6379/2');
    assert.equal(redactUrl('rediss://user@h:6380/1'), 'rediss://user@h:6380/1');
  });

  test('a password with a raw "/" is not printed, neither by redactUrl nor in the "not a URL" error', () => {
    const url = 'redis://user:pa/ss@h:1';
    assert.doesNotMatch(redactUrl(url), /pa\/ss|ss@/);
    assert.throws(() => redisOptions({ url }, {}), (e: Error) => e instanceof QueueConfigError && !/pa\/ss|ss@/.test(e.message));
  });

  test('redisOptions parses host, port, db, username and a URL-encoded password', () => {
    const o = redisOptions({ url: 'redis://alice:p%40ss%3Aw%2F1@cache.internal:6390/3' }, {});
    assert.equal(o.host, 'cache.internal');
    assert.equal(o.port, 6390);
    assert.equal(o.db, 3);
    assert.equal(o.username, 'alice');
    assert.equal(o.password, 'p@ss:w/1');
    assert.equal(o.tls, undefined);
    const d = redisOptions({ url: 'redis://localhost' }, {});
    assert.deepEqual([d.host, d.port, d.db, d.username, d.password], ['localhost', 6379, 0, undefined, undefined]);
    assert.equal(redisOptions({ url: 'redis://[::1]:7000' }, {}).host, '::1');
  });

  test('BullMQ needs maxRetriesPerRequest null; retries back off and are capped', () => {
    const o = redisOptions({ url: 'redis://h' }, {});
    assert.equal(o.maxRetriesPerRequest, null);
    const retry = o.retryStrategy!;
    assert.ok((retry(1) as number) > 0);
    assert.ok((retry(3) as number) >= (retry(1) as number));
    assert.equal(retry(1000), 2000);
  });

  test('the password comes from MNAS_REDIS_PASSWORD when the URL has none; the URL wins otherwise', () => {
    assert.equal(redisOptions({ url: 'redis://h:1' }, { MNAS_REDIS_PASSWORD: 'from-env' }).password, 'from-env');
    assert.equal(redisOptions({ url: 'redis://bob@h:1' }, { MNAS_REDIS_PASSWORD: 'from-env' }).password, 'from-env');
    assert.equal(redisOptions({ url: 'redis://:inurl@h:1' }, { MNAS_REDIS_PASSWORD: 'from-env' }).password, 'inurl');
    assert.equal(redisOptions({ url: 'redis://h:1' }, { MNAS_REDIS_PASSWORD: '' }).password, undefined);
    // The env argument is what is read, not process.env.
    const saved = process.env.MNAS_REDIS_PASSWORD;
    process.env.MNAS_REDIS_PASSWORD = 'process-env';
    try {
      assert.equal(redisOptions({ url: 'redis://h:1' }, {}).password, undefined);
    } finally {
      if (saved === undefined) delete process.env.MNAS_REDIS_PASSWORD;
      else process.env.MNAS_REDIS_PASSWORD = saved;
    }
  });

  test('a literal "%" in the password is a config error or taken literally, never a raw URIError', () => {
    let o;
    try {
      o = redisOptions({ url: 'redis://:100%@h:1' }, {});
    } catch (e) {
      assert.ok(e instanceof QueueConfigError, `got ${(e as Error).name}: ${(e as Error).message}`);
      assert.doesNotMatch((e as Error).message, /100%/);
      return;
    }
    assert.equal(o.password, '100%');
  });

  test('TLS: rediss:// sets tls with the host as servername; redis:// does not', () => {
    const s = redisOptions({ url: 'rediss://cache.internal:6380' }, {});
    assert.ok(s.tls);
    assert.equal(s.tls.servername, 'cache.internal');
    assert.equal(s.port, 6380);
    assert.equal(redisOptions({ url: 'redis://cache.internal:6380' }, {}).tls, undefined);
    // SNI carries host names only: no servername for an address.
    assert.equal(redisOptions({ url: 'rediss://10.0.0.5:6380' }, {}).tls?.servername, undefined);
  });

  test('--redis-tls-ca is read from its file; a missing file names the flag and the file', () => {
    const ca = path.join(tmp, 'ca.pem');
    fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const o = redisOptions({ url: 'rediss://h:6380', tlsCa: ca }, {});
    assert.ok(o.tls);
    assert.deepEqual(o.tls.ca, fs.readFileSync(ca));
    const missing = path.join(tmp, 'no-such-ca.pem');
    assert.throws(() => redisOptions({ url: 'rediss://h:6380', tlsCa: missing }, {}), (e: Error) => {
      assert.ok(e instanceof QueueConfigError);
      assert.ok(e.message.includes('--redis-tls-ca'), e.message);
      assert.ok(e.message.includes(missing), e.message);
      return true;
    });
    assert.throws(() => redisOptions({ url: 'rediss://h:6380', tlsKey: missing }, {}), /--redis-tls-key/);
  });

  test('wrong schemes and database paths are rejected, saying what to write', () => {
    assert.throws(() => redisOptions({ url: 'http://h:6379' }, {}), (e: Error) => {
      assert.ok(e instanceof QueueConfigError);
      assert.match(e.message, /redis:\/\//);
      assert.match(e.message, /rediss:\/\//);
      assert.match(e.message, /http:/);
      return true;
    });
    assert.throws(() => redisOptions({ url: 'redis://h:6379/abc' }, {}), (e: Error) => {
      assert.ok(e instanceof QueueConfigError);
      assert.match(e.message, /database number/);
      assert.match(e.message, /\/0\b/);
      assert.match(e.message, /\/abc/);
      return true;
    });
    assert.throws(() => redisOptions({ url: 'h:6379' }, {}), QueueConfigError);
    assert.throws(() => redisOptions({ url: 'not a url' }, {}), (e: Error) => e instanceof QueueConfigError && /redis:\/\/HOST:6379/.test(e.message));
    // The password does not leak into these errors.
    assert.throws(() => redisOptions({ url: 'http://u:topsecret@h:6379' }, {}), (e: Error) => !e.message.includes('topsecret'));
    assert.throws(() => redisOptions({ url: 'redis://u:topsecret@h:6379/x' }, {}), (e: Error) => !e.message.includes('topsecret'));
  });

  test('resolveUrl: settings, then MNAS_REDIS_URL, else an error saying what to pass', () => {
    assert.equal(resolveUrl({ url: 'redis://a' }, { MNAS_REDIS_URL: 'redis://b' }), 'redis://a');
    assert.equal(resolveUrl({}, { MNAS_REDIS_URL: 'redis://b' }), 'redis://b');
    assert.throws(() => resolveUrl({}, {}), (e: Error) => {
      assert.ok(e instanceof QueueConfigError);
      assert.match(e.message, /--redis/);
      assert.match(e.message, /MNAS_REDIS_URL/);
      return true;
    });
    assert.throws(() => redisOptions({}, {}), QueueConfigError);
  });

  test('prefixOf: default, plain names; rejects ":" and spaces', () => {
    assert.equal(prefixOf({}), DEFAULT_PREFIX);
    assert.equal(prefixOf({ prefix: 'team-a.run_2' }), 'team-a.run_2');
    for (const bad of ['a:b', 'a b', '', 'x'.repeat(65), '{mnas}']) {
      assert.throws(() => prefixOf({ prefix: bad }), (e: Error) => e instanceof QueueConfigError && /--queue-prefix/.test(e.message), bad);
    }
  });
});

describe('topology', () => {
  test('latency queue names: no ":", and "Pixel 4" and "Pixel_4" stay apart', () => {
    const a = latencyQueue({ kind: 'adb', model: 'Pixel 4' });
    const b = latencyQueue({ kind: 'adb', model: 'Pixel_4' });
    const c = latencyQueue({ kind: 'adb', model: 'vendor:model/x' });
    const l = latencyQueue({ kind: 'local' });
    for (const q of [a, b, c, l]) assert.doesNotMatch(q, /:/, q);
    assert.notEqual(a, b);
    assert.equal(a, latencyQueue({ kind: 'adb', model: 'Pixel 4' }), 'stable');
    assert.notEqual(a, l);
    assert.equal(new Set([a, b, c, l]).size, 4);
  });

  test('job ids: no ":", never an integer string, one per run, child and kind', () => {
    const ids = [jobId('quick-1a2b3c4d', 0, 'train'), jobId('quick-1a2b3c4d', 0, 'latency'), jobId('quick-1a2b3c4d', 1, 'train'), jobId('other-00000000', 0, 'train'), jobId('7', 3, 'train')];
    for (const id of ids) {
      assert.doesNotMatch(id, /:/, id);
      assert.doesNotMatch(id, /^\d+$/, id);
    }
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(jobId('r', 5, 'train'), jobId('r', 5, 'train'), 'stable: re-submission is a no-op');
  });

  test('run ids: stable per folder, distinct for folders with the same name, safe characters only', () => {
    const a = path.join(tmp, 'one', 'run');
    const b = path.join(tmp, 'two', 'run');
    assert.equal(runQueueId(a), runQueueId(a));
    assert.equal(runQueueId(a), runQueueId(a + path.sep), 'a trailing separator is the same folder');
    assert.equal(runQueueId(path.relative(process.cwd(), a)), runQueueId(a), 'relative and absolute');
    assert.notEqual(runQueueId(a), runQueueId(b));
    for (const dir of [a, path.join(tmp, 'my run: 2024/10/01 #3'), path.join(tmp, 'a b:c'), path.join(tmp, 'ünïcødé'), '/']) {
      const id = runQueueId(dir);
      assert.match(id, /^[A-Za-z0-9._-]+$/, id);
      assert.ok(id.length <= 160, id);
      // A run id is accepted by the payload schema.
      assert.doesNotThrow(() => checkLatencyJob({ ...latencyJob(), run: id }), id);
    }
    assert.notEqual(runQueueId(path.join(tmp, 'a b')), runQueueId(path.join(tmp, 'a:b')));
  });
});

describe('checkDataRoot', () => {
  const root = path.join(tmp, 'roots', 'data');
  const outside = path.join(tmp, 'roots', 'secret');
  fs.mkdirSync(path.join(root, 'images', 'cats'), { recursive: true });
  fs.mkdirSync(path.join(root, '..hidden'), { recursive: true });
  fs.mkdirSync(outside, { recursive: true });
  fs.mkdirSync(path.join(tmp, 'roots', 'data2'), { recursive: true });
  fs.symlinkSync(outside, path.join(root, 'link'));
  const rootLink = path.join(tmp, 'roots', 'data-link');
  fs.symlinkSync(root, rootLink);

  const req = (p: string) => ({ name: 'folder' as const, path: p, train: 10, test: 5, seed: 0 });
  const refused = (p: string, roots = [root]) => assert.throws(() => checkDataRoot(req(p), roots), (e: Error) => {
    assert.ok(e instanceof UnrecoverableError, `${p}: ${e.constructor.name}`);
    assert.match(e.message, /--data/);
    return true;
  }, p);

  test('accepts the root itself and folders inside it', () => {
    assert.doesNotThrow(() => checkDataRoot(req(root), [root]));
    assert.doesNotThrow(() => checkDataRoot(req(path.join(root, 'images')), [root]));
    assert.doesNotThrow(() => checkDataRoot(req(path.join(root, 'images', 'cats')), [outside, root]));
    assert.doesNotThrow(() => checkDataRoot(req(root + path.sep), [root]));
    // A root given through a symlink, and a path through it.
    assert.doesNotThrow(() => checkDataRoot(req(path.join(root, 'images')), [rootLink]));
    assert.doesNotThrow(() => checkDataRoot(req(path.join(rootLink, 'images')), [root]));
  });

  test('an idx folder is held to the same rule', () => {
    const idx = (p: string) => ({ name: 'idx' as const, path: p, train: 10, test: 5, seed: 0 });
    assert.doesNotThrow(() => checkDataRoot(idx(path.join(root, 'images')), [root]));
    assert.throws(() => checkDataRoot(idx(outside), [root]), (e: Error) => e instanceof UnrecoverableError && /not under this worker's data folders/.test(e.message));
  });

  test('refuses siblings, ".." escapes, symlinks out of the root, and everything without roots', () => {
    refused(path.join(tmp, 'roots', 'data2'));
    refused(outside);
    refused(path.join(root, '..', 'secret'));
    refused(`${root}/images/../../secret`);
    refused(path.join(root, 'link'));
    refused(path.join(root, 'images'), []);
    refused('/etc');
  });

  test('a folder inside the root whose name starts with ".." is accepted', () => {
    assert.doesNotThrow(() => checkDataRoot(req(path.join(root, '..hidden')), [root]));
  });

  test('a path through a symlink out of the root is refused even when its last part does not exist', () => {
    refused(path.join(root, 'link', 'not-yet'));
  });
});

describe('cli: workerOptions', () => {
  const base = { redis: 'redis://127.0.0.1:6379', queuePrefix: 'mnas' };

  test('--devices: all (default), none, serials; a mix is an error', () => {
    assert.equal(workerOptions({ ...base }).devices, 'all');
    assert.equal(workerOptions({ ...base, devices: [] }).devices, 'all');
    assert.equal(workerOptions({ ...base, devices: ['all'] }).devices, 'all');
    assert.equal(workerOptions({ ...base, devices: ['none'] }).devices, 'none');
    assert.deepEqual(workerOptions({ ...base, devices: ['R58M123', 'emulator-5554'] }).devices, ['R58M123', 'emulator-5554']);
    for (const mix of [['all', 'R58M123'], ['R58M123', 'none'], ['all', 'none']]) {
      assert.throws(() => workerOptions({ ...base, devices: mix }), (e: Error) => e instanceof CliError && /--devices/.test(e.message), mix.join(' '));
    }
  });

  test('--concurrency 0 means latency only; negative or fractional counts are rejected', () => {
    assert.equal(workerOptions({ ...base, concurrency: '0' }).concurrency, 0);
    assert.equal(workerOptions({ ...base, concurrency: '3' }).concurrency, 3);
    assert.equal(workerOptions({ ...base }).concurrency, undefined);
    for (const bad of ['-1', '1.5', 'two']) {
      assert.throws(() => workerOptions({ ...base, concurrency: bad }), (e: Error) => e instanceof CliError && /--concurrency/.test(e.message) && e.message.includes(bad), bad);
    }
    assert.throws(() => workerOptions({ ...base, threads: '0' }), (e: Error) => e instanceof CliError && /--threads/.test(e.message));
  });

  test('--stand-in-training takes the mean child time in seconds; off unless given', () => {
    assert.equal(workerOptions({ ...base, standInTraining: '1.5' }).standInSeconds, 1.5);
    assert.equal('standInSeconds' in workerOptions({ ...base }), false);
    for (const bad of ['0', '-2', 'fast', '100000']) {
      assert.throws(() => workerOptions({ ...base, standInTraining: bad }), (e: Error) => e instanceof CliError && /--stand-in-training/.test(e.message) && e.message.includes(bad), bad);
    }
  });

  test('--lock-seconds becomes lockMs', () => {
    assert.equal(workerOptions({ ...base, lockSeconds: '30' }).lockMs, 30_000);
    assert.equal(workerOptions({ ...base, lockSeconds: '5' }).lockMs, 5000);
    assert.equal(workerOptions({ ...base }).lockMs, undefined);
    assert.throws(() => workerOptions({ ...base, lockSeconds: '0' }), (e: Error) => e instanceof CliError && /--lock-seconds/.test(e.message));
  });

  test('--no-local-latency turns local timing off; it is on otherwise', () => {
    assert.equal(workerOptions({ ...base, localLatency: false }).localLatency, false);
    assert.equal(workerOptions({ ...base, localLatency: true }).localLatency, true);
    assert.equal(workerOptions({ ...base }).localLatency, true);
  });

  test('Redis settings, data roots and backend pass through; bad ones are CLI errors', () => {
    const o = workerOptions({ ...base, data: ['/srv/data', '/mnt/images'], work: '/tmp/w', id: 'w1', backend: 'torch' });
    assert.equal(o.url, base.redis);
    assert.equal(o.prefix, 'mnas');
    assert.deepEqual(o.dataRoots, ['/srv/data', '/mnt/images']);
    assert.equal(o.workDir, '/tmp/w');
    assert.equal(o.id, 'w1');
    assert.equal(o.backend, 'torch');
    assert.throws(() => workerOptions({ ...base, backend: 'cuda' }), (e: Error) => e instanceof CliError && /--backend/.test(e.message));
    assert.throws(() => workerOptions({ ...base, queuePrefix: 'a:b' }), (e: Error) => e instanceof CliError && /--queue-prefix/.test(e.message));
    assert.throws(() => workerOptions({ ...base, redis: 'http://h:6379' }), CliError);
    assert.throws(() => workerOptions({ ...base, redis: 'rediss://h:6380', redisTlsCa: path.join(tmp, 'missing.pem') }), (e: Error) => e instanceof CliError && /--redis-tls-ca/.test(e.message));
  });
});

describe('payload: full-training jobs (mnas train --queue)', () => {
  const job = (): FullTrainJobData => clone({
    v: PAYLOAD_VERSION, run: 'quickstart-0a1b2c3d', child: 1_000_000_000, arch: A1,
    dataset: { name: 'fashion-mnist', train: 60_000, test: 10_000, seed: 1 }, expect: { shape: [1, 28, 28], classes: 10 },
    recipe: fullRecipe({ name: 'fashion-mnist', shape: [1, 28, 28], train: 60_000 }, { epochs: 20 }), seed: 1,
  } satisfies FullTrainJobData);

  test('the recipe the controller sends passes, before and after the JSON round trip', () => {
    assert.doesNotThrow(() => checkFullTrainJob(job()));
    assert.doesNotThrow(() => checkFullTrainJob(clone(job())));
  });

  test('a proxy recipe, an extra field, a recipe out of range or a path on a built-in dataset is refused, naming the field', () => {
    rejected(() => checkFullTrainJob({ ...job(), recipe: trainJob().recipe }), /recipe\.optimizer is not allowed/);
    rejected(() => checkFullTrainJob({ ...job(), outDir: '/etc' }), /outDir is not allowed/);
    rejected(() => checkFullTrainJob({ ...job(), recipe: { ...job().recipe, valFraction: 0.9 } }), /recipe\.valFraction must be <= 0\.5/);
    rejected(() => checkFullTrainJob({ ...job(), recipe: { ...job().recipe, flip: 'yes' } }), /recipe\.flip must be boolean/);
    rejected(() => checkFullTrainJob({ ...job(), dataset: { ...job().dataset, path: '/etc' } }), /dataset\.path is given but fashion-mnist takes no path/);
    rejected(() => checkFullTrainJob({ ...job(), arch: { ...A1, blocks: [{ ...A1.blocks[0], f: 0 }] } }), /arch\.blocks\[0\]\.f/);
  });

  test('a result naming a file outside the full-training artifacts is refused', () => {
    const result = {
      accuracy: 0.9, lastAccuracy: 0.89, valAccuracy: 0.9, bestEpoch: 3, bestSource: 'ema', steps: 10, trainImages: 9, valImages: 1, testImages: 5,
      trainSeconds: 1, evalSeconds: 1, params: 100, resumedFrom: 0, threads: 1,
      epochs: [{ epoch: 1, loss: 1, trainAccuracy: 0.5, valAccuracy: 0.5, valAccuracyEma: null, lr: 0.1, seconds: 1 }],
    };
    assert.doesNotThrow(() => checkFullTrainResult({ result, worker: 'w', host: 'h', artifacts: ['weights-full.pt', 'arch-full.json'] }));
    rejected(() => checkFullTrainResult({ result, worker: 'w', host: 'h', artifacts: ['../../.bashrc'] }), /artifacts\[0\] must be equal to one of the allowed values/);
    rejected(() => checkFullTrainResult({ result: { ...result, accuracy: 2 }, worker: 'w', host: 'h' }), /result\.accuracy must be <= 1/);
  });
});
