// Trainings the search-quality benchmark already paid for, reused. A child's proxy training is
// seeded (the run's seed x 100003 + the child's id) and runs on one PyTorch thread, so the same
// architecture with the same dataset, budget, recipe and seed trains to the same accuracy: such a
// child is not trained again; its latency is measured again (the inner evaluator times it as it
// times a child trained before a stop). Sources: the committed children file (earlier runs), and
// every training of this run as it finishes (an rl and an rl-overlap run of one seed sample the
// same first batch; the second waits for the first's training).
import * as path from 'node:path';
import type { Arch } from '../../server/src/language/arch';
import type { ChildEvaluation, ChildJob, Evaluator, TrainedChild } from '../../server/src/search/evaluator';
import type { TrainProgress } from '../../server/src/train/trainer';
import type { LatencyMeasurement } from '../../server/src/util/timing';
import { datasetKey, runInfo, type TrainedChild as TrainedRow } from './searchQuality';

/** One training: the network (without its name), the dataset/budget/recipe and the training seed. */
export function trainingKey(arch: Arch, dataset: Record<string, unknown>, trainSeed: number): string {
  const { name: _name, ...net } = arch;
  return JSON.stringify([net, dataset, trainSeed]);
}

/** The run folder a job belongs to: the engine puts each child's files in <run>/children/<id>. */
const runOf = (job: ChildJob): string => path.dirname(path.dirname(job.outDir));

export class ReusedTrainings implements Evaluator {
  private readonly known = new Map<string, { accuracy: number; train: TrainedChild['train'] }>();
  private readonly inflight = new Map<string, Promise<void>>();
  /** Jobs (by outDir) answered from an earlier training, and from which source. */
  readonly reused = new Map<string, 'file' | 'this run'>();
  private readonly datasets = new Map<string, Record<string, unknown>>();

  constructor(private readonly inner: Evaluator, rows: TrainedRow[]) {
    for (const r of rows) {
      if (r.trainSeed === undefined) continue;
      this.known.set(trainingKey(r.arch, r.dataset, r.trainSeed), {
        accuracy: r.accuracy,
        // What the row keeps of the original training; no weights (they were in that run's folder).
        train: { trainSeconds: r.trainSeconds ?? 0, evalSeconds: 0, imagesPerSecond: r.imagesPerSecond ?? 0, params: r.proxyParams ?? 0, weightsPath: '', loss: [], diverged: false, threads: 1 },
      });
    }
  }

  get backend(): string { return this.inner.backend; }
  capacity(): number { return this.inner.capacity?.() ?? 0; }

  private datasetOf(job: ChildJob): Record<string, unknown> {
    const dir = runOf(job);
    let d = this.datasets.get(dir);
    if (!d) this.datasets.set(dir, (d = datasetKey(runInfo(dir))));
    return d;
  }

  async evaluate(job: ChildJob, onProgress?: (p: TrainProgress & { pid?: number }) => void, onTrained?: (t: TrainedChild) => void): Promise<ChildEvaluation> {
    if (job.trained) return this.inner.evaluate(job, onProgress, onTrained);
    const key = trainingKey(job.full, this.datasetOf(job), job.seed);
    const fromFile = this.known.has(key);
    const waiting = this.inflight.get(key);
    if (waiting) await waiting.catch(() => undefined);
    const hit = this.known.get(key);
    if (hit) {
      this.reused.set(job.outDir, fromFile ? 'file' : 'this run');
      return this.inner.evaluate({ ...job, trained: { accuracy: hit.accuracy, train: hit.train, attempts: 1 } }, onProgress, onTrained);
    }
    let done!: () => void;
    this.inflight.set(key, new Promise<void>((resolve) => { done = resolve; }));
    try {
      const r = await this.inner.evaluate(job, onProgress, onTrained);
      this.known.set(key, { accuracy: r.accuracy, train: { ...r.train, weightsPath: '' } });
      return r;
    } finally {
      this.inflight.delete(key);
      done();
    }
  }

  measureLatency(arch: Arch): Promise<LatencyMeasurement> { return this.inner.measureLatency(arch); }
  abandon(): void { this.inner.abandon?.(); }
  close(): Promise<void> { return Promise.resolve(); }
}
