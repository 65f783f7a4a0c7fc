// The import rules of the code base (docs/architecture.md, "Invariants"), checked by
// `npm run lint`. Folders of server/src form layers; a folder may import its own files and the
// folders listed for it, nothing else (so nothing imports upwards and the layers cannot form a
// loop). The extension (client/) takes from the back end only what is published for it.
// See the graph: npx depcruise server/src --config .dependency-cruiser.cjs --output-type archi | dot -T svg > deps.svg
/** Each folder of server/src and the folders it may import (besides itself). */
const LAYERS = {
  util: [],
  platform: ['util'],
  language: [],
  cost: ['language', 'platform', 'util'],
  analysis: ['language', 'cost', 'util'],
  train: ['language', 'cost', 'platform', 'util'],
  device: ['language', 'cost', 'train', 'platform', 'util'],
  latency: ['language', 'cost', 'analysis', 'train', 'device', 'platform', 'util'],
  search: ['language', 'cost', 'analysis', 'train', 'latency', 'platform', 'util'],
  queue: ['language', 'cost', 'train', 'device', 'latency', 'search', 'platform', 'util'],
  final: ['language', 'cost', 'analysis', 'train', 'device', 'latency', 'search', 'queue', 'platform', 'util'],
  // The fully trained results a report shows: final/store.ts's records.
  report: ['language', 'cost', 'search', 'final', 'util'],
  lsp: ['language', 'cost', 'analysis', 'report', 'util'],
  cli: ['language', 'cost', 'analysis', 'train', 'device', 'latency', 'search', 'queue', 'report', 'final', 'platform', 'util'],
};
const folders = Object.keys(LAYERS);
const alt = (names) => names.join('|');

/** What the extension may import from the back end: the report modules, the events of a search and of a full training, and MNAS's LSP requests. */
const CLIENT_MAY_USE = [
  '^server/src/report/(data|load|page)\\.ts$',
  '^server/src/(search|final)/events\\.ts$',
  '^server/src/lsp/protocol\\.ts$',
];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Files that import each other in a loop: one of them holds something the other side should own.',
      from: {},
      to: { circular: true },
    },
    ...folders.map((f) => ({
      name: `layer-${f}`,
      severity: 'error',
      comment: `server/src/${f}/ may import only ${LAYERS[f].length ? LAYERS[f].join(', ') : 'nothing else of the project'} (.dependency-cruiser.cjs LAYERS).`,
      from: { path: `^server/src/${f}/` },
      to: { path: '^server/src/', pathNot: [`^server/src/(${alt([f, ...LAYERS[f]])})/`] },
    })),
    {
      name: 'entry-points-only-import',
      severity: 'error',
      comment: 'Nothing imports the entry points (server/src/cli.ts, lsp/main.ts, client/src/extension.ts).',
      from: {},
      to: { path: ['^server/src/cli\\.ts$', '^server/src/lsp/main\\.ts$', '^client/src/extension\\.ts$'] },
    },
    {
      name: 'engine-only-from-cli',
      severity: 'error',
      comment: 'Only the CLI runs a search: device, queue and the rest never import the engine.',
      from: { path: '^server/src/', pathNot: ['^server/src/cli/', '^server/src/cli\\.ts$'] },
      to: { path: '^server/src/search/engine\\.ts$' },
    },
    {
      name: 'client-imports-published-modules',
      severity: 'error',
      comment: 'The extension imports from the back end only the report modules, search/events.ts, final/events.ts and the LSP protocol.',
      from: { path: '^client/' },
      to: { path: '^server/', pathNot: CLIENT_MAY_USE },
    },
    {
      name: 'client-bundle-without-cost-model',
      severity: 'error',
      comment: 'dist/client.cjs must not carry the cost model, the language parser or the engine: nothing the client imports may lead to them.',
      from: { path: '^client/src/' },
      to: { path: ['^server/src/cost/', '^server/src/language/parser\\.ts$', '^server/src/analysis/', '^server/src/search/engine\\.ts$'], reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
