// Times the controller on a MnasNet-sized space: 7 blocks x 7 decisions = 49 softmaxes.
// Kept as a library function so the benchmark suite can call it; docs/search.md quotes it.
import type { Tf } from './backend';
import { Controller, type ControllerHyper, type Decision } from './controller';
import { Rng } from './rng';

/** Option counts of one block: op, expansion, kernel, SE, skip, filter factor, layer delta. */
export const BLOCK_OPTIONS = [3, 3, 2, 2, 3, 3, 3] as const;
const FIELDS = ['op', 'expansion', 'kernel', 'se', 'skip', 'filters', 'layers'] as const;

export function mnasnetDecisions(blocks = 7): Decision[] {
  const out: Decision[] = [];
  for (let b = 0; b < blocks; b++) BLOCK_OPTIONS.forEach((options, i) => out.push({ key: `b${b + 1}.${FIELDS[i]}`, options }));
  return out;
}

export interface ControllerTiming {
  decisions: number;
  params: number;
  batch: number;
  /** Median ms to sample one batch. */
  sampleMs: number;
  /** Median ms of one PPO update (all epochs) on one batch. */
  updateMs: number;
  runs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function timeController(tf: Tf, opts: { blocks?: number; batch?: number; runs?: number; hyper?: Partial<ControllerHyper> } = {}): ControllerTiming {
  const { blocks = 7, batch = 8, runs = 5 } = opts;
  const decisions = mnasnetDecisions(blocks);
  const ctl = new Controller(tf, decisions, { seed: 1, ...opts.hyper });
  const rng = new Rng(1);
  const sampleMs: number[] = [];
  const updateMs: number[] = [];
  try {
    for (let i = 0; i <= runs; i++) {
      let t = performance.now();
      const s = ctl.sample(batch, rng);
      const ts = performance.now() - t;
      t = performance.now();
      ctl.update(s.map((x) => ({ actions: x.actions, logProbOld: x.logProb, reward: rng.next() })));
      const tu = performance.now() - t;
      if (i > 0) { sampleMs.push(ts); updateMs.push(tu); } // run 0 warms up kernels
    }
    return { decisions: decisions.length, params: ctl.paramCount, batch, sampleMs: median(sampleMs), updateMs: median(updateMs), runs };
  } finally {
    ctl.dispose();
  }
}
