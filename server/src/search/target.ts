// Resolving the target latency T of a run. `target 75ms` is T as written; `target 0.8x Tiny` is
// 0.8 x Tiny's latency measured on the run's own latency source (this host, a phone, a profile)
// once, when the run starts: T then falls inside the space's latency range on any machine. The
// measurement is kept in run.json (`target`) and a resumed run reuses it instead of measuring again.
import type { Arch } from '../language/arch';
import type { TargetSetting } from '../language/searchConfig';
import type { LatencyMeasurement } from '../util/timing';

/** How a relative T was resolved (run.json `target`). */
export interface TargetRecord {
  factor: number;
  model: string;
  /** The reference model's measured latency and T = factor x it, ms. */
  referenceMs: number;
  targetMs: number;
  spread: number;
  repeats: number;
  /** What measured it ("local tflite xnnpack (wasm simd, 1 thread), cpu min"). */
  source: string;
  measuredAt: string;
}

export class TargetError extends Error {}

/** T in ms for a new run: as written, or measured on `measure` (the run's evaluator). */
export async function resolveTarget(
  target: TargetSetting, reference: Arch | undefined, measure: (arch: Arch) => Promise<LatencyMeasurement>,
): Promise<{ targetMs: number; record?: TargetRecord }> {
  if (target.kind === 'ms') return { targetMs: target.ms };
  if (!reference) throw new TargetError(`target ${target.factor}x ${target.model}: no model \`${target.model}\` to measure (declare or import it in the search's file).`);
  let m: LatencyMeasurement;
  try {
    m = await measure(reference);
  } catch (e) {
    throw new TargetError(`target ${target.factor}x ${target.model}: measuring ${target.model} on the run's latency source failed: ${(e as Error).message}`);
  }
  if (!(m.ms > 0) || !Number.isFinite(m.ms)) throw new TargetError(`target ${target.factor}x ${target.model}: ${target.model} measured ${m.ms} ms, which cannot scale a target.`);
  const targetMs = target.factor * m.ms;
  return {
    targetMs,
    record: {
      factor: target.factor, model: target.model, referenceMs: m.ms, targetMs, spread: m.spread, repeats: m.repeats,
      source: m.source, measuredAt: new Date().toISOString(),
    },
  };
}
