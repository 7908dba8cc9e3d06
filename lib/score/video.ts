// Offline scoring of a whole video file or image folder: every non-overlapping clip through the
// encoder in eval mode and the test-time transform (docs/MIST.md, Stage 2, Pre-processing), and
// the clip scores spread over the frames by the evaluation rule (docs/MIST.md, Evaluation): a
// clip's score applies to its 16 frames, and the frames past 16·floor(N/16) are neither scored
// nor labelled. scoreStream (stream.ts) gives the same clip scores online.
import { z } from 'zod';

import { openFrameSource, type FrameSource } from '../data/frame-cache.js';
import { videoName } from '../data/lists.js';
import { ErrorCode, MistError, throwIfAborted } from '../errors.js';
import type { SgaEncoder } from '../models/encoder.js';
import { clipTransform, preprocessClips, type ClipSpec } from '../models/preprocess.js';
import { parseOptions } from '../options.js';
import type { InputSize } from '../types.js';
import { encodeClips } from './encode.js';

const Side = z.int().positive().max(8192);

/**
 * What the frames past the last whole clip (N − 16·floor(N/16) of them) get: `unscored` (the
 * evaluation rule: NaN, and `scoredFrames` stops before them), `repeat` (the last clip's score,
 * as Sultani's evaluator spreads it) or `pad` (one more clip of those frames, the last one
 * repeated to fill it, scored like the others: RTFM's feature layout).
 */
export const TailRuleSchema = z.enum(['unscored', 'repeat', 'pad']);
/** What the frames past the last whole clip get: `unscored`, `repeat` or `pad` (see TailRuleSchema). */
export type TailRule = z.output<typeof TailRuleSchema>;

/** Progress of scoreVideo, after each batch of clips. */
export interface ScoreProgress {
  clipsDone: number;
  clips: number;
  /** Clips scored per second of wall time since the start. */
  clipsPerSecond: number;
  elapsedMs: number;
}

/** Options of scoreVideo(). */
export const ScoreVideoOptionsSchema = z.strictObject({
  /** Clips per encoder call. */
  batchSize: z.int().positive().max(4096).default(8),
  /**
   * Test-time resize [h, w] (I3D: the whole frame, UCF-Crime 256 x 340, ShanghaiTech 240 x 320;
   * C3D: before its centre crop). Default: the backbone's, scaled to the encoder's input size.
   */
  testSize: z.tuple([Side, Side]).readonly().optional(),
  tail: TailRuleSchema.default('unscored'),
  /** Return the attention maps [clips, T', H', W']. */
  attention: z.boolean().default(false),
  /** Return the clip features [clips, D]. */
  features: z.boolean().default(false),
  /** Batches decoded ahead of the encoder. */
  prefetch: z.int().positive().max(64).default(1),
  /** The result's name (default: the file name without its extension, as manifests name videos). */
  name: z.string().min(1).optional(),
  /**
   * Refuse a video whose decoding ffmpeg reports as damaged (ERR_MIST_VIDEO; see openVideo's
   * `strict`). With false its frames are scored as the codec concealed them and the reports
   * come back in `warnings`. For a path only: a FrameSource keeps the mode it was opened with.
   */
  strict: z.boolean().default(true),
  signal: z.instanceof(AbortSignal).optional(),
  onProgress: z.custom<(p: ScoreProgress) => void>((v) => typeof v === 'function', 'must be a function').optional(),
});
/** Options of scoreVideo(), as callers pass them. */
export type ScoreVideoOptions = z.input<typeof ScoreVideoOptionsSchema>;

/** One video's scores: per clip, and per frame aligned with the real frame count. */
export interface VideoScores {
  name: string;
  path: string;
  /** N: the video's frames (what ffprobe counts, or the images of a folder). */
  frames: number;
  fps: number;
  /** The source's own frame size (the transform resizes from it). */
  width: number;
  height: number;
  /** T: frames per clip (the encoder's, 16). */
  clipLength: number;
  /** floor(N / T), or ceil(N / T) with tail `pad`. */
  clips: number;
  /** Frame range [start, end) of each clip; with tail `pad` the last ends at N. */
  ranges: [number, number][];
  /** Frames repeated to fill the last clip (tail `pad`; 0 otherwise). */
  padded: number;
  /** softmax(main head)[anomalous] of each clip. */
  clipScores: Float32Array;
  /** N entries: frame f has the score of the clip holding it; past `scoredFrames`, the tail rule's value. */
  frameScores: Float32Array;
  /** Frames covered by a clip: T·floor(N/T), or N with tail `pad`. */
  scoredFrames: number;
  tail: TailRule;
  featureDim: number;
  /** [clips, featureDim], when asked for. */
  features?: Float32Array;
  /** [clips, T', H', W'], when asked for. */
  attention?: Float32Array;
  /** One map's shape [T', H', W']. */
  attentionShape?: number[];
  /** What ffmpeg reported about damaged data (only with `strict: false`; empty when nothing). */
  warnings: string[];
  elapsedMs: number;
}

/** Sync: throws ERR_MIST_ARG unless `encoder` looks like an SgaEncoder (before a file is opened). */
export function checkEncoder(encoder: unknown, what: string): void {
  const e = encoder as Partial<SgaEncoder> | null;
  const ok =
    typeof e === 'object' &&
    e !== null &&
    typeof e.forward === 'function' &&
    Array.isArray(e.inputSize) &&
    (e.backbone === 'i3d' || e.backbone === 'c3d');
  if (!ok)
    throw new MistError(
      ErrorCode.ARG,
      `${what}: encoder must be an SgaEncoder (got ${e === null ? 'null' : typeof e})`,
    );
}

/**
 * The test-time transform scoreVideo and scoreStream apply to every clip: clipTransform at the
 * encoder's input size, with testSize when given. Sync. Throws ERR_MIST_ARG (a testSize smaller
 * than C3D's crop).
 */
export function testClipSpec(encoder: SgaEncoder, testSize?: readonly [number, number]): ClipSpec {
  return clipTransform(encoder.backbone, {
    train: false,
    inputSize: encoder.inputSize,
    ...(testSize ? { testSize } : {}),
  });
}

/**
 * Scores a whole video file or image folder (a path, opened as openFrameSource opens it, or a
 * FrameSource opened in RGB order at the source's own size): every non-overlapping T-frame
 * clip (T = 16) through the encoder in eval mode and the test-time transform, batchSize clips a
 * call. Returns the clip scores, their frame ranges and N per-frame scores; the frames past
 * T·floor(N/T) follow options.tail (default `unscored`: NaN there, the evaluation rule).
 * Async. Throws ERR_MIST_ARG (bad options, a FrameSource not in RGB order or resized), the
 * decoder's errors (ERR_MIST_IO, ERR_MIST_VIDEO), the encoder's, ERR_MIST_ABORTED.
 */
export async function scoreVideo(
  source: string | FrameSource,
  encoder: SgaEncoder,
  options: ScoreVideoOptions = {},
): Promise<VideoScores> {
  const o = parseOptions(ScoreVideoOptionsSchema, options, 'score video options');
  checkEncoder(encoder, 'scoreVideo');
  throwIfAborted(o.signal);
  const spec = testClipSpec(encoder, o.testSize);
  const [T] = encoder.inputSize;
  encoder.checkMemory('inference', o.batchSize, 'scoreVideo: an encoder call', [T, ...spec.outSize]);
  const t0 = performance.now();
  const src =
    typeof source === 'string'
      ? await openFrameSource(source, { order: 'rgb', strict: o.strict, signal: o.signal })
      : source;
  if (src.order !== 'rgb' || src.width !== src.info.width || src.height !== src.info.height) {
    throw new MistError(
      ErrorCode.ARG,
      `${src.info.path}: scoreVideo needs a frame source in RGB order at the video's own size (got ${src.order}, ${src.width}x${src.height} of ${src.info.width}x${src.info.height})`,
    );
  }
  const N = src.frames;
  const whole = Math.floor(N / T);
  const rest = N - whole * T;
  const extra = o.tail === 'pad' && rest > 0 ? 1 : 0;
  const clips = whole + extra;
  encoder.setTraining(false);
  const progress = (done: number): void => {
    const elapsedMs = performance.now() - t0;
    o.onProgress?.({ clipsDone: done, clips, clipsPerSecond: done / (elapsedMs / 1000), elapsedMs });
  };
  const r = await encodeClips(src, whole, encoder, {
    views: [spec],
    batchSize: o.batchSize,
    prefetch: o.prefetch,
    attention: o.attention,
    signal: o.signal,
    onBatch: progress,
  });
  let { scores, features, attention } = r;
  let attentionShape = r.attentionShape;
  if (extra) {
    const last = await scorePaddedClip(src, whole * T, rest, encoder, spec, o.signal);
    scores = append(scores, last.score);
    features = append(features, last.feature);
    if (o.attention) {
      attention = append(attention ?? new Float32Array(0), last.attention);
      attentionShape = last.attentionShape.slice(1);
    }
    progress(clips);
  }
  const scoredFrames = extra ? N : whole * T;
  const frameScores = new Float32Array(N);
  for (let f = 0; f < scoredFrames; f++) frameScores[f] = scores[Math.floor(f / T)]!;
  const fill = o.tail === 'repeat' && clips > 0 ? scores[clips - 1]! : NaN;
  frameScores.fill(fill, scoredFrames);
  const ranges = Array.from({ length: clips }, (_, c): [number, number] => [c * T, Math.min((c + 1) * T, N)]);
  return {
    name: o.name ?? videoName(src.info.path.replace(/[\\/]+$/, '')),
    path: src.info.path,
    frames: N,
    fps: src.info.fps,
    width: src.info.width,
    height: src.info.height,
    clipLength: T,
    clips,
    ranges,
    padded: extra ? T - rest : 0,
    clipScores: scores,
    frameScores,
    scoredFrames,
    tail: o.tail,
    featureDim: r.featureDim,
    ...(o.features ? { features } : {}),
    ...(o.attention && attention ? { attention, attentionShape: attentionShape! } : {}),
    warnings: [...(src.warnings ?? [])],
    elapsedMs: performance.now() - t0,
  };
}

/** The clip of frames [start, start + count) with the last frame repeated to T frames, scored. */
async function scorePaddedClip(
  src: FrameSource,
  start: number,
  count: number,
  encoder: SgaEncoder,
  spec: ClipSpec,
  signal: AbortSignal | undefined,
) {
  const [T] = encoder.inputSize;
  const frames = await src.read(start, count, { signal });
  const [, H, W] = frames.shape;
  const clip = padClip(frames.data, count, T, H * W * 3);
  const x = await preprocessClips(clip, [1, T, H, W, 3], spec);
  const size: InputSize = [T, spec.outSize[0], spec.outSize[1]];
  const out = await encoder.forward(x.data, 1, size);
  throwIfAborted(signal);
  return out;
}

/** Sync: a new T-frame clip of the `count` frames of `frameBytes` bytes each, then copies of the last one. */
export function padClip(frames: Uint8Array, count: number, T: number, frameBytes: number): Uint8Array {
  const clip = new Uint8Array(T * frameBytes);
  clip.set(frames.subarray(0, count * frameBytes));
  const last = frames.subarray((count - 1) * frameBytes, count * frameBytes);
  for (let f = count; f < T; f++) clip.set(last, f * frameBytes);
  return clip;
}

function append(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
