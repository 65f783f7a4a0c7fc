// The one place where document offsets (the core's [start, end) spans) become LSP positions
// and back. A TextDocument per analysed text is created once and reused (its line table is
// built lazily by the library).
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { Position, Range } from 'vscode-languageserver';
import type { Span } from '../language/ast';
import type { Analysis } from '../analysis/analysis';

const byText = new Map<string, TextDocument>();
const byAnalysis = new WeakMap<Analysis, TextDocument>();

/** A TextDocument over `text`, for position arithmetic only (the uri is irrelevant). */
export function lineMap(text: string): TextDocument {
  let doc = byText.get(text);
  if (!doc) {
    doc = TextDocument.create('mnas:positions', 'mnas', 0, text);
    // Keep only a few: other files' texts are converted rarely (definition, rename).
    if (byText.size > 16) byText.clear();
    byText.set(text, doc);
  }
  return doc;
}

function docOf(a: Analysis | string): TextDocument {
  if (typeof a === 'string') return lineMap(a);
  let doc = byAnalysis.get(a);
  if (!doc) {
    doc = TextDocument.create('mnas:positions', 'mnas', 0, a.text);
    byAnalysis.set(a, doc);
  }
  return doc;
}

/** The LSP range of a span, in an analysis or a raw text. */
export function rangeOf(a: Analysis | string, span: Span): Range {
  const doc = docOf(a);
  return { start: doc.positionAt(span.start), end: doc.positionAt(span.end) };
}

export function positionOf(a: Analysis | string, offset: number): Position {
  return docOf(a).positionAt(offset);
}

export function offsetOf(a: Analysis | string, position: Position): number {
  return docOf(a).offsetAt(position);
}

export function spanOf(a: Analysis | string, range: Range): Span {
  const doc = docOf(a);
  return { start: doc.offsetAt(range.start), end: doc.offsetAt(range.end) };
}
