// One document's full analysis: parse, imports, name resolution, model/space/search
// resolution and every diagnostic. Pure apart from reading imported files through `host`,
// so the LSP (open documents first, then disk) and the CLI (disk) share it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ImportNode, ModelNode, NamedDecl, SearchNode, SpaceNode, Span } from '../language/ast';
import { type Arch, toArch } from '../language/arch';
import { parse, type ParseResult } from '../language/parser';
import { error, type Problem, printable, suggest } from '../language/problems';
import { resolveModel, type ResolvedModel, withheld } from '../language/resolve';
import { resolveSearch, type SearchResolution } from '../language/searchConfig';
import { resolveSpace, type SpaceResolution } from '../language/space';
import { costOf, type ModelCost } from '../cost/model';
import { spaceStats, type SpaceStats } from '../cost/spaceStats';

export interface FileHost {
  /** Text of the file at an absolute path, or undefined when it does not exist. */
  read(file: string): string | undefined;
  /** Why `read` gave nothing, when it is not simply a missing file ("is a directory"). */
  whyUnreadable?(file: string): string | undefined;
}

export interface ModelEntry {
  kind: 'model';
  node: ModelNode;
  file: string;
  resolved: ResolvedModel;
  arch: Arch;
  cost: ModelCost;
}
export interface SpaceEntry {
  kind: 'space';
  node: SpaceNode;
  file: string;
  resolution: SpaceResolution;
  /** Why the space's figures are not shown: its skeleton's costs are withheld (see `withheld`). */
  withheld?: string;
  /** Computed on first use: hover and code lens need it, diagnostics do not. Undefined when withheld. */
  readonly stats: SpaceStats | undefined;
}
export interface SearchEntry {
  kind: 'search';
  node: SearchNode;
  file: string;
  resolution: SearchResolution;
}
export type Entry = ModelEntry | SpaceEntry | SearchEntry;

export interface Analysis {
  file: string;
  text: string;
  parsed: ParseResult;
  problems: Problem[];
  /** Declarations of this file. */
  local: Map<string, Entry>;
  /** Everything visible: this file's declarations and those of its imports (transitively). */
  scope: Map<string, Entry>;
  imports: { node: ImportNode; file: string; ok: boolean }[];
  /** Every imported file read, transitively, with the text it had. */
  deps: Map<string, string>;
}

/**
 * Caches analyses of imported files by path and text. A hit also requires every file it
 * read (transitively) to be unchanged, so an edit two imports away is seen.
 */
export class AnalysisCache {
  private byFile = new Map<string, { text: string; analysis: Analysis }>();
  get(file: string, text: string, host?: FileHost): Analysis | undefined {
    const hit = this.byFile.get(file);
    if (!hit || hit.text !== text) return undefined;
    if (host) for (const [dep, depText] of hit.analysis.deps) if (host.read(dep) !== depText) return undefined;
    return hit.analysis;
  }
  set(file: string, analysis: Analysis): void {
    this.byFile.set(file, { text: analysis.text, analysis });
  }
  clear(): void { this.byFile.clear(); }
}

/**
 * The analysis of `file` with this `text`. `previous` is the parse of an earlier text of the same
 * document (its last analysis's `parsed`): only the declarations the edit touched are parsed
 * again, and `previous` is spent (its nodes move into the new parse; see language/segments.ts),
 * so the analysis it belonged to must not be used after this call.
 */
export function analyze(file: string, text: string, host: FileHost, cache = new AnalysisCache(), previous?: ParseResult): Analysis {
  return analyzeIn(file, text, host, cache, [], previous);
}

function analyzeIn(file: string, text: string, host: FileHost, cache: AnalysisCache, stack: string[], previous?: ParseResult): Analysis {
  const cached = cache.get(file, text, host);
  if (cached && stack.length > 0) return cached;
  const parsed = parse(text, previous);
  const problems: Problem[] = parsed.problems.map((p) => ({ severity: 'error' as const, ...p }));
  const scope = new Map<string, Entry>();
  const imports: Analysis['imports'] = [];
  const deps = new Map<string, string>();

  // Imports first: their names are visible everywhere in this file.
  for (const imp of parsed.file.imports) {
    const rel = imp.path.value;
    if (!rel) continue;
    const target = path.resolve(path.dirname(file), rel);
    const chain = [...stack, file];
    if (chain.includes(target)) {
      const cycle = [...chain.slice(chain.indexOf(target)), target].map((f) => path.basename(f)).join(' -> ');
      problems.push(error('import-cycle', imp.path.span, `Import cycle: ${cycle}. Move the shared declarations into a file that both import.`));
      imports.push({ node: imp, file: target, ok: false });
      continue;
    }
    const importedText = host.read(target);
    const unreadable = importedText === undefined ? host.whyUnreadable?.(target) : undefined;
    if (unreadable) {
      problems.push(error('import-not-file', imp.path.span, `\`${rel}\` ${unreadable} (${target}). Import a .mnas file, e.g. \`import "${rel.replace(/\/+$/, '')}/models.mnas"\`.`));
      imports.push({ node: imp, file: target, ok: false });
      continue;
    }
    if (importedText === undefined) {
      problems.push(error('import-not-found', imp.path.span, `Cannot find \`${rel}\` (looked for ${target}). Imports are relative to this file.`));
      imports.push({ node: imp, file: target, ok: false });
      continue;
    }
    const sub = analyzeIn(target, importedText, host, cache, chain);
    deps.set(target, importedText);
    for (const [f, t] of sub.deps) deps.set(f, t);
    const errors = sub.problems.filter((p) => p.severity === 'error');
    const cycles = errors.filter((p) => p.code === 'import-cycle');
    if (cycles.length > 0) {
      problems.push(error('import-cycle', imp.path.span, cycles[0].message));
    } else if (errors.length > 0) {
      const first = errors[0];
      const line = sub.text.slice(0, first.span.start).split('\n').length;
      problems.push({ severity: 'warning', code: 'import-has-errors', span: imp.path.span, message: `\`${rel}\` has ${errors.length} error${errors.length > 1 ? 's' : ''} (first, line ${line}: ${first.message})` });
    }
    for (const [name, entry] of sub.scope) if (!scope.has(name)) scope.set(name, entry);
    imports.push({ node: imp, file: target, ok: true });
  }

  // This file's declarations: one namespace for models, spaces and searches.
  const local = new Map<string, Entry>();
  const decls: NamedDecl[] = parsed.file.decls.filter((d): d is NamedDecl => d.kind !== 'import');
  const placeholder = new Map<string, NamedDecl>();
  for (const d of decls) {
    const name = d.name.value;
    if (!name) continue;
    const other = placeholder.get(name);
    if (other) {
      problems.push(error('duplicate-name', d.name.span, `\`${name}\` is already declared (as a ${other.kind}) in this file. Rename one.`));
      continue;
    }
    const imported = scope.get(name);
    if (imported) {
      problems.push(error('duplicate-name', d.name.span, `\`${name}\` is already declared in ${path.basename(imported.file)}, which this file imports. Rename one.`));
      continue;
    }
    placeholder.set(name, d);
  }
  // Models, then spaces (they need models), then searches (they need spaces).
  for (const d of placeholder.values()) {
    if (d.kind !== 'model') continue;
    const { resolved, arch, cost } = modelOf(d, text);
    problems.push(...resolved.problems);
    local.set(d.name.value, { kind: 'model', node: d, file, resolved, arch, cost });
  }
  const visible = (name: string) => local.get(name) ?? scope.get(name);
  for (const d of placeholder.values()) {
    if (d.kind !== 'space') continue;
    let skeleton: ResolvedModel | undefined;
    if (!d.from) {
      problems.push(error('missing-skeleton', d.name.span, `Space \`${d.name.value}\` names no skeleton. Write \`space ${d.name.value} from MobileNetV2 { ... }\`.`));
    } else {
      const ref = visible(d.from.value);
      if (!ref) problems.push(unknownName(d.from.value, d.from.span, 'model', allOfKind(local, scope, 'model')));
      else if (ref.kind !== 'model') problems.push(error('wrong-kind', d.from.span, `\`${d.from.value}\` is a ${ref.kind}; a space starts from a model.`));
      else skeleton = ref.resolved;
    }
    const resolution: SpaceResolution = resolveSpace(d, skeleton?.spec);
    problems.push(...resolution.problems);
    local.set(d.name.value, spaceEntry(d, file, resolution, skeleton && withheld(skeleton, 'model')));
  }
  for (const d of placeholder.values()) {
    if (d.kind !== 'search') continue;
    const resolution = resolveSearch(d);
    problems.push(...resolution.problems);
    const ref = resolution.spaceRef;
    if (ref) {
      const target = visible(ref.name);
      if (!target) problems.push(unknownName(ref.name, ref.span, 'space', allOfKind(local, scope, 'space')));
      else if (target.kind !== 'space') problems.push(error('wrong-kind', ref.span, `\`${ref.name}\` is a ${target.kind}; a search samples a space.`));
    }
    const model = resolution.targetRef;
    if (model) {
      const target = visible(model.name);
      if (!target) problems.push(unknownName(model.name, model.span, 'model', allOfKind(local, scope, 'model')));
      else if (target.kind !== 'model') problems.push(error('wrong-kind', model.span, `\`${model.name}\` is a ${target.kind}; a relative target names a model (\`target 0.8x MobileNetV2\`).`));
    }
    local.set(d.name.value, { kind: 'search', node: d, file, resolution });
  }
  for (const [name, entry] of local) scope.set(name, entry);
  const analysis: Analysis = { file, text, parsed, problems: sortProblems(problems), local, scope, imports, deps };
  cache.set(file, analysis);
  return analysis;
}

/**
 * A model's resolution and costs by the exact text of its declaration: a model depends on
 * nothing outside it, so an edit elsewhere in a large file reuses them (problem spans moved).
 * A node kept by an incremental parse finds its entry without its text being read again.
 */
interface ModelWork { resolved: ResolvedModel; arch: Arch; cost: ModelCost; base: number }
const modelCache = new Map<string, ModelWork>();
let byNode = new WeakMap<ModelNode, ModelWork>();
const MODEL_CACHE_SIZE = 20_000;

/** Empties the model cache (benchmarks time cold analyses). */
export function clearModelCache(): void {
  modelCache.clear();
  byNode = new WeakMap();
}

function modelOf(d: ModelNode, text: string): Omit<ModelWork, 'base'> {
  let hit = byNode.get(d);
  if (!hit) {
    const source = text.slice(d.span.start, d.span.end);
    hit = modelCache.get(source);
    if (hit) {
      modelCache.delete(source); // refresh its place in the LRU order
      modelCache.set(source, hit);
    } else {
      hit = resolveAndCost(d);
      modelCache.set(source, hit);
      if (modelCache.size > MODEL_CACHE_SIZE) modelCache.delete(modelCache.keys().next().value!);
    }
    byNode.set(d, hit);
  }
  const delta = d.span.start - hit.base;
  const move = (sp: Span): Span => ({ start: sp.start + delta, end: sp.end + delta });
  const problems = delta === 0 ? hit.resolved.problems : hit.resolved.problems.map((p) => ({
    ...p, span: move(p.span), fixes: p.fixes?.map((f) => ({ ...f, edits: f.edits.map((e) => ({ ...e, span: move(e.span) })) })),
  }));
  // Shallow copies: a consumer setting a field (cost.latencyMs) cannot reach another analysis.
  return { resolved: { ...hit.resolved, problems }, arch: hit.arch, cost: { ...hit.cost } };
}

function resolveAndCost(d: ModelNode): ModelWork {
  const resolved = resolveModel(d);
  const arch = toArch(resolved.spec);
  const cost = costOf(arch);
  // Counts are exact integers up to 2^53; past it a figure would be silently rounded.
  if (!Number.isSafeInteger(cost.multAdds) || !Number.isSafeInteger(cost.params)) {
    const what = Number.isSafeInteger(cost.multAdds) ? `${cost.params.toExponential(2)} params` : `${cost.multAdds.toExponential(2)} mult-adds`;
    resolved.problems.push(error('too-large', d.name.span, `Model \`${d.name.value}\` has about ${what}, over 2^53 (${Number.MAX_SAFE_INTEGER.toLocaleString('en-US')}), where counts stop being exact. Use a smaller input, fewer filters or a smaller expansion.`));
    resolved.substituted.model.push('exact');
    resolved.valid = false;
  }
  // The cached problems get spans of their own: the node's may move with a later edit.
  return { resolved: { ...resolved, problems: resolved.problems.length > 0 ? structuredClone(resolved.problems) : [] }, arch, cost, base: d.span.start };
}

function spaceEntry(node: SpaceNode, file: string, resolution: SpaceResolution, withheldWhy: string | undefined): SpaceEntry {
  let stats: SpaceStats | undefined;
  let done = false;
  return {
    kind: 'space', node, file, resolution, withheld: withheldWhy,
    get stats() {
      if (!done) { stats = resolution.space && !withheldWhy ? spaceStats(resolution.space) : undefined; done = true; }
      return stats;
    },
  };
}

function allOfKind(local: Map<string, Entry>, scope: Map<string, Entry>, kind: Entry['kind']): string[] {
  return [...new Set([...local.values(), ...scope.values()].filter((e) => e.kind === kind).map((e) => e.node.name.value))];
}

function unknownName(name: string, at: Span, kind: string, known: string[]): Problem {
  const s = suggest(name, known, at);
  const list = known.length ? ` Known ${kind}s: ${known.join(', ')}.` : ` No ${kind} is declared here or in an import: declare one, or \`import "file.mnas"\`.`;
  return error('unknown-name', at, `Unknown ${kind} \`${name}\`.${s.hint}${list}`, s.fixes);
}

/** Problems reported per file; the rest are counted in one more (a binary file is not 600 errors). */
export const MAX_PROBLEMS = 100;

/** In document order, messages printable (no raw control characters), at most MAX_PROBLEMS and a count of the rest. */
function sortProblems(problems: Problem[]): Problem[] {
  problems.sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end);
  for (const p of problems) p.message = printable(p.message);
  if (problems.length <= MAX_PROBLEMS) return problems;
  const rest = problems.slice(MAX_PROBLEMS);
  const errors = rest.filter((p) => p.severity === 'error').length;
  const at = rest[0].span;
  return [...problems.slice(0, MAX_PROBLEMS), { severity: rest.some((p) => p.severity === 'error') ? 'error' : 'warning', code: 'too-many-problems', span: at,
    message: `…and ${rest.length} more problems (${errors} errors) from here on, not listed: fix the ones above first.` }];
}

/** Reads files from disk (the CLI's host). */
export const diskHost: FileHost = {
  read(file) {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  },
  whyUnreadable(file) {
    try {
      const st = fs.statSync(file);
      if (st.isDirectory()) return 'is a directory, not a file';
      fs.accessSync(file, fs.constants.R_OK);
      return undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === 'ENOENT' || code === 'ENOTDIR' ? undefined : `cannot be read (${code ?? (e as Error).message})`;
    }
  },
};
