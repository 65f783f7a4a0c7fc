// Markdown renderings of the cost model for hover: a model, one block (with its layers), a
// space, and one space choice under each of its alternatives. Numbers come only from
// cost/model.ts and cost/spaceStats.ts (the figures the CLI prints and the search uses).
import type { BlockArch, BlockSpec, ModelSpec } from '../language/arch';
import { blockArch, toArch } from '../language/arch';
import type { ChoiceNode } from '../language/ast';
import type { ModelEntry, SpaceEntry } from '../analysis/analysis';
import { applyChoice, factorFilters } from '../language/space';
import { withheld } from '../language/resolve';
import { blockCost, costOf, type BlockCost, type ModelCost, type OpCost } from '../cost/model';
import { estimate, type LatencyEstimate } from '../cost/latency/estimate';
import type { CompiledProfile } from '../cost/latency/profile';
import { grouped, millions, percent, shape, short } from './numbers';

const arrow = (a: { h: number; w: number; c: number }, b: { h: number; w: number; c: number }) => `\`${shape(a)} -> ${shape(b)}\``;
const layerCount = (c: ModelCost) => c.blocks.reduce((n, b) => n + b.layers.length, 0);

/** The active device profile for latency lines, or why it could not be loaded. */
export type LatencyContext = { profile: CompiledProfile } | { error: string };

/** "78.0", "143", "4.21": three significant figures, at most two decimals. */
export function formatMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

/** How far to trust a profile, in words: "approximate, fitted to published figures". */
export function profileCaveat(p: CompiledProfile, est: LatencyEstimate): string {
  const kind = p.profile.source.kind;
  const parts: string[] = [];
  if (kind === 'published') parts.push('approximate, fitted to published figures');
  else if (kind === 'synthetic') parts.push('approximate, synthetic profile');
  else if (p.profile.approximate) parts.push('approximate');
  if (kind === 'calibrated' && est.coverage < 1) parts.push(`${Math.round(100 * est.coverage)}% of layers measured, the rest from the fitted fallback`);
  return parts.join('; ');
}

/**
 * Whole-model estimates, per analysed model and profile: every block hover needs the model's
 * total, and recomputing it per hover costs a walk over every layer (milliseconds on a model
 * of thousands of blocks). A new analysis (an edit) brings new entries, so nothing goes stale.
 */
const estimates = new WeakMap<ModelEntry, WeakMap<CompiledProfile, LatencyEstimate>>();

export function latencyEstimate(ctx: LatencyContext | undefined, e: ModelEntry): LatencyEstimate | undefined {
  if (!ctx || !('profile' in ctx)) return undefined;
  let byProfile = estimates.get(e);
  if (!byProfile) estimates.set(e, byProfile = new WeakMap());
  let est = byProfile.get(ctx.profile);
  if (!est) byProfile.set(ctx.profile, est = estimate(ctx.profile, e.arch, e.cost));
  return est;
}

/** "≈ 78.0 ms on pixel1-published (±10%; approximate, fitted to published figures)". */
export function modelLatencyLine(ctx: LatencyContext | undefined, e: ModelEntry, est = latencyEstimate(ctx, e)): string[] {
  if (!ctx) return e.cost.latencyMs === undefined ? [] : [`Latency: ~${e.cost.latencyMs.toFixed(1)} ms (device profile)`];
  if ('error' in ctx) return [`Latency: ${ctx.error}`];
  if (!est) return [];
  const caveat = profileCaveat(ctx.profile, est);
  return [`Latency: **≈ ${formatMs(est.ms)} ms** on \`${est.profile}\` (±${est.uncertaintyPct.toFixed(0)}%${caveat ? `; ${caveat}` : ''})`];
}

/** "≈ 14.5 ms on pixel1-published (±10%), 18.6% of the model's 78.0 ms". */
export function blockLatencyLine(ctx: LatencyContext | undefined, e: ModelEntry, index: number): string[] {
  if (!ctx) return e.cost.latencyMs === undefined ? [] : [`Latency: ~${e.cost.latencyMs.toFixed(1)} ms (device profile)`];
  if ('error' in ctx) return [`Latency: ${ctx.error}`];
  const est = latencyEstimate(ctx, e)!;
  const ms = est.perBlock[index] ?? 0;
  const caveat = profileCaveat(ctx.profile, est);
  return [`Latency: **≈ ${formatMs(ms)} ms** on \`${est.profile}\` (±${est.uncertaintyPct.toFixed(0)}%), ${percent(ms, est.ms)} of the model's ${formatMs(est.ms)} ms${caveat ? ` (${caveat})` : ''}`];
}

export function describeBlock(b: BlockArch): string {
  const parts: string[] = [b.op];
  if (b.op === 'mbconv') parts.push(`e${b.e}`);
  parts.push(`k${b.k}`, `s${b.s}`, `f${b.f}`, `x${b.x}`);
  if (b.se > 0) parts.push(`se ${b.se}`);
  if (b.skip !== 'identity') parts.push(`skip ${b.skip}`);
  parts.push(b.act);
  return parts.join(' ');
}

export function modelMarkdown(e: ModelEntry, latency?: LatencyContext): string {
  const c = e.cost;
  const why = withheld(e.resolved, 'model');
  if (why) return `**model ${e.node.name.value}**, ${c.blocks.length} block${c.blocks.length === 1 ? '' : 's'}\n\n${why}`;
  const lines = [
    `**model ${e.node.name.value}** ${arrow(c.input, c.output)}`,
    '',
    `Params: **${grouped(c.params)}** · Mult-adds: **${grouped(c.multAdds)}** (${millions(c.multAdds)})`,
    '',
    `${c.blocks.length} blocks / ${layerCount(c)} layers`,
    ...modelLatencyLine(latency, e).map((l) => `\n${l}`),
    '',
    '| block | shape | params | mult-adds |',
    '|---|---|--:|--:|',
  ];
  if (c.stem) lines.push(`| stem | ${arrow(c.stem.in, c.stem.out)} | ${grouped(c.stem.params)} | ${grouped(c.stem.multAdds)} |`);
  for (const b of c.blocks) lines.push(`| ${b.name} | ${arrow(b.in, b.out)} | ${grouped(b.params)} | ${grouped(b.multAdds)} |`);
  if (c.head.length) {
    const p = c.head.reduce((n, o) => n + o.params, 0);
    const m = c.head.reduce((n, o) => n + o.multAdds, 0);
    lines.push(`| head | ${arrow(c.head[0].in, c.head[c.head.length - 1].out)} | ${grouped(p)} | ${grouped(m)} |`);
  }
  return lines.join('\n');
}

/** The input as written, and what the model costs at that resolution. */
export function inputMarkdown(e: ModelEntry, latency?: LatencyContext): string {
  const written = e.node.input!.value;
  const c = e.cost;
  const head = `**input ${shape(written)}**: height ${written.h}, width ${written.w}, ${written.c} channel${written.c === 1 ? '' : 's'}`;
  const used = e.resolved.spec.input;
  if (used.h !== written.h || used.w !== written.w || used.c !== written.c) {
    return `${head}\n\nNot a valid input (see the error on it): no cost is shown until it is fixed.`;
  }
  const why = withheld(e.resolved, 'model');
  if (why) return `${head}\n\n${why}`;
  const values = written.h * written.w * written.c;
  const maps = [`${shape(c.input)}`, ...(c.stem ? [`${shape(c.stem.out)} (stem)`] : []),
    ...(c.blocks.length ? [`${shape(c.blocks[c.blocks.length - 1].out)} (${c.blocks[c.blocks.length - 1].name})`] : []), `${shape(c.output)} (output)`];
  return [
    head,
    '',
    `${grouped(values)} values per image (${grouped(values * 4)} bytes as float32, ${grouped(values)} as uint8)`,
    '',
    `At this input \`${e.node.name.value}\` costs **${grouped(c.multAdds)}** mult-adds (${millions(c.multAdds)}); its ${grouped(c.params)} params do not depend on the input size.`,
    ...modelLatencyLine(latency, e).map((l) => `\n${l}`),
    '',
    `Feature maps: ${maps.join(' -> ')}`,
  ].join('\n');
}

function opLine(o: OpCost): string {
  return `${o.label}: ${grouped(o.params)} params · ${grouped(o.multAdds)} mult-adds`;
}

const RESIDUAL = { none: 'no residual', identity: 'identity residual', pool: 'pooled residual' } as const;

export function blockMarkdown(e: ModelEntry, index: number, showLayers: boolean, latency?: LatencyContext): string {
  const c = e.cost;
  const b: BlockCost = c.blocks[index];
  const arch = e.arch.blocks[index];
  const why = withheld(e.resolved, index);
  if (why) return `**block ${b.name}**\n\n${why}`;
  // Shares of the model only when the model's totals are themselves what was written.
  const whole = !withheld(e.resolved, 'model');
  const share = (part: number, total: number) => (whole ? ` (${percent(part, total)} of the model's ${grouped(total)})` : '');
  const lines = [
    `**block ${b.name}** ${arrow(b.in, b.out)}`,
    '',
    `\`${describeBlock(arch)}\``,
    '',
    `Params: **${grouped(b.params)}**${share(b.params, c.params)}`,
    '',
    `Mult-adds: **${grouped(b.multAdds)}**${share(b.multAdds, c.multAdds)}`,
    ...(whole ? blockLatencyLine(latency, e, index).map((l) => `\n${l}`) : []),
  ];
  if (showLayers) {
    lines.push('', '**Layers**', '');
    for (const l of b.layers) {
      lines.push(`${l.index + 1}. ${arrow(l.in, l.out)}, ${RESIDUAL[l.residual]}: ${grouped(l.params)} params · ${grouped(l.multAdds)} mult-adds`);
      for (const o of l.ops) lines.push(`    - ${opLine(o)}`);
    }
  }
  return lines.join('\n');
}

export function opsMarkdown(title: string, ops: OpCost[]): string {
  const lines = [`**${title}**`, ''];
  for (const o of ops) lines.push(`- ${arrow(o.in, o.out)} ${opLine(o)}`);
  return lines.join('\n');
}

export function spaceMarkdown(e: SpaceEntry): string {
  const from = e.node.from?.value;
  const head = `**space ${e.node.name.value}**${from ? ` from \`${from}\`` : ''}`;
  if (e.withheld) return `${head}\n\nSkeleton \`${from}\`: ${e.withheld}`;
  const st = e.stats;
  if (!st) return `${head}\n\nThe skeleton model did not resolve, so the space has no statistics yet.`;
  const lines = [
    head,
    '',
    `Size: **${grouped(st.size)}** models (~10^${st.log10Size.toFixed(1)})`,
    '',
    '| | min | max | mean |',
    '|---|--:|--:|--:|',
    `| params | ${grouped(st.params.min)} | ${grouped(st.params.max)} | ${grouped(st.params.mean)} |`,
    `| mult-adds | ${grouped(st.multAdds.min)} | ${grouped(st.multAdds.max)} | ${grouped(st.multAdds.mean)} |`,
    '',
    '**Choices per block**',
    '',
  ];
  for (const b of st.blocks) lines.push(`- ${b.name}: ${grouped(b.choices)}${b.open.length ? ` (${b.open.join(', ')})` : ''}`);
  return lines.join('\n');
}

/** `f * 0.75 (f18)`, `x + 1 (x3)`, `k5`, `op mbconv`; the built value only when `base` is given. */
function valueLabel(c: ChoiceNode, v: number | string, base: BlockSpec | undefined): string {
  const f = c.field.value;
  if (f === 'f') return `f * ${v}${base && typeof v === 'number' ? ` (f${factorFilters(base.f, v)})` : ''}`;
  if (f === 'x') return `x + ${v}${base && typeof v === 'number' ? ` (x${base.x + v})` : ''}`;
  if (['e', 'k', 's'].includes(f)) return `${f}${v}`;
  return `${f} ${v}`;
}

/**
 * The cost under each alternative of a choice, other fields as in the skeleton. For a
 * named block: that block's cost; for `block *`: the whole model with every block changed.
 */
export function choiceMarkdown(sk: ModelEntry, blockName: string, c: ChoiceNode, hovered: number): string {
  const skeleton: ModelSpec = sk.resolved.spec;
  const skeletonCost: ModelCost = sk.cost;
  const lines: string[] = [];
  const index0 = skeleton.blocks.findIndex((b) => b.name === blockName);
  const why = withheld(sk.resolved, blockName === '*' || index0 < 0 ? 'model' : index0);
  if (why) return `Skeleton \`${skeleton.name}\`: ${why}`;
  const mark = (i: number, s: string) => (i === hovered ? `**▶ ${s}**` : s);
  if (blockName === '*') {
    lines.push(`**\`${c.field.value}\` in every block of \`${skeleton.name}\`**: the whole model under each value`, '',
      '| value | params | mult-adds |', '|---|--:|--:|');
    c.values.forEach((v, i) => {
      const blocks = skeleton.blocks.map((b) => applyChoice(b, c.field.value, v.value, skeleton));
      const invalid = blocks.findIndex((b) => 'invalid' in b);
      if (invalid >= 0) {
        const why = (blocks[invalid] as { invalid: string }).invalid;
        lines.push(`| ${mark(i, valueLabel(c, v.value, undefined))} | not valid${blocks.length > 1 ? ` in block ${skeleton.blocks[invalid].name}` : ''}: ${why} | |`);
        return;
      }
      const cost = costOf(toArch({ ...skeleton, blocks: blocks as BlockSpec[] }));
      lines.push(`| ${mark(i, valueLabel(c, v.value, undefined))} | ${grouped(cost.params)} | ${grouped(cost.multAdds)} |`);
    });
    return lines.join('\n');
  }
  const index = skeleton.blocks.findIndex((b) => b.name === blockName);
  if (index < 0) return `Skeleton \`${skeleton.name}\` has no block \`${blockName}\`.`;
  const base = skeleton.blocks[index];
  const input = skeletonCost.blocks[index]?.in;
  if (!input) return '';
  lines.push(`**block ${blockName}** under each \`${c.field.value}\` (other fields as in \`${skeleton.name}\`)`, '',
    '| value | shape | params | mult-adds |', '|---|---|--:|--:|');
  c.values.forEach((v, i) => {
    const variant = applyChoice(base, c.field.value, v.value, skeleton);
    if ('invalid' in variant) {
      lines.push(`| ${mark(i, valueLabel(c, v.value, undefined))} | not valid: ${variant.invalid} | | |`);
      return;
    }
    const bc = blockCost(blockArch(variant, skeleton), input);
    lines.push(`| ${mark(i, valueLabel(c, v.value, base))} | ${arrow(bc.in, bc.out)} | ${grouped(bc.params)} | ${grouped(bc.multAdds)} |`);
  });
  lines.push('', `Skeleton block: \`${describeBlock(blockArch(base, skeleton))}\`, ${short(skeletonCost.blocks[index].params)} params`);
  return lines.join('\n');
}
