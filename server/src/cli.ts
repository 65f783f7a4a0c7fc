// The `mnas` command line: the same jobs as the extension, headless.
import { Command, CommanderError } from 'commander';
import { check, renderCheck } from './cli/check';
import { estimate, renderEstimate } from './cli/estimate';
import { CliError } from './cli/load';
import { report, searchCommand, type SearchCliOptions } from './cli/search';
import { reportHtmlCommand } from './cli/reportHtml';
import { register as registerCalibrate } from './cli/calibrate';
import { register as registerDevices } from './cli/devices';
import { register as registerExport } from './cli/export';
import { register as registerTrain } from './cli/train';
import { redisFlags, register as registerWorker } from './cli/worker';

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
    .option('--profile <name>', 'also predict each model\'s latency (total and per block) on this device profile: a name (pixel1-published, or one `mnas calibrate` wrote) or a path')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { json?: boolean; model?: string; profile?: string }) => {
      const r = estimate(file, opts.model, opts.profile);
      console.log(opts.json ? JSON.stringify(r, null, 2) : renderEstimate(r));
      if (r.errors > 0) process.exitCode = 1;
    });
  const searchCmd = program.command('search')
    .description('Run a MnasNet search: sample children, train each on the proxy task, time it, update the controller.')
    .argument('[file]', 'a .mnas file with a search section (not needed with --resume)')
    .option('--search <name>', 'which search of the file (default: the first)')
    .option('--out <dir>', 'parent folder for the run folder', 'mnas-runs')
    .option('--seed <n>', 'seed (default: the file\'s, else 1)')
    .option('--budget <n>', 'total children (overrides the file; extends a resumed run)')
    .option('--strategy <rl|random>', 'the RL controller or the random baseline')
    .option('--resume <run>', 'continue a run folder')
    .option('--events <ndjson>', 'machine-readable events on stdout, one JSON object per line')
    .option('--python <path>', 'Python interpreter with torch (default: MNAS_PYTHON, /usr/bin/python3, python3)')
    .option('--workers <n>', 'training worker processes (default: one per 2 cores)')
    .option('--backend <torch|tfjs|auto>', 'child training: PyTorch worker, TensorFlow.js (slow without tfjs-node), or auto', 'auto')
    .option('--queue [url]', 'evaluate children on `mnas worker` processes through Redis: redis://HOST:6379 (default: MNAS_REDIS_URL)')
    .option('--job-attempts <n>', 'with --queue: tries per job before its child is recorded as failed', '2');
  redisFlags(searchCmd)
    .action(async (file: string | undefined, opts: SearchCliOptions) => {
      process.exitCode = await searchCommand(file, opts);
    });

  program.command('report')
    .description('Summarise a run folder: best children, Pareto front, progress.')
    .argument('<run>', 'a run folder')
    .option('--json', 'machine-readable output')
    .option('--html', 'write a standalone HTML report with the same charts as the VS Code panel')
    .option('-o, --output <file>', 'with --html: the file (default RUN/report.html)')
    .action((run: string, opts: { json?: boolean; html?: boolean; output?: string }) => {
      if (opts.html) {
        console.log(`wrote ${reportHtmlCommand(run, opts.output)}`);
        return;
      }
      console.log(report(run, !!opts.json));
    });
  registerTrain(program);
  registerDevices(program);
  registerExport(program);
  registerCalibrate(program);
  registerWorker(program);
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
