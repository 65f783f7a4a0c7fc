// What a full training (`mnas train`, fullTraining.ts) reports, in order: `start` (the networks
// it trains and those already trained), per network `begin` (then `resumed` when it continues a checkpoint), `progress` within an
// epoch, `epoch`, then `trained` or `failed`; `warning`s, and `done`. `mnas train --events ndjson`
// prints one per line; the extension reads them from that stream (types only, like
// search/events.ts: published for the extension, which bundles nothing of the training).
import type { FullTrainRecipe } from '../train/trainer';

export type FullTrainingEvent =
  | { event: 'start'; out: string; jobs: { key: string; name: string; dir: string; resume: boolean }[]; skipped: { key: string; why: string }[]; backend: string; dataset: string; recipe: FullTrainRecipe }
  | { event: 'begin'; key: string; name: string; epochs: number }
  | { event: 'resumed'; key: string; epoch: number; epochs: number }
  | { event: 'progress'; key: string; epoch: number; epochs: number; step: number; steps: number; loss: number }
  | { event: 'epoch'; key: string; epoch: number; epochs: number; loss: number; trainAccuracy: number; valAccuracy: number | null; valAccuracyEma: number | null; seconds: number; elapsed: number; best: number }
  | { event: 'trained'; key: string; name: string; accuracy: number; lastAccuracy: number; proxyAccuracy: number | null; latencyMs: number | null; dir: string }
  | { event: 'failed'; key: string; error: string }
  | { event: 'warning'; message: string }
  | { event: 'done'; status: 'done' | 'stopped' | 'failed'; trained: number; failed: number; seconds: number };
