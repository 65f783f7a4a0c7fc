// `mnas/childDetail` (protocol.ts): a child's per-block costs for the results panel, from its
// .mnas text through the same analysis and cost model as hover. The text is checked like any
// document; a child printed by the search parses back to the same Arch (test/unit/space.test.ts).
import { analyze, type FileHost } from '../analysis/analysis';
import { childDetail } from '../report/detail';
import type { ChildDetailParams, ChildDetailResult } from './protocol';

/** A child's text imports nothing: reading any other file is refused. */
const NO_FILES: FileHost = { read: () => undefined };
/** Far above any printed child (a few KB): longer text is not a child's. */
const MAX_TEXT = 1_000_000;

export function childDetailOf(p: ChildDetailParams): ChildDetailResult {
  if (!p || typeof p.model !== 'string' || typeof p.name !== 'string' || !Number.isInteger(p.id) || p.model.length > MAX_TEXT) return null;
  const a = analyze(`/child-${p.id}.mnas`, p.model, NO_FILES);
  const e = a.local.get(p.name);
  if (e?.kind !== 'model' || a.problems.some((x) => x.severity === 'error')) return null;
  return childDetail({ id: p.id, name: p.name, model: p.model, spec: e.resolved.spec });
}
