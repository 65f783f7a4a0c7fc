// `bench`: time one .tflite file on one phone with TFLite's benchmark_model. Pushes the model and
// (once, checked by sha256) the user's benchmark_model for the phone's ABI, waits out a cooldown
// and a hot thermal zone, runs `taskset MASK benchmark_model ... --num_threads=1` for rounds until
// their minima agree (the figure is the fastest run, as on this host: util/timing.ts),
// parses every output format, and keeps with the figure the device fingerprint, governor, binary
// hash and the exact command.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AdbClient } from './client';
import type { DeviceInfo } from './deviceInfo';
import { AdbError } from './errors';
import { BenchmarkOutputError, parseBenchmarkOutput, type BenchmarkOutput } from './benchmarkOutput';
import { shJoin, shQuote } from './quote';
import { splitHalfPct, stopState, summarizeMs } from '../../util/timing';
import type { LatencyMeasurement } from '../../util/timing';

export interface BenchOptions {
  /** TFLite benchmark_model for the phone's ABI: a file, or a folder with ABI/benchmark_model (default MNAS_BENCHMARK_MODEL). */
  binary?: string;
  threads?: number;
  warmup?: number;
  /** Measured runs per round (benchmark_model --num_runs). */
  repeats?: number;
  /** benchmark_model invocations at least (default 3); the figure is the minimum over all their runs. */
  rounds?: number;
  /** More rounds until two interleaved halves of the rounds agree on the minimum within `boundPct` % (default 1), at most this many (default 8; 1 when `rounds` is 1). */
  maxRounds?: number;
  boundPct?: number;
  /** taskset mask (hex); default: the big cores from cpufreq max frequencies. */
  cpuMask?: string;
  /** Folder on the phone (default /data/local/tmp/mnas). */
  remoteDir?: string;
  /** Pause between two models on the same phone, ms (default 3000). */
  cooldownMs?: number;
  /** Wait while the hottest thermal zone is at or above this, degrees C (default 45). */
  thermalLimitC?: number;
  thermalPollMs?: number;
  /** Give up waiting for the phone to cool after this long and measure anyway, noting it (default 5 min). */
  maxThermalWaitMs?: number;
  /** Timeout of one benchmark_model run, ms (default 10 min). */
  timeoutMs?: number;
  log?: (message: string) => void;
}

export interface BenchRound extends BenchmarkOutput { avgMs: number }

/**
 * A phone measurement: the shared LatencyMeasurement (ms = the minimum of benchmark_model's runs
 * over all rounds, as every measured figure is; spread = p90 - p10 of the round minima, or
 * 2.56 x std with one round; repeats = all measured inferences; source like "adb Pixel 4 (SERIAL), benchmark_model,
 * 1 thread, cores 70") plus what identifies the device, binary and command.
 */
export interface BenchResult extends LatencyMeasurement {
  serial: string;
  device: { model?: string; manufacturer?: string; fingerprint?: string; abi?: string; androidVersion?: string; sdk?: number };
  governor?: string;
  cpuMask: string;
  threads: number;
  warmup: number;
  repeatsPerRound: number;
  binarySha256: string;
  modelSha256: string;
  modelFile: string;
  /** The exact command line run on the phone (each round). */
  command: string;
  rounds: BenchRound[];
  thermal: { beforeC?: number; afterC?: number; waitedMs: number; limitC: number; gaveUp: boolean };
  at: string;
}

const DEFAULTS = { threads: 1, warmup: 10, repeats: 50, rounds: 3, maxRounds: 8, boundPct: 1, remoteDir: '/data/local/tmp/mnas', cooldownMs: 3000, thermalLimitC: 45, thermalPollMs: 5000, maxThermalWaitMs: 300000, timeoutMs: 600000 };

const sha256File = (p: string) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');

/** ELF e_machine of each ABI (a binary built for another ABI fails with "not executable"). */
const ABI_MACHINE: Record<string, number> = { 'arm64-v8a': 0xb7, 'armeabi-v7a': 0x28, armeabi: 0x28, x86: 0x03, x86_64: 0x3e };

/** The benchmark_model file for the ABI: a file as given, or DIR/ABI/benchmark_model, DIR/benchmark_model_ABI, DIR/benchmark_model. */
export function resolveBinary(binary: string | undefined, abi: string | undefined): string {
  const given = binary ?? process.env.MNAS_BENCHMARK_MODEL;
  if (!given) {
    throw new AdbError(`no benchmark_model binary: pass --binary PATH (TFLite's benchmark_model built for ${abi ?? 'the phone\'s ABI'}; ` +
      'prebuilt ones are linked from the TFLite performance/measurement page), or set MNAS_BENCHMARK_MODEL');
  }
  let file = given;
  if (fs.existsSync(given) && fs.statSync(given).isDirectory()) {
    const candidates = [abi && path.join(given, abi, 'benchmark_model'), abi && path.join(given, `benchmark_model_${abi}`), path.join(given, 'benchmark_model')].filter((x): x is string => !!x);
    const found = candidates.find((c) => fs.existsSync(c));
    if (!found) throw new AdbError(`--binary ${given}: no benchmark_model for ${abi} in it (looked for ${candidates.join(', ')})`);
    file = found;
  }
  if (!fs.existsSync(file)) throw new AdbError(`--binary ${file}: no such file`);
  const head = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  try { fs.readSync(fd, head, 0, 20, 0); } finally { fs.closeSync(fd); }
  if (abi && head.readUInt32BE(0) === 0x7f454c46 && ABI_MACHINE[abi] !== undefined) {
    const machine = head.readUInt16LE(18);
    if (machine !== ABI_MACHINE[abi]) {
      const actual = Object.entries(ABI_MACHINE).find(([, m]) => m === machine)?.[0] ?? `machine 0x${machine.toString(16)}`;
      throw new AdbError(`--binary ${file} is built for ${actual}, the phone is ${abi}: use benchmark_model for ${abi}`);
    }
  }
  return file;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Per adb server and serial: when the last benchmark ended, and which binary is known to be on the phone. */
const lastEnded = new Map<string, number>();
const binaryOnPhone = new Map<string, string>();

/** Puts benchmark_model on the phone unless the same build (sha256) is there already. */
async function ensureBinary(client: AdbClient, serial: string, local: string, remote: string, sha: string, log: (m: string) => void): Promise<void> {
  const key = `${client.address}/${serial}/${remote}`;
  if (binaryOnPhone.get(key) === sha) return;
  const there = await client.sha256(serial, remote);
  if (there !== sha) {
    log(`${serial}: pushing ${local} to ${remote}`);
    await client.push(serial, local, remote, 0o755);
    const after = await client.sha256(serial, remote);
    if (after !== undefined && after !== sha) throw new AdbError(`${serial}: ${remote} has sha256 ${after} after the push, expected ${sha}`);
  }
  const chmod = await client.shell(serial, `chmod 755 ${shQuote(remote)}`);
  if (chmod.rc !== 0) throw new AdbError(`${serial}: chmod 755 ${remote} failed: ${chmod.output.trim()}`);
  binaryOnPhone.set(key, sha);
}

async function coolDown(client: AdbClient, info: DeviceInfo, o: typeof DEFAULTS, log: (m: string) => void): Promise<{ beforeC?: number; waitedMs: number; gaveUp: boolean }> {
  const key = `${client.address}/${info.serial}`;
  const start = Date.now();
  const since = Date.now() - (lastEnded.get(key) ?? 0);
  if (since < o.cooldownMs) await sleep(o.cooldownMs - since);
  let t = await client.thermalC(info.serial);
  while (t !== undefined && t >= o.thermalLimitC) {
    if (Date.now() - start >= o.maxThermalWaitMs) {
      log(`${info.serial}: still ${t} C after ${Math.round((Date.now() - start) / 1000)} s; measuring anyway (noted with the figure)`);
      return { beforeC: t, waitedMs: Date.now() - start, gaveUp: true };
    }
    log(`${info.serial}: ${t} C >= ${o.thermalLimitC} C, waiting for it to cool`);
    await sleep(o.thermalPollMs);
    t = await client.thermalC(info.serial);
  }
  return { beforeC: t, waitedMs: Date.now() - start, gaveUp: false };
}

/** A round's fastest run, ms (the oldest output format has only the average). */
const roundMin = (r: BenchRound) => (r.inference?.min ?? r.inferenceAvgUs) / 1000;

/** Times one .tflite file on `serial`. `info` skips the discovery round trip when the caller has it. */
export async function bench(client: AdbClient, serial: string, modelPath: string, opts: BenchOptions = {}, info?: DeviceInfo): Promise<BenchResult> {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS & BenchOptions;
  const log = opts.log ?? (() => {});
  // Agreement needs two rounds: `rounds: 1` alone is exactly one round (as before), unless maxRounds asks for more.
  o.maxRounds = Math.max(opts.maxRounds ?? (o.rounds === 1 ? 1 : DEFAULTS.maxRounds), o.rounds);
  for (const [k, v] of Object.entries({ threads: o.threads, repeats: o.repeats, rounds: o.rounds })) {
    if (!Number.isInteger(v) || v < 1) throw new AdbError(`--${k} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(o.warmup) || o.warmup < 0) throw new AdbError(`--warmup must be a non-negative integer, got ${o.warmup}`);
  if (!fs.existsSync(modelPath)) throw new AdbError(`${modelPath}: no such file`);
  const dev = info ?? (await client.requireDevice(serial));
  const mask = o.cpuMask ?? dev.bigCoreMask;
  if (!mask || !/^(0x)?[0-9a-fA-F]+$/.test(mask)) throw new AdbError(`${serial}: cannot tell the big cores (no cpufreq); pass --cpu-mask HEX`);
  const binary = resolveBinary(o.binary, dev.abi);
  const binarySha = sha256File(binary);
  const modelSha = sha256File(modelPath);
  const remoteBin = path.posix.join(o.remoteDir, 'benchmark_model');
  const remoteModel = path.posix.join(o.remoteDir, path.basename(modelPath));

  await ensureBinary(client, serial, binary, remoteBin, binarySha, log);
  await client.push(serial, modelPath, remoteModel, 0o644);
  const cool = await coolDown(client, dev, o, log);
  const command = shJoin(['taskset', mask, remoteBin, `--graph=${remoteModel}`, `--num_threads=${o.threads}`, `--warmup_runs=${o.warmup}`, `--num_runs=${o.repeats}`]);
  const rounds: BenchRound[] = [];
  try {
    const rule = { boundPct: o.boundPct, minRounds: Math.max(2, o.rounds), maxRounds: o.maxRounds };
    for (let r = 0; r < o.maxRounds; r++) {
      // One round suffices when asked for (rounds 1, maxRounds 1); otherwise until the halves agree.
      if (r >= o.rounds && stopState(rounds.map((x) => [roundMin(x)]), rule) !== 'more') break;
      log(`${serial}: ${command} (round ${r + 1}, at least ${o.rounds}, at most ${o.maxRounds})`);
      const res = await client.shell(serial, `${command} 2>&1`, { timeoutMs: o.timeoutMs });
      let parsed: BenchmarkOutput;
      try {
        parsed = parseBenchmarkOutput(res.output);
      } catch (e) {
        if (e instanceof BenchmarkOutputError) throw new AdbError(`${serial}: benchmark_model failed (exit ${res.rc}): ${e.message}`);
        throw e;
      }
      if (res.rc !== 0) throw new AdbError(`${serial}: benchmark_model exited with ${res.rc}: ${res.output.trim().split('\n').slice(-3).join(' | ')}`);
      rounds.push({ ...parsed, avgMs: parsed.inferenceAvgUs / 1000 });
    }
  } finally {
    lastEnded.set(`${client.address}/${serial}`, Date.now());
    await client.shell(serial, `rm -f ${shQuote(remoteModel)}`).catch(() => undefined);
  }
  const afterC = await client.thermalC(serial).catch(() => undefined);
  const mins = rounds.map(roundMin);
  const s = summarizeMs(mins);
  const std = rounds[0].inference?.std;
  const spread = rounds.length > 1 ? s.spread : std !== undefined ? (2.563 * std) / 1000 : 0;
  const maxs = rounds.map((r) => (r.inference?.max ?? r.inferenceAvgUs) / 1000);
  const half = splitHalfPct(mins.map((m) => [m]));
  const repeats = rounds.reduce((a, r) => a + (r.inference?.count ?? o.repeats), 0);
  return {
    ms: s.ms, median: s.median, min: s.min, max: Math.max(...maxs), spread, repeats,
    clock: 'wall', statistic: 'min', wallMs: s.min, ...(Number.isFinite(half) ? { splitHalfPct: half, stable: half <= o.boundPct } : {}),
    source: `adb ${dev.model ?? 'device'} (${serial}), benchmark_model, ${o.threads} thread${o.threads === 1 ? '' : 's'}, cores ${mask}, wall min`,
    serial,
    device: { model: dev.model, manufacturer: dev.manufacturer, fingerprint: dev.fingerprint, abi: dev.abi, androidVersion: dev.androidVersion, sdk: dev.sdk },
    governor: dev.governor, cpuMask: mask, threads: o.threads, warmup: o.warmup, repeatsPerRound: o.repeats,
    binarySha256: binarySha, modelSha256: modelSha, modelFile: path.resolve(modelPath), command, rounds,
    thermal: { beforeC: cool.beforeC, afterC, waitedMs: cool.waitedMs, limitC: o.thermalLimitC, gaveUp: cool.gaveUp },
    at: new Date().toISOString(),
  };
}
