// Clip scores to frame scores, and Sultani's 32-segment layout.
//
// Sultani et al. (CVPR 2018) pool the C3D features of a video's N clips into 32 segments with
// the MATLAB map t = round(linspace(1, N, 33)): segment i (1-based) is clips t(i) .. t(i+1)-1,
// or clip t(i) alone when that range is empty. Their evaluator spreads segment scores back the
// same way and repeats the last score to the end of the video, so the last clip always takes
// segment 32's score. Two properties make this exact in floating point: 1 + i·(N−1)/32 is
// exact for any N below 2^48 (32 is a power of two), and MATLAB's round() rounds halves away
// from zero, which for these positive values is Math.round (numpy's round would not be: it
// rounds halves to even).
import { ErrorCode, MistError } from '../errors.js';
import { MAX_FRAMES } from '../data/lists.js';
import { checkAllocation } from '../memory.js';
import type { FeatureArray } from '../data/types.js';

/** The most segments a video may be split into (Sultani: 32); bounds the loops over them. */
export const MAX_SEGMENTS = 2 ** 20;

/** A half-open range of clip indices [start, end), 0-based. */
export interface ClipRange {
  start: number;
  end: number;
}

// Every count is bounded before a loop or an allocation uses it: frames and clips by the
// 2^30 frames a video may have (MAX_FRAMES), segments by MAX_SEGMENTS.
function checkCount(n: number, what: string, max = MAX_FRAMES): void {
  if (!Number.isInteger(n) || n < 0)
    throw new MistError(ErrorCode.ARG, `${what} must be a non-negative integer (got ${String(n)})`);
  if (n > max) throw new MistError(ErrorCode.ARG, `${what} must be at most ${max} (got ${n})`);
}

function checkSegments(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1)
    throw new MistError(ErrorCode.ARG, `${what} must be a positive integer (got ${String(n)})`);
  if (n > MAX_SEGMENTS) throw new MistError(ErrorCode.ARG, `${what} must be at most ${MAX_SEGMENTS} (got ${n})`);
}

function checkClipLength(L: number): void {
  if (!Number.isInteger(L) || L < 1 || L > MAX_FRAMES)
    throw new MistError(ErrorCode.ARG, `clipLength must be a positive integer (got ${String(L)})`);
}

/**
 * The clips each of Sultani's segments covers, for a video of `clipCount` clips
 * (floor(frames / 16)): 0-based half-open ranges from round(linspace(1, N, segments + 1)).
 * Sync. Returns [] for 0 clips. Throws ERR_MIST_ARG for a bad count.
 */
export function segmentsToClips(clipCount: number, segments = 32): ClipRange[] {
  checkCount(clipCount, 'clipCount');
  checkSegments(segments, 'segments');
  if (clipCount === 0) return [];
  const t = Array.from({ length: segments + 1 }, (_, i) => Math.round(1 + (i * (clipCount - 1)) / segments));
  const out: ClipRange[] = [];
  for (let i = 0; i < segments; i++) {
    const ss = t[i] as number; // 1-based first clip
    const ee = (t[i + 1] as number) - 1; // 1-based last clip, ss - 1 for an empty range
    out.push({ start: ss - 1, end: Math.max(ss, ee) });
  }
  return out;
}

/**
 * Per-clip scores from Sultani-style segment scores for a video with `frames` frames, as
 * Sultani's evaluator spreads them (later segments overwrite earlier ones on a shared clip;
 * the last clip takes the last segment's score). Sync. Returns floor(frames / 16) scores.
 * Throws ERR_MIST_ARG for a bad frame count or an empty score list.
 */
export function segmentScoresToClips(
  segmentScores: ArrayLike<number>,
  frames: number,
  options?: { clipLength?: number },
): Float32Array {
  checkCount(frames, 'frames');
  const L = options?.clipLength ?? 16;
  checkClipLength(L);
  const S = segmentScores?.length;
  if (S === 0) throw new MistError(ErrorCode.ARG, 'segmentScoresToClips: no segment scores');
  checkSegments(S, 'segmentScoresToClips: the number of segment scores');
  const N = Math.floor(frames / L);
  const out = new Float32Array(N);
  const ranges = segmentsToClips(N, S);
  ranges.forEach((r, i) => out.fill(segmentScores[i] as number, r.start, r.end));
  if (N > 0) out[N - 1] = segmentScores[S - 1] as number;
  return out;
}

/**
 * Sultani's segment features: the mean of each segment's clip features, then L2-normalised
 * (unless `normalize` is false). Sync. `features` is [N, D] (crops: average them first).
 * Throws ERR_MIST_SHAPE for another rank or no clips.
 */
export function segmentFeatures(
  features: FeatureArray,
  options?: { segments?: number; normalize?: boolean },
): FeatureArray {
  if (features.shape.length !== 2)
    throw new MistError(ErrorCode.SHAPE, `segmentFeatures: need [N, D], got [${features.shape.join(', ')}]`);
  const [N, D] = features.shape as [number, number];
  if (N === 0) throw new MistError(ErrorCode.SHAPE, 'segmentFeatures: no clips');
  const S = options?.segments ?? 32;
  const ranges = segmentsToClips(N, S);
  const out = new Float32Array(checkAllocation(S * D, 4, `segmentFeatures: ${S} segments x ${D}`) / 4);
  const acc = new Float64Array(D);
  ranges.forEach((r, i) => {
    acc.fill(0);
    for (let c = r.start; c < r.end; c++)
      for (let d = 0; d < D; d++) acc[d] = (acc[d] as number) + (features.data[c * D + d] as number);
    let norm = 0;
    const k = r.end - r.start;
    for (let d = 0; d < D; d++) {
      acc[d] = (acc[d] as number) / k;
      norm += (acc[d] as number) ** 2;
    }
    const scale = options?.normalize === false || norm === 0 ? 1 : 1 / Math.sqrt(norm);
    for (let d = 0; d < D; d++) out[i * D + d] = (acc[d] as number) * scale;
  });
  return { data: out, shape: [S, D] };
}

/**
 * Frame scores from clip scores: clip i's score covers frames [16i, 16i + 16). Returns
 * `frames` scores. When the clips cover fewer frames, `fill: 'last'` repeats the last clip's
 * score (Sultani's evaluator does this); the default `'error'` throws ERR_MIST_SHAPE. Extra
 * clips beyond `frames` are ignored. Sync.
 */
export function clipScoresToFrames(
  clipScores: ArrayLike<number>,
  frames: number,
  options?: { clipLength?: number; fill?: 'error' | 'last' },
): Float32Array {
  checkCount(frames, 'frames');
  const L = options?.clipLength ?? 16;
  checkClipLength(L);
  const N = clipScores?.length;
  if (typeof N !== 'number' || !Number.isSafeInteger(N) || N < 0) {
    throw new MistError(ErrorCode.ARG, `clipScoresToFrames: clipScores must be an array (its length is ${String(N)})`);
  }
  const out = new Float32Array(frames);
  if (N * L < frames) {
    if ((options?.fill ?? 'error') === 'error' || N === 0) {
      throw new MistError(ErrorCode.SHAPE, `${N} clip scores cover ${N * L} frames, fewer than the ${frames} to score`);
    }
  }
  // Frame f takes clip floor(f / L)'s score; frames past the last clip (fill: 'last') the last one's.
  for (let f = 0; f < frames; f++) out[f] = clipScores[Math.min(Math.floor(f / L), N - 1)] as number;
  return out;
}
