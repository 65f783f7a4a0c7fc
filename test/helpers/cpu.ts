// Time limits in tests count this process's CPU time, not wall time: other processes' load
// on a shared machine does not count, an accidental quadratic or a runaway build still does.

/** CPU milliseconds (user + system) of this process since `c0 = process.cpuUsage()`. */
export function cpuMsSince(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}
