// Full trainings on the Redis queue (`mnas train --queue`): each network is one long job taken
// by a `mnas worker` (any with a training pool; a GPU host would do), with the same payload
// checks and artifact rules as a search's children (server/src/queue/). The skeleton's latency
// and proxy accuracy are jobs too, so it is timed where the children were.
import * as path from 'node:path';
import { type ModelSpec, toArch } from '../language/arch';
import type { SearchConfig } from '../language/searchConfig';
import type { RedisSettings } from '../queue/connection';
import { PAYLOAD_VERSION } from '../queue/payload';
import { QueueEvaluator } from '../queue/queueEvaluator';
import { BASELINE_CHILD } from '../queue/topology';
import type { FullTrainEvent, FullTrainResult } from '../train/trainer';
import type { LatencyMeasurement } from '../util/timing';
import type { FullExecutor, FullJob, FullRequest, ProxyRequest } from './executor';

const childOf = (job: FullJob) => (job.target.kind === 'child' ? job.target.id : BASELINE_CHILD);

export class QueueFullExecutor implements FullExecutor {
  private constructor(private readonly queue: QueueEvaluator, private readonly runId: string) {}

  static async start(o: RedisSettings & { run: string; latency: SearchConfig['latency']; baseDir: string; attempts?: number; onWarning?: (m: string) => void }): Promise<QueueFullExecutor> {
    return new QueueFullExecutor(await QueueEvaluator.start({ ...o }), o.run);
  }

  readonly retimes = false;

  get backend(): string { return this.queue.backend; }

  async trainFull(job: FullJob, req: FullRequest, onEvent: (e: FullTrainEvent) => void): Promise<FullTrainResult & { job?: string; worker?: string }> {
    const { result, job: id } = await this.queue.trainFull({
      v: PAYLOAD_VERSION, run: this.runId, child: childOf(job), arch: req.arch, dataset: req.dataset,
      expect: { shape: req.data.shape, classes: req.data.classes }, recipe: req.recipe, seed: req.seed,
    }, job.dir, (e) => onEvent(e as FullTrainEvent));
    return {
      ...result.result, weightsPath: path.join(job.dir, 'weights-full.pt'), lastWeightsPath: path.join(job.dir, 'weights-full-last.pt'),
      job: id, worker: result.worker,
    };
  }

  trainProxy(job: FullJob, req: ProxyRequest): Promise<number> {
    return this.queue.trainOnly({
      id: childOf(job), proxy: req.arch, full: req.arch, data: req.data, recipe: req.recipe, seed: req.seed, outDir: job.dir, dataset: req.dataset,
    });
  }

  measure(spec: ModelSpec): Promise<LatencyMeasurement> {
    return this.queue.time(BASELINE_CHILD, toArch(spec));
  }

  kill(): void { this.queue.abandon(); }

  close(): Promise<void> { return this.queue.close(); }
}
