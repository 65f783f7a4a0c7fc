// PPO's clipped surrogate objective (Schulman et al. 2017, eq. 7), per sample:
//   r = exp(logpi_new - logpi_old),  objective = min(r A, clip(r, 1 - eps, 1 + eps) A)
// and the loss is its negation. `ppoSurrogate` / `ppoLoss` are the scalar reference (tests check
// them by hand); `ppoSurrogateTensor` is the same formula on tf tensors; `ppoEpochs` is the
// controller's update: gradient steps on that loss with an entropy bonus.
//
// Stale samples (`overlap on`: a child sampled one or more updates ago) use decoupled PPO (Hilton
// et al. 2021, "Batch size-invariance for policy optimization"): the ratio is taken against the
// PROXIMAL policy (the controller as it is when the update starts), not the behaviour policy that
// sampled the child, so it starts at 1 and the clip acts as in an on-policy update; the
// off-policy correction is a stop-gradient importance weight w = pi_prox / pi_behaviour,
// truncated at a cap (as IMPACT's and V-trace's truncated weights), or w = 1 (the default: the
// overlap-ppo benchmark, docs/benchmarks.md, found the truncated weight no better than the old
// ratio: over a whole architecture's decisions a stale child's pi_prox / pi_behaviour is far from
// 1, so min(1, .) drops most children the policy moved away from).
import type * as TfTypes from '@tensorflow/tfjs';
import type { Tf } from '../../platform/tfjs';
import type { ControllerHyper } from './hyper';

type Tensor = TfTypes.Tensor;
type Tensor1D = TfTypes.Tensor1D;

export interface BatchItem {
  actions: number[];
  /** logProb returned by `sample` when this architecture was drawn. */
  logProbOld: number;
  reward: number;
}

/** min(r A, clip(r, 1-eps, 1+eps) A) with r = exp(newLogProb - oldLogProb): to be maximised. */
export function ppoSurrogate(newLogProb: number, oldLogProb: number, advantage: number, clip: number): number {
  const ratio = Math.exp(newLogProb - oldLogProb);
  const clipped = Math.min(Math.max(ratio, 1 - clip), 1 + clip);
  return Math.min(ratio * advantage, clipped * advantage);
}

/**
 * How an update weighs samples drawn by an earlier policy. 'behaviour': the plain PPO ratio
 * against the sampling log-prob (what synchronous updates use; stale samples mostly start outside
 * the clip range and teach nothing). 'truncated': decoupled PPO with w = min(cap, pi_prox /
 * pi_behaviour). 'one': decoupled PPO with w = 1 (stale samples treated as on-policy).
 */
export type StaleWeighting = { kind: 'behaviour' } | { kind: 'truncated'; cap: number } | { kind: 'one' };

/** What `overlap on` updates use (the one place for the default): w = 1, measured best in overlap-ppo. */
export const STALE_WEIGHTING: StaleWeighting = { kind: 'one' };

/** The importance weight of a stale sample (a constant of the update: no gradient flows through it). */
export function staleWeight(proxLogProb: number, behaviourLogProb: number, weighting: StaleWeighting): number {
  if (weighting.kind === 'one') return 1;
  if (weighting.kind === 'behaviour') throw new Error('staleWeight: the behaviour ratio has no separate weight');
  return Math.min(weighting.cap, Math.exp(proxLogProb - behaviourLogProb));
}

/** Decoupled PPO's per-sample objective: w * min(r A, clip(r, 1-eps, 1+eps) A) with r = exp(new - prox). */
export function decoupledSurrogate(newLogProb: number, proxLogProb: number, behaviourLogProb: number, advantage: number, clip: number, weighting: StaleWeighting): number {
  return staleWeight(proxLogProb, behaviourLogProb, weighting) * ppoSurrogate(newLogProb, proxLogProb, advantage, clip);
}

/** The per-sample PPO loss, -ppoSurrogate(...): what a gradient step decreases. */
export function ppoLoss(newLogProb: number, oldLogProb: number, advantage: number, clip: number): number {
  return -ppoSurrogate(newLogProb, oldLogProb, advantage, clip);
}

/**
 * Tensor form of `ppoSurrogate` over a batch ([n] each): returns the ratio and the per-sample
 * surrogate. Where the clipped term is the smaller one, its gradient wrt logp is zero: that is
 * how PPO stops pushing a sample once its ratio has left [1-eps, 1+eps] in the advantage's
 * direction.
 */
export function ppoSurrogateTensor(
  tf: Tf, logp: TfTypes.Tensor1D, oldLogp: TfTypes.Tensor1D, advantage: TfTypes.Tensor1D, clip: number,
): { ratio: TfTypes.Tensor1D; surrogate: TfTypes.Tensor1D } {
  const ratio = tf.exp(tf.sub(logp, oldLogp)) as TfTypes.Tensor1D;
  const surrogate = tf.minimum(tf.mul(ratio, advantage), tf.mul(tf.clipByValue(ratio, 1 - clip, 1 + clip), advantage)) as TfTypes.Tensor1D;
  return { ratio, surrogate };
}

/** What PPO needs of a policy on one batch. */
export interface PpoPolicy {
  /** log pi(actions) [n] (summed over decisions) and per-sample entropy [n], differentiable wrt `weights`. */
  evaluate(): { logp: Tensor1D; entropy: Tensor1D };
  weights: TfTypes.Variable[];
  /** One optimiser step with the gradients (keyed by tf variable name). */
  step(grads: Record<string, Tensor>): void;
}

/** Stats of the last epoch's forward pass (before its gradient step). */
export interface PpoStats { loss: number; entropy: number; clipFraction: number; approxKl: number }

/** A decoupled update's per-sample proximal log-probs and importance weights (same order as the batch). */
export interface Proximal { logProb: number[]; weight: number[] }

/**
 * `ppoEpochs` gradient steps on
 *   -mean(min(ratio * A, clip(ratio, 1-eps, 1+eps) * A)) - entropyWeight * mean(entropy)
 * with A = reward - baseline. With `proximal` (decoupled PPO), the ratio is against its log-probs
 * and each sample's surrogate is multiplied by its weight; clipFraction and approxKl are then
 * against the proximal policy too.
 */
export function ppoEpochs(
  tf: Tf, policy: PpoPolicy, batch: BatchItem[], baseline: number, hyper: Pick<ControllerHyper, 'clip' | 'entropyWeight' | 'ppoEpochs'>, proximal?: Proximal,
): PpoStats {
  const { clip, entropyWeight, ppoEpochs: epochs } = hyper;
  const oldT = tf.tensor1d(proximal ? proximal.logProb : batch.map((b) => b.logProbOld));
  const advT = tf.tensor1d(batch.map((b) => b.reward - baseline));
  const weightT = proximal ? tf.tensor1d(proximal.weight) : undefined;
  let stats = [0, 0, 0, 0];
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      let aux: Tensor | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const { logp, entropy } = policy.evaluate();
        const { ratio, surrogate } = ppoSurrogateTensor(tf, logp, oldT, advT, clip);
        const entMean = tf.mean(entropy);
        // Synchronous updates keep their exact graph (no multiply), so their journals stay bit-identical.
        const objective = weightT ? tf.mul(surrogate, weightT) : surrogate;
        const loss = tf.neg(tf.add(tf.mean(objective), tf.mul(entMean, entropyWeight))) as TfTypes.Scalar;
        const clipped = tf.mean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), clip), 'float32'));
        // k3 estimator of KL(old || new): (r - 1) - log r, non-negative, low variance.
        const kl = tf.mean(tf.sub(tf.sub(ratio, 1), tf.sub(logp, oldT)));
        aux = tf.keep(tf.stack([loss, entMean, clipped, kl]));
        return loss;
      }, policy.weights);
      stats = Array.from(aux!.dataSync());
      aux!.dispose();
      value.dispose();
      policy.step(grads);
      tf.dispose(grads);
    }
  } finally {
    tf.dispose([oldT, advT, ...(weightT ? [weightT] : [])]);
  }
  return { loss: stats[0]!, entropy: stats[1]!, clipFraction: stats[2]!, approxKl: stats[3]! };
}
