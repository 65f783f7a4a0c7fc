// What sits at a document offset: the token, and the syntax-tree node it belongs to. Hover,
// definition and rename all start here, so they agree on what "the thing under the cursor" is.
import type { IToken } from 'chevrotain';
import type {
  BlockNode, ChoiceNode, ImportNode, ModelNode, SearchNode, SettingNode, SettingValue, SpaceBlockNode, SpaceNode, Span,
} from '../language/ast';
import type { Analysis } from '../analysis/analysis';

export type Target =
  | { kind: 'model-name'; model: ModelNode }
  | { kind: 'block'; model: ModelNode; block: BlockNode; index: number; onName: boolean }
  | { kind: 'input'; model: ModelNode }
  | { kind: 'stem'; model: ModelNode }
  | { kind: 'head'; model: ModelNode }
  | { kind: 'model-body'; model: ModelNode }
  | { kind: 'space-name'; space: SpaceNode }
  | { kind: 'space-body'; space: SpaceNode }
  | { kind: 'space-from'; space: SpaceNode }
  | { kind: 'space-block'; space: SpaceNode; block: SpaceBlockNode; onName: boolean }
  | { kind: 'choice'; space: SpaceNode; block: SpaceBlockNode; choice: ChoiceNode; value?: number }
  | { kind: 'search-name'; search: SearchNode }
  | { kind: 'setting'; search: SearchNode; setting: SettingNode; parent?: SettingNode; onKey: boolean; value?: SettingValue }
  | { kind: 'search-body'; search: SearchNode }
  | { kind: 'import'; node: ImportNode };

const inside = (s: Span | undefined, o: number): s is Span => !!s && o >= s.start && o <= s.end;
/** Strictly on a token-sized span; `end` included so a cursor just after a word counts. */
const on = inside;

/** The token (or comment) covering `offset`; a token ending exactly there counts too. */
export function tokenAt(a: Analysis, offset: number): IToken | undefined {
  const all = a.parsed.tokens;
  let lo = 0, hi = all.length - 1, hit: IToken | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const t = all[mid];
    const end = t.startOffset + t.image.length;
    if (offset < t.startOffset) hi = mid - 1;
    else if (offset >= end) { if (offset === end) hit = t; lo = mid + 1; }
    else return t;
  }
  return hit;
}

export function commentAt(a: Analysis, offset: number): IToken | undefined {
  return a.parsed.comments.find((c) => offset >= c.startOffset && offset < c.startOffset + c.image.length);
}

export function targetAt(a: Analysis, offset: number): Target | undefined {
  if (commentAt(a, offset)) return undefined;
  const f = a.parsed.file;
  for (const imp of f.imports) if (inside(imp.span, offset)) return { kind: 'import', node: imp };
  for (const m of f.models) {
    if (!inside(m.span, offset)) continue;
    if (on(m.name.span, offset)) return { kind: 'model-name', model: m };
    if (on(m.input?.span, offset)) return { kind: 'input', model: m };
    const index = m.blocks.findIndex((b) => inside(b.span, offset));
    if (index >= 0) {
      const block = m.blocks[index];
      return { kind: 'block', model: m, block, index, onName: on(block.name.span, offset) };
    }
    if (m.stem && inside(m.stem.span, offset)) return { kind: 'stem', model: m };
    if (m.head && inside(m.head.span, offset)) return { kind: 'head', model: m };
    return { kind: 'model-body', model: m };
  }
  for (const s of f.spaces) {
    if (!inside(s.span, offset)) continue;
    if (on(s.name.span, offset)) return { kind: 'space-name', space: s };
    if (on(s.from?.span, offset)) return { kind: 'space-from', space: s };
    for (const b of s.blocks) {
      if (!inside(b.span, offset)) continue;
      if (on(b.name.span, offset)) return { kind: 'space-block', space: s, block: b, onName: true };
      for (const c of b.choices) {
        if (!inside(c.span, offset)) continue;
        const value = c.values.findIndex((v) => on(v.span, offset));
        return { kind: 'choice', space: s, block: b, choice: c, value: value >= 0 ? value : undefined };
      }
      return { kind: 'space-block', space: s, block: b, onName: false };
    }
    return { kind: 'space-body', space: s };
  }
  for (const s of f.searches) {
    if (!inside(s.span, offset)) continue;
    if (on(s.name.span, offset)) return { kind: 'search-name', search: s };
    const hit = settingAt(s.settings, offset);
    if (hit) return { kind: 'setting', search: s, ...hit };
    return { kind: 'search-body', search: s };
  }
  return undefined;
}

function settingAt(settings: SettingNode[], offset: number, parent?: SettingNode):
  { setting: SettingNode; parent?: SettingNode; onKey: boolean; value?: SettingValue } | undefined {
  for (const s of settings) {
    if (!inside(s.span, offset)) continue;
    if (s.children) {
      const child = settingAt(s.children, offset, s);
      if (child) return child;
    }
    if (on(s.key.span, offset)) return { setting: s, parent, onKey: true };
    const value = s.values.find((v) => on(v.span, offset));
    return { setting: s, parent, onKey: false, value };
  }
  return undefined;
}
