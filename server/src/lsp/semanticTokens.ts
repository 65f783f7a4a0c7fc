// Semantic tokens for the whole document. The lexer says what a word is (keyword, op,
// number...); the syntax tree says what a name means (a model, a block, a search key), which
// the TextMate grammar cannot know (`space` is a declaration keyword and a search key).
import type { IToken } from 'chevrotain';
import { tokenMatcher } from 'chevrotain';
import type { SemanticTokens, SemanticTokensLegend } from 'vscode-languageserver';
import type { Analysis } from '../analysis/analysis';
import type { SettingNode, Span } from '../language/ast';
import * as T from '../language/tokens';
import { BLOCK_KEYS } from '../language/searchConfig';
import { positionOf } from './positions';

export const TOKEN_TYPES = ['keyword', 'type', 'function', 'number', 'operator', 'enumMember', 'property', 'comment', 'string', 'variable'] as const;
export const TOKEN_MODIFIERS = ['declaration'] as const;
export const LEGEND: SemanticTokensLegend = { tokenTypes: [...TOKEN_TYPES], tokenModifiers: [...TOKEN_MODIFIERS] };

type TokenType = typeof TOKEN_TYPES[number];
interface Role { type: TokenType; declaration?: boolean }

/** Roles the syntax tree assigns, by token start offset. */
function roles(a: Analysis): Map<number, Role> {
  const m = new Map<number, Role>();
  const set = (s: Span | undefined, role: Role) => { if (s && s.end > s.start) m.set(s.start, role); };
  const f = a.parsed.file;
  for (const imp of f.imports) set(imp.path.span, { type: 'string' });
  for (const d of f.models) {
    set(d.name.span, { type: 'type', declaration: true });
    for (const b of d.blocks) set(b.name.span, { type: 'function', declaration: true });
  }
  for (const d of f.spaces) {
    set(d.name.span, { type: 'type', declaration: true });
    set(d.from?.span, { type: 'type' });
    for (const b of d.blocks) set(b.name.span, b.name.value === '*' ? { type: 'operator' } : { type: 'function' });
  }
  const settings = (list: SettingNode[], parent?: string) => {
    for (const s of list) {
      set(s.key.span, { type: 'property' });
      const pairs = BLOCK_KEYS[parent ?? s.key.value];
      for (const v of s.values) {
        if (v.type !== 'word') continue;
        if (!parent && s.key.value === 'space') set(v.span, { type: 'type' });
        else if (pairs && String(v.value) in pairs) set(v.span, { type: 'property' });
        else set(v.span, { type: 'enumMember' });
      }
      if (s.children) settings(s.children, s.key.value);
    }
  };
  for (const d of f.searches) {
    set(d.name.span, { type: 'type', declaration: true });
    settings(d.settings);
  }
  return m;
}

function lexicalType(t: IToken): TokenType | undefined {
  if (tokenMatcher(t, T.OpKw) || tokenMatcher(t, T.ActKw) || tokenMatcher(t, T.SkipKw) || tokenMatcher(t, T.PoolKw)) return 'enumMember';
  if (tokenMatcher(t, T.Identifier)) return 'variable';
  if (tokenMatcher(t, T.Word)) return 'keyword';
  if (tokenMatcher(t, T.NumberLit) || tokenMatcher(t, T.Quantity) || tokenMatcher(t, T.Resolution) || tokenMatcher(t, T.Abbrev)) return 'number';
  if (tokenMatcher(t, T.Star) || tokenMatcher(t, T.Plus)) return 'operator';
  if (tokenMatcher(t, T.StringLit)) return 'string';
  if (tokenMatcher(t, T.LineComment) || tokenMatcher(t, T.BlockComment)) return 'comment';
  return undefined;
}

export function semanticTokens(a: Analysis): SemanticTokens {
  const byRole = roles(a);
  const all = [...a.parsed.tokens, ...a.parsed.comments].sort((x, y) => x.startOffset - y.startOffset);
  const data: number[] = [];
  let prevLine = 0, prevChar = 0;
  const emit = (start: number, length: number, role: Role) => {
    const p = positionOf(a, start);
    data.push(p.line - prevLine, p.line === prevLine ? p.character - prevChar : p.character, length,
      TOKEN_TYPES.indexOf(role.type), role.declaration ? 1 : 0);
    prevLine = p.line;
    prevChar = p.character;
  };
  for (const t of all) {
    const role = byRole.get(t.startOffset) ?? (lexicalType(t) ? { type: lexicalType(t)! } : undefined);
    if (!role) continue;
    // Tokens may not span lines (multiline support is optional): one token per line.
    let offset = t.startOffset;
    for (const line of t.image.split('\n')) {
      const text = line.replace(/\r$/, '');
      if (text.length > 0) emit(offset, text.length, role);
      offset += line.length + 1;
    }
  }
  return { data };
}
