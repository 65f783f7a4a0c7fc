// Per-document `mnas.*` settings, asked of the client once per document and cached until
// the next didChangeConfiguration. Clients without workspace/configuration get the defaults.
import type { Connection } from 'vscode-languageserver';

export interface Settings {
  hover: { showLayers: boolean };
  codeLens: { enabled: boolean };
  /** Cap on diagnostics per document. */
  maxProblems: number;
  /** Device profile for latency in hover and code lens: a profile name or a path to its JSON. */
  deviceProfile: string;
}

export const DEFAULT_SETTINGS: Settings = { hover: { showLayers: true }, codeLens: { enabled: true }, maxProblems: 1000, deviceProfile: 'pixel1-published' };

/** Fills gaps and ignores ill-typed values, so a bad user setting never breaks a feature. */
export function normalize(raw: unknown): Settings {
  const r = (raw ?? {}) as { hover?: { showLayers?: unknown }; codeLens?: { enabled?: unknown }; maxProblems?: unknown; deviceProfile?: unknown };
  const bool = (v: unknown, d: boolean) => (typeof v === 'boolean' ? v : d);
  return {
    hover: { showLayers: bool(r.hover?.showLayers, DEFAULT_SETTINGS.hover.showLayers) },
    codeLens: { enabled: bool(r.codeLens?.enabled, DEFAULT_SETTINGS.codeLens.enabled) },
    maxProblems: typeof r.maxProblems === 'number' && r.maxProblems > 0 ? r.maxProblems : DEFAULT_SETTINGS.maxProblems,
    deviceProfile: typeof r.deviceProfile === 'string' && r.deviceProfile.trim() ? r.deviceProfile.trim() : DEFAULT_SETTINGS.deviceProfile,
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
