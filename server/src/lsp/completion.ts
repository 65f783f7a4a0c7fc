// Context-aware completion: what may come next at the cursor, from the brace structure of
// the tokens before it (see completionContext.ts) and the names visible in the analysis.
import { type CompletionItem, CompletionItemKind, InsertTextFormat, type Position } from 'vscode-languageserver';
import type { Analysis, Entry } from '../analysis/analysis';
import { ACT_NAMES, OP_NAMES, POOL_NAMES, SKIP_NAMES } from '../language/ast';
import { BLOCK_KEYS, DATASETS, SEARCH_KEYS } from '../language/searchConfig';
import { commentAt } from './nodeAt';
import { type CompletionContext, completionContext } from './completionContext';
import { KEYWORD_DOCS, wordDoc } from './keywordDocs';
import { offsetOf } from './positions';

export interface CompletionOptions { snippets: boolean }

type Item = CompletionItem;

function makeItems(snippets: boolean) {
  const item = (label: string, kind: CompletionItemKind, documentation?: string, detail?: string): Item =>
    ({ label, kind, documentation: documentation && { kind: 'markdown', value: documentation }, detail });
  /** A snippet, or its plain text (placeholders dropped) for clients without snippets. */
  const snippet = (label: string, body: string, kind: CompletionItemKind, documentation?: string, detail?: string): Item => {
    const it = item(label, kind, documentation, detail);
    if (snippets) return { ...it, insertText: body, insertTextFormat: InsertTextFormat.Snippet };
    const plain = body.replace(/\$\{\d+\|([^,|]*)[^}]*\}/g, '$1').replace(/\$\{\d+:([^}]*)\}/g, '$1').replace(/\$\d+/g, '');
    return { ...it, insertText: plain, insertTextFormat: InsertTextFormat.PlainText };
  };
  const word = (w: string, kind: CompletionItemKind = CompletionItemKind.Keyword) => item(w, kind, wordDoc(w));
  const values = (ws: readonly (string | number)[], kind: CompletionItemKind = CompletionItemKind.EnumMember) => ws.map((w) => word(String(w), kind));
  return { item, snippet, word, values };
}

const SNIPPETS = {
  model: 'model ${1:Name} {\n  input ${2:224x224x3}\n  stem conv k3 s2 f32\n  block b1 { mbconv e6 k3 s1 f16 }\n  head conv f1280 pool avg classes 1000\n}',
  space: 'space ${1:Name} from ${2:Model} {\n  block * {\n    k [3, 5]\n  }\n}',
  search: 'search ${1:Name} {\n  space ${2:Space}\n  target ${3:75ms}\n}',
  import: 'import "${1:file.mnas}"',
};

const CHOICE_SNIPPETS: Record<string, string> = {
  op: 'op [${1:conv, sepconv, mbconv}]',
  e: 'e [${1:3, 6}]',
  k: 'k [${1:3, 5}]',
  s: 's [${1:1, 2}]',
  se: 'se [${1:0, 0.25}]',
  skip: 'skip [${1:identity, pool, none}]',
  act: 'act [${1:relu, swish}]',
  f: 'f * [${1:0.75, 1.0, 1.25}]',
  x: 'x + [${1:-1, 0, 1}]',
};

const CHOICE_VALUES: Record<string, readonly (string | number)[]> = {
  op: OP_NAMES, skip: SKIP_NAMES, act: ACT_NAMES, e: [1, 3, 6], k: [3, 5, 7], s: [1, 2], se: [0, 0.25], f: ['0.75', '1.0', '1.25'], x: [-1, 0, 1],
};

const SETTING_VALUES: Record<string, readonly string[]> = {
  reward: ['soft', 'hard', 'alpha'],
  latency: ['local', 'profile', 'adb'],
  strategy: ['rl', 'random'],
  max: ['params', 'madds'],
};

function names(a: Analysis, kind: Entry['kind']): Entry[] {
  return [...a.scope.values()].filter((e) => e.kind === kind);
}

export function completion(a: Analysis, params: { position: Position }, options: CompletionOptions = { snippets: true }): CompletionItem[] {
  const offset = offsetOf(a, params.position);
  // Nothing inside a comment; a line comment also holds the cursor at its very end.
  const c = commentAt(a, offset) ?? commentAt(a, offset - 1);
  if (c && (offset < c.startOffset + c.image.length || !c.image.startsWith('/*'))) return [];
  const ctx = completionContext(a.parsed.tokens, offset, params.position.line + 1);
  return itemsFor(a, ctx, makeItems(options.snippets));
}

function itemsFor(a: Analysis, ctx: CompletionContext, k: ReturnType<typeof makeItems>): Item[] {
  const last = ctx.statement[ctx.statement.length - 1]?.image;
  const given = new Set(ctx.inFrame.map((t) => t.image.replace(/^([eksfx])\d.*$/, '$1')));
  const lineKey = ctx.line[0]?.image;
  switch (ctx.frame.kind) {
    case 'top': {
      if (last === 'from') return names(a, 'model').map((e) => k.item(e.node.name.value, CompletionItemKind.Class, undefined, 'model'));
      if (last === 'model' || last === 'space' || last === 'search' || last === 'import') return [];
      const stmt = ctx.statement.map((t) => t.image);
      if (stmt[0] === 'space' && stmt.length === 2) return [k.word('from')];
      return (['model', 'space', 'search', 'import'] as const).map((w) => k.snippet(w, SNIPPETS[w], CompletionItemKind.Snippet, KEYWORD_DOCS[w]));
    }
    case 'model': {
      if (last === 'act') return k.values(ACT_NAMES);
      if (last === 'input') return ['224x224x3', '192x192x3', '28x28x1'].map((v) => k.item(v, CompletionItemKind.Value, 'height x width x channels'));
      if (last === 'width' || last === 'depth') return ['0.5', '0.75', '1.0', '1.4'].map((v) => k.item(v, CompletionItemKind.Value));
      if (lineKey === 'head') {
        if (last === 'pool') return k.values(POOL_NAMES);
        if (last === 'conv') return [k.snippet('f1280', 'f${1:1280}', CompletionItemKind.Property, 'Head conv width.')];
        const onLine = new Set(ctx.line.map((t) => t.image));
        return [
          k.snippet('conv f1280', 'conv f${1:1280}', CompletionItemKind.Property, 'A 1x1 conv before pooling.'),
          k.snippet('pool avg', 'pool ${1|avg,max|}', CompletionItemKind.Property, KEYWORD_DOCS.avg),
          k.snippet('classes', 'classes ${1:1000}', CompletionItemKind.Property, KEYWORD_DOCS.classes),
          k.snippet('dropout', 'dropout ${1:0.2}', CompletionItemKind.Property, KEYWORD_DOCS.dropout),
        ].filter((i) => !onLine.has(i.label.split(' ')[0]));
      }
      if (lineKey === 'stem' && ctx.line.length > 0) return layerItems(k, given, true);
      const modelItems: Item[] = [
        k.snippet('input', 'input ${1:224x224x3}', CompletionItemKind.Keyword, KEYWORD_DOCS.input),
        k.snippet('width', 'width ${1:1.0}', CompletionItemKind.Keyword, KEYWORD_DOCS.width),
        k.snippet('depth', 'depth ${1:1.0}', CompletionItemKind.Keyword, KEYWORD_DOCS.depth),
        k.snippet('act', 'act ${1|relu,relu6,swish,hswish|}', CompletionItemKind.Keyword, KEYWORD_DOCS.act),
        k.snippet('stem', 'stem conv k${1:3} s${2:2} f${3:32}', CompletionItemKind.Keyword, KEYWORD_DOCS.stem),
        k.snippet('block', 'block ${1:b1} { ${2:mbconv e6 k3 s1 f16} }', CompletionItemKind.Snippet, KEYWORD_DOCS.block),
        k.snippet('head', 'head conv f${1:1280} pool avg classes ${2:1000}', CompletionItemKind.Keyword, KEYWORD_DOCS.head),
      ];
      return modelItems.filter((i) => i.label === 'block' || !given.has(i.label));
    }
    case 'block':
      if (last === 'skip') return k.values(SKIP_NAMES);
      if (last === 'se') return [k.item('0.25', CompletionItemKind.Value, KEYWORD_DOCS.se)];
      return layerItems(k, given, ctx.frame.stem);
    case 'space': {
      const skeleton = ctx.frame.from ? a.scope.get(ctx.frame.from) : undefined;
      const blocks = skeleton?.kind === 'model' ? skeleton.node.blocks.map((b) => b.name.value) : [];
      const listed = new Set(ctx.inFrame.filter((_, i, all) => all[i - 1]?.image === 'block').map((t) => t.image));
      const open = ['*', ...blocks].filter((b) => !listed.has(b));
      if (last === 'block') return open.map((b) => k.item(b, CompletionItemKind.Function, b === '*' ? 'Every block of the skeleton.' : `Block of \`${ctx.frame.kind === 'space' ? ctx.frame.from : ''}\`.`));
      return [
        k.snippet('block', 'block ${1:*} {\n  $0\n}', CompletionItemKind.Snippet, KEYWORD_DOCS.block),
        ...open.map((b) => k.snippet(`block ${b}`, `block ${b} {\n  $0\n}`, CompletionItemKind.Function, b === '*' ? 'Choices for every block.' : undefined)),
      ];
    }
    case 'spaceBlock': {
      if (ctx.list) return k.values(CHOICE_VALUES[ctx.list] ?? [], ['op', 'skip', 'act'].includes(ctx.list) ? CompletionItemKind.EnumMember : CompletionItemKind.Value);
      if (last && last in CHOICE_SNIPPETS && ctx.line.length > 0) {
        const body = CHOICE_SNIPPETS[last].slice(last.length + 1);
        return [k.snippet(body.replace(/\$\{1:([^}]*)\}/, '$1'), body, CompletionItemKind.Value)];
      }
      return Object.entries(CHOICE_SNIPPETS).filter(([f]) => !given.has(f))
        .map(([f, body]) => k.snippet(body.replace(/\$\{1:([^}]*)\}/, '$1'), body, CompletionItemKind.Property, KEYWORD_DOCS[f]));
    }
    case 'search': {
      if (ctx.line.length === 0) {
        return Object.entries(SEARCH_KEYS).filter(([key]) => key === 'max' || !given.has(key))
          .map(([key, doc]) => k.item(key, CompletionItemKind.Property, doc));
      }
      if (lineKey === 'space' && ctx.line.length === 1) return names(a, 'space').map((e) => k.item(e.node.name.value, CompletionItemKind.Module, undefined, 'space'));
      if (lineKey && lineKey in BLOCK_KEYS && lineKey !== 'dataset') return Object.entries(BLOCK_KEYS[lineKey]).map(([key, doc]) => k.item(key, CompletionItemKind.Property, doc));
      if (lineKey === 'dataset' && ctx.line.length === 1) return Object.entries(DATASETS).map(([name, d]) => k.item(name, CompletionItemKind.EnumMember, d.doc));
      if (lineKey && SETTING_VALUES[lineKey] && ctx.line.length === 1) return k.values(SETTING_VALUES[lineKey]);
      if (lineKey === 'max' && ctx.line.length === 1) return k.values(SETTING_VALUES.max);
      return [];
    }
    case 'searchBlock': {
      const keys = BLOCK_KEYS[ctx.frame.key];
      if (!keys || ctx.line.length > 0) return [];
      return Object.entries(keys).filter(([key]) => !given.has(key)).map(([key, doc]) => k.item(key, CompletionItemKind.Property, doc));
    }
    default:
      return [];
  }
}

function layerItems(k: ReturnType<typeof makeItems>, given: Set<string>, stem: boolean): Item[] {
  const items: Item[] = [];
  const hasOp = OP_NAMES.some((o) => given.has(o));
  if (!hasOp) items.push(...(stem ? ['conv'] : OP_NAMES).map((o) => k.word(o, CompletionItemKind.EnumMember)));
  const fields: [string, string[]][] = [
    ['e', stem ? [] : ['e3', 'e6']], ['k', ['k3', 'k5']], ['s', ['s1', 's2']],
  ];
  for (const [letter, options] of fields) if (!given.has(letter)) items.push(...options.map((o) => k.word(o, CompletionItemKind.Property)));
  if (!given.has('f')) items.push(k.snippet('f', 'f${1:24}', CompletionItemKind.Property, 'Output filters, e.g. `f24`.'));
  if (!stem) {
    if (!given.has('x')) items.push(k.snippet('x', 'x${1:2}', CompletionItemKind.Property, 'Layers in the block, e.g. `x3`.'));
    if (!given.has('se')) items.push(k.snippet('se 0.25', 'se ${1:0.25}', CompletionItemKind.Property, KEYWORD_DOCS.se));
    if (!given.has('skip')) items.push(k.snippet('skip identity|pool|none', 'skip ${1|identity,pool,none|}', CompletionItemKind.Property, KEYWORD_DOCS.skip));
  }
  if (!ACT_NAMES.some((x) => given.has(x))) items.push(...ACT_NAMES.map((x) => k.word(x, CompletionItemKind.EnumMember)));
  return items;
}
