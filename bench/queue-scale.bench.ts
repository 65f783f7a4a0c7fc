// How far one controller scales: the real search engine (LSTM controller, PPO, journal) on the
// real Redis queue (redis-server, BullMQ) with 1 to 64 real `mnas worker` processes, where only
// the training is replaced: each worker runs with --stand-in-training, which waits a seeded time
// (lognormal around the child time, 5% stragglers at 3-5x) and returns an accuracy computed from
// the architecture. Latency comes from the pixel1-published device profile (computed in the
// controller, as `latency profile` always is). A sweep over 1-64 workers with short children
// (2 s) measures what one controller costs per child (CPU, Redis commands), extrapolated to 60 s
// children; the goal's figure is MEASURED: 64 workers with 20 s children, 20 per worker (1,280
// children), its share of the ideal over the whole run and in the steady state (slot busy time
// from each child's start and end on its worker, bench/lib/slotBusy.ts).
//
// Settings (environment; the defaults are what the committed result ran, about 20 minutes):
//   MNAS_SCALE_CHILD_SECONDS   the sweep's mean child time (2)
//   MNAS_SCALE_WORKERS         the sweep's worker counts (1,2,4,8,16,32,64); the long run uses the most
//   MNAS_SCALE_SWEEP=0         skip the sweep (the long run alone, e.g. to repeat it)
//   MNAS_SCALE_LONG_SECONDS    the long run's mean child time (20; 0 skips the long run)
//   MNAS_SCALE_LONG_PER_WORKER the long run's children per worker (20; about 10 minutes at 20 s)
//   MNAS_SCALE_PHONES=0        skip the phone farm
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { queueEvaluator } from '../server/src/queue/queueEvaluator';
import { runSearch, type SearchResult } from '../server/src/search/engine';
import type { ChildEvaluation, ChildJob, Evaluator } from '../server/src/search/evaluator';
import type { Arch } from '../server/src/language/arch';
import type { LatencyMeasurement } from '../server/src/util/timing';
import { STAND_IN, standInAccuracy } from '../server/src/train/standInTrainer';
import { Job, Queue } from 'bullmq';
import { prefixOf, redisOptions } from '../server/src/queue/connection';
import { TRAIN_QUEUE } from '../server/src/queue/topology';
import { type SlotInterval, steadyShare, busyShare } from './lib/slotBusy';
import { redisMissing, startRedis, startWorker, type RedisHandle, WIDE_SPACE, type WorkerProcess, writeSearch } from '../test/fixtures/queue/harness';
import { phoneOf, startPhoneFarm } from '../test/fixtures/queue/phoneFarm';
import { type BenchResult, type Metric, report, round } from './lib/result';
import { LoadSampler, loadavg, mean, ROOT, runsDir, useBenchCache } from './lib/search';
import { IMG } from './lib/searchQuality';

const BENCH = 'queue-scale';
/** Mean child time of the stand-in (scaled down from the paper's minutes). */
const CHILD_SECONDS = Number(process.env.MNAS_SCALE_CHILD_SECONDS ?? 2);
/** What the extrapolation is for: 60 s children. */
const TARGET_CHILD_SECONDS = 60;
const WORKERS = (process.env.MNAS_SCALE_WORKERS ?? '1,2,4,8,16,32,64').split(',').map(Number);
const SWEEP = process.env.MNAS_SCALE_SWEEP !== '0';
/** The measured run: overlap at the most workers with children this long (0: skip), this many per worker. */
const LONG_SECONDS = Number(process.env.MNAS_SCALE_LONG_SECONDS ?? 20);
const LONG_PER_WORKER = Number(process.env.MNAS_SCALE_LONG_PER_WORKER ?? 20);
const LONG_CHILDREN = LONG_PER_WORKER * Math.max(...WORKERS);
type Mode = 'sync' | 'overlap';
const MODES: Mode[] = ['sync', 'overlap'];
/**
 * Controller batch. Synchronous: at least the workers (docs/architecture.md: fewer leaves workers
 * idle by construction), its best case. Overlap: 8 at any worker count (the issue's case: 64 workers,
 * batch 8), the controller's worst case (an update and a checkpoint every 8 children).
 */
const batchOf = (mode: Mode, n: number) => (mode === 'sync' ? Math.max(8, n) : 8);
/** Children per run: 4 synchronous batches at 8+ workers. */
const childrenOf = (n: number) => Math.max(16, 4 * n);
const SEED = 1;

interface RedisCounters { calls: Record<string, number>; cpuS: number; total: number }

async function redisCounters(r: Redis): Promise<RedisCounters> {
  const stats = await r.info('commandstats');
  const calls: Record<string, number> = {};
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
  const cpu = await r.info('cpu');
  const get = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  return { calls, cpuS: get('used_cpu_user') + get('used_cpu_sys'), total: Object.values(calls).reduce((a, b) => a + b, 0) };
}

function diff(a: RedisCounters, b: RedisCounters): RedisCounters {
  const calls: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.calls)) if (v - (a.calls[k] ?? 0) > 0) calls[k] = v - (a.calls[k] ?? 0);
  // INFO itself is not the run's.
  delete calls.info;
  return { calls, cpuS: b.cpuS - a.cpuS, total: Object.values(calls).reduce((x, y) => x + y, 0) };
}

/** The paper's space on the MobileNetV2 skeleton, the paper's target, a published-latency profile. */
function searchFile(dir: string, n: number, mode: Mode, children = childrenOf(n)): string {
  const file = path.join(dir, `scale-${mode}-${n}-${children}.mnas`);
  const space = path.relative(dir, path.join(ROOT, 'examples', 'mnas-space.mnas')).split(path.sep).join('/');
  fs.writeFileSync(file, `// Written by bench/queue-scale.bench.ts
import "${space}"

search Scale {
  space MnasSpace
  target 75ms
  reward soft
  latency profile pixel1-published
  dataset mnist { train 500  test 100 }
  budget { children ${children}  epochs 1  batch 64 }
  controller { batch ${batchOf(mode, n)}  seed ${SEED}  overlap ${mode === 'overlap' ? 'on' : 'off'} }
}
`);
  return file;
}

interface Measured {
  mode: Mode;
  workers: number;
  batch: number;
  wallS: number;
  trained: number;
  cached: number;
  failed: number;
  /** Stand-in waits of the trained children, s. */
  childSeconds: number[];
  /** Mean stand-in child time the workers were started with. */
  childMean: number;
  /** This process (the controller) over the run, CPU ms. */
  cpuMs: number;
  split: SearchResult['cpuMs'];
  evaluationMs: number;
  redis: RedisCounters;
  /** Redis commands per second with the workers idle (heartbeats, blocking pops, stalled checks), before the run. */
  idleCallsPerS: number;
  load1: number;
  /** 1-min load average over the run. */
  loadRun: { min: number; median: number; max: number };
  steady: Steady;
}

/**
 * The steady state of a run, from the jobs' timestamps in Redis: window from the moment every
 * worker slot had a child to the controller's last submission, s from the run's start.
 */
interface Steady {
  fromS: number;
  toS: number;
  /** Stand-in wait time in the window over slots x window: the share of the ideal. */
  busy: number;
  /** Time a slot held a job (BullMQ processedOn to finishedOn) in the window over slots x window. */
  held: number;
  /** The controller's process over the window, share of one core. */
  controllerBusy: number;
}

/**
 * Each trained child's stand-in wait on its worker: BullMQ records when the worker took the job
 * (processedOn) and completed it (finishedOn), the job's creation (timestamp, the controller's
 * submission) and the result names the worker; the wait is the child's trainSeconds ending at
 * finishedOn (after the wait the worker only logs and returns the result: ms). One clock: all
 * processes run on this machine.
 */
async function steadyOf(url: string, res: SearchResult, workers: number, t0: number, cpu: [number, number][]): Promise<Steady> {
  const queue = new Queue(TRAIN_QUEUE, { connection: redisOptions({ url }), prefix: prefixOf({}) });
  try {
    const trained = res.children.filter((c) => c.cachedFrom === undefined && c.jobs?.train && c.workers?.train);
    const jobs = await Promise.all(trained.map((c) => Job.fromId(queue, c.jobs!.train)));
    const waits: SlotInterval[] = [];
    const held: SlotInterval[] = [];
    let lastSubmitted = -Infinity;
    trained.forEach((c, i) => {
      const j = jobs[i];
      if (!j?.finishedOn || !j.processedOn) throw new Error(`queue-scale: job ${c.jobs!.train} has no processedOn/finishedOn in Redis`);
      const slot = c.workers!.train;
      waits.push({ slot, start: (j.finishedOn - t0) / 1000 - c.trainSeconds, end: (j.finishedOn - t0) / 1000 });
      held.push({ slot, start: (j.processedOn - t0) / 1000, end: (j.finishedOn - t0) / 1000 });
      lastSubmitted = Math.max(lastSubmitted, (j.timestamp - t0) / 1000);
    });
    const s = steadyShare(waits, workers, lastSubmitted);
    // The controller's CPU over the window, from the samples nearest inside it.
    const inside = cpu.filter(([t]) => t >= s.from && t <= s.to);
    const controllerBusy = inside.length >= 2 ? (inside[inside.length - 1][1] - inside[0][1]) / 1000 / (inside[inside.length - 1][0] - inside[0][0]) : NaN;
    return { fromS: s.from, toS: s.to, busy: s.share, held: busyShare(held, workers, s.from, s.to), controllerBusy };
  } finally {
    await queue.close();
  }
}

const perHour = (m: Measured) => (3600 * m.trained) / m.wallS;
const idealPerHour = (m: Measured) => (3600 * m.workers) / mean(m.childSeconds);
/** Share of worker-slot time not spent on a child. */
const idleShare = (m: Measured) => 1 - m.childSeconds.reduce((a, b) => a + b, 0) / (m.workers * m.wallS);
const cpuPerChild = (m: Measured) => m.cpuMs / m.trained;
const redisPerChild = (m: Measured) => m.redis.total / m.trained;
const redisNetPerChild = (m: Measured) => Math.max(0, m.redis.total - m.idleCallsPerS * m.wallS) / m.trained;
const redisCpuPerChild = (m: Measured) => (1000 * m.redis.cpuS) / m.trained;

/** Share of one core the controller's process used over the run. */
const controllerBusy = (m: Measured) => m.cpuMs / 1000 / m.wallS;
/** Worker-slot time per child spent on no child, s: the queue's turnaround plus any wait for the controller. */
const slotGap = (m: Measured) => (m.workers * m.wallS - m.childSeconds.reduce((a, b) => a + b, 0)) / m.trained;

/**
 * EXTRAPOLATION (not measured) to children k times longer, k = 60 s / the run's mean: the fraction
 * of the ideal at 60 s children. Synchronous: the engine alternates between waiting for a batch and
 * computing (sample, update, journal), so the waits scale with k and the compute does not
 * (conservative: the queue's own latency inside the waits is scaled too). Overlap: every slot
 * loses the gap per child measured here (queue turnaround and waiting for a busy controller, which
 * is busier at 2 s children than it would be at 60 s: conservative), capped by what one controller
 * thread can serve (60 s / CPU per child, over the workers).
 */
function extrapolated(m: Measured, gapS = slotGap(m)): number {
  const t = mean(m.childSeconds);
  const k = TARGET_CHILD_SECONDS / t;
  if (m.mode === 'sync') {
    const wall = k * (m.evaluationMs / 1000) + (m.wallS - m.evaluationMs / 1000);
    return (m.trained * k * t) / (m.workers * wall);
  }
  const perChildCpuS = cpuPerChild(m) / 1000;
  return Math.min((k * t) / (k * t + gapS), (k * t) / (m.workers * perChildCpuS));
}

/**
 * Overlap at `target` workers with 60 s children, EXTRAPOLATED from the run whose controller load
 * (workers x CPU per child / child time) is closest to that: its slot gap per child.
 */
function matchedLoad(runs: Measured[], target: Measured): { pct: number; from: Measured } {
  const want = (target.workers * cpuPerChild(target)) / 1000 / TARGET_CHILD_SECONDS;
  const load = (m: Measured) => (m.workers * cpuPerChild(m)) / 1000 / mean(m.childSeconds);
  const from = runs.filter((m) => m.mode === 'overlap' && m.childMean === CHILD_SECONDS)
    .sort((a, b) => Math.abs(Math.log(load(a) / want)) - Math.abs(Math.log(load(b) / want)))[0];
  return { pct: 100 * extrapolated(target, slotGap(from)), from };
}

async function measure(mode: Mode, n: number, url: string, redis: Redis, dir: string, cacheDir: string, childMean = CHILD_SECONDS, children?: number): Promise<Measured> {
  const file = searchFile(dir, n, mode, children);
  // Idle background: what n idle workers cost Redis per second.
  const i0 = await redisCounters(redis);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 3000));
  const idle = diff(i0, await redisCounters(redis));
  const idleCallsPerS = idle.total / ((performance.now() - t0) / 1000);

  const load1 = loadavg()[0];
  const sampler = new LoadSampler();
  const r0 = await redisCounters(redis);
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const e0 = Date.now();
  // The controller's CPU once a second (s from the start, CPU ms): its busy share in the steady window.
  const cpu: [number, number][] = [];
  const cpuTimer = setInterval(() => { const u = process.cpuUsage(c0); cpu.push([(Date.now() - e0) / 1000, (u.user + u.system) / 1000]); }, 1000);
  let res: SearchResult;
  try {
    res = await runSearch({ file, out: path.join(dir, `${mode}-${n}-${childMean}s`), cacheDir, seed: SEED, evaluator: queueEvaluator({ url }) });
  } finally {
    clearInterval(cpuTimer);
  }
  const wallS = (performance.now() - w0) / 1000;
  const c = process.cpuUsage(c0);
  const loadRun = sampler.stop();
  const r1 = await redisCounters(redis);
  const trained = res.children.filter((x) => x.cachedFrom === undefined);
  const m: Measured = {
    mode, workers: n, batch: batchOf(mode, n), wallS, trained: trained.length, cached: res.children.length - trained.length, failed: res.failed.length,
    childSeconds: trained.map((x) => x.trainSeconds), childMean, cpuMs: (c.user + c.system) / 1000, split: res.cpuMs, evaluationMs: res.evaluationMs,
    redis: diff(r0, r1), idleCallsPerS, load1, loadRun, steady: await steadyOf(url, res, n, e0, cpu),
  };
  console.log(`  ${mode} ${n} workers: ${m.trained} children (${m.cached} cached, ${m.failed} failed) in ${wallS.toFixed(1)} s = ${perHour(m).toFixed(0)}/h, ` +
    `ideal ${idealPerHour(m).toFixed(0)}/h (${(100 * perHour(m) / idealPerHour(m)).toFixed(1)}%), steady ${(100 * m.steady.busy).toFixed(1)}% ` +
    `(${m.steady.fromS.toFixed(1)}-${m.steady.toS.toFixed(1)} s, controller ${(100 * m.steady.controllerBusy).toFixed(0)}%), idle ${(100 * idleShare(m)).toFixed(1)}%, ` +
    `controller ${cpuPerChild(m).toFixed(1)} ms CPU/child, redis ${redisPerChild(m).toFixed(1)} cmds/child (net ${redisNetPerChild(m).toFixed(1)}), load ${load1}`);
  return m;
}

/** Answers at once, in this process: the warm-up search that pays tfjs's one-off kernel set-up before anything is timed. */
class InstantEvaluator implements Evaluator {
  readonly backend = 'instant (warm-up)';
  async evaluate(job: ChildJob): Promise<ChildEvaluation> {
    return {
      accuracy: standInAccuracy(job.proxy), attempts: 1, latency: await this.measureLatency(job.full),
      train: { trainSeconds: 0, evalSeconds: 0, imagesPerSecond: 0, params: 0, weightsPath: '', loss: [], diverged: false, threads: 0 },
    };
  }
  measureLatency(_arch: Arch): Promise<LatencyMeasurement> {
    return Promise.resolve({ ms: 70, median: 70, min: 70, max: 70, spread: 0, repeats: 1, source: 'warm-up' });
  }
  close(): Promise<void> { return Promise.resolve(); }
}

const FARM = { hosts: 4, phonesPerHost: 2, inferenceMs: 20, children: 64, vanishOn: 4 };

interface FarmRun { wallS: number; children: number; failed: number; perPhone: number[][]; vanished: string; vanishedJobs: number; requeued: boolean }

/**
 * Phones at scale: 8 loopback phones of one model (real adb protocol, fixed timing) on 4 hosts (an
 * adb server and a `mnas worker` each, 2 stand-in training slots), one of them vanishing when its
 * 4th benchmark starts; a search of 64 children with `latency adb "Loopback 8"`.
 */
async function phoneFarm(url: string, dir: string, cacheDir: string): Promise<FarmRun> {
  const env = { ...process.env, MNAS_CACHE: path.dirname(cacheDir) };
  const farm = await startPhoneFarm(url, {
    hosts: FARM.hosts, phonesPerHost: FARM.phonesPerHost, inferenceMs: FARM.inferenceMs, vanish: { host: 1, phone: 0, onBenchmark: FARM.vanishOn }, trainSlots: 2, standInSeconds: 1, env,
  });
  try {
    const runDir = path.join(dir, 'phones');
    fs.mkdirSync(runDir, { recursive: true });
    const file = writeSearch(runDir, { children: FARM.children, batch: 8, latency: 'adb "Loopback 8"', space: WIDE_SPACE, overlap: true, train: 300 });
    const w0 = performance.now();
    const res = await runSearch({ file, out: runDir, cacheDir, evaluator: queueEvaluator({ url }) });
    const wallS = (performance.now() - w0) / 1000;
    const timed = res.children.filter((c) => c.cachedFrom === undefined);
    const perPhone = farm.hosts.map((h) => h.phones.map((p) => timed.filter((c) => phoneOf(c.latencySource) === p.serial).length));
    const vanished = farm.hosts[1].phones[0].serial;
    const lines = farm.hosts[1].worker.lines.join('\n');
    const r: FarmRun = { wallS, children: res.children.length, failed: res.failed.length, perPhone, vanished, vanishedJobs: perPhone[1][0], requeued: lines.includes(`requeue (${vanished}`) };
    console.log(`  phones: ${r.children} children, ${r.failed} failed in ${wallS.toFixed(1)} s; per phone ${JSON.stringify(perPhone)}; ${vanished} vanished, requeued ${r.requeued}`);
    return r;
  } finally {
    await farm.stop();
  }
}

async function plot(runs: Measured[], long?: Measured): Promise<void> {
  const values = runs.flatMap((m) => [
    { workers: m.workers, series: `measured, ${m.mode} batches (${CHILD_SECONDS} s children)`, perHour: perHour(m), pct: 100 * extrapolated(m), kind: 'measured' },
    { workers: m.workers, series: `ideal (workers / child time)`, perHour: idealPerHour(m), kind: 'ideal' },
  ]).filter((v, i, all) => all.findIndex((w) => w.series === v.series && w.workers === v.workers) === i);
  // The measured long run: points on the share panel only (its children per hour are on another time scale).
  const points = long ? [
    { workers: long.workers, label: `MEASURED at ${LONG_SECONDS} s, steady: ${(100 * long.steady.busy).toFixed(1)}%`, pct: 100 * long.steady.busy },
    { workers: long.workers, label: `MEASURED at ${LONG_SECONDS} s, whole run: ${(100 * (1 - idleShare(long))).toFixed(1)}%`, pct: 100 * (1 - idleShare(long)) },
  ] : [];
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values },
    hconcat: [
      {
        title: `Children per hour, ${CHILD_SECONDS} s stand-in children (real controller, Redis, workers)`,
        width: 360, height: 260,
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'workers', type: 'quantitative', scale: { type: 'log', base: 2 }, axis: { values: WORKERS }, title: 'workers (mnas worker processes)' },
          y: { field: 'perHour', type: 'quantitative', scale: { type: 'log' }, title: 'children per hour' },
          color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 500 } },
          strokeDash: { field: 'kind', type: 'nominal', legend: null },
        },
      },
      {
        title: { text: [`Share of the ideal: lines EXTRAPOLATED to ${TARGET_CHILD_SECONDS} s children`, ...(long ? [`black points MEASURED with ${LONG_SECONDS} s children`] : [])] },
        width: 300, height: 260,
        layer: [
          { transform: [{ filter: "datum.kind === 'measured'" }], mark: { type: 'line', point: true }, encoding: {
            x: { field: 'workers', type: 'quantitative', scale: { type: 'log', base: 2 }, axis: { values: WORKERS }, title: 'workers' },
            y: { field: 'pct', type: 'quantitative', scale: { domain: [0, 100] }, title: '% of ideal' },
            color: { field: 'series', type: 'nominal', legend: null },
          } },
          ...(points.length ? [
            { data: { values: points }, mark: { type: 'point' as const, filled: true, size: 70, color: 'black' }, encoding: { x: { field: 'workers', type: 'quantitative' as const }, y: { field: 'pct', type: 'quantitative' as const } } },
            {
              data: { values: points }, mark: { type: 'text' as const, align: 'right' as const, dx: -8, fontSize: 10 },
              encoding: { x: { field: 'workers', type: 'quantitative' as const }, y: { field: 'pct', type: 'quantitative' as const }, text: { field: 'label', type: 'nominal' as const } },
            },
          ] : []),
          { mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { y: { datum: 90 } } },
        ],
      },
    ],
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  fs.mkdirSync(IMG, { recursive: true });
  fs.writeFileSync(path.join(IMG, 'queue-scale.svg'), await view.toSVG());
  view.finalize();
}

export async function run(): Promise<BenchResult> {
  const missing = redisMissing();
  if (missing) return { benchmark: BENCH, skipped: missing };
  const cacheDir = useBenchCache();
  const dir = runsDir(BENCH);
  const load0 = loadavg();
  const sampler = new LoadSampler();
  const t0 = performance.now();
  let redisProc: RedisHandle | undefined;
  let client: Redis | undefined;
  const workers: WorkerProcess[] = [];
  const runs: Measured[] = [];
  const startS: Record<number, number> = {};
  let farm: FarmRun | undefined;
  let long: Measured | undefined;
  try {
    await runSearch({ file: searchFile(dir, 8, 'sync'), out: path.join(dir, 'warm-up'), cacheDir, seed: SEED, evaluator: new InstantEvaluator() });
    redisProc = await startRedis();
    client = new Redis(redisProc.url, { maxRetriesPerRequest: null });
    const env = { ...process.env, MNAS_CACHE: path.dirname(cacheDir) };
    const add = async (n: number, seconds: number) => {
      for (let i = workers.length; i < n; i += 8) {
        const ids = Array.from({ length: Math.min(8, n - i) }, (_, j) => `scale-${seconds}s-w${i + j + 1}`);
        const started = await Promise.allSettled(ids.map((id) => startWorker(redisProc!.url, id, [
          '--concurrency', '1', '--devices', 'none', '--no-local-latency', '--stand-in-training', String(seconds), '--work', path.join(dir, 'work'),
        ], env)));
        for (const st of started) if (st.status === 'fulfilled') workers.push(st.value);
        const bad = started.find((st) => st.status === 'rejected');
        if (bad) throw (bad as PromiseRejectedResult).reason;
      }
    };
    for (const n of SWEEP ? WORKERS : []) {
      // Workers are added, never restarted: n processes of one stand-in slot each.
      const s0 = performance.now();
      await add(n, CHILD_SECONDS);
      startS[n] = (performance.now() - s0) / 1000;
      for (const mode of MODES) runs.push(await measure(mode, n, redisProc.url, client, dir, cacheDir));
    }
    if (LONG_SECONDS > 0) {
      await Promise.all(workers.splice(0).map((w) => w.stop().catch(() => w.kill9())));
      await add(Math.max(...WORKERS), LONG_SECONDS);
      long = await measure('overlap', Math.max(...WORKERS), redisProc.url, client, dir, cacheDir, LONG_SECONDS, LONG_CHILDREN);
    }
    await Promise.all(workers.splice(0).map((w) => w.stop().catch(() => w.kill9())));
    if (process.env.MNAS_SCALE_PHONES !== '0') farm = await phoneFarm(redisProc.url, dir, cacheDir);
  } finally {
    await Promise.all(workers.map((w) => w.stop().catch(() => w.kill9())));
    client?.disconnect();
    await redisProc?.stop();
  }
  const load = sampler.stop();
  const wallS = (performance.now() - t0) / 1000;
  if (runs.length) await plot(runs, long);

  const metrics: Metric[] = [];
  const of = (mode: Mode, n: number) => runs.find((m) => m.mode === mode && m.workers === n);
  const top = Math.max(...WORKERS);
  if (long) {
    // The goal's figure, MEASURED, first (the 2 s sweep's extrapolations below it): the steady
    // state of 64 workers with long children (a window fixed in advance); the whole run beside it.
    const L = `overlap_${top}w_${LONG_SECONDS}s_children`;
    const steadyPct = 100 * long.steady.busy;
    metrics.push(
      { name: `${L}_pct_of_ideal_steady_measured`, value: round(steadyPct), unit: '%', goal: '>= 90', met: steadyPct >= 90 },
      report(`${L}_pct_of_ideal_whole_run_measured`, 100 * (1 - idleShare(long)), '%'),
      report(`${L}_slot_held_share_steady_measured`, 100 * long.steady.held, '%'),
      report(`${L}_steady_window_seconds`, long.steady.toS - long.steady.fromS, 's'),
      report(`${L}_count`, long.trained, 'count'),
      report(`${L}_per_hour`, perHour(long), 'children/h'),
      report(`${L}_ideal_per_hour`, idealPerHour(long), 'children/h'),
      report(`${L}_controller_busy_steady`, 100 * long.steady.controllerBusy, '%'),
      report(`${L}_controller_busy_whole_run`, 100 * controllerBusy(long), '%'),
      report(`${L}_controller_cpu_per_child`, cpuPerChild(long), 'ms'),
      report(`${L}_load1_median`, long.loadRun.median, 'load'),
    );
  }
  for (const n of WORKERS) {
    const ms = MODES.map((mode) => of(mode, n)).filter((m): m is Measured => !!m);
    metrics.push(report(`ideal_${n}w_children_per_hour`, mean(ms.map(idealPerHour)), 'children/h'));
    for (const m of ms) {
      metrics.push(
        report(`${m.mode}_${n}w_children_per_hour`, perHour(m), 'children/h'),
        report(`${m.mode}_${n}w_worker_idle_share`, 100 * idleShare(m), '%'),
        report(`${m.mode}_${n}w_pct_of_ideal_at_60s_extrapolated`, 100 * extrapolated(m), '%'),
      );
    }
  }
  for (const mode of MODES) {
    const big = of(mode, top);
    if (!big) continue;
    const cpuS = cpuPerChild(big) / 1000;
    metrics.push(
      report(`${mode}_${top}w_controller_cpu_per_child`, cpuPerChild(big), 'ms'),
      report(`${mode}_${top}w_controller_cpu_per_child_sample`, big.split.sample / big.trained, 'ms'),
      report(`${mode}_${top}w_controller_cpu_per_child_ppo_update`, big.split.update / big.trained, 'ms'),
      report(`${mode}_${top}w_controller_cpu_per_child_journal`, big.split.journal / big.trained, 'ms'),
      report(`${mode}_${top}w_controller_cpu_per_child_summaries`, big.split.summaries / big.trained, 'ms'),
      report(`${mode}_${top}w_redis_commands_per_child`, redisPerChild(big), 'count'),
      report(`${mode}_${top}w_redis_commands_per_child_net_of_idle`, redisNetPerChild(big), 'count'),
      report(`${mode}_${top}w_redis_cpu_per_child`, redisCpuPerChild(big), 'ms'),
      report(`${mode}_ceiling_workers_controller_at_60s_extrapolated`, TARGET_CHILD_SECONDS / cpuS, 'workers'),
      report(`${mode}_ceiling_workers_redis_at_60s_extrapolated`, TARGET_CHILD_SECONDS / (redisCpuPerChild(big) / 1000), 'workers'),
      report(`${mode}_child_seconds_over_controller_cpu_per_child`, mean(big.childSeconds) / cpuS, 'ratio'),
    );
  }
  const over = of('overlap', top);
  if (over) {
    const ml = matchedLoad(runs, over);
    metrics.push(report(`overlap_${top}w_pct_of_ideal_at_60s_matched_load_extrapolated`, ml.pct, '%'));
    const peak = Math.max(...runs.filter((m) => m.mode === 'overlap').map(perHour));
    metrics.push(report('overlap_peak_children_per_hour_measured', peak, 'children/h'), report('ceiling_workers_at_60s_from_measured_peak_rate', (peak / 3600) * TARGET_CHILD_SECONDS, 'workers'));
  }
  if (farm) {
    const live = farm.perPhone.flat().filter((_, i) => i !== FARM.phonesPerHost); // all but host b's first phone
    const hostJobs = farm.perPhone.map((xs) => xs.reduce((a, b) => a + b, 0));
    const cv = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / xs.length) / mean(xs);
    metrics.push(
      report('phones_children_lost', FARM.children - farm.children + farm.failed, 'count'),
      report('phones_jobs_per_host_cv', 100 * cv(hostJobs), '%'),
      report('phones_jobs_per_phone_min', Math.min(...live), 'count'),
      report('phones_jobs_per_phone_max', Math.max(...live), 'count'),
      report('phones_children_per_hour', (3600 * farm.children) / farm.wallS, 'children/h'),
    );
  }
  const big = of(MODES[MODES.length - 1], top) ?? long ?? runs[runs.length - 1];
  const topCmds = !big ? '' : Object.entries(big.redis.calls).sort((x, y) => y[1] - x[1]).slice(0, 8).map(([k, v]) => `${k} ${(v / big.trained).toFixed(1)}`).join(', ');
  const rows = [...runs, ...(long ? [long] : [])].map((m) => `${m.mode} ${m.workers}w${m.childMean !== CHILD_SECONDS ? ` with ${m.childMean} s children` : ''} (batch ${m.batch}, ${m.trained} children${m.cached ? `, ${m.cached} cached` : ''}${m.failed ? `, ${m.failed} FAILED` : ''}): ` +
    `${perHour(m).toFixed(0)}/h of ${idealPerHour(m).toFixed(0)} ideal (${(100 * perHour(m) / idealPerHour(m)).toFixed(1)}%; steady state ${(100 * m.steady.busy).toFixed(1)}% ` +
    `over ${m.steady.fromS.toFixed(1)}-${m.steady.toS.toFixed(1)} s, slots holding a job ${(100 * m.steady.held).toFixed(1)}%, controller ${(100 * m.steady.controllerBusy).toFixed(0)}% of a core there), wall ${m.wallS.toFixed(1)} s, slot gap ${slotGap(m).toFixed(2)} s/child, ` +
    `controller CPU ${cpuPerChild(m).toFixed(1)} ms/child (sample ${(m.split.sample / m.trained).toFixed(1)}, update ${(m.split.update / m.trained).toFixed(1)}, ` +
    `journal ${(m.split.journal / m.trained).toFixed(1)}, summaries ${(m.split.summaries / m.trained).toFixed(1)}), controller busy ${(100 * controllerBusy(m)).toFixed(0)}% of one core, ` +
    `redis ${redisPerChild(m).toFixed(1)} cmds/child (net ${redisNetPerChild(m).toFixed(1)}; idle background ${m.idleCallsPerS.toFixed(0)}/s), redis CPU ${redisCpuPerChild(m).toFixed(2)} ms/child, load ${m.load1} (${m.loadRun.min}-${m.loadRun.max} over the run)`).join('; ');
  return {
    benchmark: BENCH,
    metrics: metrics.filter((m) => Number.isFinite(m.value)).map((m) => ({ ...m, value: round(m.value, m.unit === 'children/h' ? 0 : 2) })),
    machine: { load_start: load0.join(' '), load1_during: `${load.min}-${load.max} (median ${load.median})`, cores: os.cpus().length },
    notes: `SIMULATION of scale: the real search engine in this process (LSTM controller on tfjs, PPO, journal, run folder, QueueEvaluator), one local redis-server, ` +
      `BullMQ, and N real \`mnas worker\` processes (1 slot each: --concurrency 1; processes, not slots of one process, so every worker has its own Redis connections), ` +
      `all on this ${os.cpus().length}-core machine. Only training is replaced: \`mnas worker --stand-in-training ${CHILD_SECONDS}\` waits a seeded time (lognormal, sigma ` +
      `${STAND_IN.sigma}, mean ${CHILD_SECONDS} s; ${100 * STAND_IN.stragglerShare}% stragglers at ${STAND_IN.stragglerMin}-${STAND_IN.stragglerMax}x) and returns an accuracy computed from the ` +
      `architecture's mult-adds plus a fixed per-architecture term; no weights are written, so no trained files cross Redis (a real child adds its weights.pt, ` +
      `4 bytes a parameter of the proxy network, to Redis once). Search: the paper's MnasSpace (examples/mnas-space.mnas), target 75 ms, soft reward, latency ` +
      `from the pixel1-published profile (computed in the controller: no latency jobs; a phone or \`latency local\` adds a second job per child), RL, seed ${SEED}, ` +
      `children max(16, 4 x workers) per run; sync = \`controller { overlap off }\` with batch max(8, workers) (its best case), overlap = \`overlap on\` with batch 8 ` +
      `(an update every 8 finished children: the controller's worst case). Workers are added between runs (1, 2, 4, ... processes), started in ` +
      `${Object.entries(startS).map(([n, s]) => `${n}: ${s.toFixed(0)} s`).join(', ')} (not timed). Per run: ${rows}. ` +
      `ideal = workers / mean stand-in time of the run's children; % of ideal = 100 - idle share (the same figure seen from the workers); slot gap = worker-slot ` +
      `time per child spent on no child. Controller CPU = ` +
      `process.cpuUsage of the controller's process over the run, split by the engine (SearchResult.cpuMs: sampling, PPO update, journal appends + controller ` +
      `checkpoint, summaries rewritten after each update); other = the queue client, events, rewards, costs, the profile latency. Redis commands = INFO ` +
      `commandstats before/after (all clients: controller and workers); net of idle = minus the rate measured over 3 s with the same workers idle before the ` +
      `run; ${big.mode} at ${top} workers per child: ${topCmds}. EXTRAPOLATED (not measured) to ${TARGET_CHILD_SECONDS} s children: sync = the run's time waiting for ` +
      `batches scaled by ${TARGET_CHILD_SECONDS} s / its mean child time, the controller's compute between batches kept; overlap = the measured slot gap per child ` +
      `added to a ${TARGET_CHILD_SECONDS} s child, capped by ${TARGET_CHILD_SECONDS} s / (workers x controller CPU per child); both conservative (the queue latency is ` +
      `scaled too; the gap was measured with the controller busier than at ${TARGET_CHILD_SECONDS} s). Ceilings at ${TARGET_CHILD_SECONDS} s = ${TARGET_CHILD_SECONDS} s / CPU per child ` +
      `of the ${top}-worker run (controller: one thread; Redis: one thread): the worker count at which that thread would be busy all the time; measured ceiling = ` +
      `the peak rate any overlap run reached (the controller's limit on this machine once it plateaus) x ${TARGET_CHILD_SECONDS} s. Slot gaps include the ` +
      `ramp-up and the drain of these short runs (2-4 children per worker; the last stragglers finish with most workers idle), which a search of thousands ` +
      `of children spreads thin: conservative. Matched load = the overlap run at ${CHILD_SECONDS} s whose controller load (workers x CPU per child / child ` +
      `time) is closest to ${top} workers' at ${TARGET_CHILD_SECONDS} s, its slot gap added to a ${TARGET_CHILD_SECONDS} s child. ` +
      `Steady state (MEASURED, every run) = the stand-in wait time of the children inside a window over workers x the window: the window from the ` +
      `moment every worker had started a child to the controller's last submission (after it the queue only empties: the drain), fixed by those ` +
      `two events and not by how busy the slots were (bench/lib/slotBusy.ts; test/unit/slot-busy.test.ts checks it on simulated slots against the ` +
      `renewal prediction E[t]/(E[t]+gap)); each child's wait is its trainSeconds ending at its job's finishedOn in Redis (the worker only returns ` +
      `the result after it), the worker from the journal, the submission from the job's timestamp; slots holding a job = BullMQ processedOn to ` +
      `finishedOn instead (the wait plus the worker's own handling and a late timer); controller busy = its process's CPU sampled each second. ` +
      (long ? `LONG (the goal's figure, MEASURED): ${top} fresh workers with --stand-in-training ${LONG_SECONDS}, overlap, batch 8, ${long.trained} children ` +
        `(${LONG_PER_WORKER} per worker) in ${long.wallS.toFixed(0)} s: ${(100 * long.steady.busy).toFixed(1)}% of the ideal in the steady state ` +
        `(${long.steady.fromS.toFixed(0)}-${long.steady.toS.toFixed(0)} s), ${(100 * (1 - idleShare(long))).toFixed(1)}% over the whole run (with the ramp-up and the ` +
        `final drain, where the last stragglers at 3-5x finish alone: the drain lasts about as long whatever the budget, so its share of this ` +
        `${long.trained}-child run is about ${(8000 / long.trained).toFixed(0)}x its share of an 8,000-child search); controller ${(100 * long.steady.controllerBusy).toFixed(0)}% of a core in the steady state (${(100 * controllerBusy(long)).toFixed(0)}% ` +
        `over the run); load ${long.loadRun.min}-${long.loadRun.max} (median ${long.loadRun.median}) on ${os.cpus().length} cores during it. ` : '') +
      (farm ? `PHONES: ${FARM.hosts} hosts (an adb server and a \`mnas worker --concurrency 2 --stand-in-training 1\` each) x ${FARM.phonesPerHost} loopback phones of one model ` +
        `(test/fixtures/loopback-device: the real adb protocol; a fixed ${FARM.inferenceMs} ms per inference, benchmark_model --warmup 1 --repeats 5 --rounds 1), each child exported ` +
        `to TFLite by its host's PyTorch worker and pushed over adb; a search of ${FARM.children} children of a 144-architecture space (test/fixtures/queue/harness.ts WIDE_SPACE), ` +
        `\`latency adb "Loopback 8"\`, overlap on, batch 8; phone ${farm.vanished} (host b) vanished when its ${FARM.vanishOn}th benchmark started (the device process killed, no goodbye). ` +
        `Result: ${farm.children} children, ${farm.failed} failed, in ${farm.wallS.toFixed(1)} s; latency jobs per phone by host ${JSON.stringify(farm.perPhone)} (the vanished phone ` +
        `${farm.vanishedJobs}); the job on the vanished phone was ${farm.requeued ? 'requeued on the other phone of its host (pool log)' : 'NOT seen requeued in the pool log'}. ` : '') +
      `Whole benchmark ${wallS.toFixed(0)} s; 1-min load average ${load.min}-${load.max} on ${os.cpus().length} cores shared with other work.`,
  };
}

