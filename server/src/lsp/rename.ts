// Rename models, spaces, searches and blocks: the declaration and every reference (`from`,
// a search's `space`, a space's `block NAME`) in this document, in the declaring file, and
// in every open document that sees the declaration through its imports.
import type { Position, Range, TextEdit, WorkspaceEdit } from 'vscode-languageserver';
import type { Analysis } from '../analysis/analysis';
import type { FileNode, Span } from '../language/ast';
import { parse } from '../language/parser';
import { keywordTokens } from '../language/tokens';
import type { Files } from './files';
import { targetAt, tokenAt } from './nodeAt';
import { offsetOf, rangeOf } from './positions';

export type Renamable =
  | { kind: 'model' | 'space' | 'search'; name: string; file: string; span: Span }
  | { kind: 'block'; model: string; name: string; file: string; span: Span };

export type RenameOutcome<T> = { ok: T } | { error: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** What the cursor names, or why it cannot be renamed. */
export function renamableAt(a: Analysis, position: Position): RenameOutcome<Renamable> {
  const offset = offsetOf(a, position);
  const t = targetAt(a, offset);
  const fileOf = (name: string, kind: string) => {
    const e = a.scope.get(name);
    return e?.kind === kind ? e.file : undefined;
  };
  switch (t?.kind) {
    case 'model-name': return { ok: { kind: 'model', name: t.model.name.value, file: a.file, span: t.model.name.span } };
    case 'space-name': return { ok: { kind: 'space', name: t.space.name.value, file: a.file, span: t.space.name.span } };
    case 'search-name': return { ok: { kind: 'search', name: t.search.name.value, file: a.file, span: t.search.name.span } };
    case 'space-from': {
      const name = t.space.from!.value;
      const file = fileOf(name, 'model');
      return file ? { ok: { kind: 'model', name, file, span: t.space.from!.span } } : { error: `\`${name}\` is not a known model.` };
    }
    case 'setting':
      if (!t.parent && t.setting.key.value === 'space' && t.value?.type === 'word') {
        const name = String(t.value.value);
        const file = fileOf(name, 'space');
        return file ? { ok: { kind: 'space', name, file, span: t.value.span } } : { error: `\`${name}\` is not a known space.` };
      }
      break;
    case 'block':
      if (t.onName) return { ok: { kind: 'block', model: t.model.name.value, name: t.block.name.value, file: a.file, span: t.block.name.span } };
      break;
    case 'space-block': {
      if (!t.onName || t.block.name.value === '*') break;
      const model = t.space.from?.value;
      const file = model && fileOf(model, 'model');
      if (!model || !file) return { error: 'The skeleton model of this space is unknown.' };
      return { ok: { kind: 'block', model, name: t.block.name.value, file, span: t.block.name.span } };
    }
  }
  const tok = tokenAt(a, offset);
  if (tok && Object.prototype.hasOwnProperty.call(keywordTokens, tok.image)) return { error: `\`${tok.image}\` is a keyword of the language and cannot be renamed.` };
  return { error: 'Only model, space, search and block names can be renamed.' };
}

export function prepareRename(a: Analysis, params: { position: Position }): RenameOutcome<{ range: Range; placeholder: string }> {
  const r = renamableAt(a, params.position);
  return 'error' in r ? r : { ok: { range: rangeOf(a, r.ok.span), placeholder: r.ok.name } };
}

/** Spans in one file that name the symbol. `declaring`: the file that declares it. */
function occurrences(file: FileNode, s: Renamable, declaring: boolean): Span[] {
  const out: Span[] = [];
  if (s.kind === 'block') {
    if (declaring) {
      for (const m of file.models) if (m.name.value === s.model) for (const b of m.blocks) if (b.name.value === s.name) out.push(b.name.span);
    }
    for (const sp of file.spaces) if (sp.from?.value === s.model) for (const b of sp.blocks) if (b.name.value === s.name) out.push(b.name.span);
    return out;
  }
  if (declaring) {
    const decls = s.kind === 'model' ? file.models : s.kind === 'space' ? file.spaces : file.searches;
    for (const d of decls) if (d.name.value === s.name) out.push(d.name.span);
  }
  if (s.kind === 'model') for (const sp of file.spaces) if (sp.from?.value === s.name) out.push(sp.from.span);
  if (s.kind === 'space') {
    for (const se of file.searches) for (const st of se.settings) {
      const v = st.values[0];
      if (st.key.value === 'space' && v?.type === 'word' && v.value === s.name) out.push(v.span);
    }
  }
  return out;
}

export function checkNewName(a: Analysis, s: Renamable, newName: string): string | undefined {
  if (!NAME.test(newName)) return `\`${newName}\` is not a valid name: use letters, digits, \`_\` and \`-\`, starting with a letter or \`_\`.`;
  if (Object.prototype.hasOwnProperty.call(keywordTokens, newName)) return `\`${newName}\` is a keyword of the language; choose another name.`;
  if (newName === s.name) return undefined;
  if (s.kind === 'block') {
    const m = a.scope.get(s.model);
    if (m?.kind === 'model' && m.node.blocks.some((b) => b.name.value === newName)) return `Model \`${s.model}\` already has a block \`${newName}\`.`;
  } else if (a.scope.has(newName)) {
    return `\`${newName}\` is already declared (as a ${a.scope.get(newName)!.kind}).`;
  }
  return undefined;
}

export function rename(
  a: Analysis, params: { uri: string; position: Position; newName: string },
  open: { uri: string; analysis: Analysis }[], files: Files,
): RenameOutcome<WorkspaceEdit> {
  const target = renamableAt(a, params.position);
  if ('error' in target) return target;
  const s = target.ok;
  const problem = checkNewName(a, s, params.newName);
  if (problem) return { error: problem };
  const changes: Record<string, TextEdit[]> = {};
  const seen = new Set<string>();
  const add = (uri: string, text: string | Analysis, spans: Span[]) => {
    const list = (changes[uri] ??= []);
    for (const span of spans) {
      if (seen.has(`${uri}#${span.start}`)) continue;
      seen.add(`${uri}#${span.start}`);
      list.push({ range: rangeOf(text, span), newText: params.newName });
    }
  };
  const docs = open.some((d) => d.analysis.file === a.file) ? open : [{ uri: params.uri, analysis: a }, ...open];
  let declaringSeen = false;
  for (const d of docs) {
    const declaring = d.analysis.file === s.file;
    declaringSeen ||= declaring;
    const owner = s.kind === 'block' ? s.model : s.name;
    // Only documents that see this very declaration (not a same-named one elsewhere).
    if (!declaring && d.analysis.scope.get(owner)?.file !== s.file) continue;
    add(d.uri, d.analysis, occurrences(d.analysis.parsed.file, s, declaring));
  }
  if (!declaringSeen) {
    const text = files.read(s.file);
    if (text !== undefined) add(files.uriOf(s.file), text, occurrences(parse(text).file, s, true));
  }
  for (const uri of Object.keys(changes)) if (changes[uri].length === 0) delete changes[uri];
  return { ok: { changes } };
}
