// Language server entry point (bundled to dist/server.cjs). The transport comes from the
// command line: `--stdio` or `--node-ipc`.
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from './server';

startServer(createConnection(ProposedFeatures.all));
