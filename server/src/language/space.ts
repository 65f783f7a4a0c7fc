// A search space: the skeleton model plus, per block, the choices left open. Also the
// controller's view of it (an ordered list of decisions) and sampling decisions into a
// concrete ModelSpec: the one definition of what an action sequence means.
import {
  ACT_NAMES, type ActName, type ChoiceField, type ChoiceNode, OP_NAMES, type OpName,
  SKIP_NAMES, type SkipName, type SpaceNode, type Span,
} from './ast';
import { type BlockSpec, type ModelSpec, roundFilters, roundLayers } from './arch';
import { error, type Problem, type QuickFix, suggest, warning } from './problems';
import { LIMITS } from './resolve';

/** Open choices of one block; absent fields stay as the skeleton has them. */
export interface BlockChoices {
  op?: OpName[];
  e?: number[];
  k?: number[];
  s?: number[];
  se?: number[];
  skip?: SkipName[];
  act?: ActName[];
  /** Factors applied to the skeleton's filters. */
  f?: number[];
  /** Deltas added to the skeleton's layers. */
  x?: number[];
}

export interface ResolvedSpace {
  name: string;
  skeleton: ModelSpec;
  /** One entry per skeleton block, in order. */
  blocks: { name: string; choices: BlockChoices }[];
}

/** The fixed order in which the controller decides a block's fields (the paper's order). */
export const DECISION_ORDER: readonly (keyof BlockChoices)[] = ['op', 'e', 'k', 'se', 'skip', 'f', 'x', 's', 'act'];

export interface Decision {
  /** `b3.k` */
  key: string;
  block: number;
  field: keyof BlockChoices;
  options: number;
  /** Printable options, for the UI. */
  labels: string[];
}

export function decisions(space: ResolvedSpace): Decision[] {
  const out: Decision[] = [];
  space.blocks.forEach((b, i) => {
    for (const field of DECISION_ORDER) {
      const values = b.choices[field] as (number | string)[] | undefined;
      if (!values || values.length < 2) continue;
      out.push({ key: `${b.name}.${field}`, block: i, field, options: values.length, labels: values.map(String) });
    }
  });
  return out;
}

/** Filters for a factor: the skeleton's filters times the factor, rounded to a whole number. */
export function factorFilters(f: number, factor: number): number {
  return Math.round(f * factor);
}

/** Applies one choice per open field (indices in `decisions()` order) to the skeleton. */
export function sample(space: ResolvedSpace, actions: readonly number[], name = `${space.name}_child`): ModelSpec {
  const ds = decisions(space);
  if (actions.length !== ds.length) throw new Error(`Space ${space.name} has ${ds.length} decisions, got ${actions.length} actions.`);
  const blocks: BlockSpec[] = space.skeleton.blocks.map((b) => ({ ...b }));
  const pick = new Map<string, number>();
  ds.forEach((d, i) => {
    if (!Number.isInteger(actions[i]) || actions[i] < 0 || actions[i] >= d.options) throw new Error(`Action ${actions[i]} is out of range for ${d.key} (${d.options} options).`);
    pick.set(d.key, actions[i]);
  });
  space.blocks.forEach((bc, i) => {
    const b = blocks[i];
    const base = space.skeleton.blocks[i];
    const choose = <T>(field: keyof BlockChoices, values: T[] | undefined): T | undefined =>
      values && values.length > 0 ? values[pick.get(`${bc.name}.${field}`) ?? 0] : undefined;
    const c = bc.choices;
    b.op = choose('op', c.op) ?? b.op;
    b.e = b.op === 'mbconv' ? choose('e', c.e) ?? (base.op === 'mbconv' ? base.e : 6) : 1;
    b.k = choose('k', c.k) ?? b.k;
    b.s = choose('s', c.s) ?? b.s;
    b.se = choose('se', c.se) ?? b.se;
    b.skip = choose('skip', c.skip) ?? b.skip;
    b.act = choose('act', c.act) ?? b.act;
    const factor = choose('f', c.f);
    if (factor !== undefined) b.f = factorFilters(base.f, factor);
    const delta = choose('x', c.x);
    if (delta !== undefined) b.x = base.x + delta;
    // Identity cannot apply to a single shape-changing layer: the sampled child keeps the
    // choice (the cost model applies identity only where shapes match).
  });
  return { ...space.skeleton, name, blocks };
}

/** Number of distinct models: the expansion only counts where the op is mbconv. */
export function blockChoiceCount(c: BlockChoices, skeletonOp: OpName): bigint {
  const ops = c.op ?? [skeletonOp];
  const e = BigInt(c.e?.length ?? 1);
  let n = ops.reduce((a, op) => a + (op === 'mbconv' ? e : 1n), 0n);
  for (const f of ['k', 's', 'se', 'skip', 'act', 'f', 'x'] as const) n *= BigInt(c[f]?.length ?? 1);
  return n;
}

export function spaceSize(space: ResolvedSpace): bigint {
  return space.blocks.reduce((a, b, i) => a * blockChoiceCount(b.choices, space.skeleton.blocks[i].op), 1n);
}

/** 10^k exponent of a bigint, for "about 10^13" displays. */
export function log10(n: bigint): number {
  const s = n.toString();
  return s.length - 1 + Math.log10(Number(s.slice(0, 15)) / 10 ** Math.min(14, s.length - 1));
}

// ---------------------------------------------------------------------------------------
// Resolution and checks of a space against its skeleton.

const FIELD_HELP: Record<ChoiceField, string> = {
  op: 'ops: `op [conv, sepconv, mbconv]`',
  e: 'expansion ratios: `e [3, 6]`',
  k: 'odd kernel sizes: `k [3, 5]`',
  s: 'strides: `s [1, 2]`',
  se: 'SE ratios in [0, 1]: `se [0, 0.25]`',
  skip: 'skip ops: `skip [identity, pool, none]`',
  act: 'activations: `act [relu, swish]`',
  f: 'filter factors of the skeleton: `f * [0.75, 1.0, 1.25]`',
  x: 'layer deltas to the skeleton: `x + [-1, 0, 1]`',
};

/**
 * Why a value cannot be a choice of `field` at all, or undefined when it can. The one rule
 * for diagnostics, hover and code lens: nothing is built from a value this refuses.
 */
export function choiceValueProblem(field: ChoiceField, v: number | string): string | undefined {
  const words: Record<string, readonly string[]> = { op: OP_NAMES, skip: SKIP_NAMES, act: ACT_NAMES };
  if (words[field]) return typeof v === 'string' && words[field].includes(v) ? undefined : `\`${v}\` is not a valid ${field}.`;
  if (typeof v !== 'number') return `\`${v}\` is not a number.`;
  const n = v;
  if (field === 'k' && (!Number.isInteger(n) || n < 1 || n % 2 === 0 || n > LIMITS.k)) return `Kernel ${n} is not an odd size up to ${LIMITS.k}: 'same' padding needs an odd kernel.`;
  if (field === 'e' && !(n >= 1 && n <= LIMITS.e)) return `Expansion ${n} must be between 1 and ${LIMITS.e}.`;
  if (field === 's' && (!Number.isInteger(n) || n < 1 || n > LIMITS.s)) return `Stride ${n} must be a whole number from 1 to ${LIMITS.s}.`;
  if (field === 'se' && !(n >= 0 && n <= 1)) return `SE ratio ${n} is outside [0, 1].`;
  if (field === 'f' && !(n > 0 && n <= 16)) return `Filter factor ${n} must be > 0 (and at most 16).`;
  if (field === 'x' && !(Number.isInteger(n) && Math.abs(n) <= LIMITS.x)) return `Layer delta ${n} must be a whole number within +-${LIMITS.x}.`;
  return undefined;
}

/**
 * Why a valid `f` factor or `x` delta cannot apply to one skeleton block (what it builds is
 * out of range once the skeleton's width and depth multipliers apply), or undefined.
 */
export function choiceOnBlockProblem(field: ChoiceField, v: number | string, base: BlockSpec, skeleton: Pick<ModelSpec, 'width' | 'depth'>):
  { code: 'too-large' | 'layers-below-one' | 'filters-round-to-zero'; reason: string } | undefined {
  if (typeof v !== 'number') return undefined;
  if (field === 'x') {
    const layers = base.x + v;
    if (layers < 1) return { code: 'layers-below-one', reason: `x${base.x} + ${v} leaves no layer.` };
    if (layers > LIMITS.x || roundLayers(layers, skeleton.depth) > LIMITS.x) return { code: 'too-large', reason: `x${base.x} + ${v} builds more than ${LIMITS.x} layers.` };
  }
  if (field === 'f') {
    const filters = factorFilters(base.f, v);
    if (filters === 0) return { code: 'filters-round-to-zero', reason: `f${base.f} x ${v} rounds to 0 filters.` };
    if (filters > LIMITS.f || roundFilters(filters, skeleton.width) > LIMITS.f) return { code: 'too-large', reason: `f${base.f} x ${v} builds more than ${LIMITS.f} filters.` };
  }
  return undefined;
}

/**
 * A skeleton block with one field set to a choice value (the other fields as in the
 * skeleton), or why that value is not valid there. Hover builds costs only from these.
 */
export function applyChoice(base: BlockSpec, field: ChoiceField, v: number | string, skeleton: Pick<ModelSpec, 'width' | 'depth'>): BlockSpec | { invalid: string } {
  const why = choiceValueProblem(field, v) ?? choiceOnBlockProblem(field, v, base, skeleton)?.reason;
  if (why) return { invalid: why };
  const b: BlockSpec = { ...base };
  switch (field) {
    case 'op':
      b.op = v as OpName;
      if (b.op === 'mbconv' && base.op !== 'mbconv') b.e = 6;
      return b;
    case 'f': return { ...b, f: factorFilters(base.f, v as number) };
    case 'x': return { ...b, x: base.x + (v as number) };
    default: return { ...b, [field]: v };
  }
}

function checkValues(c: ChoiceNode, problems: Problem[]): (number | string)[] | undefined {
  const field = c.field.value;
  const words: Record<string, readonly string[]> = { op: OP_NAMES, skip: SKIP_NAMES, act: ACT_NAMES };
  const out: (number | string)[] = [];
  let ok = true;
  for (const v of c.values) {
    const why = choiceValueProblem(field, v.value);
    if (!why) { out.push(v.value); continue; }
    const s = words[field] ? suggest(String(v.value), words[field], v.span) : { hint: '', fixes: undefined as QuickFix[] | undefined };
    problems.push(error('bad-choice', v.span, `${why}${s.hint} \`${field}\` takes ${FIELD_HELP[field]}.`, s.fixes));
    ok = false;
  }
  if (c.values.length === 0) {
    problems.push(error('empty-choice', c.list, `The choice list for \`${field}\` is empty. List at least one value: ${FIELD_HELP[field]}.`));
    return undefined;
  }
  const seen = new Set<string>();
  for (const v of c.values) {
    const key = String(v.value);
    if (seen.has(key)) {
      problems.push(error('duplicate-choice', v.span, `\`${key}\` is listed twice for \`${field}\`. Remove the duplicate.`, [{ title: `Remove duplicate '${key}'`, edits: [{ span: v.span, newText: '' }] }]));
      ok = false;
    }
    seen.add(key);
  }
  return ok ? out : undefined;
}

export interface SpaceResolution { space?: ResolvedSpace; problems: Problem[] }

/**
 * `skeleton` is the resolved model named by `from` (undefined when that name failed to
 * resolve; the caller reports why).
 */
export function resolveSpace(node: SpaceNode, skeleton: ModelSpec | undefined): SpaceResolution {
  const problems: Problem[] = [];
  if (!skeleton) return { problems };
  const byName = new Map(skeleton.blocks.map((b, i) => [b.name, i]));
  const perBlock: BlockChoices[] = skeleton.blocks.map(() => ({}));
  const source: Map<ChoiceField, ChoiceNode>[] = skeleton.blocks.map(() => new Map());
  const seenBlocks = new Map<string, Span>();
  // `block *` first, so per-block entries override it whatever the order in the file.
  const ordered = [...node.blocks].sort((a, b) => (a.name.value === '*' ? 0 : 1) - (b.name.value === '*' ? 0 : 1));
  for (const sb of ordered) {
    const bname = sb.name.value;
    if (seenBlocks.has(bname)) {
      problems.push(error('duplicate-name', sb.name.span, `Block \`${bname}\` appears twice in space \`${node.name.value}\`. Merge the two entries.`));
      continue;
    }
    seenBlocks.set(bname, sb.name.span);
    let targets: number[];
    if (bname === '*') targets = skeleton.blocks.map((_, i) => i);
    else if (byName.has(bname)) targets = [byName.get(bname)!];
    else {
      const s = suggest(bname, byName.keys(), sb.name.span);
      problems.push(error('unknown-block', sb.name.span, `Skeleton \`${skeleton.name}\` has no block \`${bname}\`.${s.hint} Its blocks are ${[...byName.keys()].join(', ')}.`, s.fixes));
      continue;
    }
    const seenFields = new Map<ChoiceField, ChoiceNode>();
    for (const c of sb.choices) {
      const field = c.field.value;
      const first = seenFields.get(field);
      if (first) {
        // On all of the repeat (field, mode and list), which the fix removes; the first counts.
        const was = `${field}${first.mode ? ` ${first.mode.value}` : ''} [${first.values.map((v) => v.value).join(', ')}]`;
        problems.push(error('repeated-field', c.span, `\`${field}\` is chosen twice in this block: the first (\`${was}\`) counts. Remove this one.`,
          [{ title: `Remove the second '${field}'`, edits: [{ span: c.span, newText: '' }], preferred: true }]));
        continue;
      }
      seenFields.set(field, c);
      if (field === 'f' && c.mode?.value !== '*') {
        problems.push(error('choice-mode', c.mode?.span ?? c.field.span, 'Filters are chosen as factors of the skeleton\'s value: write `f * [0.75, 1.0, 1.25]`.', c.mode ? undefined : [{ title: "Insert '*'", edits: [{ span: { start: c.field.span.end, end: c.field.span.end }, newText: ' *' }], preferred: true }]));
        continue;
      }
      if (field === 'x' && c.mode?.value !== '+') {
        problems.push(error('choice-mode', c.mode?.span ?? c.field.span, 'Layers are chosen as deltas to the skeleton\'s value: write `x + [-1, 0, 1]`.', c.mode ? undefined : [{ title: "Insert '+'", edits: [{ span: { start: c.field.span.end, end: c.field.span.end }, newText: ' +' }], preferred: true }]));
        continue;
      }
      if (c.mode && field !== 'f' && field !== 'x') {
        problems.push(error('choice-mode', c.mode.span, `\`${c.mode.value}\` only applies to \`f *\` (filter factors) and \`x +\` (layer deltas); \`${field}\` lists its values directly.`, [{ title: `Remove '${c.mode.value}'`, edits: [{ span: c.mode.span, newText: '' }], preferred: true }]));
        continue;
      }
      const values = checkValues(c, problems);
      if (!values) continue;
      for (const t of targets) {
        (perBlock[t] as Record<string, unknown>)[field] = values;
        source[t].set(field, c);
      }
    }
  }
  // Checks against the skeleton's values, once every override is in place.
  perBlock.forEach((choices, t) => {
    const base = skeleton.blocks[t];
    const xs = source[t].get('x');
    if (choices.x && xs) {
      const over = choices.x.filter((d) => choiceOnBlockProblem('x', d, base, skeleton)?.code === 'too-large');
      if (over.length) {
        const depth = skeleton.depth === 1 ? '' : ` (after the depth multiplier ${skeleton.depth})`;
        problems.push(error('too-large', xs.list, `Block \`${base.name}\` would get more than ${LIMITS.x} layers${depth} with delta ${over.join(', ')}. Use smaller deltas.`));
        delete choices.x;
      }
      const bad = (choices.x ?? []).filter((d) => choiceOnBlockProblem('x', d, base, skeleton)?.code === 'layers-below-one');
      if (bad.length) {
        const fromStar = node.blocks.some((b) => b.name.value === '*' && b.choices.includes(xs));
        problems.push(error('layers-below-one', xs.list, `Block \`${base.name}\` has ${base.x} layer${base.x === 1 ? '' : 's'}; delta ${bad.join(', ')} would leave none. Every block keeps at least one layer: ${fromStar ? `override it with \`block ${base.name} { x + [0, 1] }\`` : 'drop the negative delta'}.`));
        delete choices.x;
      }
    }
    const fs = source[t].get('f');
    if (choices.f && fs) {
      const filters = choices.f.map((v) => factorFilters(base.f, v));
      const zero = choices.f.filter((v) => choiceOnBlockProblem('f', v, base, skeleton)?.code === 'filters-round-to-zero');
      if (choices.f.some((v) => choiceOnBlockProblem('f', v, base, skeleton)?.code === 'too-large')) {
        const width = skeleton.width === 1 ? '' : ` (after the width multiplier ${skeleton.width})`;
        problems.push(error('too-large', fs.list, `In block \`${base.name}\`, a factor gives more than ${LIMITS.f} filters${width}. Use smaller factors.`));
        delete choices.f;
        return;
      }
      if (zero.length) {
        problems.push(error('filters-round-to-zero', fs.list, `In block \`${base.name}\`, factor ${zero.join(', ')} x f${base.f} rounds to 0 filters. Use a larger factor.`));
        delete choices.f;
        return;
      }
      const seenF = new Map<number, number>();
      choices.f.forEach((v, i) => {
        const prev = seenF.get(filters[i]);
        if (prev !== undefined) {
          problems.push(warning('factor-collision', fs.list, `In block \`${base.name}\`, factors ${prev} and ${v} both give ${filters[i]} filters (from f${base.f}): the controller would sample the same model twice. Drop one factor or use factors further apart.`));
        } else seenF.set(filters[i], v);
      });
    }
  });
  // Expansion choices on a block whose op can never be mbconv.
  perBlock.forEach((c, i) => {
    const ops = c.op ?? [skeleton.blocks[i].op];
    const at = source[i].get('e')?.span;
    if (c.e && !ops.includes('mbconv') && at) {
      problems.push(error('expansion-not-mbconv', at, `Expansion choices apply only to \`mbconv\`, and block \`${skeleton.blocks[i].name}\` can only be ${ops.join(' or ')}. Remove \`e\`, or add mbconv to its \`op\` list.`));
    }
  });
  const space: ResolvedSpace = { name: node.name.value, skeleton, blocks: skeleton.blocks.map((b, i) => ({ name: b.name, choices: perBlock[i] })) };
  const size = spaceSize(space);
  if (size > 10n ** 30n) {
    problems.push(warning('space-too-large', node.name.span, `Space \`${node.name.value}\` has about 10^${log10(size).toFixed(1)} models (over 10^30): a search samples a vanishing fraction of it. Fix some fields, or shorten choice lists.`));
  }
  return { space, problems };
}
