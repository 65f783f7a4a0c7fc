// LAT(m) from phones over adb (`latency adb SERIAL`): each Arch is exported to .tflite and timed
// with TFLite's benchmark_model on a pool of phones of the same model as SERIAL (pool.ts: jobs
// spread over the devices, requeued when one disappears; device/adb/).
// Wiring (open.ts, `openLatencySource`, case 'adb'): `AdbLatency.open(setting.serial, opts)`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Arch } from '../language/arch';
import type { LatencySource } from './source';
import type { LatencyMeasurement } from '../util/timing';
import { TorchTrainer } from '../train/torchTrainer';
import { AdbClient, parseServerAddress } from '../device/adb/client';
import type { BenchOptions, BenchResult } from '../device/adb/bench';
import { DevicePool } from '../device/adb/pool';
import { exportWithWorker } from '../device/tflite/index';

export type ToTflite = (arch: Arch) => Promise<Uint8Array | string>;

export interface AdbLatencyOptions extends BenchOptions {
  /** Remote adb server, HOST:PORT (default: the local one). */
  adb?: string;
  /** Only these serials of the model (default: every connected one). */
  only?: string[];
  client?: AdbClient;
  /** Arch -> .tflite bytes or file path; default: the exporter with seeded random weights (PyTorch worker). */
  toTflite?: ToTflite;
  python?: string;
  seed?: number;
  /** Every figure with its full record (device fingerprint, governor, binary hash, command). */
  onResult?: (arch: Arch, result: BenchResult) => void;
}

export class AdbLatency implements LatencySource {
  readonly name: string;
  private readonly tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-adb-latency-'));
  private worker?: Promise<TorchTrainer>;
  private count = 0;

  private constructor(readonly pool: DevicePool, private readonly opts: AdbLatencyOptions) {
    this.name = `adb ${pool.model}`;
  }

  static async open(serial: string, opts: AdbLatencyOptions = {}): Promise<AdbLatency> {
    const client = opts.client ?? new AdbClient(opts.adb ? parseServerAddress(opts.adb) : {});
    const pool = await DevicePool.open(client, { serial, only: opts.only, log: opts.log });
    return new AdbLatency(pool, opts);
  }

  private async tflite(arch: Arch): Promise<string> {
    const out = this.opts.toTflite ? await this.opts.toTflite(arch) : await this.export(arch);
    if (typeof out === 'string') return out;
    const file = path.join(this.tmp, `${String(++this.count).padStart(5, '0')}-${arch.name.replace(/[^A-Za-z0-9_.-]/g, '_') || 'model'}.tflite`);
    fs.writeFileSync(file, out);
    return file;
  }

  private async export(arch: Arch): Promise<Uint8Array> {
    this.worker ??= TorchTrainer.start({ python: this.opts.python, threads: 1 });
    const { bytes } = await exportWithWorker(await this.worker, arch, { seed: this.opts.seed ?? 0 });
    return bytes;
  }

  async measure(arch: Arch): Promise<LatencyMeasurement> {
    const file = await this.tflite(arch);
    try {
      const r = await this.pool.bench(file, this.opts);
      this.opts.onResult?.(arch, r);
      const { ms, median, min, max, spread, repeats, source, clock, statistic, wallMs, splitHalfPct, stable } = r;
      return { ms, median, min, max, spread, repeats, source, clock, statistic, wallMs, splitHalfPct, stable };
    } finally {
      if (file.startsWith(this.tmp)) fs.rmSync(file, { force: true });
    }
  }

  async close(): Promise<void> {
    fs.rmSync(this.tmp, { recursive: true, force: true });
    if (this.worker) await (await this.worker).close();
  }
}
