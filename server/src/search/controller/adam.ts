// Adam (Kingma & Ba 2015), bias-corrected as in TF1's AdamOptimizer (the NASNet code base),
// written out so its moments are named tf variables that go into the controller's checkpoint.
// Elementwise in JS (float64 arithmetic, stored as float32): ~12 tf ops per tensor otherwise.
import type * as TfTypes from '@tensorflow/tfjs';
import type { Tf } from '../../platform/tfjs';
import type { ControllerHyper } from './hyper';

type Variable = TfTypes.Variable;

export class Adam {
  /** First and second moments by weight name. */
  readonly m = new Map<string, Variable>();
  readonly v = new Map<string, Variable>();
  /** Steps taken (t in the bias correction). */
  step = 0;

  constructor(private readonly tf: Tf, private readonly hyper: Pick<ControllerHyper, 'learningRate' | 'adamBeta1' | 'adamBeta2' | 'adamEpsilon'>) {}

  /** Zero moments for a weight. */
  add(name: string, shape: number[]): void {
    for (const moments of [this.m, this.v]) {
      const zeros = this.tf.zeros(shape);
      moments.set(name, this.tf.variable(zeros, false));
      zeros.dispose();
    }
  }

  /** One step on `weights` (by name) with `grads` (by tf variable name, as variableGrads gives them). */
  apply(weights: Map<string, Variable>, names: string[], grads: Record<string, TfTypes.Tensor>): void {
    const { tf } = this;
    const { learningRate: lr, adamBeta1: b1, adamBeta2: b2, adamEpsilon: eps } = this.hyper;
    this.step += 1;
    const t = this.step;
    const lrT = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    for (const name of names) {
      const w = weights.get(name)!;
      const g = grads[w.name];
      if (!g) continue;
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      const gs = g.dataSync() as Float32Array;
      const ms = Float32Array.from(m.dataSync() as Float32Array);
      const vs = Float32Array.from(v.dataSync() as Float32Array);
      const ws = Float32Array.from(w.dataSync() as Float32Array);
      for (let i = 0; i < ws.length; i++) {
        const gi = gs[i]!;
        const mi = (ms[i] = b1 * ms[i]! + (1 - b1) * gi);
        const vi = (vs[i] = b2 * vs[i]! + (1 - b2) * gi * gi);
        ws[i] = ws[i]! - (mi * lrT) / (Math.sqrt(vi) + eps);
      }
      for (const [variable, data] of [[m, ms], [v, vs], [w, ws]] as const) {
        const t = tf.tensor(data, variable.shape);
        variable.assign(t);
        t.dispose();
      }
    }
  }

  dispose(): void {
    for (const moments of [this.m, this.v]) {
      for (const v of moments.values()) v.dispose();
      moments.clear();
    }
  }
}
