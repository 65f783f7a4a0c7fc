// Splits a child process's stdout into NDJSON events: lines can arrive in any chunking, and a
// line that is not a JSON object (a stray print) is passed to `other` instead of being lost.
export class NdjsonSplitter<T> {
  private buffer = '';
  constructor(private onEvent: (e: T) => void, private other: (line: string) => void = () => {}) {}

  push(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.line(line);
    }
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    if (this.buffer) this.line(this.buffer);
    this.buffer = '';
  }

  private line(line: string): void {
    if (!line.trim()) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.other(line);
      return;
    }
    if (parsed && typeof parsed === 'object' && typeof (parsed as { event?: unknown }).event === 'string') this.onEvent(parsed as T);
    else this.other(line);
  }
}
