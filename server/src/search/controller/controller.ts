// The RL controller of MnasNet: an LSTM that emits an architecture as a sequence of decisions,
// one softmax head per decision, trained with PPO on R(m) (Tan et al. 2019, Sec. 4; the
// controller and its PPO setup are those of NASNet, Zoph et al. 2018, Appendix A).
//
// This file: the weights, sampling and the teacher-forced pass. The LSTM's fused kernels are
// lstm.ts, Adam adam.ts, the update ppo.ts, the checkpoint format checkpoint.ts, the
// hyper-parameters hyper.ts.
//
// Determinism: weights are initialised by tf initialisers with seeds derived from `seed`;
// sampling draws from the caller's seeded Rng (never tf's random); Adam's moments are part of
// `toJSON()`. A killed search resumes exactly from `Controller.fromJSON(tf, json)` plus the
// journaled `rng.state`.
import type * as TfTypes from '@tensorflow/tfjs';
import type { Tf } from '../../platform/tfjs';
import type { Rng } from '../../util/rng';
import { Adam } from './adam';
import { type ControllerJSON, decode, type EncodedTensor, encode } from './checkpoint';
import { CONTROLLER_DEFAULTS, type ControllerHyper, type Decision } from './hyper';
import { gatherRows, lstmSequence, lstmStep, packHeads } from './lstm';
import { type BatchItem, ppoEpochs, type Proximal, type StaleWeighting, staleWeight } from './ppo';

type Tensor = TfTypes.Tensor;
type Tensor1D = TfTypes.Tensor1D;
type Tensor2D = TfTypes.Tensor2D;
type Variable = TfTypes.Variable;

export interface ControllerOptions extends Partial<ControllerHyper> {
  /** Seeds the weight initialisers. */
  seed: number;
}

export interface Sample {
  actions: number[];
  /** Sum over decisions of log pi(action), in float64 from the float32 log-softmax. */
  logProb: number;
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
  /** Decoupled updates only: mean importance weight and mean |log pi_prox - log pi_behaviour| (how stale the batch was). */
  weightMean?: number;
  staleLogRatio?: number;
}

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
  private readonly adam: Adam;
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
    this.adam = new Adam(tf, this.hyper);
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
      restore(c.adam.m, json.adamM, 'adamM.');
      restore(c.adam.v, json.adamV, 'adamV.');
    } catch (err) {
      c.dispose();
      throw err;
    }
    c.adam.step = json.adamStep;
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
      this.adam.add(name, shape);
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
   * One PPO update on a batch of sampled architectures (ppo.ts, `ppoEpochs`), advantages against
   * the reward baseline. Then baseline <- decay * baseline + (1 - decay) * mean reward; the first
   * batch uses its own mean as baseline (otherwise every A would be positive).
   * `weighting` (ppo.ts StaleWeighting) other than 'behaviour': decoupled PPO, the proximal
   * log-probs recomputed here from the current weights (so a resumed run recomputes the same).
   */
  update(batch: BatchItem[], weighting: StaleWeighting = { kind: 'behaviour' }): UpdateStats {
    this.alive();
    if (!Array.isArray(batch) || batch.length === 0) throw new Error('controller.update: the batch is empty (sample and evaluate at least one architecture first)');
    const actions = batch.map((b) => b.actions);
    this.checkActions(actions);
    for (const b of batch) {
      if (!Number.isFinite(b.reward)) throw new Error(`controller.update: reward must be finite, got ${b.reward}`);
      if (!Number.isFinite(b.logProbOld)) throw new Error(`controller.update: logProbOld must be finite, got ${b.logProbOld}`);
    }
    const { tf } = this;
    const meanReward = batch.reduce((s, b) => s + b.reward, 0) / batch.length;
    const baselineUsed = this._baseline ?? meanReward;
    const names = [...this.vars.keys()];
    let proximal: Proximal | undefined;
    if (weighting.kind !== 'behaviour') {
      const logProb = this.logProbs(actions);
      proximal = { logProb, weight: batch.map((b, i) => staleWeight(logProb[i]!, b.logProbOld, weighting)) };
    }
    const teacher = this.teacher(actions);
    let stats;
    try {
      stats = ppoEpochs(tf, {
        evaluate: () => {
          const { chosen, entropy } = this.forward(teacher);
          return { logp: tf.sum(chosen, 0) as Tensor1D, entropy };
        },
        weights: names.map((n) => this.vars.get(n)!),
        step: (grads) => this.adam.apply(this.vars, names, grads),
      }, batch, baselineUsed, this.hyper, proximal);
    } finally {
      this.disposeTeacher(teacher);
    }
    this._baseline = this.hyper.baselineDecay * baselineUsed + (1 - this.hyper.baselineDecay) * meanReward;
    this._step += 1;
    return {
      loss: stats.loss,
      entropy: stats.entropy,
      baseline: this._baseline,
      baselineUsed,
      meanReward,
      clipFraction: stats.clipFraction,
      approxKl: stats.approxKl,
      step: this._step,
      ...(proximal ? {
        weightMean: proximal.weight.reduce((a, w) => a + w, 0) / batch.length,
        staleLogRatio: batch.reduce((a, b, i) => a + Math.abs(proximal!.logProb[i]! - b.logProbOld), 0) / batch.length,
      } : {}),
    };
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
      adamStep: this.adam.step,
      weights: enc(this.vars),
      adamM: enc(this.adam.m),
      adamV: enc(this.adam.v),
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
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.adam.dispose();
  }

  private alive(): void {
    if (this.disposed) throw new Error('controller: used after dispose()');
  }
}
