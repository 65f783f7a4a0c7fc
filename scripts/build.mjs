// Bundles the language server, the CLI and (when present) the extension client with esbuild.
// CommonJS output (.cjs) for Node and VS Code; `vscode` stays external. Type-checking is
// separate (`npm run typecheck`).
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const production = process.argv.includes('--production');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  // tfjs-node is optional (it cannot install everywhere); tfjs picks it up at run time.
  external: ['vscode', '@tensorflow/tfjs-node'],
};

const entries = [
  { entryPoints: ['server/src/lsp/main.ts'], outfile: 'dist/server.cjs' },
  { entryPoints: ['server/src/cli.ts'], outfile: 'dist/cli.cjs' },
];
if (existsSync('client/src/extension.ts')) entries.push({ entryPoints: ['client/src/extension.ts'], outfile: 'dist/client.cjs' });

await Promise.all(entries.filter((e) => existsSync(e.entryPoints[0])).map((e) => build({ ...common, ...e })));

// The results webview bundle and the run-time files the packaged extension ships beside dist/.
if (existsSync('client/build.mjs')) await import(new URL('../client/build.mjs', import.meta.url).href);
