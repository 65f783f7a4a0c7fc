// One measurement pass of bench/latency-repeatability.bench.ts, in its own process: times every
// .tflite file listed in argv[2] (one path a line) with exactly the code `latency local` uses
// (latency/localTiming.ts, host lock included) and writes one JSON line per file to argv[3]: the
// figure and the alternatives the bench compares it with (same runs, other statistics).
import * as fs from 'node:fs';
import { timeTfliteBytes } from '../../server/src/latency/localTiming';
import { quantile, trimmedMean } from '../../server/src/util/timing';

const [list, out] = process.argv.slice(2);
const files = fs.readFileSync(list, 'utf8').split('\n').filter(Boolean);
fs.writeFileSync(out, '');
for (const file of files) {
  const t = await timeTfliteBytes(new Uint8Array(fs.readFileSync(file)));
  const cpuSorted = [...t.roundCpu].sort((a, b) => a - b);
  fs.appendFileSync(out, `${JSON.stringify({
    file, ms: t.ms, cpuMin: t.cpuMs, cpuMedian: quantile(cpuSorted, 0.5), wallMin: t.wallMs, wallMedian: t.wallMedian,
    wallTrimmedMean: trimmedMean(t.wall), wallP10: quantile([...t.wall].sort((a, b) => a - b), 0.1),
    rounds: t.rounds, repeats: t.repeats, splitHalfPct: t.splitHalfPct, stable: t.stable, seconds: t.seconds,
    lockWaitMs: t.lock?.waitedMs ?? 0,
  })}\n`);
}
