// Line-delimited JSON requests to a child process: one JSON object per line each way,
// replies matched by `id`, events (lines with `event`) forwarded to the request's listener.
// If the process dies, every pending request is rejected with the exit status and the tail
// of its stderr, which is where the reason (a traceback, an OOM kill) is.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Reply { id: number | string | null; ok?: boolean; error?: string; event?: string; [k: string]: unknown }

interface Pending {
  type: string;
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
  onEvent?: (e: Reply) => void;
}

const STDERR_TAIL_CHARS = 4000;

export class LineRpc {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stderrTail = '';
  private exitError: Error | null = null;
  /** Replies with id null (the worker could not parse a line), for diagnostics. */
  readonly orphans: Reply[] = [];
  readonly exited: Promise<void>;

  constructor(readonly proc: ChildProcessWithoutNullStreams, readonly label: string,
              onStderr?: (text: string) => void) {
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
      onStderr?.(chunk);
    });
    createInterface({ input: proc.stdout }).on('line', (line) => this.onLine(line));
    // stdin errors (EPIPE after a crash) surface through the exit handler instead.
    proc.stdin.on('error', () => {});
    this.exited = new Promise((resolve) => {
      let done = false;
      const fail = (why: string) => {
        if (done) return;
        done = true;
        const tail = this.stderrTail.trim();
        this.exitError = new Error(`${label} ${why}${tail ? `; stderr tail:\n${tail}` : ' (no stderr output)'}`);
        for (const [id, p] of this.pending) p.reject(new Error(`${this.exitError.message}\n(while handling request ${id}, ${p.type})`));
        this.pending.clear();
        resolve();
      };
      proc.on('error', (e) => fail(`could not run: ${e.message}`));
      // 'close' fires after stdio has drained, so the stderr tail is complete.
      proc.on('close', (code, signal) => fail(`exited (${signal ? `signal ${signal}` : `code ${code}`})`));
    });
  }

  get alive(): boolean { return this.exitError === null; }
  get stderr(): string { return this.stderrTail; }

  request(type: string, body: Record<string, unknown>, onEvent?: (e: Reply) => void): Promise<Reply> {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { type, resolve, reject, onEvent });
      this.proc.stdin.write(JSON.stringify({ ...body, id, type }) + '\n');
    });
  }

  /** Writes a raw line (tests use it to send malformed input). */
  writeRaw(line: string): void {
    this.proc.stdin.write(line.endsWith('\n') ? line : line + '\n');
  }

  private onLine(line: string): void {
    if (!line.trim()) return;
    let msg: Reply;
    try {
      msg = JSON.parse(line) as Reply;
    } catch {
      this.stderrTail = (this.stderrTail + `\n[non-JSON stdout] ${line}`).slice(-STDERR_TAIL_CHARS);
      return;
    }
    if (typeof msg.id !== 'number' || !this.pending.has(msg.id)) {
      this.orphans.push(msg);
      return;
    }
    const p = this.pending.get(msg.id)!;
    if (msg.event) {
      p.onEvent?.(msg);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg);
    else p.reject(new Error(`${this.label} ${p.type} request failed: ${msg.error ?? 'no error message'}`));
  }
}
