// A pool of `slots` workers in virtual time, around any evaluator that gives a child's result:
// each child takes a seeded time (standInSeconds: lognormal with a 5% straggler tail), starts
// when a slot is free (in the order submitted), and whenever the engine has nothing left to do
// (it waits for a result) the running child due first in virtual time finishes. The order of
// results is then a function of the children alone: `overlap on` at 64 workers can be run on one
// machine in seconds, with the staleness a real pool of that size would give (the overlap test and
// the search-quality-surrogate benchmark).
import type { Arch } from '../../server/src/language/arch';
import { type ChildEvaluation, ChildFailedError, type ChildJob, type Evaluator } from '../../server/src/search/evaluator';
import { standInSeconds } from '../../server/src/train/standInTrainer';
import type { LatencyMeasurement } from '../../server/src/util/timing';

interface Waiting { job: ChildJob; resolve: (e: ChildEvaluation) => void; reject: (e: Error) => void; result?: Promise<ChildEvaluation> }

export class VirtualTimeEvaluator implements Evaluator {
  /** Virtual seconds since the start. */
  now = 0;
  /** Virtual finish time per child id once it started, kept across a stop: a child resubmitted after a resume finishes when it would have. */
  readonly due = new Map<number, number>();
  private readonly took = new Map<number, number>();
  private readonly pending = new Map<number, Waiting>();
  private scheduled = false;
  /** Workers busy at each moment a result was handed back. */
  readonly busyAtResult: number[] = [];
  /** Virtual time slots were busy, summed over children. */
  busy = 0;

  /** `meanSeconds`: the children's mean time (only ratios matter: nothing waits in real time). */
  constructor(private readonly inner: Evaluator, private readonly slots: number, private readonly meanSeconds = 1) {}

  get backend(): string { return `${this.inner.backend}, ${this.slots} workers in virtual time`; }
  capacity(): number { return this.slots; }

  evaluate(job: ChildJob): Promise<ChildEvaluation> {
    return new Promise((resolve, reject) => {
      this.pending.set(job.id, { job, resolve, reject });
      this.wake();
    });
  }

  private running(): number[] {
    return [...this.pending.keys()].filter((id) => this.due.has(id));
  }

  /** Free slots take the waiting children in the order they came; each one's result is asked for at once. */
  private start(): void {
    const free = this.slots - this.running().length;
    for (const [id, p] of [...this.pending].filter(([i]) => !this.due.has(i)).slice(0, Math.max(0, free))) {
      const t = standInSeconds(p.job.seed, this.meanSeconds);
      this.due.set(id, this.now + t);
      this.took.set(id, t);
      this.busy += t;
    }
    for (const [id, p] of this.pending) if (this.due.has(id) && !p.result) p.result = this.inner.evaluate(p.job);
  }

  /** After the engine has done everything it can (every microtask and the immediates it queued), finish the running child due first. */
  private wake(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => setImmediate(() => void this.finishNext()));
  }

  private async finishNext(): Promise<void> {
    this.start();
    const run = this.running().sort((a, b) => this.due.get(a)! - this.due.get(b)! || a - b);
    if (run.length === 0) { this.scheduled = false; return; }
    const id = run[0];
    const p = this.pending.get(id)!;
    let result: ChildEvaluation;
    try {
      result = await p.result!;
    } catch (e) {
      this.scheduled = false;
      if (this.pending.get(id) === p) { this.pending.delete(id); p.reject(e as Error); }
      if (this.pending.size) this.wake();
      return;
    }
    this.scheduled = false;
    if (this.pending.get(id) !== p) return; // abandoned meanwhile
    this.busyAtResult.push(run.length);
    this.pending.delete(id);
    this.now = Math.max(this.now, this.due.get(id)!);
    p.resolve({ ...result, train: { ...result.train, trainSeconds: this.took.get(id)! } });
    if (this.pending.size) this.wake();
  }

  measureLatency(arch: Arch): Promise<LatencyMeasurement> { return this.inner.measureLatency(arch); }

  abandon(): void {
    for (const p of this.pending.values()) p.reject(new ChildFailedError('stopped'));
    this.pending.clear();
  }

  close(): Promise<void> { return Promise.resolve(); }
}
