// Shared by the TFLite tests: archs covering the exporter's cases, comparisons, a seeded input.
import type { Arch, BlockArch } from '../../server/src/language/arch';
import { mulberry32 } from '../../server/src/train/datasets';

const blk = (b: Partial<BlockArch> & Pick<BlockArch, 'op' | 'f'>): BlockArch =>
  ({ name: 'b', e: 1, k: 3, s: 1, x: 1, se: 0, skip: 'none', act: 'relu', ...b });

/** Named archs, each exercising something the exporter must get right. */
export const CASES: Record<string, Arch> = {
  // regular conv, stride 2 on odd input (SAME == PyTorch padding), relu6, SE on conv, head conv + FC
  convOddS2: {
    name: 'convOddS2', input: { h: 33, w: 29, c: 3 }, stem: { k: 3, s: 2, f: 8, act: 'relu6' },
    blocks: [blk({ op: 'conv', f: 16, k: 3, s: 2, se: 0.25, act: 'relu6' }), blk({ op: 'conv', f: 16, k: 5, x: 2, skip: 'identity', act: 'relu' })],
    head: { f: 32, pool: 'avg', classes: 10, dropout: 0.2, act: 'relu6' },
  },
  // stride 2 on even input: needs an explicit PAD + VALID conv; sepconv swish + SE + identity
  sepEvenS2Swish: {
    name: 'sepEvenS2Swish', input: { h: 32, w: 32, c: 3 }, stem: { k: 3, s: 2, f: 16, act: 'swish' },
    blocks: [blk({ op: 'sepconv', f: 16, k: 3, se: 0.25, skip: 'identity', act: 'swish' }), blk({ op: 'sepconv', f: 24, k: 5, s: 2, act: 'swish' })],
    head: { f: null, pool: 'avg', classes: 7, dropout: 0 },
  },
  // mbconv e1 and e>1, hswish, k5 s2 on even and odd sizes, identity residuals, SE
  mbconvHswish: {
    name: 'mbconvHswish', input: { h: 40, w: 37, c: 3 }, stem: { k: 3, s: 2, f: 16, act: 'hswish' },
    blocks: [
      blk({ op: 'mbconv', e: 1, f: 16, k: 3, skip: 'identity', act: 'hswish' }),
      blk({ op: 'mbconv', e: 6, f: 24, k: 5, s: 2, x: 2, se: 0.25, skip: 'identity', act: 'hswish' }),
      blk({ op: 'mbconv', e: 3, f: 32, k: 3, s: 2, x: 2, skip: 'identity', act: 'relu6' }),
    ],
    head: { f: 64, pool: 'avg', classes: 5, dropout: 0, act: 'hswish' },
  },
  // pool skip: stride 2 with projection, stride 1 projection only, stride 2 without projection,
  // stride 3 on a size where TFLite SAME pools differently (PAD + VALID + count fix)
  poolSkips: {
    name: 'poolSkips', input: { h: 27, w: 29, c: 1 }, stem: { k: 3, s: 1, f: 8, act: 'relu' },
    blocks: [
      blk({ op: 'mbconv', e: 3, f: 16, k: 3, s: 2, skip: 'pool' }),
      blk({ op: 'sepconv', f: 24, k: 3, s: 1, skip: 'pool', act: 'relu6' }),
      blk({ op: 'conv', f: 24, k: 3, s: 2, skip: 'pool' }),
      blk({ op: 'mbconv', e: 2, f: 32, k: 3, s: 3, skip: 'pool', act: 'swish' }),
    ],
    head: { f: null, pool: 'max', classes: 4, dropout: 0 },
  },
  // no stem, no head: the output is the NHWC feature map
  noHead: {
    name: 'noHead', input: { h: 17, w: 18, c: 3 }, stem: null,
    blocks: [blk({ op: 'mbconv', e: 4, f: 8, k: 7, s: 2, se: 0.25, act: 'swish' }), blk({ op: 'conv', f: 8, k: 3, skip: 'identity', act: 'hswish' })],
    head: null,
  },
  // head without classes: the pooled feature vector
  featureVector: {
    name: 'featureVector', input: { h: 24, w: 24, c: 3 }, stem: { k: 5, s: 2, f: 8, act: 'relu' },
    blocks: [blk({ op: 'sepconv', f: 12, k: 3, s: 2 })],
    head: { f: 16, pool: 'max', classes: null, dropout: 0 },
  },
};

/** The small network trained in the tests: stem + MBConv blocks with SE, 28x28x1, 10 classes. */
export function trainArch(): Arch {
  return {
    name: 'trained', input: { h: 28, w: 28, c: 1 }, stem: { k: 3, s: 2, f: 8, act: 'relu' },
    blocks: [
      blk({ op: 'mbconv', e: 3, f: 16, k: 3, s: 2, se: 0.25, skip: 'pool', act: 'swish' }),
      blk({ op: 'sepconv', f: 16, k: 5, skip: 'identity', act: 'relu6' }),
    ],
    head: { f: 32, pool: 'avg', classes: 10, dropout: 0.1 },
  };
}

export function seededInput(arch: Arch, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const n = arch.input.h * arch.input.w * arch.input.c;
  return Float32Array.from({ length: n }, () => rand() * 2 - 1);
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return Number.isNaN(d) ? Infinity : d;
}

export const maxAbs = (a: Float32Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
