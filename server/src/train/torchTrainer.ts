// The PyTorch child trainer: runs `<python> -m mnas_worker` (server/python) and talks to it
// over the line-delimited JSON protocol of docs/worker-protocol.md. One worker trains one
// child at a time; requests queue in the worker in the order sent.
import { spawn } from 'node:child_process';
import type { Arch } from '../language/arch';
import { LineRpc, type Reply } from '../platform/lineRpc';
import { workerPythonPath } from '../platform/locate';
import { findPython } from '../platform/python';
import type { FullTrainEvent, FullTrainRequest, FullTrainResult, HelloInfo, Trainer, TrainProgress, TrainRequest, TrainResult } from './trainer';

export { findPython, TORCH_FIX } from '../platform/python';

export interface TorchTrainerOptions {
  /** Interpreter; default findPython() (MNAS_PYTHON, /usr/bin/python3, python3). */
  python?: string;
  /** Folder holding the mnas_worker package; default server/python found above this module. */
  workerDir?: string;
  /** Intra-op threads of the worker; default all cores. */
  threads?: number;
  /** Receives the worker's stderr (logs, tracebacks); default: kept only as an error tail. */
  onStderr?: (text: string) => void;
}

export class TorchTrainer implements Trainer {
  private info: HelloInfo | null = null;

  private constructor(private readonly rpc: LineRpc, readonly python: string, private readonly threads?: number) {}

  /** Spawns the worker and waits for its hello (so a broken install fails here, clearly). */
  static async start(options: TorchTrainerOptions = {}): Promise<TorchTrainer> {
    const python = findPython(options.python);
    const workerDir = workerPythonPath(options.workerDir);
    const pythonPath = [workerDir, process.env.PYTHONPATH].filter(Boolean).join(':');
    const proc = spawn(python, ['-m', 'mnas_worker'], {
      cwd: workerDir,
      // MNAS_WORKER_PARENT: the worker exits when this process dies, even by SIGKILL (__main__.py).
      env: { OMP_WAIT_POLICY: 'PASSIVE', ...process.env, PYTHONPATH: pythonPath, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', MNAS_WORKER_PARENT: String(process.pid) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const trainer = new TorchTrainer(new LineRpc(proc, `mnas torch worker (${python})`, options.onStderr), python, options.threads);
    try {
      await trainer.hello();
    } catch (e) {
      await trainer.close();
      throw e;
    }
    return trainer;
  }

  get backend(): string { return this.info?.backend ?? 'torch (not started)'; }
  get alive(): boolean { return this.rpc.alive; }
  get pid(): number | undefined { return this.rpc.proc.pid; }
  /** Replies the worker could not attribute to a request (malformed lines). */
  get orphanReplies(): readonly Reply[] { return this.rpc.orphans; }

  async hello(): Promise<HelloInfo> {
    const r = await this.rpc.request('hello', this.threads ? { threads: this.threads } : {});
    this.info = { backend: String(r.backend), threads: Number(r.threads), python: String(r.python), protocol: Number(r.protocol) };
    return this.info;
  }

  async count(arch: Arch): Promise<number> {
    const r = await this.rpc.request('count', { arch });
    return Number(r.params);
  }

  async train(request: TrainRequest, onProgress?: (p: TrainProgress) => void): Promise<TrainResult> {
    const body: Record<string, unknown> = { ...request };
    if (body.threads === undefined && this.threads) body.threads = this.threads;
    const r = await this.rpc.request('train', body, (e) => {
      if (e.event === 'progress') onProgress?.({ epoch: Number(e.epoch), step: Number(e.step), steps: Number(e.steps), loss: Number(e.loss) });
    });
    const { id: _id, ok: _ok, ...result } = r;
    return result as unknown as TrainResult;
  }

  async trainFull(request: FullTrainRequest, onEvent?: (e: FullTrainEvent) => void): Promise<FullTrainResult> {
    const body: Record<string, unknown> = { ...request };
    if (body.threads === undefined && this.threads) body.threads = this.threads;
    const r = await this.rpc.request('trainFull', body, (e) => onEvent?.(e as unknown as FullTrainEvent));
    const { id: _id, ok: _ok, ...result } = r;
    return result as unknown as FullTrainResult;
  }

  /** Any request type, raw (diagnostics and protocol tests). */
  request(type: string, body: Record<string, unknown> = {}): Promise<Reply> {
    return this.rpc.request(type, body);
  }

  /** Writes one raw line to the worker (protocol tests). */
  writeRaw(line: string): void { this.rpc.writeRaw(line); }

  /** Kills the worker now; pending requests reject with the exit reason. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void { this.rpc.proc.kill(signal); }

  /** Ends stdin so the worker finishes its queue and exits; kills it if it lingers. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.rpc.alive) this.rpc.proc.stdin.end();
    const timer = setTimeout(() => this.rpc.proc.kill('SIGKILL'), timeoutMs);
    await this.rpc.exited;
    clearTimeout(timer);
  }
}
