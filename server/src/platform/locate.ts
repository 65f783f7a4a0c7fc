// Finding files shipped with the repository (the Python worker, node_modules data) from code
// that runs either as TS sources (tsx, ESM) or bundled into dist/*.cjs: search upwards from
// every plausible start folder instead of relying on import.meta (empty in CJS bundles).
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Folders to search upwards from: the bundle's, the entry script's, the working directory. */
export function startDirs(): string[] {
  const dirs: string[] = [];
  // Defined in the CJS bundle (dist/) and under tsx's CJS loader; absent in plain ESM.
  if (typeof __dirname === 'string') dirs.push(__dirname);
  if (process.argv[1]) dirs.push(path.dirname(path.resolve(process.argv[1])));
  dirs.push(process.cwd());
  return [...new Set(dirs)];
}

/** The first ancestor (inclusive) of a start folder that contains `relative`, or null. */
export function findUp(relative: string, from: string[] = startDirs()): string | null {
  for (const start of from) {
    let dir = path.resolve(start);
    for (;;) {
      if (existsSync(path.join(dir, relative))) return dir;
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return null;
}

/** server/python (the folder to put on PYTHONPATH), or an Error saying where it looked. */
export function workerPythonPath(explicit?: string): string {
  if (explicit) {
    if (!existsSync(path.join(explicit, 'mnas_worker', '__main__.py'))) {
      throw new Error(`${explicit} has no mnas_worker package (expected ${path.join(explicit, 'mnas_worker', '__main__.py')})`);
    }
    return explicit;
  }
  const root = findUp(path.join('server', 'python', 'mnas_worker', '__main__.py'));
  if (!root) {
    throw new Error(`cannot find server/python/mnas_worker above ${startDirs().join(', ')}; pass workerDir`);
  }
  return path.join(root, 'server', 'python');
}
