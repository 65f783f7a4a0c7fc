// Least squares for the predictor: the fallback model (per unit kind) and the whole-model
// correction (on whole children). Weighted, lightly ridge-regularised, with non-negative
// coefficients (a feature that "saves" time would extrapolate badly to unseen layers). Normal
// equations solved by Gaussian elimination: the systems are at most 6x6.

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

/**
 * The whole-model correction: measured ≈ ms + scale · Σ units + fitScale · Σ fallback, where Σ
 * units adds each unit's table figure (its fallback where it has none) and Σ fallback adds every
 * unit's fallback prediction. The fallback is a least-squares smoothing of the whole table, so it
 * averages out what one unit's measurement got wrong (a slow stretch of the machine, a
 * neighbour's cache); the whole children decide how much weight each sum gets. Fitted by
 * non-negative least squares on relative error (weights 1 / y²). Fewer than
 * WHOLE_MODEL_MIN_ROWS children fit only the offset and one scale (fitScale 0), fewer than 3 the
 * offset alone.
 */
export interface WholeModelFit { ms: number; scale: number; fitScale: number }
export interface WholeModelRow { units: number; fallback: number; measured: number }
export const WHOLE_MODEL_MIN_ROWS = 30;

const offsetOnly = (rows: readonly WholeModelRow[]): WholeModelFit => ({ ms: rows.reduce((a, r) => a + r.measured - r.units, 0) / rows.length, scale: 1, fitScale: 0 });

export function fitWholeModel(rows: readonly WholeModelRow[]): WholeModelFit {
  if (rows.length === 0) return { ms: 0, scale: 1, fitScale: 0 };
  if (rows.length < 3) return offsetOnly(rows);
  const both = rows.length >= WHOLE_MODEL_MIN_ROWS;
  const X = rows.map((r) => (both ? [1, r.units, r.fallback] : [1, r.units]));
  const fit = fitLinear(X, rows.map((r) => r.measured), { weights: rows.map((r) => 1 / (r.measured * r.measured)), ridge: 1e-6 });
  const [ms, scale, fitScale = 0] = fit.coef;
  // The sums explain under 1% of the time (degenerate data): keep the plain sum, fit the offset alone.
  const mean = (f: (r: WholeModelRow) => number) => rows.reduce((a, r) => a + f(r), 0) / rows.length;
  if (!(scale * mean((r) => r.units) + fitScale * mean((r) => r.fallback) > 0.01 * mean((r) => r.measured))) return offsetOnly(rows);
  // The profile format wants scale > 0: a table the children give no weight keeps a trace of it.
  return { ms, scale: Math.max(scale, 1e-6), fitScale };
}

export function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * (b[i] ?? 0);
  return s;
}
