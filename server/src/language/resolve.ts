// From a model's syntax tree to a ModelSpec, checking every field on the way. Resolution is
// lenient: a missing or invalid field gets a fallback and a diagnostic, so the cost model
// (and hover) still works on the valid parts of a broken model.
import type { BlockNode, HeadNode, LayerSpecNode, Located, ModelNode, RepeatedField, Span } from './ast';
import { type BlockSpec, type HeadSpec, type ModelSpec, type StemSpec, roundFilters, roundLayers } from './arch';
import { error, type Problem, type QuickFix } from './problems';

export interface ResolvedModel {
  spec: ModelSpec;
  problems: Problem[];
  /** False when any error was found: the spec then holds fallback values. */
  valid: boolean;
  /**
   * The fields whose value in `spec` is not what was written (invalid, missing, given twice,
   * or lost to a typo: `*`), per part. Figures built on them are a fallback's, so features
   * withhold them (`withheld`) instead of showing them as the model's.
   */
  substituted: Substituted;
}

export interface Substituted { model: string[]; stem: string[]; head: string[]; blocks: string[][] }

/** Fields whose fallback changes the feature map a part hands on (its output shape). */
const SHAPE_FIELDS = new Set(['s', 'f', '*']);

/**
 * Why the figures of a part (the whole model, the stem, block i, the head) cannot be shown: a
 * fallback stands in for one of its own fields or for one that shapes its input. Undefined
 * when every figure of that part is built from what was written.
 */
export function withheld(r: ResolvedModel, part: 'model' | 'stem' | 'head' | number): string | undefined {
  const sub = r.substituted;
  if (sub.model.includes('exact')) return `Model \`${r.spec.name}\` counts more than 2^53 mult-adds or params (see the error): figures that large would not be exact, so none is shown.`;
  const say = (where: string, fields: string[]) => {
    const named = fields.filter((f) => f !== '*').map((f) => `\`${f}\``);
    const what = fields.includes('*') ? 'a word that is no field' : named.length === 1 ? `an invalid or missing ${named[0]}` : `invalid or missing ${named.join(', ')}`;
    return `${where} has ${what} (see the error): costs are not shown until it is fixed, so no figure is a fallback's.`;
  };
  if (sub.model.length) return say(`Model \`${r.spec.name}\``, sub.model);
  const stemFeeds = sub.stem.filter((f) => SHAPE_FIELDS.has(f));
  if (part === 'stem' && sub.stem.length) return say('The stem', sub.stem);
  if (part !== 'stem' && stemFeeds.length) return say('The stem', stemFeeds);
  if (part === 'stem') return undefined;
  const upTo = part === 'model' || part === 'head' ? sub.blocks.length : part;
  for (let i = 0; i < Math.min(upTo, sub.blocks.length); i++) {
    const fields = part === 'model' ? sub.blocks[i] : sub.blocks[i].filter((f) => SHAPE_FIELDS.has(f));
    if (fields.length) return say(`Block \`${r.spec.blocks[i]?.name}\``, fields);
  }
  if (typeof part === 'number' && sub.blocks[part]?.length) return say(`Block \`${r.spec.blocks[part].name}\``, sub.blocks[part]);
  if ((part === 'head' || part === 'model') && sub.head.length) return say('The head', sub.head);
  return undefined;
}

const del = (span: Span, title: string): QuickFix => ({ title, edits: [{ span, newText: '' }] });
/** A field given twice: reported on all of the repeat (its keyword and value), which the fix removes. */
const repeatedField = (r: RepeatedField, owner: string): Problem =>
  error('repeated-field', r.span, `\`${r.field}\` is given twice in ${owner}: the first counts. Remove this one.`, [{ ...del(r.span, `Remove the second '${r.field}'`), preferred: true }]);
const replace = (span: Span, newText: string, title: string): QuickFix => ({ title, edits: [{ span, newText }], preferred: true });

function isPositiveInt(n: number): boolean {
  return Number.isInteger(n) && n > 0;
}

/** Upper bounds that keep the cost model and the search sane (and the server responsive). */
export const LIMITS = { k: 31, s: 32, x: 256, f: 65536, e: 64, input: 8192, channels: 4096, classes: 1_000_000 } as const;

function checkInt(v: Located<number> | undefined, what: string, letter: string, problems: Problem[], min = 1, max = Infinity): number | undefined {
  if (!v) return undefined;
  if (!Number.isInteger(v.value) || v.value < min) {
    problems.push(error('bad-value', v.span, `${what} must be a whole number >= ${min}, got ${v.value}. Write e.g. \`${letter}${Math.max(min, Math.round(v.value) || min)}\`.`));
    return undefined;
  }
  if (v.value > max) {
    problems.push(error('too-large', v.span, `${what} ${v.value} is over the limit of ${max}. Use a smaller value.`));
    return undefined;
  }
  return v.value;
}

function checkKernel(v: Located<number> | undefined, problems: Problem[]): number | undefined {
  const k = checkInt(v, 'Kernel size', 'k', problems, 1, LIMITS.k);
  if (k !== undefined && k % 2 === 0) {
    problems.push(error('even-kernel', v!.span, `Kernel k${k} is even: 'same' padding needs an odd kernel. Use k${k - 1} or k${k + 1}.`, [
      replace(v!.span, `k${k + 1}`, `Change to k${k + 1}`), { title: `Change to k${k - 1}`, edits: [{ span: v!.span, newText: `k${k - 1}` }] },
    ]));
    return undefined;
  }
  return k;
}

function checkSe(v: Located<number> | undefined, problems: Problem[]): number {
  if (!v) return 0;
  if (!(v.value >= 0 && v.value <= 1)) {
    problems.push(error('bad-se', v.span, `SE ratio must be between 0 and 1 (the paper uses 0.25), got ${v.value}.`, [replace(v.span, '0.25', 'Change to 0.25')]));
    return 0;
  }
  return v.value;
}

/**
 * A block's (or, `name` undefined, the stem's) fields checked, defaults filled in. Once per block
 * of every model analysed: the owner's name for messages is made only when there is one to write.
 */
function layerSpec(spec: LayerSpecNode, name: string | undefined, problems: Problem[], nameSpan: Span, inputFilters: number, substituted: string[]): BlockSpec {
  const owner = () => (name === undefined ? 'The stem' : `Block \`${name}\``);
  for (const r of spec.repeated) {
    problems.push(repeatedField(r, owner()));
    substituted.push(r.field);
  }
  // A word that is no field was reported where it stands; it may be the op or the filters
  // misspelt, so their absence is not a second error.
  const typo = (spec.typos?.length ?? 0) > 0;
  if (typo) substituted.push('*');
  if (!spec.op && !typo) {
    problems.push(error('missing-op', nameSpan, `${owner()} has no op. Add one of \`conv\`, \`sepconv\` or \`mbconv e6\`.`));
  }
  const op = spec.op?.value ?? 'mbconv';
  let e = op === 'mbconv' ? 6 : 1;
  if (spec.e) {
    if (op !== 'mbconv') {
      problems.push(error('expansion-not-mbconv', spec.e.span, `Expansion ${spec.e.value} only applies to \`mbconv\`; \`${op}\` has no expansion. Remove it, or change the op to mbconv.`, [del(spec.e.span, `Remove '${spec.e.value}' expansion`)]));
    } else if (spec.e.value > LIMITS.e) {
      problems.push(error('too-large', spec.e.span, `Expansion ${spec.e.value} is over the limit of ${LIMITS.e}. MnasNet uses 3 or 6.`));
    } else if (!(spec.e.value >= 1)) {
      problems.push(error('bad-value', spec.e.span, `Expansion ratio must be >= 1 (MnasNet uses 3 or 6), got ${spec.e.value}.`, [replace(spec.e.span, 'e6', 'Change to e6')]));
    } else e = spec.e.value;
  } else if (op === 'mbconv' && spec.op && !typo) {
    problems.push(error('missing-expansion', spec.op.span, `\`mbconv\` needs an expansion ratio. Add e.g. \`e6\` (MobileNetV2) or \`e3\`.`, [{ title: 'Add e6', edits: [{ span: { start: spec.op.span.end, end: spec.op.span.end }, newText: ' e6' }], preferred: true }]));
  }
  const k = checkKernel(spec.k, problems) ?? 3;
  const s = checkInt(spec.s, 'Stride', 's', problems, 1, LIMITS.s) ?? 1;
  let f = checkInt(spec.f, 'Filters', 'f', problems, 1, LIMITS.f);
  if (!spec.f && !typo) problems.push(error('missing-filters', nameSpan, `${owner()} has no output filters. Add e.g. \`f${inputFilters}\`.`));
  f ??= inputFilters;
  const x = checkInt(spec.x, 'Layers', 'x', problems, 1, LIMITS.x) ?? 1;
  const se = checkSe(spec.se, problems);
  const used = { op, e, k, s, f, x, se };
  for (const field of ['op', 'e', 'k', 's', 'f', 'x', 'se'] as const) {
    const written = spec[field]?.value;
    const missing = written === undefined && (field === 'op' || field === 'f' || (field === 'e' && op === 'mbconv'));
    if (missing || (written !== undefined && written !== used[field] && !(field === 'e' && op !== 'mbconv' && written === 1))) substituted.push(field);
  }
  return { name: name ?? '', op, e, k, s, f, x, se, skip: spec.skip?.value ?? 'identity', act: spec.act?.value };
}

function head(node: HeadNode, problems: Problem[], substituted: string[]): HeadSpec {
  for (const r of node.repeated) {
    problems.push(repeatedField(r, 'the head'));
    substituted.push(r.field);
  }
  const f = checkInt(node.f, 'Head filters', 'f', problems, 1, LIMITS.f) ?? null;
  let classes: number | null = null;
  if (node.classes) {
    if (!isPositiveInt(node.classes.value)) problems.push(error('bad-value', node.classes.span, `Classes must be a whole number >= 1, got ${node.classes.value}.`));
    else if (node.classes.value > LIMITS.classes) problems.push(error('too-large', node.classes.span, `Classes ${node.classes.value} is over the limit of ${LIMITS.classes}.`));
    else classes = node.classes.value;
  }
  let dropout = 0;
  if (node.dropout) {
    if (!(node.dropout.value >= 0 && node.dropout.value < 1)) problems.push(error('bad-value', node.dropout.span, `Dropout must be in [0, 1), got ${node.dropout.value}. MnasNet uses 0.2.`, [replace(node.dropout.span, '0.2', 'Change to 0.2')]));
    else dropout = node.dropout.value;
  }
  if (node.f && f !== node.f.value) substituted.push('f');
  if (node.classes && classes !== node.classes.value) substituted.push('classes');
  if (node.dropout && dropout !== node.dropout.value) substituted.push('dropout');
  return { f, pool: node.pool?.value ?? 'avg', classes, dropout };
}

function multiplier(v: Located<number> | undefined, what: string, problems: Problem[]): number {
  if (!v) return 1;
  if (!(v.value > 0) || !(v.value <= 16)) {
    problems.push(error('bad-multiplier', v.span, `The ${what} multiplier must be > 0 (and at most 16), got ${v.value}. Use 1.0 for the model as written.`, [replace(v.span, '1.0', 'Change to 1.0')]));
    return 1;
  }
  return v.value;
}

export function resolveModel(node: ModelNode): ResolvedModel {
  const problems: Problem[] = [];
  const name = node.name.value;
  const substituted: Substituted = { model: [], stem: [], head: [], blocks: [] };
  for (const r of node.repeated) {
    problems.push(repeatedField(r, `model \`${name}\``));
    (r.field === 'stem' ? substituted.stem : r.field === 'head' ? substituted.head : substituted.model).push(r.field === 'stem' || r.field === 'head' ? '*' : r.field);
  }
  let input = node.input?.value ?? { h: 224, w: 224, c: 3 };
  if (!node.input) {
    const at = node.open?.end;
    problems.push(error('missing-input', node.name.span, `Model \`${name}\` has no input. Add e.g. \`input 224x224x3\` (height x width x channels).`,
      at === undefined ? undefined : [{ title: 'Add input 224x224x3', edits: [{ span: { start: at, end: at }, newText: '\n  input 224x224x3' }], preferred: true }]));
  } else if (![input.h, input.w, input.c].every(isPositiveInt)) {
    problems.push(error('bad-value', node.input.span, `Input ${node.input.value.h}x${node.input.value.w}x${node.input.value.c} must have whole, positive height, width and channels.`));
    input = { h: 224, w: 224, c: 3 };
  } else if (input.h > LIMITS.input || input.w > LIMITS.input || input.c > LIMITS.channels) {
    problems.push(error('too-large', node.input.span, `Input ${input.h}x${input.w}x${input.c} is over the limits (${LIMITS.input}x${LIMITS.input}x${LIMITS.channels}).`));
    input = { h: 224, w: 224, c: 3 };
  }
  if (!node.input || input !== node.input.value) substituted.model.push('input');
  let width = multiplier(node.width, 'width', problems);
  let depth = multiplier(node.depth, 'depth', problems);
  const act = node.act?.value ?? 'relu';

  let stem: StemSpec | null = null;
  let channels = input.c;
  if (node.stem) {
    const s = layerSpec(node.stem, undefined, problems, node.stem.keyword, input.c, substituted.stem);
    if (node.stem.op && node.stem.op.value !== 'conv') {
      substituted.stem.push('op');
      problems.push(error('stem-op', node.stem.op.span, `The stem is a regular convolution: use \`conv\`, not \`${node.stem.op.value}\`.`, [replace(node.stem.op.span, 'conv', "Change to 'conv'")]));
    }
    for (const [field, v] of [['x', node.stem.x], ['se', node.stem.se], ['skip', node.stem.skip]] as const) {
      if (!v) continue;
      problems.push(error('stem-field', v.span, `The stem is a single conv: \`${field}\` does not apply. Remove it.`, [del(v.span, `Remove '${field}'`)]));
      substituted.stem.push(field);
    }
    stem = { k: s.k, s: s.s, f: s.f, act: s.act };
    channels = s.f;
  }

  const blocks: BlockSpec[] = [];
  const seen = new Map<string, BlockNode>();
  for (const b of node.blocks) {
    const bname = b.name.value;
    if (seen.has(bname)) problems.push(error('duplicate-name', b.name.span, `Block \`${bname}\` is defined twice in model \`${name}\`. Rename one (block names must be unique within a model).`));
    else seen.set(bname, b);
    const subs: string[] = [];
    substituted.blocks.push(subs);
    const spec = layerSpec(b.spec, bname, problems, b.name.span, channels, subs);
    blocks.push(spec);
    channels = spec.f;
  }
  if (node.blocks.length === 0) {
    problems.push(error('no-blocks', node.name.span, `Model \`${name}\` has no blocks. Add one, e.g. \`block b1 { mbconv e6 k3 s1 f16 }\`.`));
  }
  // The multipliers scale checked values past their limits: refuse them before anything is built.
  const deepest = blocks.find((b) => roundLayers(b.x, depth) > LIMITS.x);
  if (deepest && node.depth) {
    substituted.model.push('depth');
    problems.push(error('too-large', node.depth.span, `Depth ${depth} gives block \`${deepest.name}\` ${roundLayers(deepest.x, depth)} layers, over the limit of ${LIMITS.x}. Use a smaller depth multiplier or fewer layers.`));
    depth = 1;
  }
  const widest = [...(stem ? [{ name: 'the stem', f: stem.f }] : []), ...blocks].find((b) => roundFilters(b.f, width) > LIMITS.f);
  if (widest && node.width) {
    const who = widest.name === 'the stem' ? 'the stem' : `block \`${widest.name}\``;
    substituted.model.push('width');
    problems.push(error('too-large', node.width.span, `Width ${width} gives ${who} ${roundFilters(widest.f, width)} filters, over the limit of ${LIMITS.f}. Use a smaller width multiplier or fewer filters.`));
    width = 1;
  }
  if (node.width && width !== node.width.value && !substituted.model.includes('width')) substituted.model.push('width');
  if (node.depth && depth !== node.depth.value && !substituted.model.includes('depth')) substituted.model.push('depth');
  const headSpec = node.head ? head(node.head, problems, substituted.head) : null;
  const spec: ModelSpec = { name, input, width, depth, act, stem, blocks, head: headSpec };
  problems.push(...shapeProblems(node, spec, substituted));
  return { spec, problems, valid: !problems.some((p) => p.severity === 'error'), substituted };
}

/**
 * Checks that need the shapes: an explicit `skip identity` that can apply to no layer (a
 * single-layer block whose only layer changes the shape). A stride larger than the map is
 * fine: 'same' padding gives ceil(H / s), so never less than 1x1.
 */
function shapeProblems(node: ModelNode, spec: ModelSpec, substituted: Substituted): Problem[] {
  const problems: Problem[] = [];
  let h = spec.input.h;
  let w = spec.input.w;
  let c = spec.input.c;
  const stride = (s: number) => {
    h = Math.ceil(h / s);
    w = Math.ceil(w / s);
  };
  if (spec.stem) {
    stride(spec.stem.s);
    c = roundFilters(spec.stem.f, spec.width);
  }
  spec.blocks.forEach((b, i) => {
    const bn = node.blocks[i];
    const hIn = h, wIn = w, cIn = c;
    stride(b.s);
    c = roundFilters(b.f, spec.width);
    const changes = hIn !== h || wIn !== w || cIn !== c;
    if (bn.spec.skip?.value === 'identity' && changes && Math.ceil(b.x * spec.depth) <= 1) {
      substituted.blocks[i].push('skip');
      problems.push(error('skip-identity-shape', bn.spec.skip.span,
        `\`skip identity\` cannot apply in block \`${b.name}\`: its only layer changes the shape (${hIn}x${wIn}x${cIn} -> ${h}x${w}x${c}). Use \`skip pool\` (pooled, projected shortcut) or \`skip none\`.`,
        [replace(bn.spec.skip.span, 'pool', "Change to 'skip pool'"), { title: "Change to 'skip none'", edits: [{ span: bn.spec.skip.span, newText: 'none' }] }]));
    }
  });
  return problems;
}
