// LAT(m) from the real TFLite runtime on this machine: the full-size arch is exported with
// seeded random weights (the worker's `export`; latency does not depend on the values) and
// timed in the wasm TFLite runtime with XNNPACK, 1 thread (the paper times one big core), under
// the host's timing lock with the local protocol (localTiming.ts: CPU-time minimum, adaptive repeats).
// Wiring (open.ts, `openLatencySource`, case 'local'): `TfliteLatency.start(opts)`.
import type { Arch } from '../language/arch';
import type { LatencySource } from './source';
import type { LatencyMeasurement } from '../util/timing';
import { TorchTrainer } from '../train/torchTrainer';
import { exportWithWorker } from '../device/tflite/index';
import { type LocalTimingOptions, timeTfliteBytes, toMeasurement } from './localTiming';

export interface TfliteLatencyOptions extends LocalTimingOptions {
  python?: string;
  /** Seed of the random weights (default 0). */
  seed?: number;
}

export class TfliteLatency implements LatencySource {
  readonly name = 'tflite';
  private constructor(private readonly worker: TorchTrainer, private readonly opts: TfliteLatencyOptions) {}

  static async start(opts: TfliteLatencyOptions = {}): Promise<TfliteLatency> {
    return new TfliteLatency(await TorchTrainer.start({ python: opts.python, threads: 1 }), opts);
  }

  async measure(arch: Arch): Promise<LatencyMeasurement> {
    // Export outside the lock: only the timing itself pauses training.
    const { bytes } = await exportWithWorker(this.worker, arch, { seed: this.opts.seed ?? 0 });
    return toMeasurement(await timeTfliteBytes(bytes, this.opts));
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
