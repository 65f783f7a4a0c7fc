// `mnas worker` (take child evaluations from a Redis queue) and `mnas workers` (who is serving
// a queue: hosts, backends, phones). The Redis options are shared with `mnas search --queue`.
import type { Command } from 'commander';
import { connectRedis, prefixOf, QueueConfigError, redactUrl, redisOptions, type RedisSettings, resolveUrl } from '../queue/connection';
import { Queue } from 'bullmq';
import { listWorkers, type WorkerAd } from '../queue/registry';
import { latencyQueue, TRAIN_FULL_QUEUE, TRAIN_QUEUE } from '../queue/topology';
import { QueueWorker, type QueueWorkerOptions } from '../queue/worker';
import { isTrainerBackend, type TrainerBackend } from '../train/createTrainer';
import { CliError } from './load';
import { table } from './text';

/** The TLS and prefix options every queue command takes. */
export function redisFlags(cmd: Command): Command {
  return cmd
    .option('--redis-tls-ca <file>', 'CA bundle (PEM) for a TLS Redis (rediss://) with a private CA')
    .option('--redis-tls-cert <file>', 'client certificate (PEM), for servers that require one')
    .option('--redis-tls-key <file>', 'client key (PEM)')
    .option('--queue-prefix <name>', 'Redis key prefix; runs with different prefixes do not see each other', 'mnas');
}

export interface RedisCliOptions { redisTlsCa?: string; redisTlsCert?: string; redisTlsKey?: string; queuePrefix?: string }

export function redisSettings(url: string | undefined, o: RedisCliOptions): RedisSettings {
  const settings: RedisSettings = { url, tlsCa: o.redisTlsCa, tlsCert: o.redisTlsCert, tlsKey: o.redisTlsKey, prefix: o.queuePrefix };
  try {
    redisOptions(settings);
    prefixOf(settings);
  } catch (e) {
    if (e instanceof QueueConfigError) throw new CliError(e.message);
    throw e;
  }
  return settings;
}

interface WorkerCliOptions extends RedisCliOptions {
  redis?: string; concurrency?: string; threads?: string; backend?: string; python?: string; devices?: string[];
  localLatency?: boolean; rescanSeconds?: string; adb?: string; binary?: string; warmup?: string; repeats?: string; rounds?: string; cooldown?: string; work?: string; data?: string[]; lockSeconds?: string; id?: string;
  standInTraining?: string;
}

function count(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliError(`--${name} takes a whole number >= ${min}, got '${v}'.`);
  return n;
}

export function workerOptions(o: WorkerCliOptions): QueueWorkerOptions {
  if (o.backend && !isTrainerBackend(o.backend)) throw new CliError(`--backend is 'torch', 'tfjs' or 'auto', got '${o.backend}'.`);
  const devices = o.devices;
  let devs: QueueWorkerOptions['devices'];
  if (!devices || devices.length === 0 || (devices.length === 1 && devices[0] === 'all')) devs = 'all';
  else if (devices.length === 1 && devices[0] === 'none') devs = 'none';
  else if (devices.includes('all') || devices.includes('none')) throw new CliError('--devices takes all, none, or serials (not a mix).');
  else devs = devices;
  const lock = count(o.lockSeconds, 'lock-seconds', 1);
  const standIn = o.standInTraining === undefined ? undefined : Number(o.standInTraining);
  if (standIn !== undefined && !(standIn > 0 && standIn <= 86_400)) throw new CliError(`--stand-in-training takes the mean child time in seconds (> 0, at most 86400), got '${o.standInTraining}'.`);
  const bench = {
    warmup: count(o.warmup, 'warmup', 0), repeats: count(o.repeats, 'repeats', 1), rounds: count(o.rounds, 'rounds', 1), cooldownMs: count(o.cooldown, 'cooldown', 0),
  };
  return {
    ...redisSettings(o.redis, o), concurrency: count(o.concurrency, 'concurrency', 0), threads: count(o.threads, 'threads', 1),
    backend: o.backend as TrainerBackend | undefined, python: o.python, localLatency: o.localLatency !== false, devices: devs,
    rescanMs: count(o.rescanSeconds, 'rescan-seconds', 1) !== undefined ? count(o.rescanSeconds, 'rescan-seconds', 1)! * 1000 : undefined,
    adb: o.adb, binary: o.binary, bench, workDir: o.work, dataRoots: o.data, lockMs: lock !== undefined ? lock * 1000 : undefined, id: o.id,
    ...(standIn !== undefined ? { standInSeconds: standIn } : {}),
  };
}

async function runWorker(o: WorkerCliOptions): Promise<void> {
  const opts = workerOptions(o);
  const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);
  const worker = await QueueWorker.start({ ...opts, log });
  await new Promise<void>((resolve) => {
    let signals = 0;
    const stop = () => {
      signals++;
      if (signals === 1) log('stopping: finishing the jobs in hand (Ctrl-C again to abandon them to another worker)');
      void worker.close(signals > 1).then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  log('stopped');
}

export interface QueueDepth { queue: string; waiting: number; active: number; delayed: number; failed: number; completed: number }

export function renderWorkers(ws: WorkerAd[], where: string, depths: QueueDepth[] = []): string {
  const jobs = depths.length
    ? '\n\n' + table(['queue', 'waiting', 'active', 'retrying', 'failed', 'done (kept 7 days)'],
      depths.map((d) => [d.queue, String(d.waiting), String(d.active), String(d.delayed), String(d.failed), String(d.completed)]), [false, true, true, true, true, true])
    : '';
  if (ws.length === 0) return `no workers on ${where}: start one with \`mnas worker --redis ${where}\`.${jobs}`;
  const rows = ws.map((w) => [
    w.id, w.backend ? `${w.concurrency} x ${w.backend} (${w.threads} thr)` : 'no training', String(w.cores), w.latency.join(', ') || 'none',
    w.devices.map((d) => `${d.serial} (${d.model})`).join(', '), `${Math.round((Date.now() - w.heartbeat) / 1000)} s ago`,
  ]);
  return table(['worker', 'training', 'cores', 'latency', 'phones', 'heartbeat'], rows) + jobs;
}

/** Jobs per queue: the training queue, local latency, and the phone models the workers advertise. */
async function queueDepths(settings: RedisSettings, ws: WorkerAd[]): Promise<QueueDepth[]> {
  const models = [...new Set(ws.flatMap((w) => w.devices.map((d) => d.model)))];
  const names = [TRAIN_QUEUE, TRAIN_FULL_QUEUE, latencyQueue({ kind: 'local' }), ...models.map((model) => latencyQueue({ kind: 'adb', model }))];
  const connection = { ...redisOptions(settings), maxRetriesPerRequest: 1 };
  return Promise.all(names.map(async (name) => {
    const q = new Queue(name, { connection, prefix: prefixOf(settings) });
    try {
      const c = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
      return { queue: name, waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0, completed: c.completed ?? 0 };
    } finally {
      await q.close();
    }
  }));
}

export async function workersCommand(url: string | undefined, o: RedisCliOptions & { json?: boolean }): Promise<string> {
  const settings = redisSettings(url, o);
  const redis = await connectRedis(settings, '[url]', { maxRetriesPerRequest: 1 }).catch((e: Error) => { throw new CliError(e.message); });
  try {
    const ws = await listWorkers(redis, prefixOf(settings));
    if (o.json) return JSON.stringify(ws, null, 2);
    return renderWorkers(ws, redactUrl(resolveUrl(settings)), await queueDepths(settings, ws));
  } finally {
    redis.disconnect();
  }
}

export function register(program: Command): void {
  redisFlags(program.command('worker')
    .description('Take child evaluations (training, latency on this host or its phones) from a Redis queue fed by `mnas search --queue`.')
    .option('--redis <url>', 'redis://[:PASSWORD@]HOST:6379[/DB], rediss:// for TLS (default: MNAS_REDIS_URL; MNAS_REDIS_PASSWORD keeps the password off the command line)')
    .option('--concurrency <n>', 'children trained at once (default: one per 2 cores); 0 = latency jobs only')
    .option('--threads <n>', 'intra-op threads per child (default: cores / concurrency)')
    .option('--backend <torch|tfjs|auto>', 'child training backend', 'auto')
    .option('--python <path>', 'Python interpreter with torch (default: MNAS_PYTHON, /usr/bin/python3, python3)')
    .option('--devices <serials...>', 'phones to serve latency jobs on: all (default: every attached one), none, or serials')
    .option('--no-local-latency', 'do not time `latency local` jobs on this host')
    .option('--adb <host:port>', 'adb server with the phones (default: the local one)')
    .option('--rescan-seconds <n>', 'list the attached phones again this often: phones plugged in are served, unplugged ones dropped', '30')
    .option('--binary <path>', 'benchmark_model for the phones (default: MNAS_BENCHMARK_MODEL)')
    .option('--warmup <n>', 'phones: benchmark_model warm-up runs per round (default 10)')
    .option('--repeats <n>', 'phones: measured runs per round (default 50)')
    .option('--rounds <n>', 'phones: benchmark_model runs per child at least (default 3; more, up to 8, until their fastest runs agree)')
    .option('--cooldown <ms>', 'phones: pause between models on the same phone (default 3000)')
    .option('--work <dir>', 'where trained weights go (default: the user cache)')
    .option('--data <dirs...>', 'folders that folder/cifar10/idx datasets named by jobs may be read from')
    .option('--lock-seconds <n>', 'job lock: a killed worker\'s job is taken over by another after about this long', '30')
    .option('--id <name>', 'worker id (default HOST-PID)')
    .option('--stand-in-training <seconds>', 'FOR SCALE TESTS ONLY, trains nothing: each training job waits a seeded time around SECONDS (5% stragglers at 3-5x) and returns an accuracy computed from the architecture (the queue-scale benchmark)'))
    .action(async (opts: WorkerCliOptions) => {
      await runWorker(opts);
    });

  redisFlags(program.command('workers')
    .description('List the workers serving a Redis queue: host, training backend, latency targets, phones.')
    .argument('[url]', 'redis:// URL (default: MNAS_REDIS_URL)')
    .option('--json', 'machine-readable output'))
    .action(async (url: string | undefined, opts: RedisCliOptions & { json?: boolean }) => {
      console.log(await workersCommand(url, opts));
    });
}
