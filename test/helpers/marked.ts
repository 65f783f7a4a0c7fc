// Sources with marked ranges: `⟦...⟧` marks an expected span, `<|>` a cursor.
import type { Span } from '../../server/src/language/ast';

export function marked(src: string): { text: string; spans: Span[]; cursor?: number } {
  const spans: Span[] = [];
  let text = '';
  let cursor: number | undefined;
  const open: number[] = [];
  for (let i = 0; i < src.length; i++) {
    if (src.startsWith('<|>', i)) { cursor = text.length; i += 2; continue; }
    const ch = src[i];
    if (ch === '⟦') open.push(text.length);
    else if (ch === '⟧') spans.push({ start: open.pop()!, end: text.length });
    else text += ch;
  }
  spans.sort((a, b) => a.start - b.start);
  return { text, spans, cursor };
}
