// Chooses the child-training backend (CLI: `--backend torch|tfjs|auto`):
// - torch: the PyTorch worker (torchTrainer.ts), ~1,500-2,300 images/s on 2 cores; the default path;
// - tfjs: in-process TensorFlow.js (tfjsTrainer.ts): tfjs-node when it loads, else pure JS, which is
//   only good for tiny smoke runs (~4 images/s; the trainer warns loudly);
// - auto: torch when a Python that imports torch is found, else tfjs-node when it loads, else an
//   error with the fix. Auto never falls back to pure JS: that is only used when asked for.
import { TfjsTrainer } from './tfjsTrainer';
import { findPython, TORCH_FIX, TorchTrainer } from './torchTrainer';
import type { Trainer } from './trainer';

export const TRAINER_BACKENDS = ['torch', 'tfjs', 'auto'] as const;
export type TrainerBackend = (typeof TRAINER_BACKENDS)[number];

export interface CreateTrainerOptions {
  /** Default `auto`. */
  backend?: TrainerBackend;
  /** Interpreter for torch (else MNAS_PYTHON, /usr/bin/python3, python3). */
  python?: string;
  /** Intra-op threads of the torch worker. */
  threads?: number;
  /** Folder holding the mnas_worker package (torch). */
  workerDir?: string;
  onStderr?: (text: string) => void;
  /** Receives the pure-JS speed warning (tfjs without tfjs-node). */
  onWarning?: (message: string) => void;
}

export function isTrainerBackend(v: string): v is TrainerBackend {
  return (TRAINER_BACKENDS as readonly string[]).includes(v);
}

export async function createTrainer(options: CreateTrainerOptions = {}): Promise<Trainer> {
  const backend = options.backend ?? 'auto';
  if (!isTrainerBackend(backend)) throw new Error(`unknown trainer backend "${String(backend)}"; use ${TRAINER_BACKENDS.join(', ')}`);
  const torch = () => TorchTrainer.start({ python: options.python, threads: options.threads, workerDir: options.workerDir, onStderr: options.onStderr });
  if (backend === 'torch') return torch();
  if (backend === 'tfjs') return TfjsTrainer.start({ runtime: 'auto', onWarning: options.onWarning });

  // auto: torch when Python can import it. If it can, start errors are real errors (no silent fallback).
  let torchProblem: string;
  try {
    findPython(options.python);
    return await torch();
  } catch (e) {
    torchProblem = (e as Error).message.replace(/\s*Fix: [\s\S]*$/, '');
    if (!/cannot import torch|No Python with PyTorch/.test(torchProblem)) throw e;
  }
  let nodeProblem: string;
  try {
    return await TfjsTrainer.start({ runtime: 'native' });
  } catch (e) {
    nodeProblem = (e as Error).message;
  }
  throw new Error(
    'No fast child-training backend is available. ' +
    `PyTorch: ${torchProblem} TensorFlow.js: ${nodeProblem}. ` +
    `Fix: ${TORCH_FIX}. ` +
    'Pure-JS TensorFlow.js (~4 images/s, tiny smoke runs only) is used only when asked for: --backend tfjs.',
  );
}
