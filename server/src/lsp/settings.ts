// Per-document `mnas.*` settings, asked of the client once per document and cached until
// the next didChangeConfiguration. Clients without workspace/configuration get the defaults.
import type { Connection } from 'vscode-languageserver';

export interface Settings {
  hover: { showLayers: boolean };
  codeLens: { enabled: boolean };
  /** Cap on diagnostics per document. */
  maxProblems: number;
}

export const DEFAULT_SETTINGS: Settings = { hover: { showLayers: true }, codeLens: { enabled: true }, maxProblems: 1000 };

/** Fills gaps and ignores ill-typed values, so a bad user setting never breaks a feature. */
export function normalize(raw: unknown): Settings {
  const r = (raw ?? {}) as { hover?: { showLayers?: unknown }; codeLens?: { enabled?: unknown }; maxProblems?: unknown };
  const bool = (v: unknown, d: boolean) => (typeof v === 'boolean' ? v : d);
  return {
    hover: { showLayers: bool(r.hover?.showLayers, DEFAULT_SETTINGS.hover.showLayers) },
    codeLens: { enabled: bool(r.codeLens?.enabled, DEFAULT_SETTINGS.codeLens.enabled) },
    maxProblems: typeof r.maxProblems === 'number' && r.maxProblems > 0 ? r.maxProblems : DEFAULT_SETTINGS.maxProblems,
  };
}

export class SettingsCache {
  private perDocument = new Map<string, Promise<Settings>>();
  constructor(private connection: Connection, private supported: boolean) {}

  get(uri: string): Promise<Settings> {
    if (!this.supported) return Promise.resolve(DEFAULT_SETTINGS);
    let s = this.perDocument.get(uri);
    if (!s) {
      s = this.connection.workspace.getConfiguration({ scopeUri: uri, section: 'mnas' }).then(normalize, () => DEFAULT_SETTINGS);
      this.perDocument.set(uri, s);
    }
    return s;
  }

  forget(uri: string): void { this.perDocument.delete(uri); }
  clear(): void { this.perDocument.clear(); }
}
