// A small seeded PRNG (sfc32, 128-bit state) for everything random in a search: controller
// sampling, splits, tie breaks. Its whole state is four uint32s, so the search journal can
// record `rng.state` after each step and a resumed run continues the exact same stream.
// Math.random and tf's global random are never used for decisions that must replay.

export type RngState = [number, number, number, number];

/** splitmix32: spreads a (possibly small or similar) user seed over the 128-bit state. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`Rng seed must be an integer, got ${seed}`);
    const mix = splitmix32(seed);
    this.a = mix(); this.b = mix(); this.c = mix(); this.d = mix();
    // Discard the first outputs: sfc32 mixes its state over a few rounds.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Rebuilds a generator from a journaled `state`. */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.state = state;
    return r;
  }

  get state(): RngState {
    return [this.a, this.b, this.c, this.d];
  }

  set state(s: RngState) {
    if (!Array.isArray(s) || s.length !== 4 || s.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
      throw new Error('Rng state must be four unsigned 32-bit integers');
    }
    [this.a, this.b, this.c, this.d] = s;
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = (this.b ^ (this.b >>> 9)) >>> 0;
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new Error(`Rng.int needs a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Index drawn with the given (unnormalised, non-negative) weights. */
  categorical(probs: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < probs.length; i++) {
      const p = probs[i]!;
      if (!(p >= 0) || !Number.isFinite(p)) throw new Error(`Rng.categorical: bad weight ${p} at ${i}`);
      total += p;
    }
    if (!(total > 0)) throw new Error('Rng.categorical: weights must have a positive sum');
    const u = this.next() * total;
    let acc = 0;
    for (let i = 0; i < probs.length; i++) {
      acc += probs[i]!;
      if (u < acc) return i;
    }
    // Rounding can leave u == total: return the last index with positive weight.
    for (let i = probs.length - 1; i >= 0; i--) if (probs[i]! > 0) return i;
    return probs.length - 1;
  }
}
