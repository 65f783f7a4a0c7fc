// The RL controller of MnasNet: an LSTM that emits an architecture as a sequence of decisions,
// one softmax head per decision, trained with PPO on R(m) (Tan et al. 2019, Sec. 4; the
// controller and its PPO setup are those of NASNet, Zoph et al. 2018, Appendix A).
//
// Determinism: weights are initialised by tf initialisers with seeds derived from `seed`;
// sampling draws from the caller's seeded Rng (never tf's random); Adam is implemented here so
// its moments are part of `toJSON()`. A killed search resumes exactly from
// `Controller.fromJSON(tf, json)` plus the journaled `rng.state`.
import type * as TfTypes from '@tensorflow/tfjs';
import type { Tf } from './backend';
import type { Rng } from './rng';

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

  private cell(x: Tensor2D, h: Tensor2D, c: Tensor2D): [Tensor2D, Tensor2D] {
    const { tf } = this;
    const z = tf.add(tf.matMul(tf.concat([x, h], 1), this.v('lstm.kernel') as Tensor2D), this.v('lstm.bias')) as Tensor2D;
    const [i, f, g, o] = tf.split(z, 4, 1) as [Tensor2D, Tensor2D, Tensor2D, Tensor2D];
    const c2 = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g))) as Tensor2D;
    const h2 = tf.mul(tf.sigmoid(o), tf.tanh(c2)) as Tensor2D;
    return [h2, c2];
  }

  private logSoftmax(d: number, h: Tensor2D): Tensor2D {
    const { tf } = this;
    let logits = tf.add(tf.matMul(h, this.v(`d${d}.head.w`) as Tensor2D), this.v(`d${d}.head.b`)) as Tensor2D;
    if (this.hyper.temperature !== 1) logits = tf.div(logits, this.hyper.temperature);
    if (this.hyper.tanhConstant > 0) logits = tf.mul(tf.tanh(logits), this.hyper.tanhConstant);
    return tf.logSoftmax(logits);
  }

  private initialState(n: number): [Tensor2D, Tensor2D, Tensor2D] {
    const { tf } = this;
    const H = this.hyper.hidden;
    return [tf.tile(this.v('start'), [n, 1]) as Tensor2D, tf.zeros([n, H]), tf.zeros([n, H])];
  }

  /** Draws n architectures. Reproducible: the only randomness is `rng`. */
  sample(n: number, rng: Rng): Sample[] {
    this.alive();
    if (!Number.isInteger(n) || n < 1) throw new Error(`controller.sample: n must be a positive integer, got ${n}`);
    const { tf } = this;
    const out: Sample[] = Array.from({ length: n }, () => ({ actions: [], logProb: 0 }));
    tf.tidy(() => {
      let [x, h, c] = this.initialState(n);
      this.decisions.forEach((d, di) => {
        [h, c] = this.cell(x, h, c);
        const lp = this.logSoftmax(di, h).dataSync();
        const k = d.options;
        const picks = new Int32Array(n);
        const probs = new Float64Array(k);
        for (let s = 0; s < n; s++) {
          for (let j = 0; j < k; j++) probs[j] = Math.exp(lp[s * k + j]!);
          const a = rng.categorical(probs);
          picks[s] = a;
          out[s]!.actions.push(a);
          out[s]!.logProb += lp[s * k + a]!;
        }
        x = tf.gather(this.v(`d${di}.embed`), tf.tensor1d(picks, 'int32')) as Tensor2D;
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

  /** Teacher-forced pass: chosen log-probs [n, D] and per-sample sequence entropy [n]. */
  private forward(actions: number[][]): { chosen: Tensor2D; entropy: Tensor1D } {
    const { tf } = this;
    const n = actions.length;
    let [x, h, c] = this.initialState(n);
    const chosen: Tensor1D[] = [];
    const ents: Tensor1D[] = [];
    this.decisions.forEach((d, di) => {
      [h, c] = this.cell(x, h, c);
      const lp = this.logSoftmax(di, h);
      const idx = tf.tensor1d(actions.map((a) => a[di]!), 'int32');
      chosen.push(tf.sum(tf.mul(lp, tf.oneHot(idx, d.options, 1, 0, 'float32')), 1) as Tensor1D);
      ents.push(tf.neg(tf.sum(tf.mul(tf.exp(lp), lp), 1)) as Tensor1D);
      x = tf.gather(this.v(`d${di}.embed`), idx) as Tensor2D;
    });
    return { chosen: tf.stack(chosen, 1) as Tensor2D, entropy: tf.addN(ents) };
  }

  /** log pi(actions) per architecture, summed in the same order and precision as `sample`. */
  logProbs(actions: number[][]): number[] {
    this.alive();
    if (actions.length === 0) return [];
    this.checkActions(actions);
    const chosen = this.tf.tidy(() => this.forward(actions).chosen);
    const rows = chosen.arraySync() as number[][];
    chosen.dispose();
    return rows.map((r) => r.reduce((s, v) => s + v, 0));
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
    const oldT = tf.tensor1d(batch.map((b) => b.logProbOld));
    const advT = tf.tensor1d(batch.map((b) => b.reward - baselineUsed));
    let stats = [0, 0, 0, 0];
    try {
      for (let epoch = 0; epoch < ppoEpochs; epoch++) {
        let aux: Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const { chosen, entropy } = this.forward(actions);
          const logp = tf.sum(chosen, 1);
          const ratio = tf.exp(tf.sub(logp, oldT));
          const surrogate = tf.minimum(tf.mul(ratio, advT), tf.mul(tf.clipByValue(ratio, 1 - clip, 1 + clip), advT));
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
      oldT.dispose();
      advT.dispose();
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
    tf.tidy(() => {
      for (const name of names) {
        const w = this.vars.get(name)!;
        const g = grads[w.name];
        if (!g) continue;
        const m = this.adamM.get(name)!;
        const v = this.adamV.get(name)!;
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        w.assign(tf.sub(w, tf.div(tf.mul(m, lrT), tf.add(tf.sqrt(v), eps))));
      }
    });
  }

  /** Probabilities of each option at each decision for a given prefix, e.g. for the UI. */
  optionProbs(actions: number[]): number[][] {
    this.alive();
    this.checkActions([actions]);
    const { tf } = this;
    return tf.tidy(() => {
      let [x, h, c] = this.initialState(1);
      return this.decisions.map((d, di) => {
        [h, c] = this.cell(x, h, c);
        const p = Array.from(tf.exp(this.logSoftmax(di, h)).dataSync());
        x = tf.gather(this.v(`d${di}.embed`), tf.tensor1d([actions[di]!], 'int32')) as Tensor2D;
        return p;
      });
    });
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
