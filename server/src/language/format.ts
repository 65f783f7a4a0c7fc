// The canonical layout of a .mnas file, from the token stream: every comment and the
// author's line breaks are kept (at most one blank line in a row); lines are indented by
// brace depth (2 spaces); one space between tokens, none just inside `[ ]`, `, ` in lists;
// an opening `{` moves up to the end of its opener line. Used by the LSP and the CLI.
//
// Safe by construction and by check: a file with lex or parse errors is left alone, and the
// result must parse to the same syntax tree (spans aside) or the input is returned as is.
import { type IToken, type TokenType, tokenMatcher } from 'chevrotain';
import { parse } from './parser';
import * as T from './tokens';

export const INDENT = '  ';

export interface FormatResult {
  text: string;
  /** False when the input was left alone (syntax errors, or the safety check failed). */
  ok: boolean;
  reason?: string;
}

interface Line { tokens: IToken[]; blankBefore: boolean }

const is = (t: IToken | undefined, type: TokenType) => !!t && tokenMatcher(t, type);

/** Spacing between two tokens on one line. */
function gap(prev: IToken, cur: IToken): string {
  if (is(prev, T.LBracket) || is(cur, T.RBracket) || is(cur, T.Comma)) return '';
  return ' ';
}

function lines(tokens: IToken[]): Line[] {
  const out: Line[] = [];
  let prev: IToken | undefined;
  for (const t of tokens) {
    const prevEnd = prev ? prev.endLine ?? prev.startLine! : 0;
    if (!prev || t.startLine! > prevEnd) out.push({ tokens: [t], blankBefore: !!prev && t.startLine! > prevEnd + 1 });
    else out[out.length - 1].tokens.push(t);
    prev = t;
  }
  // `{` at the end of the opener line, unless that line ends in a line comment.
  for (let i = 1; i < out.length; i++) {
    const above = out[i - 1].tokens;
    if (is(out[i].tokens[0], T.LBrace) && !is(above[above.length - 1], T.LineComment)) {
      above.push(...out[i].tokens);
      out.splice(i--, 1);
    }
  }
  return out;
}

function layout(text: string, tokens: IToken[]): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const out: string[] = [];
  let depth = 0;
  for (const line of lines(tokens)) {
    let leadingClose = 0;
    while (is(line.tokens[leadingClose], T.RBrace)) leadingClose++;
    const indent = INDENT.repeat(Math.max(0, depth - leadingClose));
    let s = '';
    line.tokens.forEach((t, i) => {
      const image = is(t, T.LineComment) ? t.image.trimEnd() : t.image;
      s += i === 0 ? image : gap(line.tokens[i - 1], t) + image;
      if (is(t, T.LBrace)) depth++;
      else if (is(t, T.RBrace)) depth = Math.max(0, depth - 1);
    });
    if (line.blankBefore && out.length > 0) out.push('');
    out.push(indent + s);
  }
  return out.length ? out.join(eol) + eol : '';
}

/** The syntax tree without positions, to compare a formatted file with its input. */
function shapeOf(text: string): string {
  const r = parse(text);
  const noSpans = (_key: string, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 2 && 'start' in v && 'end' in v) return undefined;
    }
    return v;
  };
  return JSON.stringify({ file: r.file, comments: r.comments.map((c) => c.image.trimEnd()) }, noSpans);
}

export function format(text: string): FormatResult {
  // A byte-order mark stays where it is: formatting changes layout, never the file's encoding.
  if (text.charCodeAt(0) === 0xfeff) {
    const r = format(text.slice(1));
    return { ...r, text: `\uFEFF${r.text}` };
  }
  const parsed = parse(text);
  if (parsed.problems.length > 0) return { text, ok: false, reason: 'the file has syntax errors' };
  const tokens = [...parsed.tokens, ...parsed.comments].sort((a, b) => a.startOffset - b.startOffset);
  const formatted = layout(text, tokens);
  if (formatted === text) return { text, ok: true };
  const again = parse(formatted);
  if (again.problems.length > 0 || shapeOf(formatted) !== shapeOf(text)) {
    return { text, ok: false, reason: 'formatting would change the meaning of the file (please report this)' };
  }
  return { text: formatted, ok: true };
}

/** The formatted text, or the input unchanged when it cannot be formatted safely. */
export function formatText(text: string): string {
  return format(text).text;
}
