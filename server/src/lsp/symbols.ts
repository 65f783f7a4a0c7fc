// The outline: models (stem, blocks, head), spaces (their blocks), searches (settings).
// `range` covers the whole node, `selectionRange` its name; the LSP requires the second
// inside the first, which recovered (partial) nodes do not always guarantee, hence `within`.
import { type DocumentSymbol, SymbolKind } from 'vscode-languageserver';
import type { Analysis } from '../analysis/analysis';
import type { SettingNode, Span } from '../language/ast';
import { describeBlock } from './costMarkdown';
import { short } from './numbers';
import { rangeOf } from './positions';

function symbol(a: Analysis, name: string, kind: SymbolKind, span: Span, nameSpan: Span, detail?: string, children?: DocumentSymbol[]): DocumentSymbol {
  const whole = { start: Math.min(span.start, nameSpan.start), end: Math.max(span.end, nameSpan.end) };
  return { name: name || '(unnamed)', kind, detail, range: rangeOf(a, whole), selectionRange: rangeOf(a, nameSpan), children };
}

function settingSymbols(a: Analysis, settings: SettingNode[]): DocumentSymbol[] {
  return settings.map((s) => symbol(a, s.key.value, SymbolKind.Property, s.span, s.key.span,
    s.values.map((v) => v.raw).join(' ') || undefined, s.children && settingSymbols(a, s.children)));
}

export function documentSymbols(a: Analysis): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  for (const d of a.parsed.file.decls) {
    if (d.kind === 'import') {
      out.push(symbol(a, d.path.value || 'import', SymbolKind.File, d.span, d.path.span, 'import'));
    } else if (d.kind === 'model') {
      const e = a.local.get(d.name.value);
      const entry = e?.kind === 'model' && e.node === d ? e : undefined;
      const children: DocumentSymbol[] = [];
      if (d.stem) children.push(symbol(a, 'stem', SymbolKind.Property, d.stem.span, d.stem.keyword));
      d.blocks.forEach((b, i) => {
        const arch = entry?.arch.blocks[i];
        children.push(symbol(a, b.name.value, SymbolKind.Method, b.span, b.name.span, arch && describeBlock(arch)));
      });
      if (d.head) children.push(symbol(a, 'head', SymbolKind.Property, d.head.span, d.head.keyword));
      out.push(symbol(a, d.name.value, SymbolKind.Class, d.span, d.name.span, entry && `${short(entry.cost.params)} params`, children));
    } else if (d.kind === 'space') {
      const children = d.blocks.map((b) => symbol(a, `block ${b.name.value}`, SymbolKind.Method, b.span, b.name.span,
        b.choices.map((c) => c.field.value).join(', ') || undefined));
      out.push(symbol(a, d.name.value, SymbolKind.Namespace, d.span, d.name.span, d.from ? `from ${d.from.value}` : undefined, children));
    } else {
      out.push(symbol(a, d.name.value, SymbolKind.Event, d.span, d.name.span, 'search', settingSymbols(a, d.settings)));
    }
  }
  return out;
}
