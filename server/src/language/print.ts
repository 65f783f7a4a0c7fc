// ModelSpec -> .mnas source: how a sampled child becomes a file the user can open, edit and
// estimate. Parsing the printed text gives the same spec back (a unit test checks it).
import type { BlockSpec, ModelSpec } from './arch';

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(6)));
}

export function printBlock(b: BlockSpec): string {
  const parts: string[] = [b.op];
  if (b.op === 'mbconv') parts.push(`e${fmt(b.e)}`);
  parts.push(`k${b.k}`, `s${b.s}`, `f${b.f}`, `x${b.x}`);
  if (b.se > 0) parts.push(`se ${fmt(b.se)}`);
  if (b.skip !== 'identity') parts.push(`skip ${b.skip}`);
  if (b.act) parts.push(b.act);
  return `block ${b.name} { ${parts.join(' ')} }`;
}

export function printModel(spec: ModelSpec, comment?: string): string {
  const lines: string[] = [];
  if (comment) for (const l of comment.split('\n')) lines.push(`// ${l}`);
  lines.push(`model ${spec.name} {`);
  lines.push(`  input ${spec.input.h}x${spec.input.w}x${spec.input.c}`);
  if (spec.width !== 1) lines.push(`  width ${fmt(spec.width)}`);
  if (spec.depth !== 1) lines.push(`  depth ${fmt(spec.depth)}`);
  lines.push(`  act ${spec.act}`);
  if (spec.stem) lines.push(`  stem conv k${spec.stem.k} s${spec.stem.s} f${spec.stem.f}${spec.stem.act ? ` ${spec.stem.act}` : ''}`);
  for (const b of spec.blocks) lines.push(`  ${printBlock(b)}`);
  if (spec.head) {
    const h = spec.head;
    const parts = ['head'];
    if (h.f !== null) parts.push(`conv f${h.f}`);
    parts.push(`pool ${h.pool}`);
    if (h.classes !== null) parts.push(`classes ${h.classes}`);
    if (h.dropout > 0) parts.push(`dropout ${fmt(h.dropout)}`);
    lines.push(`  ${parts.join(' ')}`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}
