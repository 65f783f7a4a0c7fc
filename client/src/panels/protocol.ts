// The typed messages between a results webview and the extension (types only: the webview
// bundle imports this file too). Validation of what the webview sends is in messages.ts.
import type { ChildDetail, ReportData } from '../../../server/src/report/data';

/** Webview -> extension. */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'openChild'; id: number }
  | { type: 'exportChild'; id: number }
  | { type: 'trainChild'; id: number }
  | { type: 'copyChild'; id: number }
  | { type: 'detail'; id: number }
  | { type: 'select'; id: number | null };

/** Live progress of a running search, from its events. */
export interface LiveProgress { done: number; total: number; text: string; /** Stop asked: the search is ending its training in progress. */ stopping?: boolean }

/** Extension -> webview. */
export type ToWebview =
  | { type: 'report'; data: ReportData; live: LiveProgress | null; /** A full training of this run (Train fully): where it is, or how it ended. */ training: string | null }
  | { type: 'detail'; detail: ChildDetail }
  | { type: 'error'; message: string };

/** What a panel keeps with getState/setState and what the serializer gets back after a reload. */
export interface PanelState { run: string; selected: number | null }
