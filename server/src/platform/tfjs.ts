// Loads TensorFlow.js for the controller: the native binding `@tensorflow/tfjs-node` when it is
// installed (optional; its install script downloads libtensorflow, so it is absent on offline
// machines), otherwise pure-JS `@tensorflow/tfjs` on the cpu backend. The LSTM controller is
// small enough for the cpu backend (see docs/search.md for timings).
import type * as TfModule from '@tensorflow/tfjs';

export type Tf = typeof TfModule;

export interface TfRuntime {
  tf: Tf;
  /** Human-readable backend, shown in run metadata: "tfjs-node" or "tfjs cpu (pure JS)". */
  backend: string;
  native: boolean;
  /** Why tfjs-node was not used when it was present but failed to load. */
  fallbackReason?: string;
}

let loading: Promise<TfRuntime> | undefined;

/** Loads tf once per process (tf keeps a global engine, so one module instance is used). */
export function loadTf(): Promise<TfRuntime> {
  loading ??= load();
  return loading;
}

async function load(): Promise<TfRuntime> {
  let fallbackReason: string | undefined;
  // A variable specifier keeps bundlers and tsc from requiring the optional package.
  const nativeName = '@tensorflow/tfjs-node';
  // MNAS_TF_BACKEND=cpu (the extension's `mnas.search.backend` setting) keeps pure JS.
  const preferred = process.env.MNAS_TF_BACKEND;
  if (preferred === 'cpu') fallbackReason = 'pure JS requested (MNAS_TF_BACKEND=cpu)';
  else try {
    const tf = await quietPlatformNotice(async () => (await import(nativeName)) as Tf);
    await tf.ready();
    return { tf, backend: 'tfjs-node', native: true };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (preferred === 'tfjs-node') throw new Error(`MNAS_TF_BACKEND=tfjs-node, but it does not load: ${(err as Error).message}. Install @tensorflow/tfjs-node, or choose 'auto'.`);
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') {
      fallbackReason = `tfjs-node failed to load: ${(err as Error).message}`;
    }
  }
  const tf = await quietPlatformNotice(async () => (await import('@tensorflow/tfjs')) as Tf);
  await tf.setBackend('cpu');
  await tf.ready();
  quietCpuNodeHint(tf);
  return { tf, backend: 'tfjs cpu (pure JS)', native: false, fallbackReason };
}

/**
 * The cpu backend prints a "Hi, looks like you are running TensorFlow.js in Node.js ... install
 * tfjs-node" banner on its first tensor. We already know and report the backend, so mark the
 * backend as used instead of turning on prod mode (which would also drop tf's debug checks).
 */
function quietCpuNodeHint(tf: Tf): void {
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}

/**
 * What a second copy of tfjs-core says when it meets the first on tf's one global engine: the Node
 * platform set again, and (when the TFLite runtime's copy loaded first, as it does when a relative
 * target times the reference model before the controller starts) the cpu and webgl backends' ~340
 * kernels registered again. The same kernels of the same version: nothing to act on.
 */
const SECOND_COPY_NOTICES = [
  /^Platform node has already been set\. Overwriting the platform with node\.$/,
  /^(cpu|webgl) backend was already registered\. Reusing existing backend factory\.$/,
  /^The kernel '\w+' for backend '(cpu|webgl)' is already registered$/,
];

/**
 * Runs `load` (which loads a copy of tfjs-core) without the SECOND_COPY_NOTICES. The CLI bundle
 * holds the controller's tfjs and the TFLite runtime package its own bundled tfjs-core; whichever
 * loads second says so on tf's one global engine. Only those exact lines are dropped, and only
 * while loading; every other warning goes through.
 */
export function quietPlatformNotice<T>(load: () => T): T {
  const warn = console.warn;
  const quiet = (...args: unknown[]) => {
    const line = args.length === 1 && typeof args[0] === 'string' ? args[0] : undefined;
    if (line === undefined || !SECOND_COPY_NOTICES.some((re) => re.test(line))) warn.apply(console, args);
  };
  const restore = () => { if (console.warn === quiet) console.warn = warn; };
  console.warn = quiet;
  let result: T;
  try {
    result = load();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}
