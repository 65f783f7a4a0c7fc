// The language core as it ships: bundled by esbuild with the options of scripts/build.mjs
// (CommonJS, node20, no keepNames), so benchmarks time the code the CLI and the server run
// rather than tsx's on-the-fly transform (which wraps every closure in a `__name` call).
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { build } from 'esbuild';
import { GENERATED, ROOT } from './generate';

export type Core = typeof import('./core');

/** Where `bundledCore` writes the bundle (a child process can load it too). */
export const CORE_BUNDLE = path.join(GENERATED, 'language-core.cjs');

export async function bundledCore(): Promise<Core> {
  const outfile = CORE_BUNDLE;
  await build({
    entryPoints: [path.join(ROOT, 'bench', 'lib', 'core.ts')],
    outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning',
    external: ['vscode', '@tensorflow/tfjs-node'],
  });
  const require = createRequire(import.meta.url);
  delete require.cache[outfile];
  return require(outfile) as Core;
}
