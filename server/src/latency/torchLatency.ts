// `local` latency from PyTorch on this machine: the full-size network timed in the worker (one
// thread, warm-ups, trimmed mean). The fallback when TFLite's runtime cannot load here.
import type { Arch } from '../language/arch';
import { TorchTrainer } from '../train/torchTrainer';
import type { LatencyMeasurement } from '../util/timing';
import type { LatencySource, LocalLatencyOptions } from './source';

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
