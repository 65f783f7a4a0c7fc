// A child process of the language benchmark: cold validations of one file by one bundle of the
// language core, alone in its process, so that two builds compared in pairs do not share a heap
// (in one process each build's garbage is collected during the other's runs). Prints one JSON line.
//
//   node --import tsx bench/lib/coldValidate.ts CORE.cjs FILE WARMUPS REPEATS
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { Core } from './bundle';
import { summarize } from './result';

/** CPU time of this process's main thread in ms (Linux; clock ticks of 10 ms), or NaN elsewhere. */
function mainThreadMs(): number {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

const [coreFile, file, warmups, repeats] = process.argv.slice(2);
const core = createRequire(import.meta.url)(path.resolve(coreFile)) as Core;
const text = fs.readFileSync(file, 'utf8');
const host = { read: () => undefined };
const once = () => {
  core.clearParseCache();
  core.clearModelCache();
  return core.analyze(file, text, host, new core.AnalysisCache());
};
for (let i = 0; i < Number(warmups); i++) once();
const n = Number(repeats);
const wall: number[] = [];
const cpu0 = process.cpuUsage();
const main0 = mainThreadMs();
for (let i = 0; i < n; i++) {
  const t0 = performance.now();
  once();
  wall.push(performance.now() - t0);
}
const cpu = process.cpuUsage(cpu0);
const w = summarize(wall);
console.log(JSON.stringify({
  wallMedian: w.median, wallMin: w.min, wallMean: w.mean,
  cpuMean: (cpu.user + cpu.system) / 1000 / n,
  mainThreadCpuMean: (mainThreadMs() - main0) / n,
}));
