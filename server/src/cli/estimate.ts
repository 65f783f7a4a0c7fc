// `mnas estimate FILE`: the cost model's numbers for every model and space of a file; with
// `--profile NAME` also each model's predicted latency on that device profile, per block.
import * as path from 'node:path';
import type { ModelEntry, SpaceEntry } from '../analysis/analysis';
import type { ModelCost } from '../cost/model';
import { estimate as predict } from '../cost/latency/estimate';
import { type CompiledProfile, ProfileError } from '../cost/latency/profile';
import { loadProfile } from '../cost/latency/store';
import { withheld } from '../language/resolve';
import { CliError, load } from './load';
import { int, shape, short, table } from './text';

/**
 * A model's figures. Where a fallback stands in for what was written (an invalid or missing
 * field), that part's figures are null and `withheld` says why: never a fallback's number.
 */
/** The predictor's figures for one model: total, per block, stem, head, overhead, coverage. */
function predicted(e: ModelEntry, profile: CompiledProfile) {
  const p = predict(profile, e.arch, e.cost);
  const r = (v: number) => Number(v.toFixed(4));
  return {
    profile: p.profile, approximate: p.approximate, ms: r(p.ms), uncertaintyPct: r(p.uncertaintyPct), coverage: r(p.coverage),
    stemMs: r(p.stemMs), headMs: r(p.headMs), overheadMs: r(p.overheadMs), perBlock: p.perBlock.map(r),
  };
}

export function modelJson(e: ModelEntry, profile?: CompiledProfile) {
  const c: ModelCost = e.cost;
  const why = withheld(e.resolved, 'model');
  // Like every figure: none from a fallback's value.
  const latency = profile && !why ? predicted(e, profile) : undefined;
  const stemWhy = withheld(e.resolved, 'stem');
  const headWhy = withheld(e.resolved, 'head');
  return {
    name: e.node.name.value,
    valid: e.resolved.valid,
    ...(why ? { withheld: why } : {}),
    input: c.input,
    output: why ? null : c.output,
    params: why ? null : c.params,
    multAdds: why ? null : c.multAdds,
    ...(c.latencyMs !== undefined && !why ? { latencyMs: c.latencyMs } : {}),
    ...(latency ? { latency } : {}),
    stem: c.stem && (stemWhy ? { withheld: stemWhy } : { out: c.stem.out, params: c.stem.params, multAdds: c.stem.multAdds }),
    blocks: c.blocks.map((b, i) => {
      const blockWhy = withheld(e.resolved, i);
      if (blockWhy) return { name: b.name, withheld: blockWhy };
      const a = e.arch.blocks[i];
      return {
        name: b.name, op: a.op, e: a.e, k: a.k, s: a.s, f: a.f, x: a.x, se: a.se, skip: a.skip, act: a.act,
        in: b.in, out: b.out, params: b.params, multAdds: b.multAdds,
        ...(latency ? { latencyMs: latency.perBlock[i] } : {}),
        layers: b.layers.map((l) => ({ in: l.in, out: l.out, residual: l.residual, params: l.params, multAdds: l.multAdds })),
      };
    }),
    head: headWhy ? { withheld: headWhy } : c.head.map((h) => ({ op: h.label, out: h.out, params: h.params, multAdds: h.multAdds })),
  };
}

export function spaceJson(e: SpaceEntry) {
  const s = e.stats;
  if (!s) return { name: e.node.name.value, valid: false, ...(e.withheld ? { withheld: `skeleton: ${e.withheld}` } : {}) };
  return {
    name: s.name,
    skeleton: e.node.from?.value,
    size: s.size.toString(),
    log10Size: Number(s.log10Size.toFixed(3)),
    params: s.params,
    multAdds: s.multAdds,
    blocks: s.blocks.map((b) => ({ name: b.name, choices: b.choices.toString(), open: b.open })),
  };
}

export function estimate(file: string, only?: string, profileName?: string) {
  const a = load(file);
  let profile: CompiledProfile | undefined;
  try {
    profile = profileName === undefined ? undefined : loadProfile(profileName, path.dirname(path.resolve(file)));
  } catch (e) {
    if (e instanceof ProfileError) throw new CliError(`--profile: ${e.message}`);
    throw e;
  }
  const entries = [...a.local.values()].filter((e) => !only || e.node.name.value === only);
  if (only && entries.length === 0) {
    throw new Error(`${file}: no model or space named \`${only}\`. It declares ${[...a.local.keys()].join(', ') || 'nothing'}.`);
  }
  return {
    file,
    errors: a.problems.filter((p) => p.severity === 'error').length,
    models: entries.filter((e): e is ModelEntry => e.kind === 'model').map((e) => modelJson(e, profile)),
    spaces: entries.filter((e): e is SpaceEntry => e.kind === 'space').map(spaceJson),
  };
}

export function renderEstimate(r: ReturnType<typeof estimate>): string {
  const out: string[] = [];
  if (r.errors > 0) out.push(`warning: ${r.file} has ${r.errors} error(s) (run \`mnas check ${r.file}\`); parts with an invalid or missing value show no figures.\n`);
  for (const m of r.models) {
    const pct = (n: number) => (m.multAdds ? `${((100 * n) / m.multAdds).toFixed(1)}%` : '');
    out.push(m.withheld
      ? `model ${m.name}: ${m.withheld}`
      : `model ${m.name}: ${int(m.params!)} params, ${int(m.multAdds!)} mult-adds (${short(m.multAdds!)}), ${shape(m.input)} -> ${shape(m.output!)}` +
        (m.latency ? `; ≈ ${m.latency.ms.toFixed(2)} ms on ${m.latency.profile} (±${m.latency.uncertaintyPct.toFixed(0)}%${m.latency.approximate ? ', approximate' : ''})` : ''));
    const rows = m.blocks.map((b) => !('op' in b)
      ? [b.name, '—', '', '', 'not shown: see the error', '—', '—', '']
      : [
        b.name, b.op === 'mbconv' ? `mbconv e${b.e}` : b.op!, `k${b.k} s${b.s}`, String(b.x), `${shape(b.in!)} -> ${shape(b.out!)}`,
        int(b.params!), int(b.multAdds!), pct(b.multAdds!),
      ]);
    if (m.stem) rows.unshift('withheld' in m.stem ? ['stem', 'conv', '', '1', 'not shown: see the error', '—', '—', ''] : ['stem', 'conv', '', '1', `${shape(m.input)} -> ${shape(m.stem.out)}`, int(m.stem.params), int(m.stem.multAdds), pct(m.stem.multAdds)]);
    if (Array.isArray(m.head)) for (const h of m.head) rows.push(['head', h.op, '', '', shape(h.out), int(h.params), int(h.multAdds), pct(h.multAdds)]);
    else rows.push(['head', '—', '', '', 'not shown: see the error', '—', '—', '']);
    out.push(table(['block', 'op', 'kernel', 'layers', 'shape', 'params', 'mult-adds', 'share'], rows, [false, false, false, true, false, true, true, true]));
    out.push('');
  }
  for (const s of r.spaces) {
    if (!('size' in s)) { out.push(`space ${s.name}: ${'withheld' in s && s.withheld ? s.withheld : 'not resolved'} (see \`mnas check\`)`); continue; }
    out.push(`space ${s.name} (from ${s.skeleton}): ${BigInt(s.size!).toLocaleString('en-US')} models (~10^${s.log10Size!.toFixed(1)})`);
    out.push(`  params    min ${int(s.params!.min)}  mean ${int(s.params!.mean)}  max ${int(s.params!.max)}`);
    out.push(`  mult-adds min ${int(s.multAdds!.min)}  mean ${int(s.multAdds!.mean)}  max ${int(s.multAdds!.max)}`);
    out.push(table(['block', 'choices', 'open fields'], s.blocks!.map((b) => [b.name, BigInt(b.choices).toLocaleString('en-US'), b.open.join(' ') || '(fixed)']), [false, true, false]));
    out.push('');
  }
  return out.join('\n').trimEnd();
}
