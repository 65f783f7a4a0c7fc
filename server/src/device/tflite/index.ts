// TFLite export: Arch + weights -> .tflite bytes. See docs/device.md#tflite-export.
import type { Arch } from '../../language/arch';
import type { TorchTrainer } from '../../train/torchTrainer';
import { buildGraph, type ExportOptions, type TraceEntry, type Weights } from './graph';
import { encodeModel, type Graph } from './schema';
import { exportWeights, type WeightSource } from './worker';

export { buildGraph, ExportError, headAct, sameMatchesTorch, type ExportOptions, type TraceEntry, type Weights } from './graph';
export { decodeModel, encodeModel, tensorFloats, type DecodedModel, type Graph } from './schema';
export { exportWeights, torchForward, type WeightSource } from './worker';
export { compareOutputs, EXPORT_TOLERANCE, type OutputComparison } from './compare';

export interface TfliteExport {
  bytes: Uint8Array;
  graph: Graph;
  trace: TraceEntry[];
}

/** Encodes `arch` with the given BN-folded weights. */
export function exportTflite(arch: Arch, weights: Weights, options: ExportOptions = {}): TfliteExport {
  const { graph, trace } = buildGraph(arch, weights, options);
  return { bytes: encodeModel(graph), graph, trace };
}

/** Asks the worker for the weights (trained or seeded random), then encodes. */
/**
 * Asks the worker for the weights (trained or seeded random), then encodes. `params` counts the
 * PyTorch module's parameters (before folding); `constants` the floats the file holds (after
 * folding BatchNorm into the convs).
 */
export async function exportWithWorker(worker: Pick<TorchTrainer, 'request'>, arch: Arch, from: WeightSource = {}, options: ExportOptions = {}): Promise<TfliteExport & { source: string; params: number; constants: number }> {
  const w = await exportWeights(worker, arch, from);
  let constants = 0;
  for (const t of w.weights.values()) constants += t.data.length;
  return { ...exportTflite(arch, w.weights, options), source: w.source, params: w.params, constants };
}
