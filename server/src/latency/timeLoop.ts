// The local timing protocol: warm up, then rounds of inferences (each about `roundMs`), each
// inference timed on the wall clock and each round's process CPU time per inference beside it,
// until two interleaved halves of the rounds agree on the figure (statistic.ts) or a cap is
// reached. The figure is on the CPU clock by default: on this project's shared machines the wall
// clock's minimum rose 70% when the machine was oversubscribed (a 30 ms inference never ran
// without a preemption) while the CPU time's minimum moved 2% (docs/device.md, "Timing
// protocol"). The loop yields to the event loop between rounds so the host lock's heartbeat
// keeps running during a long measurement.
import { type Clock, DEFAULT_STOP, FIGURE_STATISTIC, type SampleSummary, type Statistic, type StopRule, splitHalfPct, statisticOf, stopState, summarizeSamples } from '../util/timing';

export interface TimingProtocol {
  /** Untimed inferences first (default 5, and at least 50 ms of them). */
  warmup?: number;
  /** A round lasts about this long (default 5 ms; at least one inference). */
  roundMs?: number;
  /** Stop rule: split-half agreement bound (%), minimum and maximum rounds. */
  stop?: Partial<StopRule>;
  /** Cap on timed seconds (default 10). */
  maxSeconds?: number;
  /** Clock of the figure (default cpu). */
  clock?: Clock;
}

/** Summary statistics (`ms` the figure, spread = p90 - p10) are on the figure's clock. */
export interface RobustTiming extends SampleSummary {
  /** The clock of `ms` and the statistic taken. */
  clock: Clock;
  statistic: Statistic;
  /** The statistic on each clock: over each round's CPU time per inference, and over every inference's wall time, ms. */
  cpuMs: number;
  wallMs: number;
  /** Median of the per-inference wall times, ms (what load moves most). */
  wallMedian: number;
  /** Split-half disagreement of the figure, %; `stable` when within the bound. */
  splitHalfPct: number;
  stable: boolean;
  boundPct: number;
  /** Timed inferences, rounds and inferences per round. */
  repeats: number;
  rounds: number;
  perRound: number;
  /** Per-inference wall times and per-round CPU times per inference, ms. */
  wall: number[];
  roundCpu: number[];
  /** Timed seconds (without warm-up). */
  seconds: number;
}

export const DEFAULT_PROTOCOL = { warmup: 5, warmupMs: 50, roundMs: 5, maxSeconds: 10 } as const;

const yieldNow = () => new Promise<void>((r) => setImmediate(r));
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/** Times `invoke` (one inference) with the protocol; `statistic` is the figure's (default min). */
export async function timeInvocations(invoke: () => void, protocol: TimingProtocol = {}, statistic: Statistic = FIGURE_STATISTIC): Promise<RobustTiming> {
  const rule: StopRule = { ...DEFAULT_STOP, ...Object.fromEntries(Object.entries(protocol.stop ?? {}).filter(([, v]) => v !== undefined)) };
  for (const [k, v] of Object.entries({ minRounds: rule.minRounds, maxRounds: rule.maxRounds })) {
    if (!Number.isInteger(v) || v < 2) throw new Error(`${k} must be an integer >= 2, got ${v}`);
  }
  if (!(rule.boundPct > 0)) throw new Error(`the split-half bound must be > 0 %, got ${rule.boundPct}`);
  const warmup = protocol.warmup ?? DEFAULT_PROTOCOL.warmup;
  const roundMs = protocol.roundMs ?? DEFAULT_PROTOCOL.roundMs;
  const maxSeconds = protocol.maxSeconds ?? DEFAULT_PROTOCOL.maxSeconds;
  const clock = protocol.clock ?? 'cpu';
  // The stop rule looks at the figure's clock: one CPU value per round, or every wall sample.
  const figureRounds = () => (clock === 'cpu' ? roundCpu.map((c) => [c]) : rounds);

  // Warm-up: `warmup` inferences and at least warmupMs; its fastest inference sizes the rounds.
  let fastest = Infinity;
  const w0 = process.hrtime.bigint();
  for (let i = 0; i < warmup || ms(w0) < DEFAULT_PROTOCOL.warmupMs; i++) {
    const t = process.hrtime.bigint();
    invoke();
    fastest = Math.min(fastest, ms(t));
    if (i % 16 === 15) await yieldNow();
  }
  const perRound = Math.max(1, Math.min(1000, Math.round(roundMs / Math.max(fastest, 1e-3))));

  const rounds: number[][] = [];
  const roundCpu: number[] = [];
  const t0 = process.hrtime.bigint();
  for (;;) {
    const wall: number[] = new Array(perRound);
    const c0 = process.cpuUsage();
    for (let i = 0; i < perRound; i++) {
      const t = process.hrtime.bigint();
      invoke();
      wall[i] = ms(t);
    }
    const c = process.cpuUsage(c0);
    rounds.push(wall);
    roundCpu.push((c.user + c.system) / 1000 / perRound);
    const state = stopState(figureRounds(), rule, statistic);
    if (state !== 'more' || ms(t0) / 1000 >= maxSeconds) break;
    await yieldNow();
  }
  const seconds = ms(t0) / 1000;
  const wall = rounds.flat();
  const half = splitHalfPct(figureRounds(), statistic);
  const wallSummary = summarizeSamples(wall, statistic);
  return {
    ...(clock === 'cpu' ? summarizeSamples(roundCpu, statistic) : wallSummary),
    clock, statistic, cpuMs: statisticOf(roundCpu, statistic), wallMs: wallSummary.ms, wallMedian: wallSummary.median,
    splitHalfPct: half, stable: half <= rule.boundPct, boundPct: rule.boundPct,
    repeats: wall.length, rounds: rounds.length, perRound, wall, roundCpu, seconds,
  };
}
