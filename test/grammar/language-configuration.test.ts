// Checks for grammar/language-configuration.json, and a cross-check of the TextMate grammar
// against the real lexer: every token of the example files must get the scope its token type
// calls for, and every lexer keyword must appear in the grammar.
// Run: node --import tsx --test test/grammar/*.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import vsctm from 'vscode-textmate';
import onig from 'vscode-oniguruma';
import { mnasLexer, keywordTokens, OpKw, ActKw, SkipKw, PoolKw } from '../../server/src/language/tokens';
import { tokenMatcher, type IToken } from 'chevrotain';

const root = join(fileURLToPath(import.meta.url), '../../..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const config = JSON.parse(read('grammar/language-configuration.json'));
const grammarText = read('grammar/mnas.tmLanguage.json');

/** The word VS Code would take at `offset` of `line`, using the configured wordPattern. */
function wordAt(line: string, offset: number): string | undefined {
  const re = new RegExp(config.wordPattern, 'g');
  for (const m of line.matchAll(re)) {
    if (m.index! <= offset && offset < m.index! + m[0].length) return m[0];
  }
  return undefined;
}

test('language configuration: comments, brackets, pairs', () => {
  assert.deepEqual(config.comments, { lineComment: '//', blockComment: ['/*', '*/'] });
  assert.deepEqual(config.brackets, [['{', '}'], ['[', ']']]);
  const opens = config.autoClosingPairs.map((p: { open: string }) => p.open);
  for (const o of ['{', '[', '"', '/*']) assert.ok(opens.includes(o), `autoClosingPairs lacks ${o}`);
  assert.deepEqual(config.surroundingPairs, [['{', '}'], ['[', ']'], ['"', '"']]);
});

test('wordPattern keeps fields, resolutions, quantities and names whole', () => {
  for (const w of ['k3', 'e4.5', 'f32', 'x3', '224x224x3', '28x28', '75ms', '1.5s', '800us', '5M', 'relu6',
    'kernel3x', 'stage3', 'b1-k3', 'MnasNetA1', '-1', '0.25', '1e-3', 'my_block']) {
    const line = `  mbconv ${w} se`;
    assert.equal(wordAt(line, 9), w, `word at ${JSON.stringify(line)}`);
  }
  // Separators still separate.
  assert.equal(wordAt('[3,5]', 1), '3');
  assert.equal(wordAt('f*[0.75]', 0), 'f');
  assert.equal(wordAt('{k3}', 1), 'k3');
});

test('folding markers: // #region and # region', () => {
  const start = new RegExp(config.folding.markers.start);
  const end = new RegExp(config.folding.markers.end);
  for (const l of ['// #region stages', '  //#region', '#region', '  # region blocks']) assert.ok(start.test(l), l);
  for (const l of ['// #endregion', '  #endregion']) assert.ok(end.test(l), l);
  for (const l of ['// regional', 'model region {', '// #endregion']) assert.ok(!start.test(l), l);
});

test('indentation rules follow braces and brackets', () => {
  const inc = new RegExp(config.indentationRules.increaseIndentPattern);
  const dec = new RegExp(config.indentationRules.decreaseIndentPattern);
  for (const l of ['model A {', '  block * {', 'search Q { // comment', '  budget {', '    op [']) assert.ok(inc.test(l), l);
  for (const l of ['  block b1 { mbconv e6 k3 }', '// a comment {', '# {', '  input 224x224x3', '}']) assert.ok(!inc.test(l), l);
  for (const l of ['}', '  }', '  ] ']) assert.ok(dec.test(l), l);
  assert.ok(!dec.test('  block b1 { }'));
});

test('every lexer keyword is named in the grammar', () => {
  const g = JSON.parse(grammarText);
  const regexes: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if ((k === 'match' || k === 'begin') && typeof x === 'string') regexes.push(x);
        else walk(x);
      }
    }
  };
  walk(g.repository);
  for (const word of Object.keys(keywordTokens)) {
    const re = new RegExp(`(?:^|[(|:])${word}(?:[)|]|\\(\\?!)`);
    assert.ok(regexes.some((r) => re.test(r)), `keyword '${word}' is not highlighted by any grammar rule`);
  }
});

async function loadGrammar(): Promise<vsctm.IGrammar> {
  const require = createRequire(import.meta.url);
  const wasm = readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await onig.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns: string[]) => new onig.OnigScanner(patterns),
      createOnigString: (s: string) => new onig.OnigString(s),
    }),
    loadGrammar: async () => vsctm.parseRawGrammar(grammarText, 'mnas.tmLanguage.json'),
  });
  const g = await registry.loadGrammar('source.mnas');
  assert.ok(g, 'grammar loads');
  return g;
}

/** Scopes of `text`, looked up by 1-based line and column like chevrotain's positions. */
function scopesAt(grammar: vsctm.IGrammar, text: string): (line: number, column: number) => string[] {
  const lines: vsctm.IToken[][] = [];
  let stack = vsctm.INITIAL;
  for (const line of text.split('\n')) {
    const r = grammar.tokenizeLine(line, stack);
    stack = r.ruleStack;
    lines.push(r.tokens);
  }
  return (line, column) => lines[line - 1].find((t) => t.startIndex <= column - 1 && column - 1 < t.endIndex)?.scopes ?? [];
}

/** What the grammar must say about the first character of a lexer token (alternatives). */
function expectedScopes(tok: IToken): string[] | undefined {
  const name = tok.tokenType.name;
  const fixed: Record<string, string[]> = {
    LineComment: [tok.image.startsWith('#') ? 'comment.line.number-sign.mnas' : 'comment.line.double-slash.mnas'],
    BlockComment: ['comment.block.mnas'],
    StringLit: ['string.quoted.double.mnas'],
    Resolution: ['constant.numeric.resolution.mnas'],
    Quantity: ['constant.numeric.quantity.mnas'],
    NumberLit: ['constant.numeric.mnas'],
    Abbrev: ['keyword.other.unit.field.mnas', 'entity.name.function.block.mnas', 'entity.name.type.model.mnas'],
    LBrace: ['punctuation.section.braces.begin.mnas'],
    RBrace: ['punctuation.section.braces.end.mnas'],
    LBracket: ['punctuation.section.brackets.begin.mnas'],
    RBracket: ['punctuation.section.brackets.end.mnas'],
    Comma: ['punctuation.separator.comma.mnas'],
    Star: ['keyword.operator.scale.mnas', 'entity.name.function.wildcard.mnas'],
    Plus: ['keyword.operator.offset.mnas'],
    Kw_import: ['keyword.control.import.mnas'],
    Kw_from: ['keyword.control.from.mnas'],
  };
  if (fixed[name]) return fixed[name];
  if (tokenMatcher(tok, OpKw)) return ['support.type.op.mnas'];
  if (tokenMatcher(tok, ActKw)) return ['constant.language.activation.mnas'];
  if (name === 'Kw_pool') return ['keyword.other.mnas', 'constant.language.skip.mnas'];
  if (tokenMatcher(tok, SkipKw)) return ['constant.language.skip.mnas'];
  if (tokenMatcher(tok, PoolKw)) return ['constant.language.pool.mnas'];
  return undefined;
}

test('the grammar agrees with the lexer on every example file', async () => {
  const grammar = await loadGrammar();
  const files = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.mnas'));
  assert.ok(files.length > 0);
  for (const f of files) {
    const text = read(`examples/${f}`);
    const lexed = mnasLexer.tokenize(text);
    assert.deepEqual(lexed.errors, [], `${f} lexes cleanly`);
    const scopes = scopesAt(grammar, text);
    const all = [...lexed.tokens, ...((lexed.groups.comments ?? []) as IToken[])];
    for (const tok of all) {
      const at = scopes(tok.startLine!, tok.startColumn!);
      const where = `${f}:${tok.startLine}:${tok.startColumn} ${tok.tokenType.name} '${tok.image}' got [${at.join(' ')}]`;
      const inSearch = at.includes('meta.declaration.search.mnas');
      if (inSearch && at.includes('meta.setting.mnas') && /^(Kw_|Identifier)/.test(tok.tokenType.name)) continue;
      const want = expectedScopes(tok);
      if (want) {
        assert.ok(want.some((s) => at.includes(s)), where);
      } else if (tokenMatcher(tok, keywordTokens.model) || tokenMatcher(tok, keywordTokens.space) || tokenMatcher(tok, keywordTokens.search)) {
        assert.ok(at.includes(`storage.type.${tok.image}.mnas`) || at.includes('variable.other.property.mnas'), where);
      } else if (tok.tokenType.name.startsWith('Kw_')) {
        assert.ok(at.includes('keyword.other.mnas') || at.includes('variable.other.property.mnas'), where);
      }
      // Field tokens are scoped letter + number, nothing else in between.
      if (tok.tokenType.name === 'Abbrev' && at.includes('keyword.other.unit.field.mnas')) {
        assert.ok(scopes(tok.startLine!, tok.startColumn! + 1).includes('constant.numeric.mnas'), where);
      }
    }
  }
});
