// A LatencySource answered from a device profile (`latency profile NAME` in a search): the
// predictor's estimate instead of a measurement. NAME is a path, profiles/NAME.json shipped
// with the extension/CLI, or ~/.config/mnas-studio/profiles/NAME.json (cost/latency/store.ts).
import type { Arch } from '../language/arch';
import { estimate } from '../cost/latency/estimate';
import type { CompiledProfile } from '../cost/latency/profile';
import { loadProfile } from '../cost/latency/store';
import type { LatencySource } from './source';
import type { LatencyMeasurement } from '../util/timing';

export class ProfileLatency implements LatencySource {
  readonly name: string;
  constructor(readonly profile: CompiledProfile) {
    this.name = `profile ${profile.profile.name}`;
  }

  /** Loads NAME (relative paths against `baseDir`, e.g. the .mnas file's folder). */
  static open(name: string, baseDir?: string): ProfileLatency {
    return new ProfileLatency(loadProfile(name, baseDir));
  }

  async measure(arch: Arch): Promise<LatencyMeasurement> {
    const e = estimate(this.profile, arch);
    const spread = (2 * e.ms * e.uncertaintyPct) / 100;
    return {
      ms: e.ms, median: e.ms, min: e.ms, max: e.ms, spread, repeats: 0,
      source: `profile ${e.profile}${e.approximate ? ' (approximate)' : ''}, ${Math.round(100 * e.coverage)}% of layers measured, ±${e.uncertaintyPct.toFixed(0)}%`,
    };
  }

  async close(): Promise<void> {}
}
