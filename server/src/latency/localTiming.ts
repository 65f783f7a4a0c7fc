// Timing one TFLite model on this host: the one function behind `latency local` (search, `mnas
// worker`), `mnas calibrate --device local` and `mnas bench --device local`. The model is loaded
// outside the lock; warm-up and the timed rounds run holding the host's timing lock with every
// registered trainer paused (platform/hostLock.ts), on the protocol of timeLoop.ts.
import { loadTflite, type TfliteModel } from '../device/tfliteRuntime';
import { holdForTiming } from '../platform/hostLock';
import type { LatencyMeasurement } from '../util/timing';
import { type RobustTiming, type TimingProtocol, timeInvocations } from './timeLoop';

export interface LocalTimingOptions extends TimingProtocol {
  /** TFLite interpreter threads (default 1: the paper times one core). */
  threads?: number;
  /** Do not take the host lock (measuring what the lock buys; default: MNAS_TIMING_LOCK=off). */
  noLock?: boolean;
}

export interface LocalTiming extends RobustTiming {
  /** "tflite xnnpack (wasm simd, 1 thread)". */
  runtime: string;
  /** What the host lock cost this measurement: wait for it, trainers paused, ms to pause them, ms held (training stood still). */
  lock: { waitedMs: number; paused: number; pauseMs: number; heldMs: number } | null;
}

/** Times a loaded model under the host lock. */
export async function timeLoaded(model: TfliteModel, opts: LocalTimingOptions = {}): Promise<LocalTiming> {
  const hold = opts.noLock ?? process.env.MNAS_TIMING_LOCK === 'off' ? null : await holdForTiming();
  const held = performance.now();
  try {
    // Inputs stay zero: XNNPACK float kernels take the same time for any values.
    const t = await timeInvocations(() => model.invoke(), opts);
    if (hold?.compromised) throw new Error(`the host's timing lock was lost during the measurement (${hold.compromised.message}); measure again`);
    return { ...t, runtime: model.runtime, lock: hold ? { waitedMs: hold.waitedMs, paused: hold.paused.length, pauseMs: hold.pauseMs, heldMs: performance.now() - held } : null };
  } finally {
    await hold?.release();
  }
}

/** Loads a .tflite flatbuffer, times it under the host lock, frees it. */
export async function timeTfliteBytes(bytes: Uint8Array, opts: LocalTimingOptions = {}): Promise<LocalTiming> {
  const model = await loadTflite(bytes, { numThreads: opts.threads ?? 1 });
  try {
    return await timeLoaded(model, opts);
  } finally {
    model.close();
  }
}

/** The LatencyMeasurement a search journals: the figure with its clock, both clocks' minima, the stop state. */
export function toMeasurement(t: LocalTiming): LatencyMeasurement {
  return {
    ms: t.ms, median: t.median, min: t.min, max: t.max, spread: t.spread, repeats: t.repeats,
    source: `local ${t.runtime}, ${t.clock} ${t.statistic}`,
    clock: t.clock, statistic: t.statistic, cpuMs: t.cpuMs, wallMs: t.wallMs, stable: t.stable,
    ...(Number.isFinite(t.splitHalfPct) ? { splitHalfPct: t.splitHalfPct } : {}),
  };
}

/** One line for logs: "0.312 ms (min of 1,840 runs, split-half 0.4%, cpu 0.318 ms)". */
export function describeTiming(t: RobustTiming): string {
  return `${t.ms.toFixed(3)} ms (${t.statistic} of ${t.repeats} runs in ${t.rounds} rounds, split-half ${t.splitHalfPct.toFixed(1)}%${t.stable ? '' : ` > ${t.boundPct}%: capped`}, cpu ${t.cpuMs.toFixed(3)} ms, median ${t.median.toFixed(3)} ms)`;
}
