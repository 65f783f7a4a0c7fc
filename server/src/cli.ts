// The `mnas` command line: the same jobs as the extension, headless.
import { Command, CommanderError } from 'commander';
import { check, renderCheck } from './cli/check';
import { estimate, renderEstimate } from './cli/estimate';
import { CliError } from './cli/load';

export function buildProgram(): Command {
  const program = new Command('mnas')
    .description('MNAS Studio: a language for mobile networks and search spaces, an exact cost model, and MnasNet search.')
    .version('0.1.0')
    .showHelpAfterError('(run `mnas --help` for usage)');

  program.command('check')
    .description('Report parse and semantic errors of .mnas files (exit code 1 on errors).')
    .argument('<files...>', '.mnas files')
    .option('--json', 'machine-readable output')
    .action((files: string[], opts: { json?: boolean }) => {
      const r = check(files);
      console.log(opts.json ? JSON.stringify(r, null, 2) : renderCheck(r, files.length));
      if (r.errors > 0) process.exitCode = 1;
    });

  program.command('estimate')
    .description('Output shapes, exact params and mult-adds per block for each model; size and ranges for each space.')
    .argument('<file>', 'a .mnas file')
    .option('--model <name>', 'only this model or space')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { json?: boolean; model?: string }) => {
      const r = estimate(file, opts.model);
      console.log(opts.json ? JSON.stringify(r, null, 2) : renderEstimate(r));
      if (r.errors > 0) process.exitCode = 1;
    });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    if (e instanceof CliError || e instanceof Error) {
      console.error(`mnas: ${e.message}`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}

void main(process.argv);
