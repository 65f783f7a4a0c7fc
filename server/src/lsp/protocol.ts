// MNAS's own requests on top of LSP, shared by the language server and the extension: names and
// types only, so the extension bundles nothing of the server through this file.
import type { ChildDetail } from '../report/data';

/** The detail pane of a results panel: a child's blocks with the cost model's numbers. */
export const CHILD_DETAIL_REQUEST = 'mnas/childDetail';

export interface ChildDetailParams {
  id: number;
  /** The child's model name in `model`. */
  name: string;
  /** The child as .mnas text: its journal record's `model`. */
  model: string;
}

/** null when `model` has no valid model named `name`. */
export type ChildDetailResult = ChildDetail | null;
