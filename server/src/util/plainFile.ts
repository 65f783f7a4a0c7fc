// A file named by something another process wrote (a dataset header beside its data files): it
// may only name a plain file in one folder. The Python worker's data.py has the same check.
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `folder/name` when `name` is a plain file name (no '/' or '\', not '.' or '..', not absolute)
 * whose real path stays in `folder`; otherwise throws an Error whose message says why, to follow
 * the quoted name in the caller's message. A missing file is returned as is.
 */
export function plainFileIn(folder: string, name: unknown): string {
  if (typeof name !== 'string' || name === '') throw new Error('is not a file name');
  if (name === '.' || name === '..' || /[\\/\0]/.test(name) || path.isAbsolute(name) || path.win32.isAbsolute(name)) {
    throw new Error('is not a plain file name (no "/", "\\" or "..", not absolute)');
  }
  const root = path.resolve(folder);
  const file = path.resolve(root, name);
  if (path.dirname(file) !== root) throw new Error(`resolves outside ${root}`);
  if (!fs.existsSync(file)) return file;
  const real = fs.realpathSync(file);
  if (path.dirname(real) !== fs.realpathSync(root)) throw new Error(`leads outside ${root} through a symbolic link (to ${real})`);
  return file;
}
