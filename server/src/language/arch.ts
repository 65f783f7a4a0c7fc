// The two shapes of a network outside the syntax tree:
// - ModelSpec: what the user wrote, defaults filled in (also what a sampled space child is,
//   and what the printer turns back into .mnas text);
// - Arch: the network actually built, width/depth multipliers applied, every channel count
//   final. The cost model, the PyTorch worker and the TFLite exporter all read Arch.
import type { ActName, InputShape, OpName, PoolName, SkipName } from './ast';

export interface LayerSpec {
  op: OpName;
  /** Expansion ratio; 1 for conv and sepconv. */
  e: number;
  k: number;
  s: number;
  f: number;
  x: number;
  se: number;
  skip: SkipName;
  /** Activation; falls back to the model's. */
  act?: ActName;
}

export interface BlockSpec extends LayerSpec { name: string }

export interface HeadSpec {
  /** Width of the head's 1x1 conv, or null for none. */
  f: number | null;
  pool: PoolName;
  /** Classes of the final FC layer, or null for a feature extractor. */
  classes: number | null;
  dropout: number;
  /** Activation of the head conv; the model's when not set. */
  act?: ActName;
}

export interface StemSpec { k: number; s: number; f: number; act?: ActName }

export interface ModelSpec {
  name: string;
  input: InputShape;
  width: number;
  depth: number;
  act: ActName;
  stem: StemSpec | null;
  blocks: BlockSpec[];
  head: HeadSpec | null;
}

export interface BlockArch {
  name: string;
  op: OpName;
  e: number;
  k: number;
  s: number;
  /** Output filters, after the width multiplier. */
  f: number;
  /** Layers, after the depth multiplier. */
  x: number;
  se: number;
  skip: SkipName;
  act: ActName;
}

export interface Arch {
  name: string;
  input: InputShape;
  stem: { k: number; s: number; f: number; act: ActName } | null;
  blocks: BlockArch[];
  head: HeadSpec | null;
}

/**
 * Channel rounding of the tensorflow/tpu MnasNet code (round_filters, divisor 8): only when
 * a multiplier other than 1 is set, so a width-1.0 model keeps its written filters exactly.
 */
export function roundFilters(f: number, width: number): number {
  if (width === 1) return f;
  const scaled = f * width;
  let out = Math.max(8, Math.floor((scaled + 4) / 8) * 8);
  if (out < 0.9 * scaled) out += 8;
  return out;
}

export function roundLayers(x: number, depth: number): number {
  return depth === 1 ? x : Math.ceil(x * depth);
}

export function toArch(spec: ModelSpec): Arch {
  return {
    name: spec.name,
    input: { ...spec.input },
    stem: spec.stem
      ? { k: spec.stem.k, s: spec.stem.s, f: roundFilters(spec.stem.f, spec.width), act: spec.stem.act ?? spec.act }
      : null,
    blocks: spec.blocks.map((b) => blockArch(b, spec)),
    // The 1280-wide head conv is not scaled by the width multiplier (MnasNet convention).
    head: spec.head ? { ...spec.head, act: spec.head.act ?? spec.act } : null,
  };
}

/** One block as built: multipliers applied, expansion 1 unless mbconv. */
export function blockArch(b: BlockSpec, spec: Pick<ModelSpec, 'width' | 'depth' | 'act'>): BlockArch {
  return {
    name: b.name,
    op: b.op,
    e: b.op === 'mbconv' ? b.e : 1,
    k: b.k,
    s: b.s,
    f: roundFilters(b.f, spec.width),
    x: roundLayers(b.x, spec.depth),
    se: b.se,
    skip: b.skip,
    act: b.act ?? spec.act,
  };
}
