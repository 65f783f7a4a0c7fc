// The .mnas lexicon. Keywords sit in the `Word` category so that any of them can also
// serve as a name or a search-setting key; abbreviated fields (`k3`, `e6`, `f32`...) are
// single tokens so that `mbconv e6 k3 s2 f24 x2` reads like the paper's tables.
import { createToken, type ILexerConfig, type IToken, Lexer, type TokenType } from 'chevrotain';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n]+/, group: Lexer.SKIPPED });
export const LineComment = createToken({ name: 'LineComment', pattern: /(?:\/\/|#)[^\n\r]*/, group: 'comments' });
export const BlockComment = createToken({ name: 'BlockComment', pattern: /\/\*[\s\S]*?\*\//, group: 'comments', line_breaks: true });

export const StringLit = createToken({ name: 'StringLit', pattern: /"(?:[^"\\\r\n]|\\.)*"/ });
/**
 * A `/*` never closed, or a `"` not closed on its line: one token to the end (of the file, of
 * the line) in their own group, so the parser never sees the rest as code and the error can
 * say what is unterminated and where it opened.
 */
export const UnterminatedComment = createToken({ name: 'UnterminatedComment', pattern: /\/\*[\s\S]*/, group: 'unterminated', line_breaks: true });
export const UnterminatedString = createToken({ name: 'UnterminatedString', pattern: /"(?:[^"\\\r\n]|\\.)*/, group: 'unterminated' });
/** `224x224x3` or `224x224`. */
export const Resolution = createToken({ name: 'Resolution', pattern: /\d+x\d+(?:x\d+)?(?![\w.])/ });
/** A number with a unit: `75ms`, `1.5s`, `800us`, `5M`, `300M`, `12K`, `1G`, and a factor `0.8x`. */
export const Quantity = createToken({ name: 'Quantity', pattern: /-?(?:\d+(?:\.\d*)?|\.\d+)(?:ms|us|s|K|M|G|x)(?![\w.])/ });
export const NumberLit = createToken({ name: 'NumberLit', pattern: /-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?![\w.])/ });
/** `k3`, `s2`, `e6`, `e4.5`, `f32`, `x3`: a field letter glued to its value. */
export const Abbrev = createToken({ name: 'Abbrev', pattern: /[eksfx](?:\d+(?:\.\d+)?)(?![\w.])/, label: 'a field such as k3, s2, e6, f32 or x2' });

export const LBrace = createToken({ name: 'LBrace', pattern: /\{/, label: "'{'" });
export const RBrace = createToken({ name: 'RBrace', pattern: /\}/, label: "'}'" });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/, label: "'['" });
export const RBracket = createToken({ name: 'RBracket', pattern: /\]/, label: "']'" });
export const Comma = createToken({ name: 'Comma', pattern: /,/, label: "','" });
export const Star = createToken({ name: 'Star', pattern: /\*/, label: "'*'" });
export const Plus = createToken({ name: 'Plus', pattern: /\+/, label: "'+'" });
export const Colon = createToken({ name: 'Colon', pattern: /:/, label: "':'" });

/** Any word: identifiers and every keyword. */
export const Word = createToken({ name: 'Word', pattern: Lexer.NA, label: 'a name' });
export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_\-]*/, categories: [Word], label: 'a name' });

const keywords: Record<string, TokenType> = {};
function kw(word: string, extra: TokenType[] = []): TokenType {
  const t = createToken({
    name: `Kw_${word}`,
    pattern: new RegExp(`${word}(?![A-Za-z0-9_\\-])`),
    categories: [Word, ...extra],
    label: `'${word}'`,
  });
  keywords[word] = t;
  return t;
}

/** Categories for value keywords, so the parser can say "an op" rather than list them. */
export const OpKw = createToken({ name: 'OpKw', pattern: Lexer.NA, label: 'an op (conv, sepconv, mbconv)' });
export const ActKw = createToken({ name: 'ActKw', pattern: Lexer.NA, label: 'an activation (relu, relu6, swish, hswish)' });
export const SkipKw = createToken({ name: 'SkipKw', pattern: Lexer.NA, label: 'a skip op (identity, pool, none)' });
export const PoolKw = createToken({ name: 'PoolKw', pattern: Lexer.NA, label: 'a pooling (avg, max)' });

export const Import = kw('import');
export const Model = kw('model');
export const Space = kw('space');
export const Search = kw('search');
export const From = kw('from');
export const Input = kw('input');
export const Width = kw('width');
export const Depth = kw('depth');
export const Stem = kw('stem');
export const Block = kw('block');
export const Head = kw('head');
export const Classes = kw('classes');
export const Dropout = kw('dropout');
export const Act = kw('act');
export const Op = kw('op');
export const Se = kw('se');
export const Skip = kw('skip');
// Single-letter field keys used by space choices: `k [3, 5]`, `f * [0.75, 1.0]`.
export const KeyE = kw('e');
export const KeyK = kw('k');
export const KeyS = kw('s');
export const KeyF = kw('f');
export const KeyX = kw('x');
// Ops, activations, skip ops, pooling. `sepconv`/`mbconv` before `conv` is not needed
// (keywords must match whole words), but longer words first keeps the lexer unambiguous.
export const SepConv = kw('sepconv', [OpKw]);
export const MbConv = kw('mbconv', [OpKw]);
export const Conv = kw('conv', [OpKw]);
export const Relu6 = kw('relu6', [ActKw]);
export const Relu = kw('relu', [ActKw]);
export const HSwish = kw('hswish', [ActKw]);
export const Swish = kw('swish', [ActKw]);
export const Identity = kw('identity', [SkipKw]);
export const Pool = kw('pool', [SkipKw]);
export const None = kw('none', [SkipKw]);
export const Avg = kw('avg', [PoolKw]);
export const Max = kw('max', [PoolKw]);

export const keywordTokens: Readonly<Record<string, TokenType>> = keywords;

export const allTokens: TokenType[] = [
  WhiteSpace, BlockComment, UnterminatedComment, LineComment, StringLit, UnterminatedString,
  Resolution, Quantity, NumberLit, Abbrev,
  LBrace, RBrace, LBracket, RBracket, Comma, Star, Plus, Colon,
  Word, OpKw, ActKw, SkipKw, PoolKw,
  ...Object.values(keywords),
  Identifier,
];

/** The lexer's options; `checkedLexer` adds chevrotain's definition checks (a test runs them). */
const LEXER_OPTIONS = { positionTracking: 'full', ensureOptimizations: false } as const;

/**
 * A token with the fields and values of chevrotain's `createFullToken`, in another order. Chevrotain
 * makes its end-of-input and recovery tokens with NaN positions in that same object shape, so V8
 * stores the positions of every token of that shape as boxed doubles: six more heap objects per
 * token, and every span computed from them boxed too. A shape of our own keeps them small integers.
 */
function fullToken(image: string, startOffset: number, tokenTypeIdx: number, tokenType: TokenType, startLine: number, startColumn: number, imageLength: number): IToken {
  return {
    tokenType, tokenTypeIdx, image, startOffset, endOffset: startOffset + imageLength - 1,
    startLine, endLine: startLine, startColumn, endColumn: startColumn + imageLength - 1,
  };
}

/**
 * Chevrotain's lexer making its tokens with `fullToken`. `createTokenInstance` is the method
 * chevrotain's constructor picks for 'full' position tracking (not a public API: a unit test
 * checks the tokens against those of a plain chevrotain lexer, field by field).
 */
class MnasLexer extends Lexer {
  constructor(config: ILexerConfig) {
    super(allTokens, config);
    (this as unknown as { createTokenInstance: typeof fullToken }).createTokenInstance = fullToken;
  }
}

/**
 * Built at load without chevrotain's definition checks (a third of its start-up cost): the
 * definition is fixed, and `checkedLexer` runs them, and its first-character optimisation, in a test.
 */
export const mnasLexer: Lexer = new MnasLexer({ ...LEXER_OPTIONS, skipValidations: true });
/** The same lexer with every definition check, and an error if it cannot use its first-character optimisation. */
export function checkedLexer(): Lexer {
  return new Lexer(allTokens, { ...LEXER_OPTIONS, ensureOptimizations: true });
}
