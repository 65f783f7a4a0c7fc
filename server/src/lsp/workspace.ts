// Analyses of open documents, made lazily and cached by document version. Imported files
// are read from open documents first, then from disk. Each cached analysis remembers the
// files it (transitively) imports, so a change to one of them drops exactly its dependents.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { analyze, type Analysis, AnalysisCache, diskHost, type FileHost } from '../analysis/analysis';
import type { ParseResult } from '../language/parser';

/** Untitled documents without a workspace folder live here; nothing is ever read from it. */
const NOWHERE = path.resolve('/', '.mnas-untitled');

/** Remembers the latest analysis of every file, to walk import graphs. */
class TrackingCache extends AnalysisCache {
  readonly latest = new Map<string, Analysis>();
  override set(file: string, analysis: Analysis): void {
    super.set(file, analysis);
    this.latest.set(file, analysis);
  }
}

/**
 * Files read from disk, kept while their size and modification time stay the same: a file
 * importing a thousand others stats them on each analysis instead of reading and decoding
 * them. A watched-file event drops the entry (`forget`), so same-millisecond rewrites are seen too.
 */
export class DiskFiles {
  private files = new Map<string, { mtimeMs: number; size: number; text: string }>();
  /** Files actually read (not served from the cache), for tests. */
  reads = 0;

  constructor(private readText: (file: string) => string | undefined = diskHost.read) {}

  read(file: string): string | undefined {
    let st: fs.Stats;
    try { st = fs.statSync(file); } catch { this.files.delete(file); return undefined; }
    if (!st.isFile()) { this.files.delete(file); return undefined; }
    const hit = this.files.get(file);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.text;
    this.reads++;
    const text = this.readText(file);
    if (text === undefined) this.files.delete(file);
    else this.files.set(file, { mtimeMs: st.mtimeMs, size: st.size, text });
    return text;
  }

  forget(file: string): void {
    this.files.delete(file);
  }
}

export interface OpenDocuments {
  get(uri: string): TextDocument | undefined;
  all(): TextDocument[];
}

interface Cached { version: number; analysis: Analysis; deps: Set<string>; serial: number }

export class Workspace {
  private cache = new TrackingCache();
  private analyses = new Map<string, Cached>();
  /** The latest parse of each open document, kept when its analysis is dropped. */
  private parses = new Map<string, ParseResult>();
  private serial = 0;
  readonly disk = new DiskFiles();
  /** Workspace folder for untitled documents' imports. */
  root: string | undefined;

  constructor(private documents: OpenDocuments) {}

  /** The file path a document is analysed as (untitled ones: under the workspace folder). */
  pathOf(uri: string): string {
    if (uri.startsWith('file:')) {
      try { return fileURLToPath(uri); } catch { /* fall through: a malformed file URI */ }
    }
    const name = decodeURIComponent(uri.replace(/^[a-z][\w+.-]*:/i, '')).replace(/[\\/:*?"<>|]/g, '_') || 'untitled';
    return path.join(this.root ?? NOWHERE, name);
  }

  /** The URI to show for a file: the open document's, else a file URI. */
  uriOf(file: string): string {
    for (const d of this.documents.all()) if (this.pathOf(d.uri) === file) return d.uri;
    return pathToFileURL(file).toString();
  }

  readonly host: FileHost = {
    read: (file) => {
      for (const d of this.documents.all()) if (this.pathOf(d.uri) === file) return d.getText();
      if (file.startsWith(NOWHERE + path.sep)) return undefined;
      return this.disk.read(file);
    },
    whyUnreadable: (file) => (file.startsWith(NOWHERE + path.sep) ? undefined : diskHost.whyUnreadable?.(file)),
  };

  /** The analysis of an open document, computed on first request after each change. */
  get(uri: string): Analysis | undefined {
    return this.entry(uri)?.analysis;
  }

  /** An id that changes whenever the document's analysis does (pull diagnostics' resultId). */
  resultId(uri: string): string | undefined {
    const e = this.entry(uri);
    return e && String(e.serial);
  }

  private entry(uri: string): Cached | undefined {
    const doc = this.documents.get(uri);
    if (!doc) return undefined;
    const hit = this.analyses.get(uri);
    if (hit && hit.version === doc.version) return hit;
    // The last parse of this document is the base of the next: only the edited declarations
    // are parsed again. It is spent by that (see `analyze`), so handlers never keep an
    // analysis across an await: they take it after their last one.
    const analysis = analyze(this.pathOf(uri), doc.getText(), this.host, this.cache, this.parses.get(uri));
    this.parses.set(uri, analysis.parsed);
    const cached = { version: doc.version, analysis, deps: this.importsOf(analysis), serial: ++this.serial };
    this.analyses.set(uri, cached);
    return cached;
  }

  private importsOf(a: Analysis): Set<string> {
    const seen = new Set<string>();
    const walk = (x: Analysis) => {
      for (const imp of x.imports) {
        if (seen.has(imp.file)) continue;
        seen.add(imp.file);
        const sub = this.cache.latest.get(imp.file);
        if (sub) walk(sub);
      }
    };
    walk(a);
    return seen;
  }

  /**
   * Forgets the analyses that depend on `file` (and the document itself when `uri` is given).
   * Returns the URIs of the other open documents whose analysis was dropped.
   */
  invalidate(file: string, uri?: string): string[] {
    if (uri) this.analyses.delete(uri);
    this.disk.forget(file);
    // The core cache keys imported analyses by their own text only: if B imports `file`, a
    // cached B would keep `file`'s old declarations. Start over whenever anything cached
    // depends on the changed file (analyses are cheap; this is rare while typing).
    if ([...this.cache.latest.values()].some((x) => this.importsOf(x).has(file))) {
      this.cache.clear();
      this.cache.latest.clear();
    }
    const dropped: string[] = [];
    for (const [other, c] of this.analyses) {
      if (other !== uri && c.deps.has(file)) {
        this.analyses.delete(other);
        dropped.push(other);
      }
    }
    return dropped;
  }

  /** Dependents among all open documents, analysed or not (for push-mode republishing). */
  dependents(file: string): string[] {
    return this.documents.all().map((d) => d.uri).filter((u) => this.pathOf(u) !== file && this.entry(u)?.deps.has(file));
  }

  forget(uri: string): void {
    this.analyses.delete(uri);
    this.parses.delete(uri);
  }

  /** Every open document with its analysis (rename across files). */
  openAnalyses(): { uri: string; analysis: Analysis }[] {
    return this.documents.all().flatMap((d) => {
      const analysis = this.get(d.uri);
      return analysis ? [{ uri: d.uri, analysis }] : [];
    });
  }
}
