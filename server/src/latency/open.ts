// Where LAT(m) comes from: a search's `latency` setting (language/searchConfig.ts) to an open
// LatencySource. The device-backed sources load lazily, so a search that never times on a phone
// never loads adb.
import type { LatencySource as LatencySetting } from '../language/searchConfig';
import type { LatencySource, LocalLatencyOptions } from './source';
import { LocalTorchLatency } from './torchLatency';

/**
 * `local` prefers TFLite's own runtime (XNNPACK kernels, wasm) on the exported model, as a
 * phone would run it; if that runtime cannot load here, PyTorch on the CPU. MNAS_LOCAL_LATENCY
 * = tflite | torch forces one. The measurement's `source` says which ran.
 */
async function openLocal(opts: LocalLatencyOptions): Promise<LatencySource> {
  const forced = process.env.MNAS_LOCAL_LATENCY;
  if (forced === 'torch') return LocalTorchLatency.start(opts);
  try {
    const { TfliteLatency } = await import('./tfliteLatency');
    // `repeats` is the least number of rounds; the protocol adds rounds until the figure settles.
    return await TfliteLatency.start({ python: opts.python, warmup: opts.warmup, threads: opts.threads, stop: opts.repeats ? { minRounds: Math.max(2, opts.repeats) } : undefined });
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
      const { ProfileLatency } = await import('./profileLatency');
      return ProfileLatency.open(setting.name, opts.baseDir);
    }
    case 'adb': {
      // Each child is exported to TFLite and run by benchmark_model on the phone (docs/device.md).
      const { AdbLatency } = await import('./adbLatency');
      return AdbLatency.open(setting.serial, { python: opts.python });
    }
  }
}
