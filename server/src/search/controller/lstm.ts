// Fused kernels of the controller's LSTM. The cpu backend runs every tf op as a separate JS loop
// with bookkeeping (and several ops on it are slow: gather's gradient is an O(segments x size) UnsortedSegmentSum,
// and column slices/splits of a [n, 4H] gate tensor go element by element). The controller's
// tensors are tiny (batch 8, hidden 100), so op count dominates. These tf.customGrad ops do
// the elementwise work of a step, and the gathers, in plain JS loops over Float32Arrays with
// hand-written gradients; the matmuls stay tf ops. test/search/controller.test.ts checks the
// gradients against the plain tf formulation.
import type * as TfTypes from '@tensorflow/tfjs';
import type { Tf } from '../../platform/tfjs';

type Tensor = TfTypes.Tensor;
type Tensor1D = TfTypes.Tensor1D;
type Tensor2D = TfTypes.Tensor2D;

/**
 * out[i] = table[rows[i]] + bias for a [R, C] table and a [C] bias. Gradient: dy scatter-added
 * into the table rows, and summed over rows for the bias.
 */
export function gatherRows(tf: Tf, table: Tensor2D, bias: Tensor1D, rows: Int32Array): Tensor2D {
  const [R, C] = table.shape;
  const op = tf.customGrad((x, b) => {
    const xs = (x as Tensor).dataSync() as Float32Array;
    const bs = (b as Tensor).dataSync() as Float32Array;
    const out = new Float32Array(rows.length * C);
    for (let i = 0; i < rows.length; i++) {
      const src = rows[i]! * C;
      for (let j = 0; j < C; j++) out[i * C + j] = xs[src + j]! + bs[j]!;
    }
    return {
      value: tf.tensor2d(out, [rows.length, C]),
      gradFunc: (dy: Tensor) => {
        const g = dy.dataSync() as Float32Array;
        const dx = new Float32Array(R * C);
        const db = new Float32Array(C);
        for (let i = 0; i < rows.length; i++) {
          const dst = rows[i]! * C;
          for (let j = 0; j < C; j++) {
            dx[dst + j]! += g[i * C + j]!;
            db[j]! += g[i * C + j]!;
          }
        }
        return [tf.tensor2d(dx, [R, C]), tf.tensor1d(db)];
      },
    };
  });
  return op(table, bias) as Tensor2D;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * One LSTM step for n samples, in place. z ([n, 4H], gates i f g o as in `lstm.kernel`) holds
 * x W_x + b on entry; h W_h is added when hPrev is given (h = c = 0 before the first step).
 * On exit z holds the activated gates; writes c' = sig(f) c + sig(i) tanh(g), tanh(c') and
 * h' = sig(o) tanh(c').
 */
export function lstmStep(
  z: Float32Array, wh: Float32Array, hPrev: Float32Array | null, cPrev: Float32Array | null,
  n: number, H: number, hOut: Float32Array, cOut: Float32Array, tanhCOut: Float32Array,
): void {
  const H4 = 4 * H;
  if (hPrev) {
    for (let s = 0; s < n; s++) {
      const zb = s * H4;
      for (let j = 0; j < H; j++) {
        const hv = hPrev[s * H + j]!;
        if (hv === 0) continue;
        const wb = j * H4;
        for (let k = 0; k < H4; k++) z[zb + k]! += hv * wh[wb + k]!;
      }
    }
  }
  for (let s = 0; s < n; s++) {
    for (let j = 0; j < H; j++) {
      const k = s * H + j;
      const zb = s * H4 + j;
      const i = (z[zb] = sigmoid(z[zb]!));
      const f = (z[zb + H] = sigmoid(z[zb + H]!));
      const g = (z[zb + 2 * H] = Math.tanh(z[zb + 2 * H]!));
      const o = (z[zb + 3 * H] = sigmoid(z[zb + 3 * H]!));
      const c = (cOut[k] = (cPrev ? f * cPrev[k]! : 0) + i * g);
      const t = (tanhCOut[k] = Math.tanh(c));
      hOut[k] = o * t;
    }
  }
}

/**
 * The whole teacher-forced LSTM recurrence as one op: xs = x W_x + b per step ([D * n, 4H],
 * step-major) and W_h ([H, 4H]) to the hidden states [D, n, H]. The gradient is hand-written
 * backpropagation through time: one pass back over the steps, dW_h accumulated in one buffer.
 */
export function lstmSequence(tf: Tf, xs: Tensor2D, wh: Tensor2D, D: number, n: number): TfTypes.Tensor3D {
  const H = wh.shape[0];
  const H4 = 4 * H;
  const size = n * H;
  const op = tf.customGrad((xIn, whIn) => {
    const x = (xIn as Tensor).dataSync() as Float32Array;
    const w = Float32Array.from((whIn as Tensor).dataSync() as Float32Array);
    const gates = Float32Array.from(x); // becomes the activated gates, step by step
    const hs = new Float32Array(D * size);
    const cs = new Float32Array(D * size);
    const tcs = new Float32Array(D * size);
    for (let d = 0; d < D; d++) {
      const at = d * size;
      lstmStep(
        gates.subarray(d * n * H4, (d + 1) * n * H4), w,
        d === 0 ? null : hs.subarray(at - size, at), d === 0 ? null : cs.subarray(at - size, at),
        n, H, hs.subarray(at, at + size), cs.subarray(at, at + size), tcs.subarray(at, at + size),
      );
    }
    return {
      value: tf.tensor3d(hs, [D, n, H]),
      gradFunc: (dy: Tensor) => {
        const dhs = dy.dataSync() as Float32Array;
        const dx = new Float32Array(D * n * H4);
        const dw = new Float64Array(H * H4);
        const dh = new Float64Array(size); // gradient wrt h of the current step from the next step
        const dc = new Float64Array(size); // same for c
        for (let d = D - 1; d >= 0; d--) {
          const at = d * size;
          const gb = d * n * H4;
          for (let s = 0; s < n; s++) {
            for (let j = 0; j < H; j++) {
              const k = s * H + j;
              const zb = gb + s * H4 + j;
              const i = gates[zb]!, f = gates[zb + H]!, g = gates[zb + 2 * H]!, o = gates[zb + 3 * H]!;
              const t = tcs[at + k]!;
              const dhT = dhs[at + k]! + dh[k]!;
              const dcT = dc[k]! + dhT * o * (1 - t * t);
              const cPrev = d === 0 ? 0 : cs[at - size + k]!;
              dx[zb] = dcT * g * i * (1 - i);
              dx[zb + H] = dcT * cPrev * f * (1 - f);
              dx[zb + 2 * H] = dcT * i * (1 - g * g);
              dx[zb + 3 * H] = dhT * t * o * (1 - o);
              dc[k] = dcT * f;
            }
          }
          if (d === 0) break;
          // z_d = ... + h_{d-1} W_h: dW_h += h_{d-1}^T dz_d, dh_{d-1} = dz_d W_h^T.
          const hPrev = at - size;
          for (let s = 0; s < n; s++) {
            const zb = gb + s * H4;
            for (let j = 0; j < H; j++) {
              const hv = hs[hPrev + s * H + j]!;
              const wb = j * H4;
              let acc = 0;
              for (let k = 0; k < H4; k++) {
                const g = dx[zb + k]!;
                dw[wb + k]! += hv * g;
                acc += g * w[wb + k]!;
              }
              dh[s * H + j] = acc;
            }
          }
        }
        return [tf.tensor2d(dx, [D * n, H4]), tf.tensor2d(Float32Array.from(dw), [H, H4])];
      },
    };
  });
  return op(xs, wh) as TfTypes.Tensor3D;
}

/**
 * Stacks per-decision head weights [H, k_d] (or biases [k_d], given as [1, k_d]) into
 * [D, rows * tile, kMax], zero-padded to kMax options; each bias row is repeated `tile` times
 * so the batched logits need no broadcasting add. Gradient: the matching (summed) slices.
 */
export function packHeads(tf: Tf, parts: Tensor2D[], kMax: number, tile = 1): TfTypes.Tensor3D {
  const D = parts.length;
  const rows = parts[0]!.shape[0];
  const op = tf.customGrad((...args) => {
    const xs = args.slice(0, D) as Tensor2D[];
    const out = new Float32Array(D * rows * tile * kMax);
    xs.forEach((x, d) => {
      const k = x.shape[1];
      const v = x.dataSync() as Float32Array;
      for (let r = 0; r < rows; r++) {
        for (let t = 0; t < tile; t++) out.set(v.subarray(r * k, r * k + k), ((d * rows + r) * tile + t) * kMax);
      }
    });
    return {
      value: tf.tensor3d(out, [D, rows * tile, kMax]),
      gradFunc: (dy: Tensor) => {
        const g = dy.dataSync() as Float32Array;
        return xs.map((x, d) => {
          const k = x.shape[1];
          const dx = new Float32Array(rows * k);
          for (let r = 0; r < rows; r++) {
            for (let t = 0; t < tile; t++) {
              const base = ((d * rows + r) * tile + t) * kMax;
              for (let j = 0; j < k; j++) dx[r * k + j]! += g[base + j]!;
            }
          }
          return tf.tensor2d(dx, [rows, k]);
        });
      },
    };
  });
  return op(...parts) as TfTypes.Tensor3D;
}
