// Seeded, stratified selection shared by every proxy dataset (mnist, folder, cifar10).
// mulberry32 + Fisher-Yates per class, counts by largest remainder: the same seed and the same
// class sizes give the same split on every machine.

/** mulberry32: small, fast, and identical everywhere for a given seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * Splits `total` over classes in proportion to `sizes` (largest remainder), so each class
 * gets floor or ceil of its share, never more than `caps`. Ties go to the lower class.
 */
export function allocate(total: number, sizes: number[], caps: number[]): number[] {
  const all = sizes.reduce((a, b) => a + b, 0);
  const exact = sizes.map((n) => (all === 0 ? 0 : (total * n) / all));
  const out = exact.map((x, c) => Math.min(Math.floor(x), caps[c]));
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, c) => c).sort((a, b) => (exact[b] - Math.floor(exact[b])) - (exact[a] - Math.floor(exact[a])) || a - b);
  // First one extra per class by remainder; then (only if caps forced it) wherever room is left.
  for (const c of order) if (left > 0 && out[c] < caps[c] && out[c] < Math.ceil(exact[c])) { out[c]++; left--; }
  for (const c of order) while (left > 0 && out[c] < caps[c]) { out[c]++; left--; }
  if (left > 0) throw new Error(`cannot allocate ${total} items within the class sizes`);
  return out;
}

export interface Picked { cls: number; index: number }

/** Seeded stratified split of exact sizes: per class a seeded shuffle, train first, test from the rest (disjoint). */
export function stratifiedSplit(classSizes: number[], train: number, test: number, seed: number): { train: Picked[]; test: Picked[] } {
  const trainPer = allocate(train, classSizes, classSizes);
  const testPer = allocate(test, classSizes, classSizes.map((n, c) => n - trainPer[c]));
  const rand = mulberry32(seed);
  const tr: Picked[] = [];
  const te: Picked[] = [];
  classSizes.forEach((n, cls) => {
    const idx = shuffle(Array.from({ length: n }, (_, i) => i), rand);
    for (let i = 0; i < trainPer[cls]; i++) tr.push({ cls, index: idx[i] });
    for (let i = 0; i < testPer[cls]; i++) te.push({ cls, index: idx[trainPer[cls] + i] });
  });
  return { train: shuffle(tr, rand), test: shuffle(te, rand) };
}

/** Per-class counts of a split's labels. */
export function countClasses(labels: Uint8Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const l of labels) counts[l]++;
  return counts;
}
