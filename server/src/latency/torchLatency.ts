// `local` latency from PyTorch on this machine: the full-size network timed in the worker (one
// thread, warm-ups), under the host's timing lock; the figure is the minimum of its wall-clock
// runs (util/timing.ts). The fallback when TFLite's runtime cannot load here.
import type { Arch } from '../language/arch';
import { TorchTrainer } from '../train/torchTrainer';
import { withTimingLock } from '../platform/hostLock';
import { type LatencyMeasurement, summarizeSamples } from '../util/timing';
import type { LatencySource, LocalLatencyOptions } from './source';

export class LocalTorchLatency implements LatencySource {
  readonly name = 'local';
  private constructor(private readonly worker: TorchTrainer, private readonly opts: LocalLatencyOptions) {}

  static async start(opts: LocalLatencyOptions = {}): Promise<LocalTorchLatency> {
    return new LocalTorchLatency(await TorchTrainer.start({ python: opts.python, threads: 1 }), opts);
  }

  async measure(arch: Arch): Promise<LatencyMeasurement> {
    const body = { arch, warmup: this.opts.warmup ?? 5, repeats: this.opts.repeats ?? 20, threads: this.opts.threads ?? 1 };
    const r = await withTimingLock(() => this.worker.request('latency', body));
    const samples = (r.samples as unknown[]).map(Number).filter((v) => Number.isFinite(v) && v >= 0);
    if (samples.length === 0) throw new Error('the PyTorch worker returned no timing samples');
    const s = summarizeSamples(samples, 'min');
    return {
      ms: s.ms, median: s.median, min: s.min, max: s.max, spread: s.spread, repeats: samples.length,
      source: `local ${String(r.runtime)}, ${Number(r.threads)} thread${Number(r.threads) === 1 ? '' : 's'}, wall min`,
      clock: 'wall', statistic: 'min', wallMs: s.min,
    };
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
