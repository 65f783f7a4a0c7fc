// The RL controller of MnasNet: an LSTM that emits an architecture as a sequence of decisions,
// one softmax head per decision, trained with PPO on R(m) (Tan et al. 2019, Sec. 4; the
// controller and its PPO setup are those of NASNet, Zoph et al. 2018, Appendix A).
//
// Determinism: weights are initialised by tf initialisers with seeds derived from `seed`;
// sampling draws from the caller's seeded Rng (never tf's random); Adam is implemented here so
// its moments are part of `toJSON()`. A killed search resumes exactly from
// `Controller.fromJSON(tf, json)` plus the journaled `rng.state`.
import type * as TfTypes from '@tensorflow/tfjs';
import type { Tf } from '../platform/tfjs';
import { ppoSurrogateTensor } from './ppo';
import type { Rng } from '../util/rng';

type Tensor = TfTypes.Tensor;
type Tensor1D = TfTypes.Tensor1D;
type Tensor2D = TfTypes.Tensor2D;
type Variable = TfTypes.Variable;

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
   * Entropy bonus weight on the per-sample sequence entropy. NASNet App. A: 1e-5. For tiny runs
   * (tens of updates, reward differences ~0.01) raise it, e.g. 1e-3: see docs/search.md.
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

/** Defaults and their sources; see docs/search.md. */
export const CONTROLLER_DEFAULTS: Readonly<ControllerHyper> = Object.freeze({
  hidden: 100,
  embedding: 100,
  learningRate: 0.00035,
  clip: 0.2,
  entropyWeight: 1e-5,
  baselineDecay: 0.95,
  ppoEpochs: 4,
  initRange: 0.1,
  temperature: 1,
  tanhConstant: 0,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
});

export interface ControllerOptions extends Partial<ControllerHyper> {
  /** Seeds the weight initialisers. */
  seed: number;
}

export interface Sample {
  actions: number[];
  /** Sum over decisions of log pi(action), in float64 from the float32 log-softmax. */
  logProb: number;
}

export interface BatchItem {
  actions: number[];
  /** logProb returned by `sample` when this architecture was drawn. */
  logProbOld: number;
  reward: number;
}

export interface UpdateStats {
  /** PPO loss of the last epoch's forward pass (before its gradient step). */
  loss: number;
  /** Mean per-sample sequence entropy (sum over decisions), nats, last epoch. */
  entropy: number;
  /** Baseline after this batch (the EMA update happens after the gradient steps). */
  baseline: number;
  /** Baseline the advantages were computed against. */
  baselineUsed: number;
  meanReward: number;
  /** Fraction of samples with |ratio - 1| > clip, last epoch. */
  clipFraction: number;
  /** mean((ratio - 1) - log ratio), last epoch: an estimate of KL(old || new) (Schulman's k3). */
  approxKl: number;
  /** Number of completed updates (batches). */
  step: number;
}

interface EncodedTensor { shape: number[]; data: string }

/** Added to the logits of padding options in the batched heads: exp underflows to exactly 0. */
const MASKED_LOGIT = -1e9;

interface Layout {
  rowOffset: number[];
  kMax: number;
  /** [D, kMax]: 0 for real options, MASKED_LOGIT for padding. */
  mask: Float32Array;
}

interface Teacher {
  n: number;
  /** [D * n], step-major: the input-table row of each sample at each step (step 0: start). */
  rows: Int32Array;
  onehot: TfTypes.Tensor3D;
  mask: TfTypes.Tensor3D;
}

export interface ControllerJSON {
  format: 'mnas-controller';
  version: 1;
  decisions: Decision[];
  seed: number;
  hyper: ControllerHyper;
  step: number;
  baseline: number | null;
  adamStep: number;
  weights: Record<string, EncodedTensor>;
  adamM: Record<string, EncodedTensor>;
  adamV: Record<string, EncodedTensor>;
}

// Float32 weights as little-endian base64: exact and ~4x smaller than JSON numbers.
function encode(t: Tensor): EncodedTensor {
  const data = t.dataSync() as Float32Array;
  return { shape: t.shape.slice(), data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
}

function decode(e: EncodedTensor, name: string, shape: number[]): Float32Array {
  if (!e || e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`controller checkpoint: ${name} has shape ${JSON.stringify(e?.shape)}, expected ${JSON.stringify(shape)}`);
  }
  const bytes = Buffer.from(e.data, 'base64');
  const out = new Float32Array(bytes.byteLength / 4);
  if (out.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`controller checkpoint: ${name} has the wrong size`);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

// ---------------------------------------------------------------------------------------
// Fused kernels. The cpu backend runs every tf op as a separate JS loop with bookkeeping (and
// several ops on it are slow: gather's gradient is an O(segments x size) UnsortedSegmentSum,
// and column slices/splits of a [n, 4H] gate tensor go element by element). The controller's
// tensors are tiny (batch 8, hidden 100), so op count dominates. These tf.customGrad ops do
// the elementwise work of a step, and the gathers, in plain JS loops over Float32Arrays with
// hand-written gradients; the matmuls stay tf ops. test/search/controller.test.ts checks the
// gradients against the plain tf formulation.

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

/** FNV-1a 32-bit: a stable numeric seed from a string. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function validateDecisions(decisions: Decision[]): void {
  if (!Array.isArray(decisions) || decisions.length === 0) throw new Error('controller: the decision list is empty');
  const seen = new Set<string>();
  for (const d of decisions) {
    if (!Number.isInteger(d.options) || d.options < 1) throw new Error(`controller: decision "${d.key}" needs a positive integer option count, got ${d.options}`);
    if (seen.has(d.key)) throw new Error(`controller: duplicate decision key "${d.key}"`);
    seen.add(d.key);
  }
}

export class Controller {
  readonly decisions: readonly Decision[];
  readonly hyper: Readonly<ControllerHyper>;
  readonly seed: number;
  private readonly tf: Tf;
  /** Trainable weights by stable name (tf variable names are global, so we keep our own). */
  private readonly vars = new Map<string, Variable>();
  private readonly adamM = new Map<string, Variable>();
  private readonly adamV = new Map<string, Variable>();
  private adamStep = 0;
  private _step = 0;
  private _baseline: number | null = null;
  private disposed = false;
  private readonly layout: Layout;

  constructor(tf: Tf, decisions: Decision[], options: ControllerOptions) {
    validateDecisions(decisions);
    if (!Number.isInteger(options.seed)) throw new Error(`controller: seed must be an integer, got ${options.seed}`);
    // Only known hyper-parameters (not `seed`, not stray keys) go into `hyper` and checkpoints.
    const defined = Object.fromEntries(Object.entries(options).filter(([k, v]) => k in CONTROLLER_DEFAULTS && v !== undefined));
    const hyper: ControllerHyper = { ...CONTROLLER_DEFAULTS, ...defined };
    for (const [k, v] of Object.entries(hyper)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`controller: ${k} must be a finite number`);
    }
    if (!Number.isInteger(hyper.hidden) || hyper.hidden < 1 || !Number.isInteger(hyper.embedding) || hyper.embedding < 1) {
      throw new Error('controller: hidden and embedding must be positive integers');
    }
    if (!Number.isInteger(hyper.ppoEpochs) || hyper.ppoEpochs < 1) throw new Error('controller: ppoEpochs must be a positive integer');
    if (hyper.temperature <= 0) throw new Error('controller: temperature must be positive');
    this.tf = tf;
    this.decisions = decisions.map((d) => ({ key: d.key, options: d.options }));
    this.hyper = Object.freeze(hyper);
    this.seed = options.seed;
    this.layout = this.makeLayout();
    this.build();
  }

  /** Restores a checkpoint; `override` may change training knobs (lr, entropy, ...), not shapes. */
  static fromJSON(tf: Tf, json: ControllerJSON, override: Partial<Omit<ControllerHyper, 'hidden' | 'embedding'>> = {}): Controller {
    if (json?.format !== 'mnas-controller' || json.version !== 1) throw new Error('controller checkpoint: unknown format or version');
    const c = new Controller(tf, json.decisions, { ...json.hyper, ...override, seed: json.seed });
    try {
      const restore = (vars: Map<string, Variable>, saved: Record<string, EncodedTensor>, prefix: string) => {
        for (const [name, v] of vars) {
          const t = tf.tensor(decode(saved[name]!, prefix + name, v.shape), v.shape);
          v.assign(t);
          t.dispose();
        }
      };
      restore(c.vars, json.weights, '');
      restore(c.adamM, json.adamM, 'adamM.');
      restore(c.adamV, json.adamV, 'adamV.');
    } catch (err) {
      c.dispose();
      throw err;
    }
    c.adamStep = json.adamStep;
    c._step = json.step;
    c._baseline = json.baseline;
    return c;
  }

  get step(): number { return this._step; }
  get baseline(): number | null { return this._baseline; }

  /** Parameter shapes by name: start, LSTM, then per decision its embedding and head. */
  private shapes(): [string, number[]][] {
    const { hidden: H, embedding: E } = this.hyper;
    const out: [string, number[]][] = [
      ['start', [1, E]],
      ['lstm.kernel', [E + H, 4 * H]],
      ['lstm.bias', [4 * H]],
    ];
    this.decisions.forEach((d, i) => {
      out.push([`d${i}.embed`, [d.options, E]], [`d${i}.head.w`, [H, d.options]], [`d${i}.head.b`, [d.options]]);
    });
    return out;
  }

  private build(): void {
    const { tf } = this;
    const r = this.hyper.initRange;
    for (const [name, shape] of this.shapes()) {
      // A per-name seed keeps each tensor's init independent of the others' order and sizes.
      const init = tf.initializers.randomUniform({ minval: -r, maxval: r, seed: fnv1a(`${this.seed}:${name}`) });
      const value = init.apply(shape, 'float32');
      this.vars.set(name, tf.variable(value, true));
      value.dispose();
      for (const moments of [this.adamM, this.adamV]) {
        const zeros = tf.zeros(shape);
        moments.set(name, tf.variable(zeros, false));
        zeros.dispose();
      }
    }
  }

  private v(name: string): Variable {
    return this.vars.get(name)!;
  }

  /**
   * Weight-independent layout, built once: the input table stacks `start` and the embeddings of
   * decisions 0..D-2 (the last decision's embedding feeds no step), `rowOffset[d]` is where
   * decision d's options start in it. The batched heads pad every decision to kMax options and
   * add `MASKED_LOGIT` to the padding logits ([D, kMax] mask), so padded options get probability
   * exactly 0 and contribute nothing to the loss or its gradient.
   */
  private makeLayout(): Layout {
    const kMax = Math.max(...this.decisions.map((d) => d.options));
    const rowOffset: number[] = [];
    let row = 1;
    for (const d of this.decisions) { rowOffset.push(row); row += d.options; }
    const mask = new Float32Array(this.decisions.length * kMax);
    this.decisions.forEach((d, di) => mask.fill(MASKED_LOGIT, di * kMax + d.options, (di + 1) * kMax));
    return { rowOffset, kMax, mask };
  }

  /**
   * The input projection of every possible LSTM input, [1 + sum k, 4H]: row 0 is start * W_x,
   * then embed_d * W_x for each option of decisions 0..D-2. An input is always one of these
   * rows, so each step gathers its projection (plus the bias) instead of multiplying [x, h] by
   * the whole kernel: only h * W_h remains per step.
   */
  private inputTable(): { table: Tensor2D; bias: Tensor1D; wh: Tensor2D } {
    const { tf } = this;
    const { hidden: H, embedding: E } = this.hyper;
    const kernel = this.v('lstm.kernel') as Tensor2D;
    const wx = tf.slice(kernel, [0, 0], [E, 4 * H]);
    const wh = tf.slice(kernel, [E, 0], [H, 4 * H]);
    const rows = [this.v('start') as Tensor2D];
    for (let di = 0; di < this.decisions.length - 1; di++) rows.push(this.v(`d${di}.embed`) as Tensor2D);
    const inputs = rows.length === 1 ? rows[0]! : tf.concat(rows, 0);
    return { table: tf.matMul(inputs, wx) as Tensor2D, bias: this.v('lstm.bias') as Tensor1D, wh };
  }

  private squash(logits: Tensor): Tensor {
    const { tf } = this;
    if (this.hyper.temperature !== 1) logits = tf.div(logits, this.hyper.temperature);
    if (this.hyper.tanhConstant > 0) logits = tf.mul(tf.tanh(logits), this.hyper.tanhConstant);
    return logits;
  }

  /** Draws n architectures. Reproducible: the only randomness is `rng`. */
  sample(n: number, rng: Rng): Sample[] {
    this.alive();
    if (!Number.isInteger(n) || n < 1) throw new Error(`controller.sample: n must be a positive integer, got ${n}`);
    const { tf } = this;
    const { rowOffset } = this.layout;
    const out: Sample[] = Array.from({ length: n }, () => ({ actions: [], logProb: 0 }));
    const H = this.hyper.hidden;
    const H4 = 4 * H;
    tf.tidy(() => {
      const { table, bias, wh } = this.inputTable();
      const tab = table.dataSync() as Float32Array;
      const b = bias.dataSync() as Float32Array;
      const w = wh.dataSync() as Float32Array;
      let rows = new Int32Array(n); // all start at row 0, the start token
      let h: Float32Array | null = null;
      let c: Float32Array | null = null;
      this.decisions.forEach((d, di) => {
        // The same arithmetic as lstmSequence, so sampled and teacher-forced states agree exactly.
        const z = new Float32Array(n * H4);
        for (let s = 0; s < n; s++) {
          for (let j = 0; j < H4; j++) z[s * H4 + j] = tab[rows[s]! * H4 + j]! + b[j]!;
        }
        const h2 = new Float32Array(n * H);
        const c2 = new Float32Array(n * H);
        lstmStep(z, w, h, c, n, H, h2, c2, new Float32Array(n * H));
        h = h2;
        c = c2;
        const logits = tf.add(tf.matMul(tf.tensor2d(h2, [n, H]), this.v(`d${di}.head.w`) as Tensor2D), this.v(`d${di}.head.b`));
        const lp = tf.logSoftmax(this.squash(logits)).dataSync();
        const k = d.options;
        const next = new Int32Array(n);
        const probs = new Float64Array(k);
        for (let s = 0; s < n; s++) {
          for (let j = 0; j < k; j++) probs[j] = Math.exp(lp[s * k + j]!);
          const a = rng.categorical(probs);
          next[s] = rowOffset[di]! + a;
          out[s]!.actions.push(a);
          out[s]!.logProb += lp[s * k + a]!;
        }
        rows = next;
      });
    });
    return out;
  }

  private checkActions(actions: number[][]): void {
    for (const a of actions) {
      if (!Array.isArray(a) || a.length !== this.decisions.length) {
        throw new Error(`controller: an action list must have ${this.decisions.length} entries, got ${Array.isArray(a) ? a.length : typeof a}`);
      }
      a.forEach((v, i) => {
        if (!Number.isInteger(v) || v < 0 || v >= this.decisions[i]!.options) {
          throw new Error(`controller: action ${v} out of range for "${this.decisions[i]!.key}" (${this.decisions[i]!.options} options)`);
        }
      });
    }
  }

  /**
   * Weight-independent inputs of a teacher-forced pass, built once per call (once per update,
   * not per PPO epoch): input-table rows per step, the one-hot of the chosen options padded to
   * kMax [D, n, kMax] and the padding mask [D, n, kMax].
   */
  private teacher(actions: number[][]): Teacher {
    const { tf } = this;
    const { rowOffset, kMax, mask } = this.layout;
    const n = actions.length;
    const D = this.decisions.length;
    const rows = new Int32Array(D * n);
    const onehot = new Float32Array(D * n * kMax);
    const masks = new Float32Array(D * n * kMax);
    for (let di = 0; di < D; di++) {
      for (let s = 0; s < n; s++) {
        rows[di * n + s] = di === 0 ? 0 : rowOffset[di - 1]! + actions[s]![di - 1]!;
        onehot[(di * n + s) * kMax + actions[s]![di]!] = 1;
        masks.set(mask.subarray(di * kMax, (di + 1) * kMax), (di * n + s) * kMax);
      }
    }
    return {
      n,
      rows,
      onehot: tf.tensor3d(onehot, [D, n, kMax]),
      mask: tf.tensor3d(masks, [D, n, kMax]),
    };
  }

  private disposeTeacher(t: Teacher): void {
    this.tf.dispose([t.onehot, t.mask]);
  }

  /**
   * Teacher-forced pass of the whole batch: one gather of every step's input projection, the
   * recurrence as one op on [n, H] states (lstmSequence), then all D heads as one batched matmul
   * on the stacked hidden states. Returns the log-softmax
   * [D, n, kMax] (padding at about -1e9), chosen log-probs [D, n] and per-sample entropy [n].
   */
  private forward(t: Teacher): { logp: Tensor; chosen: Tensor2D; entropy: Tensor1D } {
    const { tf } = this;
    const { kMax } = this.layout;
    const { table, bias, wh } = this.inputTable();
    const hs = lstmSequence(tf, gatherRows(tf, table, bias, t.rows), wh, this.decisions.length, t.n);
    const w = packHeads(tf, this.decisions.map((_, di) => this.v(`d${di}.head.w`) as Tensor2D), kMax);
    const b = packHeads(tf, this.decisions.map((d, di) => tf.reshape(this.v(`d${di}.head.b`), [1, d.options]) as Tensor2D), kMax, t.n);
    const logits = tf.add(this.squash(tf.add(tf.matMul(hs, w), b)), t.mask);
    const logp = tf.logSoftmax(logits);
    const chosen = tf.sum(tf.mul(logp, t.onehot), 2) as Tensor2D;
    const entropy = tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), [0, 2])) as Tensor1D;
    return { logp, chosen, entropy };
  }

  /** log pi(actions) per architecture, summed in the same order and precision as `sample`. */
  logProbs(actions: number[][]): number[] {
    this.alive();
    if (actions.length === 0) return [];
    this.checkActions(actions);
    const chosen = this.tf.tidy(() => {
      const t = this.teacher(actions);
      return this.forward(t).chosen;
    });
    const rows = chosen.arraySync() as number[][]; // [D][n]
    chosen.dispose();
    return actions.map((_, s) => rows.reduce((sum, r) => sum + r[s]!, 0));
  }

  /**
   * One PPO update on a batch of sampled architectures: ppoEpochs gradient steps on
   *   -mean(min(ratio * A, clip(ratio, 1-eps, 1+eps) * A)) - entropyWeight * mean(entropy)
   * with A = reward - baseline. Then baseline <- decay * baseline + (1 - decay) * mean reward;
   * the first batch uses its own mean as baseline (otherwise every A would be positive).
   */
  update(batch: BatchItem[]): UpdateStats {
    this.alive();
    if (!Array.isArray(batch) || batch.length === 0) throw new Error('controller.update: the batch is empty (sample and evaluate at least one architecture first)');
    const actions = batch.map((b) => b.actions);
    this.checkActions(actions);
    for (const b of batch) {
      if (!Number.isFinite(b.reward)) throw new Error(`controller.update: reward must be finite, got ${b.reward}`);
      if (!Number.isFinite(b.logProbOld)) throw new Error(`controller.update: logProbOld must be finite, got ${b.logProbOld}`);
    }
    const { tf } = this;
    const { clip, entropyWeight, ppoEpochs, baselineDecay } = this.hyper;
    const meanReward = batch.reduce((s, b) => s + b.reward, 0) / batch.length;
    const baselineUsed = this._baseline ?? meanReward;
    const names = [...this.vars.keys()];
    const varList = names.map((n) => this.vars.get(n)!);
    const teacher = this.teacher(actions);
    const oldT = tf.tensor1d(batch.map((b) => b.logProbOld));
    const advT = tf.tensor1d(batch.map((b) => b.reward - baselineUsed));
    let stats = [0, 0, 0, 0];
    try {
      for (let epoch = 0; epoch < ppoEpochs; epoch++) {
        let aux: Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const { chosen, entropy } = this.forward(teacher);
          const logp = tf.sum(chosen, 0) as Tensor1D;
          const { ratio, surrogate } = ppoSurrogateTensor(tf, logp, oldT, advT, clip);
          const entMean = tf.mean(entropy);
          const loss = tf.neg(tf.add(tf.mean(surrogate), tf.mul(entMean, entropyWeight))) as TfTypes.Scalar;
          const clipped = tf.mean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), clip), 'float32'));
          // k3 estimator of KL(old || new): (r - 1) - log r, non-negative, low variance.
          const kl = tf.mean(tf.sub(tf.sub(ratio, 1), tf.sub(logp, oldT)));
          aux = tf.keep(tf.stack([loss, entMean, clipped, kl]));
          return loss;
        }, varList);
        stats = Array.from(aux!.dataSync());
        aux!.dispose();
        value.dispose();
        this.adam(names, grads);
        tf.dispose(grads);
      }
    } finally {
      tf.dispose([oldT, advT]);
      this.disposeTeacher(teacher);
    }
    this._baseline = baselineDecay * baselineUsed + (1 - baselineDecay) * meanReward;
    this._step += 1;
    return {
      loss: stats[0]!,
      entropy: stats[1]!,
      baseline: this._baseline,
      baselineUsed,
      meanReward,
      clipFraction: stats[2]!,
      approxKl: stats[3]!,
      step: this._step,
    };
  }

  /** Adam (Kingma & Ba 2015), bias-corrected as in TF1's AdamOptimizer. */
  private adam(names: string[], grads: Record<string, Tensor>): void {
    const { tf } = this;
    const { learningRate: lr, adamBeta1: b1, adamBeta2: b2, adamEpsilon: eps } = this.hyper;
    this.adamStep += 1;
    const t = this.adamStep;
    const lrT = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    // Elementwise in JS (float64 arithmetic, stored as float32): ~12 tf ops per tensor otherwise.
    for (const name of names) {
      const w = this.vars.get(name)!;
      const g = grads[w.name];
      if (!g) continue;
      const m = this.adamM.get(name)!;
      const v = this.adamV.get(name)!;
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

  /** Probabilities of each option at each decision for a given prefix, e.g. for the UI. */
  optionProbs(actions: number[]): number[][] {
    this.alive();
    this.checkActions([actions]);
    const { tf } = this;
    const probs = tf.tidy(() => tf.exp(this.forward(this.teacher([actions])).logp));
    const rows = probs.arraySync() as number[][][]; // [D][1][kMax]
    probs.dispose();
    return this.decisions.map((d, di) => rows[di]![0]!.slice(0, d.options));
  }

  toJSON(): ControllerJSON {
    this.alive();
    const enc = (m: Map<string, Variable>) => Object.fromEntries([...m].map(([k, v]) => [k, encode(v)]));
    return {
      format: 'mnas-controller',
      version: 1,
      decisions: this.decisions.map((d) => ({ ...d })),
      seed: this.seed,
      hyper: { ...this.hyper },
      step: this._step,
      baseline: this._baseline,
      adamStep: this.adamStep,
      weights: enc(this.vars),
      adamM: enc(this.adamM),
      adamV: enc(this.adamV),
    };
  }

  /** Number of trainable scalars. */
  get paramCount(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const m of [this.vars, this.adamM, this.adamV]) {
      for (const v of m.values()) v.dispose();
      m.clear();
    }
  }

  private alive(): void {
    if (this.disposed) throw new Error('controller: used after dispose()');
  }
}
