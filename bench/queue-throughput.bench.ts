// What the queue costs: children per hour of one small real search (random strategy, so the
// tfjs controller stays out of it) with the local pool and with one `mnas worker` process on this
// machine behind the Redis queue; and the queue's own cost per job, from a no-op BullMQ round trip
// with the options QueueEvaluator uses, and as an estimate inside the real runs (queue with 1
// worker minus the local pool). More workers on one 2-core machine only share its cores: how the
// queue scales with workers is bench/queue-scale.bench.ts (stand-in training, up to 64 workers).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Job, Queue, QueueEvents, Worker } from 'bullmq';
import { toArch } from '../server/src/language/arch';
import { decisions as spaceDecisions, sample } from '../server/src/language/space';
import { redisOptions } from '../server/src/queue/connection';
import { queueEvaluator } from '../server/src/queue/queueEvaluator';
import { runSearch, type SearchOptions, type SearchResult } from '../server/src/search/engine';
import { LocalEvaluator } from '../server/src/search/evaluator';
import { Rng } from '../server/src/util/rng';
import { loadSearch } from '../server/src/search/searchInput';
import { redisMissing, startRedis, startWorker, type RedisHandle, type WorkerProcess, writeSearch } from '../test/fixtures/queue/harness';
import { type BenchResult, type Metric, report, round, summarize } from './lib/result';
import { LoadSampler, loadavg, mean, median, pythonFacts, runsDir, useBenchCache } from './lib/search';

const BENCH = 'queue-throughput';
const CHILDREN = 16;
/** Controller batch: the children evaluated at once (then the engine waits for the batch). */
const BATCH = 4;
const TRAIN = 2000;
const EPOCHS = 1;
const SEED = 1;
/** Worker counts on the queue: one (more would share this machine's cores; see queue-scale). */
const WORKERS = [1];
/** Passes over the configurations, alternately in forward and reverse order (load drift evens out). */
const PASSES = 4;
/** No-op BullMQ round trips: warm-ups, then measured ones, one at a time. */
const RT_WARMUPS = 20;
const RT_JOBS = 200;
/** As in QueueEvaluator.add. */
const KEEP_SECONDS = 7 * 24 * 3600;
const JOB_OPTIONS = { attempts: 2, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: { age: KEEP_SECONDS }, removeOnFail: { age: KEEP_SECONDS } };
/** As in QueueWorker.listen (default --lock-seconds 30). */
const WORKER_OPTIONS = { lockDuration: 30_000, stalledInterval: 30_000, maxStalledCount: 1, concurrency: 1 };

// writeSearch's space (k x e of one block) has 4 architectures, so 16 children would be mostly
// cache hits; this widens it to 144 (seed 1 draws 16 distinct ones) so every child is trained.
const SPACE_FROM = 'block b1 { k [3, 5]  e [3, 6] }';
const SPACE_TO = 'block b1 { op [sepconv, mbconv]  e [3, 6]  k [3, 5, 7]  se [0, 0.25]  f * [0.75, 1.0, 1.5]  x + [0, 1] }';

interface Measured {
  label: string;
  workers: number;
  pass: number;
  wallMs: number;
  /** Children recorded (successful) and failed: both were evaluated. */
  children: number;
  failed: string[];
  /** Successful children that were trained (not cache hits), and their summed trainSeconds. */
  trained: number;
  trainSeconds: number;
  load1: number;
  byWorker: Record<string, number>;
  latencyBy: Record<string, number>;
  warmupFailed: string[];
  /** Mean bytes per child of the files in the run folder's children/<id>/ (weights.pt, arch.json). */
  childBytes: number;
  startMs?: number;
}

function searchFile(dir: string): string {
  const file = writeSearch(dir, { train: TRAIN, epochs: EPOCHS, children: CHILDREN, batch: BATCH, latency: 'local' });
  const text = fs.readFileSync(file, 'utf8');
  if (text.split(SPACE_FROM).length !== 2) throw new Error(`${file}: expected the space line "${SPACE_FROM}" once (test/fixtures/queue/harness.ts changed?)`);
  fs.writeFileSync(file, text.replace(SPACE_FROM, SPACE_TO));
  return file;
}

/**
 * One timed search after a warm-up search on the same evaluator or workers. Failed children
 * are recorded, not thrown: the queue can fail a child on its own (see the notes).
 */
async function measure(label: string, workers: number, pass: number, file: string, out: string, cacheDir: string, how: Pick<SearchOptions, 'evaluator'>): Promise<Measured> {
  const base: SearchOptions = { file, strategy: 'random', seed: SEED, cacheDir, ...how };
  // Warm-up: one child per training process (first torch step, dataset load; the latency
  // process of a queue worker opens on its first job), in a run of its own.
  const warm = await runSearch({ ...base, out: path.join(out, 'warmup'), budget: Math.max(1, workers) });
  const load1 = loadavg()[0];
  const t0 = performance.now();
  const res: SearchResult = await runSearch({ ...base, out: path.join(out, 'timed') });
  const wallMs = performance.now() - t0;
  const trained = res.children.filter((c) => c.cachedFrom === undefined);
  const count = (xs: (string | undefined)[]) => xs.reduce<Record<string, number>>((a, k) => { const key = k ?? 'local'; a[key] = (a[key] ?? 0) + 1; return a; }, {});
  const m: Measured = {
    label, workers, pass, wallMs, children: res.children.length, failed: res.failed.map((f) => `child ${f.id}: ${f.error}`),
    trained: trained.length, trainSeconds: trained.reduce((a, c) => a + c.trainSeconds, 0), load1,
    byWorker: count(trained.map((c) => c.workers?.train)), latencyBy: count(trained.map((c) => c.workers?.latency)),
    warmupFailed: warm.failed.map((f) => `child ${f.id}: ${f.error}`),
    childBytes: mean(trained.map((c) => {
      const dir = path.join(res.dir, 'children', String(c.id));
      return fs.existsSync(dir) ? fs.readdirSync(dir).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0) : 0;
    })),
  };
  console.log(`  ${label} (pass ${pass}): ${m.children} children + ${m.failed.length} failed in ${(wallMs / 1000).toFixed(1)} s, load1 ${load1}` +
    `${m.failed.length ? ` (${m.failed.join('; ')})` : ''}${m.warmupFailed.length ? `; warm-up failed: ${m.warmupFailed.join('; ')}` : ''}`);
  return m;
}

/** The local pool with its default settings (1 PyTorch worker per 2 cores, local latency). */
async function measureLocal(pass: number, file: string, out: string, cacheDir: string): Promise<Measured> {
  const local = await LocalEvaluator.start({ latency: { kind: 'local' } });
  try {
    return await measure('local', 1, pass, file, out, cacheDir, { evaluator: local });
  } finally {
    await local.close();
  }
}

/** N `mnas worker --concurrency 1` processes; only the first serves `latency local`. */
async function measureQueue(n: number, pass: number, url: string, file: string, out: string, cacheDir: string): Promise<Measured> {
  const workers: WorkerProcess[] = [];
  try {
    const s0 = performance.now();
    const started = await Promise.allSettled(Array.from({ length: n }, (_, i) => startWorker(url, `bench-p${pass}-w${i + 1}`, [
      '--concurrency', '1', '--devices', 'none', '--work', path.join(out, 'worker-weights'), ...(i === 0 ? [] : ['--no-local-latency']),
    ])));
    for (const s of started) if (s.status === 'fulfilled') workers.push(s.value);
    const bad = started.find((s) => s.status === 'rejected');
    if (bad) throw (bad as PromiseRejectedResult).reason;
    const startMs = performance.now() - s0;
    return { ...(await measure(`queue-${n}`, n, pass, file, out, cacheDir, { evaluator: queueEvaluator({ url }) })), startMs };
  } finally {
    await Promise.all(workers.map((w) => w.stop().catch(() => w.kill9())));
  }
}

interface RoundTrips {
  total: number[];
  pickup: number[];
  back: number[];
  payloadBytes: number;
  /** Settles that found a completed job without its return value (a child would fail): should be 0. */
  completedWithoutResult: number;
}

/**
 * No-op jobs one at a time through Queue -> Worker -> QueueEvents, settled as QueueEvaluator
 * settles them: on the `completed` event (and once right after add), getJobState, then
 * Job.fromId once the state is final.
 * pickup = add() called to the processor running; back = the processor returning to the
 * state read as completed. Worker and controller share this process (one clock).
 */
async function roundTrips(url: string, data: unknown): Promise<RoundTrips> {
  const connection = redisOptions({ url });
  const prefix = 'mnas-bench';
  const name = 'roundtrip';
  const queue = new Queue(name, { connection, prefix });
  const events = new QueueEvents(name, { connection, prefix });
  queue.on('error', () => undefined);
  events.on('error', () => undefined);
  let taken = 0;
  let finished = 0;
  const worker = new Worker(name, async () => {
    taken = performance.now();
    finished = performance.now();
    return { ok: true };
  }, { connection, prefix, ...WORKER_OPTIONS });
  worker.on('error', () => undefined);
  const waiting = new Map<string, (t: number) => void>();
  const out: RoundTrips = { total: [], pickup: [], back: [], payloadBytes: JSON.stringify(data).length, completedWithoutResult: 0 };
  const settle = async (id: string) => {
    const done = waiting.get(id);
    if (!done) return;
    if ((await queue.getJobState(id)) !== 'completed') return;
    const job = await Job.fromId(queue, id);
    if (!job || !waiting.delete(id)) return;
    // Read in the other order (job, then state) a job finishing in between had no return value
    // yet, and its child failed; counted as a check that this order cannot.
    if (job.returnvalue == null) out.completedWithoutResult++;
    done(performance.now());
  };
  events.on('completed', ({ jobId }) => void settle(jobId).catch(() => undefined));
  try {
    await Promise.all([events.waitUntilReady(), worker.waitUntilReady(), queue.waitUntilReady()]);
    for (let i = 0; i < RT_WARMUPS + RT_JOBS; i++) {
      const id = `rt.${i}`;
      const seen = new Promise<number>((resolve, reject) => {
        waiting.set(id, resolve);
        setTimeout(() => reject(new Error(`no-op job ${id} not completed within 30 s`)), 30_000).unref();
      });
      const t0 = performance.now();
      await queue.add('noop', data, { jobId: id, ...JOB_OPTIONS });
      void settle(id).catch(() => undefined);
      const t1 = await seen;
      if (i >= RT_WARMUPS) {
        out.total.push(t1 - t0);
        out.pickup.push(taken - t0);
        out.back.push(t1 - finished);
      }
    }
  } finally {
    await worker.close().catch(() => undefined);
    await events.close().catch(() => undefined);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close().catch(() => undefined);
  }
  return out;
}

/** A train-job-sized payload: the first child of the benchmark's space as an Arch. */
function payload(file: string): unknown {
  const { space } = loadSearch(file);
  const rng = new Rng(SEED);
  const actions = spaceDecisions(space).map((d) => rng.int(d.options));
  return { v: 1, run: 'roundtrip', child: 0, arch: toArch(sample(space, actions, 'rt')), seed: SEED };
}

/** Configurations (0 = the local pool) in the order of odd passes; even passes run them in reverse. */
const CONFIGS = [0, ...WORKERS];

export async function run(): Promise<BenchResult> {
  const missing = redisMissing();
  if (missing) return { benchmark: BENCH, skipped: missing };
  const cacheDir = useBenchCache();
  const out = runsDir(BENCH);
  const file = searchFile(out);
  const load0 = loadavg();
  const sampler = new LoadSampler();
  const t0 = performance.now();
  let redis: RedisHandle | undefined;
  const runs: Measured[] = [];
  let rt: RoundTrips;
  try {
    redis = await startRedis();
    rt = await roundTrips(redis.url, payload(file));
    for (let pass = 1; pass <= PASSES; pass++) {
      for (const n of pass % 2 ? CONFIGS : [...CONFIGS].reverse()) {
        const dir = path.join(out, `pass${pass}`, n ? `queue-${n}` : 'local');
        runs.push(n ? await measureQueue(n, pass, redis.url, file, dir, cacheDir) : await measureLocal(pass, file, dir, cacheDir));
      }
    }
  } finally {
    await redis?.stop();
  }
  const load = sampler.stop();
  const wallS = (performance.now() - t0) / 1000;

  /** Children evaluated per hour in one timed search (failed children count: they were evaluated). */
  const perHour = (m: Measured) => (3600_000 * (m.children + m.failed.length)) / m.wallMs;
  const perChild = (m: Measured) => m.wallMs / (m.children + m.failed.length);
  /** Wall time per child not spent in training (1 trainer: training is serial in local and queue-1). */
  const nonTrain = (m: Measured) => (m.wallMs - 1000 * m.trainSeconds) / m.children;
  const of = (n: number) => runs.filter((m) => m.label === (n ? `queue-${n}` : 'local')).sort((a, b) => a.pass - b.pass);
  const configs = CONFIGS.map((n) => ({ n, name: n === 0 ? 'local_pool' : `queue_${n}_worker${n === 1 ? '' : 's'}`, runs: of(n) }));
  const rate = (n: number) => median(of(n).map(perHour));
  // Paired per pass: local and queue-1 run back to back in every pass.
  const pairs = of(0).map((l) => ({ l, q: of(1).find((x) => x.pass === l.pass)! }));
  const clean = pairs.filter(({ l, q }) => l.failed.length === 0 && q.failed.length === 0);
  const tot = summarize(rt.total);
  const pick = summarize(rt.pickup);
  const back = summarize(rt.back);
  const failures = runs.flatMap((m) => [...m.failed, ...m.warmupFailed.map((f) => `warm-up ${f}`)].map((f) => `${m.label} pass ${m.pass} ${f}`));
  const metrics: Metric[] = [
    ...configs.map((c) => report(`${c.name}_children_per_hour`, rate(c.n), 'children/h')),
    ...configs.map((c) => report(`${c.name}_children_per_hour_best`, Math.max(...c.runs.map(perHour)), 'children/h')),
    report('queue_1_worker_over_local_pool', rate(1) / rate(0), 'ratio'),
    report('noop_job_round_trip_median', tot.median, 'ms'),
    report('noop_job_round_trip_p95', tot.p95, 'ms'),
    report('noop_job_round_trip_min', tot.min, 'ms'),
    report('noop_job_enqueue_to_taken_median', pick.median, 'ms'),
    report('noop_job_enqueue_to_taken_p95', pick.p95, 'ms'),
    report('noop_job_done_to_result_median', back.median, 'ms'),
    report('noop_job_done_to_result_p95', back.p95, 'ms'),
    report('noop_round_trips_share_of_child', (100 * 2 * tot.median) / median(of(1).map(perChild)), '%'),
    report('in_search_overhead_estimate_per_child', median(pairs.map(({ l, q }) => perChild(q) - perChild(l))), 'ms'),
    // A failed child's trainSeconds are unknown: only passes without failures.
    ...(clean.length ? [report('in_search_overhead_estimate_per_child_excl_training', median(clean.map(({ l, q }) => nonTrain(q) - nonTrain(l))), 'ms')] : []),
    report('children_failed_by_the_queue', failures.length, 'count'),
    report(`noop_jobs_settled_without_result_of_${RT_WARMUPS + RT_JOBS}`, rt.completedWithoutResult, 'count'),
  ];
  const short = (id: string) => id.replace(/^bench-p\d+-/, '');
  const spread = (m: Measured) => Object.keys(m.byWorker).sort().map((k) => m.byWorker[k]).join('/');
  const perPass = configs.map((c) => `${c.name.replace(/_workers?$/, '')} ${c.runs.map((m) => `${perHour(m).toFixed(0)}${m.failed.length ? ` (${m.failed.length} failed)` : ''}`).join(', ')}` +
    (c.n > 1 ? ` (children per worker ${c.runs.map(spread).join(', ')})` : '')).join('; ');
  const latencyBy = [...new Set(runs.filter((m) => m.label !== 'local').flatMap((m) => Object.keys(m.latencyBy).map(short)))].join(', ');
  const startS = WORKERS.map((n) => {
    const xs = of(n).map((m) => (m.startMs ?? 0) / 1000);
    return `${n} worker${n === 1 ? '' : 's'} ${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)} s`;
  });
  return {
    benchmark: BENCH,
    metrics: metrics.map((m) => ({ ...m, value: round(m.value, m.unit === 'children/h' ? 1 : 3) })),
    machine: {
      ...pythonFacts(), load_start: load0.join(' '), load1_during: `${load.min}-${load.max} (median ${load.median})`,
    },
    notes: `runSearch, RANDOM strategy (no tfjs controller in the loop), seed ${SEED}, on test/fixtures/queue/harness.ts writeSearch (MNIST train ${TRAIN} / test 100, ` +
      `${EPOCHS} epoch, batch 32, latency local) with its one-block space widened to 144 architectures so the ${CHILDREN} children (controller batch ${BATCH}) are ` +
      `${CHILDREN} distinct ones, the same in every configuration, all trained. local_pool = LocalEvaluator defaults (1 PyTorch trainer x 2 threads on 2 cores, ` +
      `a 1-thread latency process); queue_N = N \`mnas worker --concurrency 1 --devices none\` (2 threads each by default) on this same machine, only the first ` +
      `serving latency local (the others --no-local-latency; every latency job was timed by ${latencyBy}), one local redis-server; trained files come back through Redis. ` +
      `Each configuration: a warm-up search of one child per trainer (not timed), then the timed search (wall time of runSearch; evaluator and worker start-up ` +
      `excluded: workers up in: ${startS.join(', ')}). ${PASSES} passes, alternately in forward and reverse order; children/h = median over passes, _best = best pass. ` +
      `Per pass (children/h): ${perPass}. ` +
      `One worker against the local pool on this 2-core machine measures the queue's overhead, not scaling (more workers here would only share the 2 cores); ` +
      `how throughput scales with workers is the queue-scale benchmark (stand-in training on the real queue, 1-64 workers). ` +
      `Queue cost per job: ${RT_WARMUPS} warm-ups + ${RT_JOBS} no-op jobs one at a time (bullmq Queue/Worker/QueueEvents, prefix mnas-bench, QueueEvaluator's job options, ` +
      `QueueWorker's lock settings, a ${rt.payloadBytes}-byte arch payload), settled as QueueEvaluator does (completed event, and once after add: getJobState, then ` +
      `Job.fromId); worker and controller in one process over loopback, so a network between machines adds its round trips. A child is 2 jobs (train and latency, in ` +
      `parallel), plus the trained files through Redis (${(mean(of(1).map((m) => m.childBytes)) / 1024).toFixed(0)} KB a child here; not in the no-op figure). ` +
      `in_search_overhead_estimate = wall per child of queue_1 minus local_pool, paired per pass (they run back to back), median: an ESTIMATE that also holds load ` +
      `noise and a structural difference (the queue times a child's latency beside its training, the local pool after it), so it can be negative; _excl_training ` +
      `subtracts each run's summed trainSeconds first (1 trainer: training is serial in both), removing load's effect on training itself. ` +
      `children_failed_by_the_queue: ${failures.length ? failures.join('; ') : 'none in this run'}. noop_jobs_settled_without_result: settles that found the job completed but without its return value (0 expected; with ` +
      `the job read before its state, as until commit cfcbeed, 61-62 of 220 no-op jobs did, and a child failed that way in an early run: see docs/benchmarks.md). ` +
      `Whole benchmark ${wallS.toFixed(0)} s; 1-min load average ${load.min}-${load.max}.`,
  };
}
