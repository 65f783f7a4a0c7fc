// The PyTorch worker's side of export: `export` (BN-folded constants in TFLite layout) and
// `forward` (the eval-mode reference output). docs/worker-protocol.md#export, #forward.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Arch } from '../../language/arch';
import type { TorchTrainer } from '../../train/torchTrainer';
import type { Weights } from './graph';

export interface WeightSource {
  /** A state_dict saved by the worker's `train` (children/<id>/weights.pt). */
  weightsPath?: string;
  /** Seed of the random initialisation when there is no weightsPath (default 0). */
  seed?: number;
}

export interface ExportedWeights {
  weights: Weights;
  /** "weights /abs/path/weights.pt" or "random init, seed 1 (BN statistics randomized)". */
  source: string;
  /** Trainable parameters of the PyTorch module (before folding). */
  params: number;
}

type Worker = Pick<TorchTrainer, 'request'>;

interface TensorEntry { name: string; shape: number[]; offset?: number; length?: number; data?: string }

function body(arch: Arch, from: WeightSource): Record<string, unknown> {
  const b: Record<string, unknown> = { arch };
  if (from.weightsPath !== undefined) b.weightsPath = path.resolve(from.weightsPath);
  else b.seed = from.seed ?? 0;
  return b;
}

function floats(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

export function f32ToBase64(x: Float32Array): string {
  const bytes = new Uint8Array(x.length * 4);
  const view = new DataView(bytes.buffer);
  x.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return Buffer.from(bytes).toString('base64');
}

export const base64ToF32 = (s: string): Float32Array => floats(Buffer.from(s, 'base64'));

/** Asks the worker for the BN-folded weights (through a temporary file: they can be 10s of MB). */
export async function exportWeights(worker: Worker, arch: Arch, from: WeightSource = {}): Promise<ExportedWeights> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-export-'));
  try {
    const file = path.join(dir, 'weights.f32');
    const r = await worker.request('export', { ...body(arch, from), outPath: file });
    const raw = fs.readFileSync(file);
    const all = floats(raw);
    const weights: Weights = new Map();
    for (const t of r.tensors as TensorEntry[]) {
      const offset = Number(t.offset);
      const length = Number(t.length);
      if (!(offset >= 0 && offset + length <= all.length)) throw new Error(`worker export: tensor ${t.name} lies outside ${file}`);
      weights.set(t.name, { shape: t.shape, data: all.subarray(offset, offset + length) });
    }
    return { weights, source: String(r.source), params: Number(r.params) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface TorchOutput { data: Float32Array; shape: number[]; source: string }

/** PyTorch's eval-mode output for one NHWC input batch (4-D outputs come back NHWC too). */
export async function torchForward(worker: Worker, arch: Arch, input: Float32Array, from: WeightSource = {}): Promise<TorchOutput> {
  const { h, w, c } = arch.input;
  const n = input.length / (h * w * c);
  const r = await worker.request('forward', { ...body(arch, from), input: { data: f32ToBase64(input), shape: [n, h, w, c], layout: 'nhwc' } });
  const out = r.output as { data: string; shape: number[] };
  return { data: base64ToF32(out.data), shape: out.shape, source: String(r.source) };
}
