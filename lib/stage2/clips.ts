// Stage 2's training input, before any pixel is decoded: which videos make each step
// (balanced, n normal + n anomalous) and which 16-frame windows of them, with which soft
// target. Pure and seeded, so a run is reproducible from one integer and the plan can be
// checked without a decoder.
//
// Per video and step, K clips (3 in MIST), TSN style: the clip indices 0..C-1 (C =
// floor(frames / 16)) are cut into K near-equal segments and one index c is drawn in each.
// The window starts b frames into clip c (b uniform in [0, 16)), so it spans clips c and
// c+1, and its target interpolates their pseudo labels:
//   s = (1 - b/16)·PL[c] + (b/16)·PL[c+1]      (anomalous videos; normal videos: 0)
// weighting each clip by how many of the window's frames it holds. (The released code
// weights them the other way round; docs/MIST.md says not to copy that.)
import { z } from 'zod';
import { ErrorCode, MistError } from '../errors.js';
import { parseOptions } from '../options.js';
import type { Rng } from '../rng.js';

/** A training video as clip sampling sees it. */
export interface TrainingVideo {
  /** Video name (the key of its pseudo labels). */
  name: string;
  /** Frame count of the video. */
  frames: number;
  label: 'normal' | 'anomalous';
  /**
   * One pseudo label per 16-frame clip, C = floor(frames / clipLength) of them, in [0, 1]:
   * required for anomalous videos; for normal ones optional (their target is 0), but checked
   * for length when given, since a mismatch means the frame count is wrong.
   */
  pseudoLabels?: Float32Array;
}

/** One sampled training window. */
export interface TrainingClip {
  /** Video name. */
  video: string;
  /** First frame of the window (0-based); the window is clipLength frames long. */
  startFrame: number;
  /** The soft target: interpolated pseudo label (anomalous) or 0 (normal). */
  target: number;
  /** The clip index c the window was drawn for. */
  clipIndex: number;
  /** b: startFrame = clipLength·c + b. */
  offset: number;
}

const posInt = (what: string) => z.int({ error: `must be ${what}` }).positive({ error: `must be ${what}` });

/** Options of sampleTrainingClips(). */
export const TrainingClipOptionsSchema = z.strictObject({
  /** Clips per video and step, one in each of this many equal segments (MIST: 3). */
  clipsPerVideo: posInt('a positive integer (clips per video)').default(3),
  /** Frames per clip and per window (MIST: 16). */
  clipLength: posInt('a positive integer (frames per clip)').default(16),
});
/** Options of sampleTrainingClips(), as callers pass them. */
export type TrainingClipOptions = z.input<typeof TrainingClipOptionsSchema>;

/**
 * The target of a window starting `offset` frames into clip `clipIndex`:
 * `(1 − b/L)·PL[c] + (b/L)·PL[c+1]`, with `PL[c+1] = PL[last]` past the end. Sync. Throws
 * ERR_MIST_ARG for an index outside the labels or an offset outside [0, clipLength).
 */
export function windowTarget(
  pseudoLabels: ArrayLike<number>,
  clipIndex: number,
  offset: number,
  clipLength = 16,
): number {
  const n = pseudoLabels.length;
  if (!Number.isInteger(clipIndex) || clipIndex < 0 || clipIndex >= n) {
    throw new MistError(ErrorCode.ARG, `windowTarget: clip index ${clipIndex} outside [0, ${n})`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset >= clipLength) {
    throw new MistError(ErrorCode.ARG, `windowTarget: offset ${offset} outside [0, ${clipLength})`);
  }
  const here = pseudoLabels[clipIndex] as number;
  const next = pseudoLabels[Math.min(clipIndex + 1, n - 1)] as number;
  const w = offset / clipLength;
  return (1 - w) * here + w * next;
}

function checkVideo(v: TrainingVideo, clipLength: number): number {
  if (typeof v !== 'object' || v === null || typeof v.name !== 'string' || v.name === '') {
    throw new MistError(ErrorCode.ARG, 'each training video needs a non-empty name');
  }
  if (!Number.isInteger(v.frames) || v.frames < 0) {
    throw new MistError(ErrorCode.ARG, `${v.name}: frames must be a non-negative integer, got ${String(v.frames)}`);
  }
  if (v.label !== 'normal' && v.label !== 'anomalous') {
    throw new MistError(
      ErrorCode.ARG,
      `${v.name}: label must be "normal" or "anomalous", got ${JSON.stringify(v.label)}`,
    );
  }
  const clips = Math.floor(v.frames / clipLength);
  if (clips === 0) {
    throw new MistError(ErrorCode.ARG, `${v.name}: ${v.frames} frames, fewer than one ${clipLength}-frame clip`);
  }
  const pl = v.pseudoLabels;
  if (pl === undefined) {
    if (v.label === 'anomalous')
      throw new MistError(ErrorCode.ARG, `${v.name}: an anomalous video needs its pseudo labels`);
    return clips;
  }
  if (!(pl instanceof Float32Array)) {
    throw new MistError(ErrorCode.ARG, `${v.name}: pseudoLabels must be a Float32Array`);
  }
  if (pl.length !== clips) {
    throw new MistError(
      ErrorCode.SHAPE,
      `${v.name}: ${pl.length} pseudo labels for ${clips} clips (${v.frames} frames / ${clipLength})`,
    );
  }
  if (v.label === 'anomalous') {
    for (let i = 0; i < pl.length; i++) {
      const x = pl[i]!;
      if (!(x >= 0 && x <= 1))
        throw new MistError(ErrorCode.ARG, `${v.name}: pseudo label ${i} is ${x}, outside [0, 1]`);
    }
  }
  return clips;
}

/**
 * Samples the training windows of one step. Sync. For each video, in order, `clipsPerVideo`
 * windows, one per segment of its clip indices (segment k is `[floor(k·C/K), floor((k+1)·C/K))`,
 * the TSN split); each draws its clip index c, then its offset b, from `rng` (two draws a
 * window, whatever the video, so the stream of draws is easy to follow).
 *
 * - C < K (a video shorter than K clips): segment k collapses to the one clip
 *   `floor(k·C/K)`, so the video still gives K windows (C = 1: clip 0 thrice; C = 2: 0, 0, 1)
 *   and every step has the same number of windows.
 * - The last clip (c = C − 1): the window must stay inside the video, so b is uniform in
 *   `[0, min(L − 1, frames − L·C)]`: the frames past the last whole clip, when there are some,
 *   else b = 0. Those frames have no pseudo label of their own; per the spec they take
 *   `PL[last]`, so the last clip's target is `PL[C − 1]` whatever b.
 *
 * Returns one TrainingClip per window, videos in order. Throws ERR_MIST_ARG (bad options, a
 * video shorter than one clip, an anomalous video without pseudo labels or with labels
 * outside [0, 1]) or ERR_MIST_SHAPE naming the video whose pseudo labels are not C long.
 */
export function sampleTrainingClips(
  videos: readonly TrainingVideo[],
  rng: Rng,
  options?: TrainingClipOptions,
): TrainingClip[] {
  const o = parseOptions(TrainingClipOptionsSchema, options, 'training clip options');
  const L = o.clipLength;
  const K = o.clipsPerVideo;
  // Check every video before drawing anything: a bad one fails the step, not half of it.
  const counts = videos.map((v) => checkVideo(v, L));
  const out: TrainingClip[] = [];
  videos.forEach((v, i) => {
    const C = counts[i]!;
    const tail = v.frames - L * C;
    for (let k = 0; k < K; k++) {
      const lo = Math.floor((k * C) / K);
      const hi = Math.max(Math.floor(((k + 1) * C) / K), lo + 1);
      const c = rng.int(lo, hi);
      const b = rng.int(0, c === C - 1 ? Math.min(L, tail + 1) : L);
      const target = v.label === 'anomalous' ? windowTarget(v.pseudoLabels!, c, b, L) : 0;
      out.push({ video: v.name, startFrame: L * c + b, target, clipIndex: c, offset: b });
    }
  });
  return out;
}

/** Options of createBalancedVideoPlan(). */
export const BalancedVideoPlanOptionsSchema = z.strictObject({
  /** n: videos of each class per step (MIST: 10 for ShanghaiTech, 32 for UCF-Crime). */
  videosPerClass: posInt('a positive integer (videos of each class per step)'),
});
/** Options of createBalancedVideoPlan(), as callers pass them. */
export type BalancedVideoPlanOptions = z.input<typeof BalancedVideoPlanOptionsSchema>;

/** One step's videos. */
export interface BalancedStep<T> {
  /** Epoch of this step, from 0. */
  epoch: number;
  /** Step within its epoch, from 0. */
  stepInEpoch: number;
  /** Step since the start, from 0. */
  step: number;
  normal: T[];
  anomalous: T[];
}

/** A stateful source of balanced steps; see createBalancedVideoPlan. */
export interface BalancedVideoPlan<T> {
  /** Steps in one epoch: ceil(larger class / n). */
  readonly stepsPerEpoch: number;
  /** Which class sets the epoch: the larger one (normal on a tie). */
  readonly epochClass: 'normal' | 'anomalous';
  /** The next step's videos. Sync. */
  next(): BalancedStep<T>;
}

/**
 * Plans the videos of each stage-2 step: n normal + n anomalous, deterministic for the rng's
 * seed. An epoch is one pass over the larger class (the released code iterates both loaders
 * with the shorter one cycled): that class is shuffled each epoch and dealt n at a time, so
 * each of its videos appears once an epoch; when n does not divide it, the epoch's last step
 * is topped up with other videos of the same epoch, drawn at random (so steps always hold n of
 * each class and no video twice). The smaller class is a continuous cycle across epochs:
 * shuffled, dealt in order, reshuffled when used up, so its videos are used evenly (a step
 * that spans two of its passes still holds no video twice). A class
 * with fewer than n videos repeats videos within a step (each pass still holds each once).
 * Sync. Throws ERR_MIST_ARG for bad options or an empty class.
 */
export function createBalancedVideoPlan<T>(
  normal: readonly T[],
  anomalous: readonly T[],
  options: BalancedVideoPlanOptions,
  rng: Rng,
): BalancedVideoPlan<T> {
  const { videosPerClass: n } = parseOptions(BalancedVideoPlanOptionsSchema, options, 'balanced plan options');
  if (normal.length === 0 || anomalous.length === 0) {
    throw new MistError(ErrorCode.ARG, 'a balanced plan needs at least one normal and one anomalous video');
  }
  const epochClass = anomalous.length > normal.length ? 'anomalous' : 'normal';
  const big = epochClass === 'normal' ? normal : anomalous;
  const small = epochClass === 'normal' ? anomalous : normal;
  const stepsPerEpoch = Math.ceil(big.length / n);

  let order: T[] = [];
  let epoch = -1;
  let stepInEpoch = stepsPerEpoch;
  let step = 0;
  let cycle: T[] = [];
  let pos = 0;

  const takeSmall = (): T[] => {
    const out: T[] = [];
    while (out.length < n) {
      if (pos === cycle.length) {
        cycle = rng.shuffle([...small]);
        pos = 0;
      }
      // A step that spans two passes must not take a video twice: swap in a random one of
      // the new pass that the step does not hold yet (the pass still holds each video once).
      if (small.length >= n && out.includes(cycle[pos]!)) {
        const free: number[] = [];
        for (let j = pos + 1; j < cycle.length; j++) if (!out.includes(cycle[j]!)) free.push(j);
        const j = free[rng.int(0, free.length)]!;
        [cycle[pos], cycle[j]] = [cycle[j]!, cycle[pos]!];
      }
      out.push(cycle[pos++]!);
    }
    return out;
  };
  const takeBig = (): T[] => {
    if (big.length < n) {
      // Whole passes in fresh orders until the step is full.
      const out: T[] = [];
      while (out.length < n) out.push(...rng.shuffle([...big]).slice(0, n - out.length));
      return out;
    }
    const start = stepInEpoch * n;
    const out = order.slice(start, start + n);
    if (out.length < n) out.push(...rng.shuffle(order.slice(0, start)).slice(0, n - out.length));
    return out;
  };

  return {
    stepsPerEpoch,
    epochClass,
    next() {
      if (stepInEpoch === stepsPerEpoch) {
        epoch++;
        stepInEpoch = 0;
        if (big.length >= n) order = rng.shuffle([...big]);
      }
      const b = takeBig();
      const s = takeSmall();
      const result: BalancedStep<T> = {
        epoch,
        stepInEpoch,
        step,
        normal: epochClass === 'normal' ? b : s,
        anomalous: epochClass === 'normal' ? s : b,
      };
      stepInEpoch++;
      step++;
      return result;
    },
  };
}
