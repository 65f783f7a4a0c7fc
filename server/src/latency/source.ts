// What every latency source is: something that gives LAT(m) for a full-size Arch. The sources
// are in this folder (torchLatency, tfliteLatency, profileLatency, adbLatency); `openLatencySource`
// (open.ts) picks one from a search's `latency` setting.
import type { Arch } from '../language/arch';
import type { LatencyMeasurement } from '../util/timing';

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
