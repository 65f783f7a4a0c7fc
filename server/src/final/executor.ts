// What a full training runs on: the local pool or the queue (queueExecutor.ts), behind one
// interface, and the jobs and requests it is given.
import type { Arch, ModelSpec } from '../language/arch';
import type { DatasetRequest } from '../train/datasets';
import type { DataSpec, FullTrainEvent, FullTrainRecipe, FullTrainResult, TrainRecipe } from '../train/trainer';
import type { LatencyMeasurement } from '../util/timing';
import type { FullTarget } from './store';

/** One network to train fully. */
export interface FullJob {
  /** "child 7", "baseline", or the model's name: what progress lines and events are keyed by. */
  key: string;
  target: FullTarget;
  name: string;
  spec: ModelSpec;
  dir: string;
  proxyAccuracy: number | null;
  latency: LatencyMeasurement | null;
}

export interface FullRequest { arch: Arch; data: DataSpec; dataset: DatasetRequest; recipe: FullTrainRecipe; seed: number; resume: boolean }
export interface ProxyRequest { arch: Arch; data: DataSpec; dataset: DatasetRequest; recipe: TrainRecipe; seed: number }

/** Where full trainings and the baseline's measurements run: the local pool or the queue. */
export interface FullExecutor {
  readonly backend: string;
  trainFull(job: FullJob, req: FullRequest, onEvent: (e: FullTrainEvent) => void): Promise<FullTrainResult & { job?: string; worker?: string }>;
  /** Proxy training of the skeleton with the search's recipe (its proxy accuracy for the table). */
  trainProxy(job: FullJob, req: ProxyRequest): Promise<number>;
  measure(spec: ModelSpec): Promise<LatencyMeasurement>;
  /** Whether children can be timed again here (the queue answers a child's latency job id with the search's result). */
  readonly retimes: boolean;
  kill(): void;
  close(): Promise<void>;
}
