// Handlers never take the server down: an exception is logged to the client's output
// channel and the request gets an empty result.
import { type Connection, ErrorCodes, ResponseError } from 'vscode-languageserver';

export function guard<P extends unknown[], R>(connection: Connection, name: string, empty: R, fn: (...args: P) => R | Promise<R>): (...args: P) => Promise<R> {
  return async (...args: P) => {
    try {
      return await fn(...args);
    } catch (err) {
      // ResponseErrors (e.g. a refused rename) are answers, not crashes: pass them on.
      if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'number') throw err;
      connection.console.error(`mnas: ${name} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      return empty;
    }
  };
}

/** For notifications: log and carry on. */
export function guardVoid<P extends unknown[]>(connection: Connection, name: string, fn: (...args: P) => void | Promise<void>): (...args: P) => void {
  return (...args: P) => {
    void guard(connection, name, undefined, fn)(...args);
  };
}

const isIndex = (n: unknown): boolean => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0x7fffffff;

/**
 * LSP positions are non-negative integers: a line of 1.5 is the client's mistake, answered
 * with InvalidParams rather than rounded into some other line.
 */
export function checkPosition(position: unknown, what = 'position'): void {
  const p = position as { line?: unknown; character?: unknown } | null | undefined;
  if (!p || typeof p !== 'object' || !isIndex(p.line) || !isIndex(p.character)) {
    throw new ResponseError(ErrorCodes.InvalidParams, `Invalid ${what} ${JSON.stringify(position)}: line and character must be whole numbers >= 0.`);
  }
}

export function checkRange(range: unknown): void {
  const r = range as { start?: unknown; end?: unknown } | null | undefined;
  checkPosition(r?.start, 'range start');
  checkPosition(r?.end, 'range end');
}
