// Names on the queue: which BullMQ queue a job goes to and its id. Training jobs share one
// queue; latency jobs go to a queue per target (a phone model, or host-local timing), so only
// workers that advertise that target take them (BullMQ has no per-job routing: a queue per
// capability is its way). Job ids are `RUN.CHILD.train|latency`: adding an id that exists is a
// no-op, which makes re-submission after a controller restart safe.
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import type { LatencyTarget } from './payload';

export const TRAIN_QUEUE = 'train';
/** Full trainings after a search (`mnas train --queue`): one long job per network. */
export const TRAIN_FULL_QUEUE = 'train-full';
/** The space's skeleton on the queue (`mnas train` trains it as the baseline): a child id no search reaches. */
export const BASELINE_CHILD = 1_000_000_000;

/** Queue names: letters, digits, - and _ (BullMQ keys use ':' as their separator). */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 60);
}

export function latencyQueue(target: LatencyTarget): string {
  if (target.kind === 'local') return 'latency-local';
  // The hash keeps "Pixel 4" and "Pixel_4" apart after slugging.
  return `latency-adb-${slug(target.model)}-${crypto.createHash('sha1').update(target.model).digest('hex').slice(0, 6)}`;
}

export function describeTarget(target: LatencyTarget): string {
  return target.kind === 'local' ? 'local' : `adb:${target.model}`;
}

/** A run's id on the queue: its folder name plus a hash of its absolute path (two machines, two runs). */
export function runQueueId(runDir: string): string {
  const abs = path.resolve(runDir);
  const base = path.basename(abs).replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 100) || 'run';
  return `${base}-${crypto.createHash('sha1').update(abs).digest('hex').slice(0, 8)}`;
}

/** The child number of a run's reference-model latency job (a relative target); no child gets it (the skeleton of `mnas train` is 1000000000). */
export const TARGET_REFERENCE_CHILD = 999_999_999;

export function jobId(run: string, child: number, kind: 'train' | 'latency' | 'full'): string {
  return `${run}.${child}.${kind}`;
}
