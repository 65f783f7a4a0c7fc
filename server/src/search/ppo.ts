// PPO's clipped surrogate objective (Schulman et al. 2017, eq. 7), per sample:
//   r = exp(logpi_new - logpi_old),  objective = min(r A, clip(r, 1 - eps, 1 + eps) A)
// and the loss is its negation. `ppoSurrogate` / `ppoLoss` are the scalar reference (tests check
// them by hand); `ppoSurrogateTensor` is the same formula on tf tensors, used by the controller.
import type * as TfTypes from '@tensorflow/tfjs';
import type { Tf } from '../platform/tfjs';

/** min(r A, clip(r, 1-eps, 1+eps) A) with r = exp(newLogProb - oldLogProb): to be maximised. */
export function ppoSurrogate(newLogProb: number, oldLogProb: number, advantage: number, clip: number): number {
  const ratio = Math.exp(newLogProb - oldLogProb);
  const clipped = Math.min(Math.max(ratio, 1 - clip), 1 + clip);
  return Math.min(ratio * advantage, clipped * advantage);
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
