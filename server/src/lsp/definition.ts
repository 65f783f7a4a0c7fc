// Go to definition: `from X` and a search's `space X` to the declaration (possibly in an
// imported file), a space's `block NAME` to the skeleton's block, an import to its file.
import type { Location, Position } from 'vscode-languageserver';
import type { Analysis, Entry } from '../analysis/analysis';
import type { Span } from '../language/ast';
import type { Files } from './files';
import { targetAt } from './nodeAt';
import { offsetOf, rangeOf } from './positions';

function locate(a: Analysis, files: Files, file: string, span: Span, uri: string): Location | null {
  if (file === a.file) return { uri, range: rangeOf(a, span) };
  const text = files.read(file);
  return text === undefined ? null : { uri: files.uriOf(file), range: rangeOf(text, span) };
}

export function definition(a: Analysis, params: { uri: string; position: Position }, files: Files): Location | null {
  const t = targetAt(a, offsetOf(a, params.position));
  const entry = (name: string | undefined, kind: Entry['kind']) => {
    const e = name === undefined ? undefined : a.scope.get(name);
    return e?.kind === kind ? e : undefined;
  };
  switch (t?.kind) {
    case 'space-from': {
      const e = entry(t.space.from?.value, 'model');
      return e ? locate(a, files, e.file, e.node.name.span, params.uri) : null;
    }
    case 'setting': {
      if (t.parent || t.setting.key.value !== 'space' || !t.value || typeof t.value.value !== 'string') return null;
      const e = entry(t.value.value, 'space');
      return e ? locate(a, files, e.file, e.node.name.span, params.uri) : null;
    }
    case 'space-block': {
      if (!t.onName) return null;
      const e = entry(t.space.from?.value, 'model');
      if (e?.kind !== 'model') return null;
      const name = t.block.name.value;
      const block = name === '*' ? undefined : e.node.blocks.find((b) => b.name.value === name);
      return locate(a, files, e.file, block ? block.name.span : e.node.name.span, params.uri);
    }
    case 'import': {
      const imp = a.imports.find((i) => i.node === t.node);
      if (!imp?.ok) return null;
      return { uri: files.uriOf(imp.file), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } };
    }
    default:
      return null;
  }
}
