// Where LAT(m) comes from. `local` times the full-size network on this machine in the PyTorch
// worker (one thread, warm-ups, trimmed mean). Device profiles and adb phones plug in here
// through the same interface (device issue); until then they fail with a clear message.
import type { Arch } from '../language/arch';
import type { LatencySource as LatencySetting } from '../language/searchConfig';
import { TorchTrainer } from '../train/torchTrainer';

export interface LatencyMeasurement {
  /** Trimmed mean (10% cut at each end), ms. */
  ms: number;
  median: number;
  min: number;
  max: number;
  /** p90 - p10, ms: the spread reported with every figure. */
  spread: number;
  repeats: number;
  /** What measured it: "local torch 1.13.0 cpu, 1 thread". */
  source: string;
}

export interface LatencySource {
  readonly name: string;
  measure(arch: Arch): Promise<LatencyMeasurement>;
  close(): Promise<void>;
}

export interface LocalLatencyOptions {
  python?: string; warmup?: number; repeats?: number; threads?: number;
  /** Folder that relative profile paths resolve against (the .mnas file's). */
  baseDir?: string;
}

export class LocalTorchLatency implements LatencySource {
  readonly name = 'local';
  private constructor(private readonly worker: TorchTrainer, private readonly opts: LocalLatencyOptions) {}

  static async start(opts: LocalLatencyOptions = {}): Promise<LocalTorchLatency> {
    return new LocalTorchLatency(await TorchTrainer.start({ python: opts.python, threads: 1 }), opts);
  }

  async measure(arch: Arch): Promise<LatencyMeasurement> {
    const r = await this.worker.request('latency', {
      arch, warmup: this.opts.warmup ?? 5, repeats: this.opts.repeats ?? 20, threads: this.opts.threads ?? 1,
    });
    const samples = r.samples as number[];
    return {
      ms: Number(r.ms), median: Number(r.median), min: Number(r.min), max: Number(r.max),
      spread: Number(r.p90) - Number(r.p10), repeats: samples.length,
      source: `local ${String(r.runtime)}, ${Number(r.threads)} thread${Number(r.threads) === 1 ? '' : 's'}`,
    };
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}

/**
 * `local` prefers TFLite's own runtime (XNNPACK kernels, wasm) on the exported model, as a
 * phone would run it; if that runtime cannot load here, PyTorch on the CPU. MNAS_LOCAL_LATENCY
 * = tflite | torch forces one. The measurement's `source` says which ran.
 */
async function openLocal(opts: LocalLatencyOptions): Promise<LatencySource> {
  const forced = process.env.MNAS_LOCAL_LATENCY;
  if (forced === 'torch') return LocalTorchLatency.start(opts);
  try {
    const { TfliteLatency } = await import('../device/tfliteLatency');
    return await TfliteLatency.start({ python: opts.python, warmup: opts.warmup, repeats: opts.repeats, threads: opts.threads });
  } catch (e) {
    if (forced === 'tflite') throw e;
    return LocalTorchLatency.start(opts);
  }
}

export async function openLatencySource(setting: LatencySetting, opts: LocalLatencyOptions = {}): Promise<LatencySource> {
  switch (setting.kind) {
    case 'local':
      return openLocal(opts);
    case 'profile': {
      // Orders of magnitude cheaper than a measurement: the profile's per-layer predictor.
      const { ProfileLatency } = await import('../device/profileLatency');
      return ProfileLatency.open(setting.name, opts.baseDir);
    }
    case 'adb': {
      // Each child is exported to TFLite and run by benchmark_model on the phone (docs/device.md).
      const { AdbLatency } = await import('../device/adbLatency');
      return AdbLatency.open(setting.serial, { python: opts.python });
    }
  }
}
