// One-line docs for the language's words, shared by hover and completion.

export const KEYWORD_DOCS: Record<string, string> = {
  import: 'Makes the models, spaces and searches of another .mnas file visible here: `import "mobilenetv2.mnas"` (relative to this file).',
  model: 'A concrete network: input, optional width/depth multipliers, stem, blocks and head.',
  space: 'A search space: a skeleton model (`from`) plus, per block, the choices left open.',
  search: 'A search: which space to sample, the target latency, reward, dataset and budget.',
  from: 'The skeleton model of a space; unlisted fields keep the skeleton\'s values.',
  input: 'Input shape, height x width x channels: `input 224x224x3`.',
  width: 'Width multiplier: scales every block\'s filters (rounded to multiples of 8), e.g. `width 0.75`.',
  depth: 'Depth multiplier: scales every block\'s layer count (rounded up), e.g. `depth 1.4`.',
  stem: 'The first layer: a regular convolution, e.g. `stem conv k3 s2 f32`.',
  block: 'A block of `x` identical layers; only its first layer applies the stride.',
  head: 'The classifier: optional 1x1 conv, global pooling, FC: `head conv f1280 pool avg classes 1000 dropout 0.2`.',
  classes: 'Outputs of the final fully connected layer.',
  dropout: 'Dropout rate before the final FC layer (training only; no cost).',
  act: 'Activation: `relu`, `relu6`, `swish` or `hswish`. On a model it is the default for every layer.',
  op: 'The layer type: `conv`, `sepconv` or `mbconv`.',
  se: 'Squeeze-and-excitation ratio in [0, 1]: the SE bottleneck is this fraction of the layer\'s input filters (`se 0.25`).',
  skip: 'The residual shortcut: `identity` (where shapes match), `pool` (pooled, projected shortcut) or `none`.',
  conv: 'A regular k x k convolution + BN + activation.',
  sepconv: 'Depthwise-separable convolution: k x k depthwise, then 1x1 pointwise (MobileNetV1).',
  mbconv: 'Mobile inverted bottleneck (MobileNetV2): 1x1 expand by `e`, k x k depthwise, optional SE, 1x1 linear project.',
  relu: 'ReLU activation.',
  relu6: 'ReLU capped at 6 (MobileNetV2).',
  swish: 'Swish, x * sigmoid(x).',
  hswish: 'Hard swish, x * relu6(x + 3) / 6 (MobileNetV3): swish without the sigmoid.',
  identity: 'Identity shortcut: added where the layer keeps its shape (all layers but a shape-changing first one).',
  pool: 'Pooled shortcut: average-pool by the stride, 1x1 projection when channels change. In a head: the global pooling.',
  none: 'No shortcut.',
  avg: 'Global average pooling.',
  max: 'Global max pooling (in a search: `max params 5M` caps a metric).',
  e: 'Expansion ratios of mbconv: `e [3, 6]`.',
  k: 'Kernel sizes (odd): `k [3, 5]`.',
  s: 'Strides: `s [1, 2]`.',
  f: 'Filter factors of the skeleton\'s filters: `f * [0.75, 1.0, 1.25]`.',
  x: 'Layer-count deltas to the skeleton\'s: `x + [-1, 0, 1]`.',
};

const FIELD_LETTERS: Record<string, (v: string) => string> = {
  e: (v) => `Expansion ratio ${v}: mbconv widens the input ${v}x with a 1x1 conv before the depthwise conv.`,
  k: (v) => `Kernel size ${v}: a ${v}x${v} convolution (depthwise in sepconv and mbconv).`,
  s: (v) => `Stride ${v}${v === '1' ? ': keeps the feature map size' : `: the block's first layer divides height and width by ${v}`}.`,
  f: (v) => `Output filters: ${v} channels (before the width multiplier).`,
  x: (v) => `Layers: the block repeats its layer ${v} time${v === '1' ? '' : 's'}.`,
};

/** Doc for a word or an abbreviated field such as `k5`; undefined for plain names. */
export function wordDoc(image: string): string | undefined {
  const m = /^([eksfx])(\d+(?:\.\d+)?)$/.exec(image);
  if (m) return FIELD_LETTERS[m[1]](m[2]);
  return Object.prototype.hasOwnProperty.call(KEYWORD_DOCS, image) ? KEYWORD_DOCS[image] : undefined;
}
