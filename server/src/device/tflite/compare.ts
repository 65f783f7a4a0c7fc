// How an exported model's output is judged against PyTorch's: float32 rounding grows with the
// size of the values, so the tolerance is relative to the output's scale (its largest magnitude,
// at least 1): a model whose logits are 1e6 differs by ~0.1 when exported correctly, while a
// wrong op, layout or fold is off by a sizeable fraction of the scale.

/** Largest |tflite - torch| allowed, as a fraction of the output scale. */
export const EXPORT_TOLERANCE = 1e-3;

export interface OutputComparison {
  /** max |got - want|; Infinity for different lengths or a NaN. */
  maxAbsDiff: number;
  /** max(1, max |want|): what the difference is measured against. */
  scale: number;
  /** maxAbsDiff / scale. */
  relativeDiff: number;
  ok: boolean;
}

export function compareOutputs(got: ArrayLike<number>, want: ArrayLike<number>, tolerance = EXPORT_TOLERANCE): OutputComparison {
  let d = got.length === want.length ? 0 : Infinity;
  let top = 0;
  for (let i = 0; i < Math.min(got.length, want.length); i++) {
    const diff = Math.abs(got[i] - want[i]);
    d = Number.isNaN(diff) ? Infinity : Math.max(d, diff);
    if (Number.isFinite(want[i])) top = Math.max(top, Math.abs(want[i]));
  }
  const scale = Math.max(1, top);
  const relativeDiff = d / scale;
  return { maxAbsDiff: d, scale, relativeDiff, ok: relativeDiff <= tolerance };
}
