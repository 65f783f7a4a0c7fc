// The controller's hyper-parameters and their defaults. The settings a search can set
// (`controller { ... }`) take their defaults from the language (language/searchConfig.ts
// CONTROLLER_DEFAULTS, the one place); the others are the controller's own. Sources: docs/search.md.
import { CONTROLLER_DEFAULTS as SEARCH_DEFAULTS, type ControllerConfig } from '../../language/searchConfig';

export interface Decision {
  /** Stable name, e.g. "b3.kernel"; part of the checkpoint so a resume checks the space. */
  key: string;
  /** Number of choices (>= 1). */
  options: number;
}

export interface ControllerHyper {
  /** LSTM units. NASNet App. A: one layer, 100 hidden units (MnasNet reuses that controller). */
  hidden: number;
  /** Size of the option embeddings fed to the next step; = hidden as in NAS/NASNet. */
  embedding: number;
  /** Adam learning rate. NASNet App. A: 0.00035. */
  learningRate: number;
  /** PPO clip epsilon. Schulman et al. 2017 (PPO): 0.2. */
  clip: number;
  /**
   * Entropy bonus weight on the per-sample sequence entropy. NASNet App. A: 1e-5; the default is
   * 1e-3, for proxy searches of tens of updates with reward differences ~0.01: see docs/search.md.
   */
  entropyWeight: number;
  /** EMA decay of the reward baseline. NASNet App. A: 0.95. */
  baselineDecay: number;
  /** Gradient steps per batch on the same samples. Our choice; PPO used 3 (Atari) to 10 (MuJoCo). */
  ppoEpochs: number;
  /** Uniform init range [-r, r]. NASNet App. A: 0.1. */
  initRange: number;
  /** logits / temperature before the softmax; 1 = off. ENAS (Pham et al. 2018) uses 5. */
  temperature: number;
  /** C * tanh(logits) when > 0; 0 = off. ENAS uses 2.5: bounds logits, keeps exploring. */
  tanhConstant: number;
  /** Adam beta1/beta2/epsilon: the TF1 AdamOptimizer defaults (the NASNet code base). */
  adamBeta1: number;
  adamBeta2: number;
  adamEpsilon: number;
}

/** A search's `controller { ... }` settings as hyper-parameters (the embedding is as wide as the LSTM). */
export function hyperOf(c: ControllerConfig): Pick<ControllerHyper, 'hidden' | 'embedding' | 'learningRate' | 'clip' | 'entropyWeight' | 'baselineDecay' | 'ppoEpochs'> {
  return { hidden: c.hidden, embedding: c.hidden, learningRate: c.lr, clip: c.clip, entropyWeight: c.entropy, baselineDecay: c.baselineDecay, ppoEpochs: c.epochs };
}

/** Defaults: a search's, plus the knobs a search does not set. */
export const CONTROLLER_DEFAULTS: Readonly<ControllerHyper> = Object.freeze({
  ...hyperOf(SEARCH_DEFAULTS),
  initRange: 0.1,
  temperature: 1,
  tanhConstant: 0,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
});
