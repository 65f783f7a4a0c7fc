// A real TFLite runtime in plain Node: @tensorflow/tfjs-tflite 0.0.1-alpha.10 (pinned exactly in
// package.json; the package pins tfjs-core 4.9.0 as a peer, we run it against 4.22 with
// legacy-peer-deps, which works because only its raw model runner is used here, never tfjs
// tensors). The package ships TFLite's own C++ runtime compiled to WebAssembly (XNNPACK
// kernels) and expects a browser or a web worker. The shim below is the whole adaptation:
//
//   1. `globalThis.self = globalThis`: the loader believes it runs in a web worker (there is no
//      `window`), so it loads its Emscripten script with `importScripts`.
//   2. `self.location`: a file:// URL of the package's wasm/ folder; the worker path of the
//      Emscripten script derives its script directory (where the .wasm is) from it.
//   3. `self.importScripts(url)`: reads the file behind a file:// URL and runs it with
//      vm.runInThisContext (its top-level `var tflite_web_api_ModuleFactory` becomes a global).
//      The threaded builds are rewritten to the NON-threaded ones: Node has no cross-origin
//      isolation and no web workers, and a measurement must be 1 thread anyway.
//   4. `fetch` for file:// URLs: answered from disk as `application/wasm` (WebAssembly's
//      streaming compile needs that content type); every other URL goes to the original fetch.
//   5. The model is created with an explicit `numThreads` (the default path reads `navigator`,
//      which Node 20 does not have).
//
// The wasm folder is found with require.resolve at run time (from this module's folder when
// bundled in dist/*.cjs, from the main script's folder or the working directory otherwise), so
// no import.meta is needed and the same code runs under tsx (ESM) and from the esbuild bundle.
//
// The runtime does NOT fully validate a model (it recomputes shapes, accepts a SOFTMAX with
// beta 0, ...): validation of an exported model is "run it and compare with PyTorch", see
// docs/device.md. Its only error for a bad file is "Can't initialize model"; `loadTflite`
// checks the file identifier and the flatbuffer's bounds first and says what is wrong.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as vm from 'node:vm';
import { DecodeError, decodeModel } from './tflite/schema';
import { startDirs } from '../platform/locate';
import { quietPlatformNotice } from '../platform/tfjs';

export const TFLITE_PACKAGE = '@tensorflow/tfjs-tflite';
export const TFLITE_PACKAGE_VERSION = '0.0.1-alpha.10';

export interface TfliteTensorInfo {
  name: string;
  shape: number[];
  dataType: string;
}

export interface TfliteModel {
  readonly inputs: TfliteTensorInfo[];
  readonly outputs: TfliteTensorInfo[];
  /** Which wasm build runs it: "tflite xnnpack (wasm simd, 1 thread)". */
  readonly runtime: string;
  /** Runs one inference; inputs in the model's layout (NHWC), outputs copied out of wasm memory. */
  run(input: Float32Array | Float32Array[]): Float32Array[];
  /** One inference on the inputs already set (for timing: no copies). */
  invoke(): void;
  close(): void;
}

export interface TfliteLoadOptions { numThreads?: number }

export class TfliteError extends Error {}

// --- the raw runner of the package (tfweb.TFLiteWebModelRunner), only what is used ---------
interface RawTensorInfo { id: number; name: string; shape: string; dataType: string; data(): ArrayBufferView }
interface RawRunner {
  getInputs(): RawTensorInfo[];
  getOutputs(): RawTensorInfo[];
  infer(): boolean;
  cleanUp(): void;
}
interface TfliteModule {
  loadTFLiteModel(model: ArrayBuffer, options: { numThreads: number }): Promise<{ modelRunner: RawRunner }>;
  setWasmPath(path: string): void;
  getWasmFeatures(): Promise<{ simd: boolean; multiThreading: boolean }>;
}

/** A require function that finds the package, and the package's folder. */
function locatePackage(): { req: NodeJS.Require; dir: string } {
  const tried: string[] = [];
  for (const dir of startDirs()) {
    const req = createRequire(path.join(dir, 'noop.js'));
    try {
      const pkg = req.resolve(`${TFLITE_PACKAGE}/package.json`);
      return { req, dir: path.dirname(pkg) };
    } catch {
      tried.push(dir);
    }
  }
  throw new TfliteError(`cannot find ${TFLITE_PACKAGE} (looked from ${tried.join(', ')}). Run \`npm install\` in the mnas-studio folder (it is a dependency, pinned to ${TFLITE_PACKAGE_VERSION}).`);
}

let captured: string[] | null = null;
function runtimeLog(...args: unknown[]): void {
  const line = args.map(String).join(' ');
  if (captured) captured.push(line);
  else if (!line.startsWith('INFO: ')) console.warn(`tflite: ${line}`);
}

let loading: Promise<{ mod: TfliteModule; build: string }> | null = null;

function installShim(wasmDir: string): void {
  const g = globalThis as Record<string, unknown>;
  const wasmUrl = pathToFileURL(wasmDir + path.sep).href;
  if (g.self === undefined) g.self = globalThis;
  const self = g.self as Record<string, unknown>;
  self.location = { href: wasmUrl, origin: 'file://', protocol: 'file:' };
  self.importScripts = (...urls: string[]) => {
    for (const url of urls) {
      let file = url.startsWith('file:') ? fileURLToPath(url) : path.resolve(wasmDir, url);
      // Non-threaded build: no SharedArrayBuffer workers in Node (and 1 thread is what we time).
      file = file.replace(/_threaded\.js$/, '.js');
      vm.runInThisContext(fs.readFileSync(file, 'utf8'), { filename: file });
      // The runtime's log lines (printErr) go through `runtimeLog`: captured while a model
      // loads (its errors then explain a refusal), INFO lines dropped, the rest to stderr.
      const factory = g.tflite_web_api_ModuleFactory;
      if (typeof factory === 'function' && !(factory as { mnasWrapped?: boolean }).mnasWrapped) {
        const wrapped = (args: Record<string, unknown>) => (factory as (a: Record<string, unknown>) => unknown)({ ...args, printErr: runtimeLog, print: runtimeLog });
        (wrapped as { mnasWrapped?: boolean }).mnasWrapped = true;
        g.tflite_web_api_ModuleFactory = wrapped;
      }
    }
  };
  const originalFetch = globalThis.fetch;
  const shimmed = (globalThis.fetch as { mnasFileShim?: boolean }).mnasFileShim;
  if (!shimmed) {
    const fileFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (url.startsWith('file:')) {
        const file = fileURLToPath(url);
        const data = await fs.promises.readFile(file);
        return new Response(data, { headers: { 'Content-Type': file.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream' } });
      }
      return originalFetch(input, init);
    };
    (fileFetch as { mnasFileShim?: boolean }).mnasFileShim = true;
    globalThis.fetch = fileFetch as typeof fetch;
  }
}

/** Loads the package once per process (shim, wasm path, Emscripten module). */
function tfliteModule(): Promise<{ mod: TfliteModule; build: string }> {
  loading ??= (async () => {
    const { req, dir } = locatePackage();
    const version = (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    if (version !== TFLITE_PACKAGE_VERSION) {
      throw new TfliteError(`${TFLITE_PACKAGE} ${version} is installed but the TFLite shim was written and tested for ${TFLITE_PACKAGE_VERSION}; run \`npm ci\` to restore the pinned version.`);
    }
    const wasmDir = path.join(dir, 'wasm');
    if (!fs.existsSync(path.join(wasmDir, 'tflite_web_api_cc.wasm'))) {
      throw new TfliteError(`${wasmDir}: the TFLite wasm files are missing; reinstall ${TFLITE_PACKAGE} (\`npm ci\`).`);
    }
    installShim(wasmDir);
    // The package carries its own tfjs-core, which registers the Node platform again.
    const mod = quietPlatformNotice(() => req(TFLITE_PACKAGE) as TfliteModule);
    // No setWasmPath: requiring the package already started loading the Emscripten module
    // with an empty path, resolved against self.location (the wasm folder); a second path
    // would load (and compile) the same wasm a second time.
    const features = await mod.getWasmFeatures();
    return { mod, build: features.simd ? 'wasm simd' : 'wasm' };
  })();
  loading.catch(() => { loading = null; });
  return loading;
}

const shapeOf = (s: string): number[] => (s === '' ? [] : s.split(',').map(Number));
const info = (t: RawTensorInfo): TfliteTensorInfo => ({ name: t.name, shape: shapeOf(t.shape), dataType: t.dataType });

/**
 * Checks what the runtime would only report as "Can't initialize model": size, root offset,
 * file identifier "TFL3". Throws a TfliteError that names the problem.
 */
export function checkTfliteBuffer(buffer: Uint8Array): void {
  if (buffer.length < 8) {
    throw new TfliteError(`not a TFLite model: ${buffer.length} bytes (a .tflite file is a flatbuffer of at least a few hundred bytes).`);
  }
  const ident = String.fromCharCode(...buffer.subarray(4, 8));
  if (ident !== 'TFL3') {
    throw new TfliteError(`not a TFLite model: file identifier ${JSON.stringify(ident)} at bytes 4..7, expected "TFL3" (wrong file, or a corrupt header).`);
  }
  const root = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength).getUint32(0, true);
  if (root + 4 > buffer.length) {
    throw new TfliteError(`truncated TFLite model: the root table is at byte ${root} but the file has ${buffer.length} bytes (the file was cut short; export it again).`);
  }
  try {
    decodeModel(buffer);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    throw new TfliteError(`truncated or corrupt TFLite model (${buffer.length} bytes): ${e.message}. Export it again.`);
  }
}

/** Loads a .tflite flatbuffer into the wasm runtime. */
export async function loadTflite(buffer: Uint8Array, options: TfliteLoadOptions = {}): Promise<TfliteModel> {
  checkTfliteBuffer(buffer);
  const numThreads = options.numThreads ?? 1;
  const { mod, build } = await tfliteModule();
  // The runner copies the model into wasm memory; give it a standalone ArrayBuffer.
  const copy = buffer.slice().buffer;
  let runner: RawRunner;
  captured = [];
  try {
    runner = (await mod.loadTFLiteModel(copy, { numThreads })).modelRunner;
  } catch (e) {
    const msg = (e as Error).message;
    const log = captured.filter((l) => !l.startsWith('INFO: ')).slice(-5);
    throw new TfliteError(`the TFLite runtime refused the model: ${msg}${log.length ? ` (runtime log: ${log.join(' | ')})` : ''}. The file passed the header checks, so it is corrupt inside, or uses an op or op version this runtime does not support.`);
  } finally {
    captured = null;
  }
  const rawIn = runner.getInputs();
  const rawOut = runner.getOutputs();
  const inputs = rawIn.map(info);
  const outputs = rawOut.map(info);
  let closed = false;
  const live = () => {
    if (closed) throw new TfliteError('this TFLite model was closed');
  };
  const invoke = () => {
    live();
    if (!runner.infer()) throw new TfliteError('TFLite inference failed (the runtime returned false)');
  };
  return {
    inputs, outputs,
    runtime: `tflite xnnpack (${build}, ${numThreads} thread${numThreads === 1 ? '' : 's'})`,
    invoke,
    run(input) {
      live();
      const list = Array.isArray(input) ? input : [input];
      if (list.length !== rawIn.length) throw new TfliteError(`the model has ${rawIn.length} input(s), got ${list.length}`);
      list.forEach((x, i) => {
        const dst = rawIn[i].data() as Float32Array;
        if (!(dst instanceof Float32Array)) throw new TfliteError(`input ${inputs[i].name} is ${inputs[i].dataType}; only float32 inputs are supported`);
        if (dst.length !== x.length) {
          throw new TfliteError(`input ${inputs[i].name}: expected ${dst.length} values (shape [${inputs[i].shape.join(', ')}], NHWC), got ${x.length}`);
        }
        dst.set(x);
      });
      invoke();
      return rawOut.map((t) => Float32Array.from(t.data() as Float32Array));
    },
    close() {
      if (closed) return;
      closed = true;
      runner.cleanUp();
    },
  };
}
