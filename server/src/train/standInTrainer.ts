// A STAND-IN for child training, for scale measurements only (`mnas worker --stand-in-training
// SECONDS`, the queue-scale benchmark): it trains nothing. It waits a seeded time and returns an
// accuracy computed from the architecture, so the real controller, journal, Redis queue and
// `mnas worker` processes can be run at 64 workers on one machine, with a reward signal for the
// controller to follow. Everything it reports says so (backend "STAND-IN", 0 images/s, no weights).
import type { Arch } from '../language/arch';
import { costOf } from '../cost/model';
import { Rng } from '../util/rng';
import type { HelloInfo, Trainer, TrainRequest, TrainResult } from './trainer';

/** The wait: lognormal around the mean with this sigma (log scale), and a straggler tail. */
export const STAND_IN = Object.freeze({ sigma: 0.25, stragglerShare: 0.05, stragglerMin: 3, stragglerMax: 5 });

/**
 * Seconds a child "trains": mean x lognormal(0, sigma) normalised to mean 1, and with probability
 * 5% a straggler at 3-5x. Drawn from the child's training seed, so the same child waits the same
 * time on any worker and in any run with the same seed.
 */
export function standInSeconds(seed: number, mean: number): number {
  const rng = new Rng((seed ^ 0x5eed5eed) >>> 0);
  const u1 = Math.max(rng.next(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rng.next());
  const { sigma, stragglerShare, stragglerMin, stragglerMax } = STAND_IN;
  let t = mean * Math.exp(sigma * z - (sigma * sigma) / 2);
  if (rng.next() < stragglerShare) t *= stragglerMin + (stragglerMax - stragglerMin) * rng.next();
  return t;
}

/** FNV-1a 32-bit of a string. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * A deterministic "accuracy" of an architecture: rises with log mult-adds per input pixel and
 * saturates (bigger children are more accurate, as on a real proxy task; per pixel, so a proxy
 * at 28x28 and its full-size network score alike), plus a fixed +-1 point per architecture from a
 * hash of its blocks (the part a search has to find by sampling). Centred on the MnasNet space's
 * children (10^3.6-10^4.05 mult-adds per pixel for 80% of random ones).
 */
export function standInAccuracy(arch: Arch): number {
  const { multAdds } = costOf(arch);
  const x = Math.log10(Math.max(multAdds / (arch.input.h * arch.input.w), 1));
  const base = 0.55 + 0.4 / (1 + Math.exp(-(x - 3.8) / 0.2));
  const bonus = (fnv1a(JSON.stringify(arch.blocks)) / 0xffffffff - 0.5) * 0.02;
  return Math.min(0.999, Math.max(0.01, base + bonus));
}

export class StandInTrainer implements Trainer {
  readonly backend: string;
  private closed = false;
  private readonly timers = new Set<{ timer: NodeJS.Timeout; reject: (e: Error) => void }>();

  constructor(private readonly meanSeconds: number) {
    if (!(meanSeconds > 0 && Number.isFinite(meanSeconds))) throw new Error(`stand-in training: the mean child time must be a number of seconds > 0, got ${meanSeconds}`);
    this.backend = `STAND-IN (no training: seeded wait ~${meanSeconds} s)`;
  }

  hello(): Promise<HelloInfo> {
    return Promise.resolve({ backend: this.backend, threads: 0, python: '', protocol: 0 });
  }

  count(arch: Arch): Promise<number> {
    return Promise.resolve(costOf(arch).params);
  }

  train(request: TrainRequest): Promise<TrainResult> {
    if (this.closed) return Promise.reject(new Error('stand-in trainer closed'));
    const seconds = standInSeconds(request.seed, this.meanSeconds);
    return new Promise<TrainResult>((resolve, reject) => {
      const entry = {
        reject,
        timer: setTimeout(() => {
          this.timers.delete(entry);
          resolve({
            accuracy: standInAccuracy(request.arch), trainAccuracy: 0, loss: [], epochLoss: [], lossEvery: 0, steps: 0, diverged: false,
            trainSeconds: seconds, evalSeconds: 0, imagesPerSecond: 0, params: costOf(request.arch).params, weightsPath: '', threads: 0,
          });
        }, seconds * 1000),
      };
      this.timers.add(entry);
    });
  }

  close(): Promise<void> {
    this.closed = true;
    for (const e of this.timers) { clearTimeout(e.timer); e.reject(new Error('stand-in trainer closed')); }
    this.timers.clear();
    return Promise.resolve();
  }
}
