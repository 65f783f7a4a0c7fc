// Builds an Arch as a TensorFlow.js LayersModel (functional API) that mirrors the cost model
// (server/src/cost/model.ts) op for op, exactly as the PyTorch builder does
// (server/python/mnas_worker/builder.py), so the trainable parameter count equals
// costOf(arch).params and every layer's output shape equals the cost model's.
//
// Conventions: convs followed by BN have no bias; BN is Keras-style with momentum 0.9 (Keras terms,
// = PyTorch 0.1; not tf's default 0.99, see docs/search.md "Training backends") and epsilon 1e-3,
// gamma+beta trainable, moving statistics not; SE is global average pool + two 1x1 convs with
// bias (ReLU, sigmoid) multiplied into the features; linear bottleneck (no activation after the
// project conv); the `pool` skip is average pooling with the layer's stride plus a 1x1 conv + BN
// projection when the channel count changes.
//
// Padding: tf 'same' gives H_out = ceil(H / s), the cost model's shapes. It is asymmetric for
// stride 2 (TF pads total = (ceil(H/s)-1)*s + k - H, the extra pixel at the bottom/right), while
// the PyTorch worker pads k//2 on both sides: the shapes and parameter counts are identical, the
// pixel alignment differs, so weights are not interchangeable between the two backends without
// re-padding. Average pooling with 'same' excludes the padding from the mean, like PyTorch's
// AvgPool2d(ceil_mode=True).
import type { LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import { costOf, type Shape, seWidth } from '../cost/model';
import type { ActName } from '../language/ast';
import type { Arch } from '../language/arch';
import type { Tf } from '../platform/tfjs';
import { mulberry32 } from './datasets/split';

/** TF MnasNet's BN epsilon (the PyTorch worker uses the same). */
export const BN_EPSILON = 1e-3;

export interface TfjsBuildOptions {
  /** PyTorch convention, like TrainRecipe.bnMomentum: 0.1 = Keras momentum 0.9 (the default). */
  bnMomentum?: number;
  /** Seeds every initializer (and dropout), so the same seed gives the same weights. */
  seed?: number;
  /** Runs one zero image through the model and checks the output shape; default false. */
  check?: boolean;
}

export interface TfjsBuilt {
  model: LayersModel;
  /** Output shape without the batch axis: [classes] / [c] with a head, [h, w, c] without. */
  outputShape: number[];
  /** Trainable parameters (equals costOf(arch).params). */
  params: number;
  /** The activation used by the head conv (the PyTorch worker's head_act rule). */
  headAct: ActName;
}

type Sym = SymbolicTensor;

/** The head conv's activation: the head's own, else the last block's, else the stem's, else relu. */
export function headActivation(arch: Arch): ActName {
  return arch.head?.act ?? arch.blocks.at(-1)?.act ?? arch.stem?.act ?? 'relu';
}

/** Trainable parameters of a tfjs model (BN moving statistics are not trainable). */
export function trainableParams(model: LayersModel): number {
  return model.trainableWeights.reduce((a, w) => a + w.shape.reduce<number>((p, d) => p * (d ?? 1), 1), 0);
}

const customLayers = new WeakMap<object, ReturnType<typeof defineCustomLayers>>();

function defineCustomLayers(tf: Tf) {
  /** h-swish: x * relu6(x + 3) / 6 (tfjs has no built-in activation for it). */
  class MnasHardSwish extends tf.layers.Layer {
    static className = 'MnasHardSwish';
    override call(inputs: Tensor | Tensor[]): Tensor {
      return tf.tidy(() => {
        const x = Array.isArray(inputs) ? inputs[0] : inputs;
        return tf.div(tf.mul(x, tf.relu6(tf.add(x, 3))), 6);
      });
    }
  }
  tf.serialization.registerClass(MnasHardSwish);
  return { MnasHardSwish };
}

function layersFor(tf: Tf) {
  let c = customLayers.get(tf);
  if (!c) {
    c = defineCustomLayers(tf);
    customLayers.set(tf, c);
  }
  return c;
}

const shapeOf = (t: Sym): Shape => {
  const [, h, w, c] = t.shape;
  return { h: h!, w: w!, c: c! };
};
const sameShape = (a: Shape, b: Shape) => a.h === b.h && a.w === b.w && a.c === b.c;
const fmt = (s: Shape) => `${s.h}x${s.w}x${s.c}`;

/** Builds the model; throws "builder bug" when a shape disagrees with the cost model. */
export function buildTfjsModel(tf: Tf, arch: Arch, options: TfjsBuildOptions = {}): TfjsBuilt {
  const { MnasHardSwish } = layersFor(tf);
  const keras = 1 - (options.bnMomentum ?? 0.1);
  const rand = mulberry32(options.seed ?? 0);
  const nextSeed = () => Math.floor(rand() * 2 ** 31);
  const heOut = () => tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal', seed: nextSeed() });
  const cost = costOf(arch);
  const bug = (where: string, got: Shape, want: Shape) => {
    throw new Error(`builder bug: ${arch.name} ${where}: tfjs shape ${fmt(got)}, cost model says ${fmt(want)}`);
  };

  const activation = (x: Sym, act: ActName, name: string): Sym => {
    if (act === 'hswish') return new MnasHardSwish({ name }).apply(x) as Sym;
    return tf.layers.activation({ activation: act, name }).apply(x) as Sym;
  };
  const bn = (x: Sym, name: string): Sym =>
    tf.layers.batchNormalization({ axis: -1, momentum: keras, epsilon: BN_EPSILON, name }).apply(x) as Sym;
  /** k x k conv (no bias) + BN (+ activation). */
  const convBn = (x: Sym, f: number, k: number, s: number, act: ActName | null, name: string): Sym => {
    let y = tf.layers.conv2d({
      filters: f, kernelSize: k, strides: s, padding: 'same', useBias: false, kernelInitializer: heOut(), name: `${name}_conv`,
    }).apply(x) as Sym;
    y = bn(y, `${name}_bn`);
    return act ? activation(y, act, `${name}_act`) : y;
  };
  const depthwiseBn = (x: Sym, k: number, s: number, act: ActName, name: string): Sym => {
    let y = tf.layers.depthwiseConv2d({
      kernelSize: k, strides: s, padding: 'same', depthMultiplier: 1, useBias: false, depthwiseInitializer: heOut(), name: `${name}_dw`,
    }).apply(x) as Sym;
    y = bn(y, `${name}_bn`);
    return activation(y, act, `${name}_act`);
  };
  const squeezeExcite = (x: Sym, inner: number, name: string): Sym => {
    const c = shapeOf(x).c;
    let g = tf.layers.globalAveragePooling2d({ name: `${name}_pool` }).apply(x) as Sym;
    g = tf.layers.reshape({ targetShape: [1, 1, c], name: `${name}_reshape` }).apply(g) as Sym;
    g = tf.layers.conv2d({
      filters: inner, kernelSize: 1, useBias: true, activation: 'relu', kernelInitializer: heOut(), biasInitializer: 'zeros', name: `${name}_reduce`,
    }).apply(g) as Sym;
    g = tf.layers.conv2d({
      filters: c, kernelSize: 1, useBias: true, activation: 'sigmoid', kernelInitializer: heOut(), biasInitializer: 'zeros', name: `${name}_expand`,
    }).apply(g) as Sym;
    return tf.layers.multiply({ name: `${name}_scale` }).apply([x, g]) as Sym;
  };

  const input = tf.input({ shape: [arch.input.h, arch.input.w, arch.input.c], name: 'input' });
  let x: Sym = input;
  if (arch.stem) {
    x = convBn(x, arch.stem.f, arch.stem.k, arch.stem.s, arch.stem.act, 'stem');
    if (!sameShape(shapeOf(x), cost.stem!.out)) bug('stem', shapeOf(x), cost.stem!.out);
  }
  arch.blocks.forEach((block, bi) => {
    const blockCost = cost.blocks[bi];
    for (let i = 0; i < block.x; i++) {
      const want = blockCost.layers[i];
      const name = `${block.name || `block${bi}`}_${i}`.replace(/[^A-Za-z0-9_.-]/g, '_');
      const stride = i === 0 ? block.s : 1;
      const inp = x;
      const inShape = shapeOf(inp);
      const inner = seWidth(inShape.c, block.se);
      let y = inp;
      if (block.op === 'conv') {
        y = convBn(y, block.f, block.k, stride, block.act, `${name}_main`);
        if (block.se > 0) y = squeezeExcite(y, inner, `${name}_se`);
      } else {
        if (block.op === 'mbconv' && block.e !== 1) {
          const expanded = Math.round(inShape.c * block.e);
          if (expanded < 1) throw new Error(`block ${block.name}: expansion ${block.e} of ${inShape.c} filters rounds to 0`);
          y = convBn(y, expanded, 1, 1, block.act, `${name}_expand`);
        }
        y = depthwiseBn(y, block.k, stride, block.act, `${name}_depthwise`);
        if (block.se > 0) y = squeezeExcite(y, inner, `${name}_se`);
        y = convBn(y, block.f, 1, 1, null, `${name}_project`);
      }
      const out = shapeOf(y);
      if (!sameShape(out, want.out)) bug(`layer ${name}`, out, want.out);
      if (block.skip !== 'none' && sameShape(inShape, out)) {
        y = tf.layers.add({ name: `${name}_add` }).apply([y, inp]) as Sym;
      } else if (block.skip === 'pool') {
        let s: Sym = inp;
        if (stride > 1) {
          s = tf.layers.averagePooling2d({ poolSize: stride, strides: stride, padding: 'same', name: `${name}_skip_pool` }).apply(s) as Sym;
        }
        if (inShape.c !== out.c) s = convBn(s, out.c, 1, 1, null, `${name}_skip_proj`);
        if (!sameShape(shapeOf(s), out)) bug(`pool shortcut of ${name}`, shapeOf(s), out);
        y = tf.layers.add({ name: `${name}_add` }).apply([y, s]) as Sym;
      }
      x = y;
    }
  });
  const headAct = headActivation(arch);
  if (arch.head) {
    const h = arch.head;
    if (h.f !== null) x = convBn(x, h.f, 1, 1, headAct, 'head');
    x = (h.pool === 'avg'
      ? tf.layers.globalAveragePooling2d({ name: 'head_pool' })
      : tf.layers.globalMaxPooling2d({ name: 'head_pool' })).apply(x) as Sym;
    if (h.dropout > 0) x = tf.layers.dropout({ rate: h.dropout, seed: nextSeed(), name: 'head_dropout' }).apply(x) as Sym;
    if (h.classes !== null) {
      x = tf.layers.dense({
        units: h.classes, useBias: true, name: 'fc', biasInitializer: 'zeros',
        kernelInitializer: tf.initializers.varianceScaling({ scale: 1, mode: 'fanOut', distribution: 'uniform', seed: nextSeed() }),
      }).apply(x) as Sym;
    }
  }
  const model = tf.model({ inputs: input, outputs: x, name: safeName(arch.name) });
  const outputShape = x.shape.slice(1) as number[];
  const o = cost.output;
  const wantShape = arch.head ? [o.c] : [o.h, o.w, o.c];
  if (outputShape.join('x') !== wantShape.join('x')) {
    model.dispose();
    throw new Error(`builder bug: ${arch.name} output shape [${outputShape}], cost model says [${wantShape}]`);
  }
  if (options.check) {
    const got = tf.tidy(() => (model.predict(tf.zeros([1, arch.input.h, arch.input.w, arch.input.c])) as Tensor).shape.slice(1));
    if (got.join('x') !== wantShape.join('x')) {
      model.dispose();
      throw new Error(`builder bug: ${arch.name} computed output shape [${got}], cost model says [${wantShape}]`);
    }
  }
  return { model, outputShape, params: trainableParams(model), headAct };
}

function safeName(name: string): string {
  return (name || 'arch').replace(/[^A-Za-z0-9_.-]/g, '_');
}
