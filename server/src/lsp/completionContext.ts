// Where the cursor is, from the token stream and brace structure alone: while typing, the
// parser's tree is partial, but the tokens before the cursor still say "inside a space
// block, in the `k` list" or "in a search, after `space`".
import { type IToken, tokenMatcher } from 'chevrotain';
import * as T from '../language/tokens';

export type Frame =
  | { kind: 'top' }
  | { kind: 'model'; name?: string }
  | { kind: 'block'; stem: boolean }
  | { kind: 'space'; name?: string; from?: string }
  | { kind: 'spaceBlock'; from?: string }
  | { kind: 'search' }
  | { kind: 'searchBlock'; key: string }
  | { kind: 'unknown' };

export interface CompletionContext {
  frame: Frame;
  /** The frame chain, outermost first (the top-level frame included). */
  frames: Frame[];
  /** Tokens of the current statement: since the last brace or bracket of this frame. */
  statement: IToken[];
  /** The statement's tokens on the cursor's line. */
  line: IToken[];
  /** Inside `[ ... ]` of a choice: the field it lists. */
  list?: string;
  /** Every token inside the current frame so far (fields already given). */
  inFrame: IToken[];
  /** The partial word under the cursor, if any. */
  prefix?: IToken;
}

const isWordish = (t: IToken) => tokenMatcher(t, T.Word) || tokenMatcher(t, T.Abbrev) || tokenMatcher(t, T.NumberLit);
const endOf = (t: IToken) => t.startOffset + t.image.length;

/** First token of each line in `toks` that starts a line, the last of them. */
function lineStarter(toks: IToken[]): IToken | undefined {
  for (let i = toks.length - 1; i >= 0; i--) if (i === 0 || toks[i - 1].startLine !== toks[i].startLine) return toks[i];
  return undefined;
}

function opened(frame: Frame, stmt: IToken[]): Frame {
  const words = stmt.map((t) => t.image);
  switch (frame.kind) {
    case 'top':
      if (words[0] === 'model') return { kind: 'model', name: words[1] };
      if (words[0] === 'space') {
        const f = words.indexOf('from');
        return { kind: 'space', name: words[1], from: f >= 0 ? words[f + 1] : undefined };
      }
      if (words[0] === 'search') return { kind: 'search' };
      return { kind: 'unknown' };
    case 'model': {
      const b = words.lastIndexOf('block');
      const s = words.lastIndexOf('stem');
      if (b < 0 && s < 0) return { kind: 'unknown' };
      return { kind: 'block', stem: s > b };
    }
    case 'space':
      return { kind: 'spaceBlock', from: frame.from };
    case 'search':
    case 'searchBlock': {
      const key = lineStarter(stmt);
      return key ? { kind: 'searchBlock', key: key.image } : { kind: 'unknown' };
    }
    default:
      return { kind: 'unknown' };
  }
}

/** `cursorLine` is 1-based, like chevrotain's token lines. */
export function completionContext(tokens: readonly IToken[], offset: number, cursorLine: number): CompletionContext {
  const frames: { frame: Frame; stmt: IToken[]; all: IToken[] }[] = [{ frame: { kind: 'top' }, stmt: [], all: [] }];
  let list: string | undefined;
  let prefix: IToken | undefined;
  for (const t of tokens) {
    if (t.startOffset >= offset) break;
    if (endOf(t) >= offset && isWordish(t)) { prefix = t; break; }
    const top = frames[frames.length - 1];
    if (tokenMatcher(t, T.LBrace)) {
      frames.push({ frame: opened(top.frame, top.stmt), stmt: [], all: [] });
      list = undefined;
    } else if (tokenMatcher(t, T.RBrace)) {
      if (frames.length > 1) frames.pop();
      frames[frames.length - 1].stmt = [];
      list = undefined;
    } else if (tokenMatcher(t, T.LBracket)) {
      const key = [...top.stmt].reverse().find((x) => !tokenMatcher(x, T.Star) && !tokenMatcher(x, T.Plus));
      list = key?.image;
      top.stmt.push(t);
      top.all.push(t);
    } else if (tokenMatcher(t, T.RBracket)) {
      list = undefined;
      top.stmt = [];
      top.all.push(t);
    } else {
      // A top-level declaration keyword starts a new statement.
      if (frames.length === 1 && ['model', 'space', 'search', 'import'].includes(t.image)) top.stmt = [];
      top.stmt.push(t);
      top.all.push(t);
    }
  }
  const top = frames[frames.length - 1];
  const line = top.stmt.filter((t) => t.startLine === cursorLine);
  return { frame: top.frame, frames: frames.map((f) => f.frame), statement: top.stmt, line, list, inFrame: top.all, prefix };
}
