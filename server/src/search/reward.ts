// The MnasNet multi-objective reward (Tan et al. 2019, eq. 2):
//   R(m) = ACC(m) * (LAT(m) / T) ^ w,   w = alpha if LAT(m) <= T else beta
// plus optional resource caps. Pure functions; `parts` lets the UI explain a reward.

export interface RewardWeights {
  alpha: number;
  beta: number;
}

/**
 * soft: the paper's default. "+5% accuracy is worth 2x latency" gives
 *   a(1+5%)(2l/T)^b = a(l/T)^b  =>  b = -ln(1.05)/ln(2) ~ -0.07, with alpha = beta.
 * hard: accuracy alone under the target, a sharp (LAT/T)^-1 penalty above it.
 */
export const REWARD_PRESETS = Object.freeze({
  soft: Object.freeze({ alpha: -0.07, beta: -0.07 }),
  hard: Object.freeze({ alpha: 0, beta: -1 }),
}) satisfies Record<string, RewardWeights>;

export type RewardPreset = keyof typeof REWARD_PRESETS;

/**
 * Caps on model size. Not in the paper (it constrains latency only). When a cap is exceeded
 * the reward is multiplied by (value/max)^-1, the same shape as the hard latency penalty:
 * continuous at the cap (factor 1), scale-free, and 2x over the cap halves the reward. Under
 * the cap the factor is 1, so caps never reward being smaller.
 */
export interface RewardConstraints {
  maxParams?: number;
  maxMultAdds?: number;
}

export interface RewardInput extends RewardWeights {
  /** Accuracy (or any non-negative quality score), typically in [0, 1]. */
  accuracy: number;
  latencyMs: number;
  targetMs: number;
  params?: number;
  multAdds?: number;
  constraints?: RewardConstraints;
}

export interface RewardParts {
  accuracy: number;
  /** LAT / T. */
  latencyRatio: number;
  /** (LAT / T) ^ w. */
  latencyFactor: number;
  /** Which exponent applied: alpha (LAT <= T) or beta (LAT > T). */
  branch: 'alpha' | 'beta';
  /** 1 unless params exceed maxParams. */
  paramsFactor: number;
  /** 1 unless mult-adds exceed maxMultAdds. */
  multAddsFactor: number;
}

export interface RewardResult {
  reward: number;
  /** The exponent w used. */
  weight: number;
  parts: RewardParts;
}

function check(name: string, v: number, { positive }: { positive: boolean }): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`reward: ${name} must be a finite number, got ${v}`);
  if (positive ? v <= 0 : v < 0) {
    throw new Error(`reward: ${name} must be ${positive ? 'positive' : 'non-negative'}, got ${v}`);
  }
}

function capFactor(name: string, value: number | undefined, max: number | undefined): number {
  if (max === undefined) return 1;
  check(`constraints.${name === 'params' ? 'maxParams' : 'maxMultAdds'}`, max, { positive: true });
  if (value === undefined) throw new Error(`reward: a ${name} cap is set but the model's ${name} were not given`);
  check(name, value, { positive: false });
  return value > max ? max / value : 1;
}

export function reward(input: RewardInput): RewardResult {
  const { accuracy, latencyMs, targetMs, alpha, beta } = input;
  check('accuracy', accuracy, { positive: false });
  check('latencyMs', latencyMs, { positive: true });
  check('targetMs', targetMs, { positive: true });
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) throw new Error('reward: alpha and beta must be finite');

  const branch = latencyMs <= targetMs ? 'alpha' : 'beta';
  const weight = branch === 'alpha' ? alpha : beta;
  const latencyRatio = latencyMs / targetMs;
  const latencyFactor = latencyRatio ** weight;
  const paramsFactor = capFactor('params', input.params, input.constraints?.maxParams);
  const multAddsFactor = capFactor('multAdds', input.multAdds, input.constraints?.maxMultAdds);

  return {
    reward: accuracy * latencyFactor * paramsFactor * multAddsFactor,
    weight,
    parts: { accuracy, latencyRatio, latencyFactor, branch, paramsFactor, multAddsFactor },
  };
}

/** alpha/beta of a named preset, for callers that take "soft" | "hard" from settings. */
export function presetWeights(name: RewardPreset): RewardWeights {
  const w = REWARD_PRESETS[name];
  if (!w) throw new Error(`reward: unknown preset "${String(name)}" (expected soft or hard)`);
  return { alpha: w.alpha, beta: w.beta };
}
