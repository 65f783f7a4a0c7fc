// LAT(m) from the real TFLite runtime on this machine: the full-size arch is exported with
// seeded random weights (the worker's `export`; latency does not depend on the values) and
// timed in the wasm TFLite runtime with XNNPACK, 1 thread (the paper times one big core).
// Wiring (open.ts, `openLatencySource`, case 'local'): `TfliteLatency.start(opts)`.
import type { Arch } from '../language/arch';
import type { LatencySource } from './source';
import type { LatencyMeasurement } from '../util/timing';
import { TorchTrainer } from '../train/torchTrainer';
import { exportWithWorker } from '../device/tflite/index';
import { loadTflite, timeTflite } from '../device/tfliteRuntime';

export interface TfliteLatencyOptions {
  python?: string;
  warmup?: number;
  repeats?: number;
  /** TFLite interpreter threads (default 1). */
  threads?: number;
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
    const { bytes } = await exportWithWorker(this.worker, arch, { seed: this.opts.seed ?? 0 });
    const threads = this.opts.threads ?? 1;
    const model = await loadTflite(bytes, { numThreads: threads });
    try {
      // Inputs stay zero: XNNPACK float kernels take the same time for any values.
      const t = timeTflite(model, { warmup: this.opts.warmup ?? 5, repeats: this.opts.repeats ?? 20 });
      return {
        ms: t.ms, median: t.median, min: t.min, max: t.max, spread: t.spread, repeats: t.samples.length,
        source: `local ${model.runtime}`,
      };
    } finally {
      model.close();
    }
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
