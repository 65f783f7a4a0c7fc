// The controller's checkpoint (controller.json in a run folder): decisions, seed,
// hyper-parameters, step and baseline, the weights and Adam's moments. Float32 tensors are stored
// as little-endian base64: exact and ~4x smaller than JSON numbers.
import type * as TfTypes from '@tensorflow/tfjs';
import type { ControllerHyper, Decision } from './hyper';

export interface EncodedTensor { shape: number[]; data: string }

export interface ControllerJSON {
  format: 'mnas-controller';
  version: 1;
  decisions: Decision[];
  seed: number;
  hyper: ControllerHyper;
  step: number;
  baseline: number | null;
  adamStep: number;
  weights: Record<string, EncodedTensor>;
  adamM: Record<string, EncodedTensor>;
  adamV: Record<string, EncodedTensor>;
}

export function encode(t: TfTypes.Tensor): EncodedTensor {
  const data = t.dataSync() as Float32Array;
  return { shape: t.shape.slice(), data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
}

export function decode(e: EncodedTensor, name: string, shape: number[]): Float32Array {
  if (!e || e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`controller checkpoint: ${name} has shape ${JSON.stringify(e?.shape)}, expected ${JSON.stringify(shape)}`);
  }
  const bytes = Buffer.from(e.data, 'base64');
  const out = new Float32Array(bytes.byteLength / 4);
  if (out.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`controller checkpoint: ${name} has the wrong size`);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
