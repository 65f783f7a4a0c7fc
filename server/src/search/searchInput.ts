// Loading the search to run from a .mnas file: any error in the file stops the run with
// every diagnostic, as `mnas check` prints them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Arch } from '../language/arch';
import { analyze, diskHost, type ModelEntry, type SearchEntry, type SpaceEntry } from '../analysis/analysis';
import { LineIndex } from '../language/lines';
import type { SearchConfig } from '../language/searchConfig';
import type { ResolvedSpace } from '../language/space';

export class SearchInputError extends Error {}

/** The search, its space, and the model a relative target names (`target 0.8x Tiny`) at its own size. */
export function loadSearch(file: string, name?: string): { config: SearchConfig; space: ResolvedSpace; reference?: Arch } {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch {
    throw new SearchInputError(`${file}: no such file. Pass a .mnas file with a \`search\` section, e.g. examples/search-quickstart.mnas.`);
  }
  const a = analyze(abs, text, diskHost);
  const searches = [...a.local.values()].filter((e): e is SearchEntry => e.kind === 'search');
  const chosen = name ? searches.find((s) => s.node.name.value === name) : searches[0];
  if (!chosen) {
    throw new SearchInputError(name
      ? `${file}: no search named \`${name}\`; it has ${searches.map((s) => s.node.name.value).join(', ') || 'none'}.`
      : `${file}: no \`search\` section. Add one, e.g. \`search S { space MySpace  target 75ms }\` (see examples/search-quickstart.mnas).`);
  }
  const errors = a.problems.filter((p) => p.severity === 'error');
  if (errors.length) {
    const idx = new LineIndex(text);
    const lines = errors.map((p) => {
      const { line, column } = idx.position(p.span.start);
      return `  ${file}:${line}:${column}: ${p.message}`;
    });
    throw new SearchInputError(`${file} has ${errors.length} error${errors.length > 1 ? 's' : ''}; fix ${errors.length > 1 ? 'them' : 'it'} first:\n${lines.join('\n')}`);
  }
  const config = chosen.resolution.config!;
  const target = a.scope.get(config.space) as SpaceEntry;
  const reference = config.target.kind === 'relative' ? (a.scope.get(config.target.model) as ModelEntry).arch : undefined;
  return { config, space: target.resolution.space!, reference };
}
