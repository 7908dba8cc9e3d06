// Pseudo labels from raw generator scores: the refinement of MIST appendix B.2. The files that
// carry them to stage 2 are lib/data/pseudo-labels.ts.
import { z } from 'zod';
import { ErrorCode, MistError } from '../errors.js';
import { parseOptions } from '../options.js';

/** Options of refinePseudoLabels. */
export const RefineOptionsSchema = z.strictObject({
  /** Anomalous videos are min-max normalised after smoothing; normal ones are not. */
  anomalous: z.boolean({ error: 'must be true or false' }),
});
/** Options of refinePseudoLabels(). */
export type RefineOptions = z.infer<typeof RefineOptionsSchema>;

/** One pass of a width-5 moving average whose window repeats the edge values past the ends. */
function boxFilter5(x: Float64Array): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i - 2; j <= i + 2; j++) s += x[Math.min(Math.max(j, 0), n - 1)]!;
    out[i] = s / 5;
  }
  return out;
}

/**
 * Turns one video's raw clip scores into pseudo labels: a width-5 box filter applied twice
 * (each pass pads 2 values on each side by repeating the edge value, so the length stays),
 * then, for anomalous videos, min-max normalisation to [0, 1], skipped when the video has
 * fewer than 2 clips or all smoothed scores are equal. Sync; works in float64. Returns a new
 * Float32Array. Throws ERR_MIST_ARG for bad options or a non-finite score.
 */
export function refinePseudoLabels(scores: ArrayLike<number>, options: RefineOptions): Float32Array {
  const { anomalous } = parseOptions(RefineOptionsSchema, options, 'refine options');
  const x = Float64Array.from(scores);
  if (!x.every(Number.isFinite)) throw new MistError(ErrorCode.ARG, 'scores must be finite numbers');
  const y = boxFilter5(boxFilter5(x));
  // One clip, or all equal: hi = lo, and the normalisation is skipped by its own guard.
  if (anomalous) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of y) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    if (hi > lo) for (let i = 0; i < y.length; i++) y[i] = (y[i]! - lo) / (hi - lo);
  }
  return Float32Array.from(y);
}
