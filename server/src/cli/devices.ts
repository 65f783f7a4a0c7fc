// `mnas devices` and `mnas bench`: phones over adb (docs/device.md#adb), and `mnas bench --device
// local`: this host, with exactly the timing a search's `latency local` uses (latency/localTiming.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { AdbClient, parseServerAddress } from '../device/adb/client';
import { bench, type BenchResult } from '../device/adb/bench';
import type { DeviceInfo } from '../device/adb/deviceInfo';
import { CliError } from './load';
import { table } from './text';

export interface DevicesCliOptions { adb?: string; json?: boolean }

export interface BenchCliOptions {
  device?: string;
  adb?: string;
  binary?: string;
  threads?: string;
  repeats?: string;
  warmup?: string;
  rounds?: string;
  maxRounds?: string;
  bound?: string;
  cpuMask?: string;
  cooldown?: string;
  model?: string;
  python?: string;
  json?: boolean;
}

function clientFor(adb: string | undefined): AdbClient {
  return new AdbClient(adb ? parseServerAddress(adb) : {});
}

export function renderDevices(devices: DeviceInfo[], where: string): string {
  if (devices.length === 0) return `no devices on the adb server at ${where}: plug in a phone with USB debugging on, or \`adb connect HOST:PORT\`.`;
  const rows = devices.map((d) => [
    d.serial, d.state, d.model ?? '', d.abi ?? '', d.androidVersion ? `${d.androidVersion}${d.sdk ? ` (${d.sdk})` : ''}` : '',
    d.cores !== undefined ? String(d.cores) : '', d.bigCoreMask ?? '', d.governor ?? '', d.thermalC !== undefined ? `${d.thermalC.toFixed(1)} C` : '',
  ]);
  const notes = devices.filter((d) => d.message).map((d) => `  ${d.message}`);
  return table(['serial', 'state', 'model', 'abi', 'android', 'cores', 'big cores', 'governor', 'thermal'], rows) + (notes.length ? '\n\n' + notes.join('\n') : '');
}

export async function devicesCommand(opts: DevicesCliOptions): Promise<string> {
  const client = clientFor(opts.adb);
  const devices = await client.listDevices();
  return opts.json ? JSON.stringify(devices, null, 2) : renderDevices(devices, client.address);
}

const int = (name: string, v: string | undefined, min = 1): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliError(`--${name} ${v}: expected an integer >= ${min}`);
  return n;
};

export function renderBench(r: BenchResult): string {
  const f = (x: number) => x.toFixed(3);
  return [
    `${path.basename(r.modelFile)} on ${r.device.model ?? r.serial} (${r.serial}): ${f(r.ms)} ms (fastest run of ${r.rounds.length} round${r.rounds.length === 1 ? '' : 's'} x ${r.repeatsPerRound} runs` +
      `${r.splitHalfPct !== undefined ? `, round minima agree within ${r.splitHalfPct.toFixed(1)}%${r.stable ? '' : ' (capped)'}` : ''}; median of round minima ${f(r.median)}, max ${f(r.max)}, spread ${f(r.spread)} ms)`,
    `  device      ${r.device.fingerprint ?? '?'} (${r.device.abi ?? '?'}, Android ${r.device.androidVersion ?? '?'})`,
    `  governor    ${r.governor ?? '?'}; cores ${r.cpuMask}; ${r.threads} thread${r.threads === 1 ? '' : 's'}; thermal ${r.thermal.beforeC ?? '?'} -> ${r.thermal.afterC ?? '?'} C` +
      (r.thermal.waitedMs > 0 ? ` (waited ${(r.thermal.waitedMs / 1000).toFixed(1)} s)` : '') + (r.thermal.gaveUp ? ' STILL HOT' : ''),
    `  binary      sha256 ${r.binarySha256}`,
    `  command     ${r.command}`,
  ].join('\n');
}

/** A .tflite file as given, or a .mnas model exported with seeded random weights (latency does not depend on them). */
async function tfliteFor(file: string, opts: BenchCliOptions, tmp: string): Promise<string> {
  if (!fs.existsSync(file)) throw new CliError(`${file}: no such file`);
  if (!file.endsWith('.mnas')) {
    if (opts.model) throw new CliError(`--model is for .mnas files; ${file} is used as a .tflite file`);
    return file;
  }
  const { modelOf } = await import('./export');
  const { exportWithWorker } = await import('../device/tflite/index');
  const { TorchTrainer } = await import('../train/torchTrainer');
  const entry = modelOf(file, opts.model);
  const worker = await TorchTrainer.start({ python: opts.python, threads: 1 });
  try {
    const { bytes } = await exportWithWorker(worker, entry.arch, { seed: 0 });
    const out = path.join(tmp, `${entry.node.name.value}.tflite`);
    fs.writeFileSync(out, bytes);
    return out;
  } finally {
    await worker.close();
  }
}

const bound = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0 && n <= 100)) throw new CliError(`--bound ${v}: expected a percentage > 0 and <= 100`);
  return n;
};

/** What `mnas bench --device local --json` prints: the figure, its spread, clock and repeats, and how it was reached. */
export interface LocalBenchJson {
  file: string; model?: string; device: 'local'; runtime: string;
  ms: number; spread: number; clock: string; statistic: string; repeats: number; rounds: number; perRound: number;
  cpuMs: number; wallMs: number; wallMedian: number; median: number; min: number; max: number;
  splitHalfPct: number; stable: boolean; boundPct: number; seconds: number;
  lock: { waitedMs: number; paused: number; pauseMs: number; heldMs: number } | null;
}

async function benchLocal(file: string, opts: BenchCliOptions, tmp: string): Promise<string> {
  for (const flag of ['adb', 'binary', 'cpuMask', 'cooldown', 'repeats'] as const) {
    if (opts[flag] !== undefined) throw new CliError(`--${flag === 'cpuMask' ? 'cpu-mask' : flag} is for phones; --device local times rounds of about 5 ms until they agree (--rounds, --max-rounds, --bound)`);
  }
  const { timeTfliteBytes, describeTiming } = await import('../latency/localTiming');
  const tflite = await tfliteFor(file, opts, tmp);
  const min = int('rounds', opts.rounds, 2);
  const t = await timeTfliteBytes(new Uint8Array(fs.readFileSync(tflite)), {
    threads: int('threads', opts.threads), warmup: int('warmup', opts.warmup, 0),
    stop: { minRounds: min, maxRounds: int('max-rounds', opts.maxRounds, 2), boundPct: bound(opts.bound) },
  });
  const out: LocalBenchJson = {
    file: path.resolve(file), ...(opts.model ? { model: opts.model } : {}), device: 'local', runtime: t.runtime,
    ms: t.ms, spread: t.spread, clock: t.clock, statistic: t.statistic, repeats: t.repeats, rounds: t.rounds, perRound: t.perRound,
    cpuMs: t.cpuMs, wallMs: t.wallMs, wallMedian: t.wallMedian, median: t.median, min: t.min, max: t.max,
    splitHalfPct: t.splitHalfPct, stable: t.stable, boundPct: t.boundPct, seconds: t.seconds, lock: t.lock,
  };
  if (opts.json) return JSON.stringify(out, null, 2);
  return [
    `${path.basename(file)}${opts.model ? ` (${opts.model})` : ''} on this host: ${describeTiming(t)}`,
    `  runtime     ${t.runtime}`,
    `  clocks      cpu ${t.cpuMs.toFixed(3)} ms, wall ${t.wallMs.toFixed(3)} ms (min); wall median ${t.wallMedian.toFixed(3)} ms; spread ${t.spread.toFixed(3)} ms`,
    `  host lock   waited ${t.lock ? t.lock.waitedMs.toFixed(0) : '-'} ms; ${t.lock?.paused ?? 0} training process(es) paused`,
  ].join('\n');
}

export async function benchCommand(file: string, opts: BenchCliOptions): Promise<string> {
  if (!opts.device) throw new CliError('missing --device SERIAL (see `mnas devices`) or --device local (this host)');
  if (opts.device === 'local') {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-bench-'));
    try {
      return await benchLocal(file, opts, tmp);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  const client = clientFor(opts.adb);
  const info = await client.requireDevice(opts.device);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-bench-'));
  try {
    const tflite = await tfliteFor(file, opts, tmp);
    const r = await bench(client, opts.device, tflite, {
      binary: opts.binary, threads: int('threads', opts.threads), repeats: int('repeats', opts.repeats), warmup: int('warmup', opts.warmup, 0),
      rounds: int('rounds', opts.rounds), maxRounds: int('max-rounds', opts.maxRounds), boundPct: bound(opts.bound), cpuMask: opts.cpuMask, cooldownMs: int('cooldown', opts.cooldown, 0),
      log: opts.json ? undefined : (m) => console.error(m),
    }, info);
    return opts.json ? JSON.stringify(r, null, 2) : renderBench(r);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function register(program: Command): void {
  program.command('devices')
    .description('List the phones an adb server sees: state, model, ABI, Android version, cores, big-core mask, governor, temperature.')
    .option('--adb <host:port>', 'adb server to ask (default: the local one, 127.0.0.1:5037); a remote one serves a phone farm')
    .option('--json', 'machine-readable output')
    .action(async (opts: DevicesCliOptions) => {
      console.log(await devicesCommand(opts));
    });

  program.command('bench')
    .description('Time a .tflite file (or a .mnas model, exported with random weights) on a phone with TFLite\'s benchmark_model, pinned to the big cores, or on this host (--device local) exactly as `latency local` does.')
    .argument('<file>', 'a .tflite file, or a .mnas file with --model')
    .option('--device <serial|local>', 'the phone (see `mnas devices`), or `local`: this host\'s TFLite runtime under the host timing lock')
    .option('--adb <host:port>', 'adb server (default: the local one)')
    .option('--binary <path>', 'benchmark_model for the phone\'s ABI: a file, or a folder with ABI/benchmark_model (default: MNAS_BENCHMARK_MODEL)')
    .option('--threads <n>', 'interpreter threads (default 1, as in the paper)')
    .option('--repeats <n>', 'measured runs per round (default 50)')
    .option('--warmup <n>', 'warm-up runs per round (default 10)')
    .option('--rounds <n>', 'rounds at least (phone: benchmark_model runs, default 3; local: ~5 ms rounds, default 10); the figure is the fastest run')
    .option('--max-rounds <n>', 'rounds at most while the two halves of the rounds disagree (phone: default 8; local: default 200)')
    .option('--bound <pct>', 'the halves agree when their minima differ by at most this % (default 1)')
    .option('--cpu-mask <hex>', 'taskset mask (default: the big cores, from cpufreq max frequencies)')
    .option('--cooldown <ms>', 'pause between models on the same phone (default 3000)')
    .option('--model <name>', 'which model of a .mnas file')
    .option('--python <path>', 'Python with torch, to export a .mnas model')
    .option('--json', 'machine-readable output, with every recorded field')
    .action(async (file: string, opts: BenchCliOptions) => {
      console.log(await benchCommand(file, opts));
    });
}
