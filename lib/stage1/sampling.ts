// Sparse continuous sampling (MIST §3.2): L sub-bags of T consecutive clips spread evenly over
// the video, with one random shift shared by all sub-bags, so that a bag sees short runs of
// context around each position instead of isolated clips.
import { z } from 'zod';
import { ErrorCode, MistError } from '../errors.js';
import type { Rng } from '../rng.js';
import { parseOptions } from '../options.js';

// zod 4 gives a schema's own error to every check chained on it.
const posInt = (what: string) => z.int({ error: `must be ${what}` }).positive();

/** Options of sparse continuous sampling: L sub-bags of T consecutive clips each. */
export const SparseSamplingOptionsSchema = z.strictObject({
  L: posInt('a positive integer (number of sub-bags)'),
  T: posInt('a positive integer (clips per sub-bag)'),
});
/** L sub-bags of T consecutive clips each. */
export type SparseSamplingOptions = z.infer<typeof SparseSamplingOptionsSchema>;

function checkClips(n: unknown): number {
  if (!Number.isInteger(n) || (n as number) < 1) {
    throw new MistError(ErrorCode.ARG, `clip count must be a positive integer (got ${String(n)})`);
  }
  return n as number;
}

/**
 * The first L values of floor(numpy.linspace(0, stop, L + 1)), with numpy's own arithmetic
 * (i * step, step = stop / L computed once), so that indices match the authors' Python even
 * when step is not a binary fraction; the last value (stop itself) starts no sub-bag. Sync.
 */
function subBagStarts(stop: number, L: number): Int32Array {
  const step = stop / L;
  const out = new Int32Array(L);
  for (let i = 0; i < L; i++) out[i] = Math.floor(i * step);
  return out;
}

/**
 * The number of possible shifts for a video of n clips: (n − T) div (L + 1), or 1 when that
 * quotient is below 1 (then the only shift is 0). Sync. Throws ERR_MIST_ARG for bad input.
 */
export function sparseShiftCount(n: number, options: SparseSamplingOptions): number {
  checkClips(n);
  const { L, T } = parseOptions(SparseSamplingOptionsSchema, options, 'sampling options');
  return Math.max(1, Math.floor((n - T) / (L + 1)));
}

/**
 * Sparse continuous sampling with a given shift. Sync. Returns L·T clip indices in
 * [0, n − 1] (Int32Array, sub-bag after sub-bag); repeats when n is small. Throws
 * ERR_MIST_ARG when shift is outside [0, sparseShiftCount(n, options)).
 */
export function sparseContinuousIndices(n: number, options: SparseSamplingOptions, shift: number): Int32Array {
  checkClips(n);
  const { L, T } = parseOptions(SparseSamplingOptionsSchema, options, 'sampling options');
  const count = sparseShiftCount(n, { L, T });
  if (!Number.isInteger(shift) || shift < 0 || shift >= count) {
    throw new MistError(ErrorCode.ARG, `shift must be an integer in [0, ${count}) (got ${String(shift)})`);
  }
  // linspace runs to n − T, which is negative when n < T: floor then goes towards −∞ and the
  // clamp below maps those positions onto clip 0.
  const starts = subBagStarts(n - T, L);
  const out = new Int32Array(L * T);
  for (let i = 0; i < L; i++) {
    const s = starts[i]! + shift;
    for (let t = 0; t < T; t++) out[i * T + t] = Math.min(Math.max(s + t, 0), n - 1);
  }
  return out;
}

/**
 * MIST's sparse continuous sampling of a video of n clips: starts = floor(linspace(0, n − T,
 * L + 1)) + shift, with one shift drawn uniformly from [0, (n − T) div (L + 1)) for the whole
 * video (0 when the quotient is below 1); sub-bag i covers starts[i] … starts[i] + T − 1 and the
 * first L sub-bags are kept. Sync; draws one rng.int. Returns L·T indices (Int32Array),
 * clamped into [0, n − 1]. Throws ERR_MIST_ARG for bad input.
 */
export function sparseContinuousSample(n: number, options: SparseSamplingOptions, rng: Rng): Int32Array {
  const count = sparseShiftCount(n, options);
  // Always draw, even when count is 1, so the rng stream does not depend on video lengths.
  const shift = rng.int(0, count);
  return sparseContinuousIndices(n, options, shift);
}

/**
 * The paper's ablation baseline "uniform sampling" (Table 4): the same number of clips per bag
 * (count = L·T) but as isolated, evenly spaced single clips, i.e. sparse continuous sampling
 * with `count` sub-bags of T = 1 (shared random shift in [0, (n − 1) div (count + 1))). The
 * bag score is then the top-k mean with the same k. Sync; draws one rng.int. Returns `count`
 * indices in [0, n − 1] (Int32Array). Throws ERR_MIST_ARG for bad input.
 */
export function uniformSample(n: number, count: number, rng: Rng): Int32Array {
  return sparseContinuousSample(n, { L: count, T: 1 }, rng);
}
