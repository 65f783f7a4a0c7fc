// The formatter arrives with the language server work; the fuzz run exercises it when present.
import * as fs from 'node:fs';

type Format = (text: string) => string;
let format: Format | undefined;
if (fs.existsSync(new URL('../../server/src/language/format.ts', import.meta.url))) {
  format = ((await import('../../server/src/language/format')) as { formatText: Format }).formatText;
}

export function formatTextSafe(text: string): string | undefined {
  return format?.(text);
}
