// A file's text cut into segments that are lexed and parsed independently, so that an edit
// re-lexes and re-parses only the segments it touches. A segment starts at a declaration
// keyword in column 1 (the first one at offset 0): such a keyword always starts a new
// declaration (see `splitDeclarations`), and lexing can restart there because the character
// before it ends a line and no token spans it. The segments after an edit are moved, not
// copied: their tokens and every span of what was parsed from them shift in place, and the
// previous result they came from is spent (`relex` refuses it again).
import type { ILexingError, IToken } from 'chevrotain';
import type { Span } from './ast';
import * as T from './tokens';

export interface Segment<P> {
  /** [start, end) in the text; `start` is 0 or a declaration keyword in column 1. */
  start: number;
  end: number;
  /** Line of `start`, 1-based as chevrotain counts (`\n`, `\r\n` or `\r` end a line). */
  line: number;
  tokens: IToken[];
  comments: IToken[];
  unterminated: IToken[];
  errors: ILexingError[];
  /** What the parser made of the segment: plain data whose spans ({start, end}) move with it. */
  parsed?: P;
  /** Every span in `parsed`, listed on its first move (moving is then one loop). */
  spans?: Span[];
}

export interface Segmented<P> {
  text: string;
  segments: Segment<P>[];
}

/** A token that starts a declaration (`import`, `model`, `space`, `search`): keyword types with no subtypes. */
export function startsDecl(tok: IToken): boolean {
  const t = tok.tokenType;
  return t === T.Model || t === T.Space || t === T.Search || t === T.Import;
}
const isStart = (tok: IToken): boolean => tok.startColumn === 1 && startsDecl(tok);
const LINE_BREAK = /\r\n?|\n/g;

function lineBreaks(text: string, from: number, to: number): number {
  let n = 0;
  LINE_BREAK.lastIndex = from;
  for (let m = LINE_BREAK.exec(text); m && m.index < to; m = LINE_BREAK.exec(text)) n++;
  return n;
}

/**
 * Lexes text[from, to) as if it were lexed with the whole text: `from` is 0 or the start of a
 * line. Undefined when a token reaches `to` and could run on past it (an unclosed `/*`).
 */
function lexRange(text: string, from: number, to: number, line: number): Segment<never>[] | undefined {
  let slice = text.slice(from, to);
  // A UTF-8 byte-order mark opens many files saved on Windows: it is whitespace here (one
  // character for one, so every offset stays the document's).
  if (from === 0 && slice.charCodeAt(0) === 0xfeff) slice = ` ${slice.slice(1)}`;
  const lexed = T.mnasLexer.tokenize(slice);
  const comments = (lexed.groups.comments ?? []) as IToken[];
  const unterminated = (lexed.groups.unterminated ?? []) as IToken[];
  if (to < text.length && unterminated.some((t) => t.startOffset + t.image.length >= slice.length)) return undefined;
  const lines = line - 1;
  const move = (t: IToken) => {
    t.startOffset += from;
    t.endOffset = (t.endOffset ?? 0) + from;
    t.startLine = (t.startLine ?? 0) + lines;
    t.endLine = (t.endLine ?? 0) + lines;
  };
  if (from !== 0 || lines !== 0) {
    for (const t of lexed.tokens) move(t);
    for (const t of comments) move(t);
    for (const t of unterminated) move(t);
    for (const e of lexed.errors) { e.offset += from; if (e.line !== undefined) e.line += lines; }
  }
  // Cut at every declaration keyword in column 1 and hand each segment what lies in it.
  const segments: Segment<never>[] = [];
  let current: Segment<never> = { start: from, end: to, line, tokens: [], comments: [], unterminated: [], errors: [] };
  segments.push(current);
  for (const tok of lexed.tokens) {
    if (isStart(tok) && tok.startOffset > current.start) {
      current.end = tok.startOffset;
      current = { start: tok.startOffset, end: to, line: tok.startLine!, tokens: [], comments: [], unterminated: [], errors: [] };
      segments.push(current);
    }
    current.tokens.push(tok);
  }
  let s = 0;
  const at = (offset: number) => {
    while (s < segments.length - 1 && offset >= segments[s + 1].start) s++;
    while (s > 0 && offset < segments[s].start) s--;
    return segments[s];
  };
  for (const t of comments) at(t.startOffset).comments.push(t);
  for (const t of unterminated) at(t.startOffset).unterminated.push(t);
  for (const e of lexed.errors) at(e.offset).errors.push(e);
  return segments;
}

/** The whole text lexed and cut into segments. */
export function lexAll<P>(text: string): Segmented<P> {
  return { text, segments: lexRange(text, 0, text.length, 1)! as Segment<P>[] };
}

/** Results already used as the base of a re-lex: their moved segments belong to the new one. */
const spent = new WeakSet<Segmented<unknown>>();

/**
 * The segments of `text`, reusing those of `previous` that the edit did not touch: the ones
 * before it as they are, the ones after it moved in place. `fresh` are the segments that were
 * lexed again and need parsing. `previous` is spent: a second use lexes everything.
 */
export function relex<P>(previous: Segmented<P> | undefined, text: string): { result: Segmented<P>; fresh: Segment<P>[] } {
  const whole = () => {
    const result = lexAll<P>(text);
    return { result, fresh: result.segments };
  };
  if (!previous || spent.has(previous) || previous.segments.length === 0) return whole();
  spent.add(previous);
  const old = previous.text;
  const segs = previous.segments;
  const { prefix, suffix } = common(old, text);
  const delta = text.length - old.length;
  // First segment to lex again: the last one starting before the change (a token ending where
  // the change begins may grow, a keyword starting there may stop being one).
  let i = 0;
  while (i + 1 < segs.length && segs[i + 1].start < prefix) i++;
  // First segment kept after the change: its keyword and the line break before it unchanged.
  const tail = old.length - suffix;
  let k = i + 1;
  while (k < segs.length && segs[k].start <= tail) k++;
  for (;;) {
    const from = segs[i].start;
    const to = k < segs.length ? segs[k].start + delta : text.length;
    const lexed = lexRange(text, from, to, segs[i].line);
    if (!lexed) { k = segs.length; continue; } // an unclosed `/*` now runs to the end
    // The keyword the window starts with may have been edited away: start one segment earlier.
    if (from > 0 && !(lexed[0].tokens[0]?.startOffset === from && isStart(lexed[0].tokens[0]))) { i--; continue; }
    const moved = segs.slice(k);
    const lines = moved.length > 0 ? segs[i].line + lineBreaks(text, from, to) - moved[0].line : 0;
    if (delta !== 0 || lines !== 0) for (const seg of moved) shiftSegment(seg, delta, lines);
    const fresh = lexed as Segment<P>[];
    return { result: { text, segments: [...segs.slice(0, i), ...fresh, ...moved] }, fresh };
  }
}

/** Lengths of the common prefix and suffix of two texts (not overlapping); blocks compared first. */
function common(a: string, b: string): { prefix: number; suffix: number } {
  const min = Math.min(a.length, b.length);
  const BLOCK = 256;
  let prefix = 0;
  while (prefix + BLOCK <= min && a.substr(prefix, BLOCK) === b.substr(prefix, BLOCK)) prefix += BLOCK;
  while (prefix < min && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  let suffix = 0;
  while (suffix + BLOCK <= min - prefix && a.substr(a.length - suffix - BLOCK, BLOCK) === b.substr(b.length - suffix - BLOCK, BLOCK)) suffix += BLOCK;
  while (suffix < min - prefix && a.charCodeAt(a.length - 1 - suffix) === b.charCodeAt(b.length - 1 - suffix)) suffix++;
  return { prefix, suffix };
}

function shiftSegment<P>(seg: Segment<P>, delta: number, lines: number): void {
  seg.start += delta;
  seg.end += delta;
  seg.line += lines;
  const move = (t: IToken) => {
    t.startOffset += delta;
    t.endOffset = (t.endOffset ?? 0) + delta;
    t.startLine = (t.startLine ?? 0) + lines;
    t.endLine = (t.endLine ?? 0) + lines;
  };
  for (const t of seg.tokens) move(t);
  for (const t of seg.comments) move(t);
  for (const t of seg.unterminated) move(t);
  for (const e of seg.errors) { e.offset += delta; if (e.line !== undefined) e.line += lines; }
  if (delta !== 0 && seg.parsed !== undefined) {
    seg.spans ??= spansIn(seg.parsed);
    for (const sp of seg.spans) { sp.start += delta; sp.end += delta; }
  }
}

/**
 * Every span inside plain data, each once: spans are the only objects of the syntax tree and
 * problems with a numeric `start` and `end`. A fresh parse shares some span objects between
 * nodes (a field's span and the problem about it), so a span reachable twice is listed once
 * and moving each listed span moves each once. The data must be the segment's own: no span
 * shared with another segment's (the declaration cache hands out copies).
 */
export function spansIn(value: unknown, out: Span[] = [], seen = new Set<Span>()): Span[] {
  if (value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    for (const v of value) spansIn(v, out, seen);
    return out;
  }
  const o = value as Record<string, unknown>;
  if (typeof o.start === 'number' && typeof o.end === 'number') {
    const sp = o as unknown as Span;
    if (!seen.has(sp)) { seen.add(sp); out.push(sp); }
    return out;
  }
  for (const key in o) {
    const v = o[key];
    if (v !== null && typeof v === 'object') spansIn(v, out, seen);
  }
  return out;
}
