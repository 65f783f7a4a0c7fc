// Least squares for the fallback model: weighted, lightly ridge-regularised, with
// non-negative coefficients (a feature that "saves" time would extrapolate badly to unseen
// layers). Normal equations solved by Gaussian elimination: the systems are at most 6x6.

export interface LinearFit {
  coef: number[];
  /** Rows fitted. */
  n: number;
  /** Root mean square of the relative residuals, in percent. */
  rmsePct: number;
}

/** Solves A x = b (A square) by Gaussian elimination with partial pivoting; null if singular. */
export function solve(A: number[][], b: number[]): number[] | null {
  const n = b.length;
  const m = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    if (Math.abs(m[p][c]) < 1e-12) return null;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      if (f !== 0) for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  return m.map((row, i) => row[n] / row[i]);
}

export interface FitOptions {
  /** Row weights (default: 1 / y, a compromise between absolute and relative error). */
  weights?: number[];
  /** Ridge strength relative to each column's scale (default 1e-6). */
  ridge?: number;
  /** Columns allowed in the fit (default all); the others get coefficient 0. */
  use?: boolean[];
}

/** Non-negative weighted least squares of y on the columns of X. */
export function fitLinear(X: number[][], y: number[], opts: FitOptions = {}): LinearFit {
  const p = X[0]?.length ?? 0;
  const w = opts.weights ?? y.map((v) => 1 / Math.max(Math.abs(v), 1e-9));
  const ridge = opts.ridge ?? 1e-6;
  const active = opts.use ? [...opts.use] : new Array<boolean>(p).fill(true);
  let coef = new Array<number>(p).fill(0);
  for (let round = 0; round <= p; round++) {
    const cols = active.map((a, j) => (a ? j : -1)).filter((j) => j >= 0);
    if (cols.length === 0) break;
    const A = cols.map(() => new Array<number>(cols.length).fill(0));
    const b = new Array<number>(cols.length).fill(0);
    X.forEach((row, i) => {
      cols.forEach((cj, a) => {
        b[a] += w[i] * row[cj] * y[i];
        cols.forEach((ck, c) => { A[a][c] += w[i] * row[cj] * row[ck]; });
      });
    });
    cols.forEach((_, a) => { A[a][a] += ridge * (A[a][a] || 1); });
    const sol = solve(A, b);
    coef = new Array<number>(p).fill(0);
    if (!sol) { active[cols[cols.length - 1]] = false; continue; }
    cols.forEach((cj, a) => { coef[cj] = sol[a]; });
    // Drop the most negative coefficient and solve again.
    let worst = -1;
    for (const cj of cols) if (coef[cj] < 0 && (worst < 0 || coef[cj] < coef[worst])) worst = cj;
    if (worst < 0) break;
    active[worst] = false;
    coef[worst] = 0;
  }
  coef = coef.map((c) => (c < 0 ? 0 : c));
  const rel = X.map((row, i) => (dot(coef, row) - y[i]) / y[i]);
  const rmsePct = y.length ? 100 * Math.sqrt(rel.reduce((a, r) => a + r * r, 0) / y.length) : 0;
  return { coef, n: y.length, rmsePct };
}

export function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * (b[i] ?? 0);
  return s;
}
