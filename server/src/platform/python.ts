// Choosing the Python interpreter for the torch worker. Debian's python3-torch installs into
// /usr/bin/python3, while `python3` on PATH may be another interpreter (pyenv) without torch,
// so each candidate is checked by actually importing torch.
import { spawnSync } from 'node:child_process';

export const TORCH_FIX =
  'install PyTorch for the system Python with `apt-get install -y python3-torch` (in a mnas-studio checkout `npm run setup` installs all it needs), ' +
  'or set MNAS_PYTHON (or --python) to an interpreter that can `import torch`';

const checked = new Map<string, string>();

/** The torch version `python` imports, or throws with the interpreter's own complaint. */
export function torchVersion(python: string): string {
  const hit = checked.get(python);
  if (hit) return hit;
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], {
    encoding: 'utf8', timeout: 120_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  if (r.error) throw new Error(`${python}: ${r.error.message}`);
  if (r.status !== 0) {
    const last = (r.stderr || '').trim().split('\n').pop() || `exit code ${r.status}`;
    throw new Error(`${python}: ${last}`);
  }
  const version = r.stdout.trim();
  checked.set(python, version);
  return version;
}

/**
 * An explicit interpreter (option or --python) or MNAS_PYTHON is used as given (a broken one
 * is an error, not silently replaced); otherwise /usr/bin/python3, then python3 on PATH.
 */
export function findPython(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = explicit ? { name: explicit, from: 'the python option' }
    : env.MNAS_PYTHON ? { name: env.MNAS_PYTHON, from: 'MNAS_PYTHON' } : null;
  if (chosen) {
    try {
      torchVersion(chosen.name);
      return chosen.name;
    } catch (e) {
      throw new Error(`Python from ${chosen.from} cannot import torch (${(e as Error).message}). Fix: ${TORCH_FIX}.`);
    }
  }
  const tried: string[] = [];
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    try {
      torchVersion(candidate);
      return candidate;
    } catch (e) {
      tried.push((e as Error).message);
    }
  }
  throw new Error(`No Python with PyTorch found (tried ${tried.join('; ')}). Fix: ${TORCH_FIX}.`);
}
