// Clip features and scores from an SGA encoder: every non-overlapping 16-frame clip of each
// video through the test-time transform (docs/MIST.md, Stage 2, Pre-processing; Evaluation),
// so that stage 1 can run on the features of any encoder, fine-tuned or not, and stage 2 can
// evaluate itself. The clips go through the encoder by encodeClips (lib/score/encode.ts).
import { z } from 'zod';

import { videoName } from '../data/lists.js';
import { openFrameSource, type FrameCache } from '../data/frame-cache.js';
import { ErrorCode, MistError, throwIfAborted } from '../errors.js';
import { clipTransform } from '../models/preprocess.js';
import type { SgaEncoder } from '../models/encoder.js';
import { parseOptions } from '../options.js';
import { encodeClips } from '../score/encode.js';

/** A video to extract: a path (named as manifests name it, videoName()) or a name and path. */
export type ExtractVideo = string | { name: string; path: string };

export const ExtractFeaturesOptionsSchema = z.strictObject({
  /** Clips per encoder call. */
  batchSize: z.int().positive().max(4096).default(8),
  /**
   * Test-time resize [h, w] (I3D: the whole frame, UCF-Crime 256 x 340, ShanghaiTech
   * 240 x 320; C3D: before its centre crop). Default: the backbone's, scaled to the encoder's
   * input size.
   */
  testSize: z
    .tuple([z.int().positive().max(8192), z.int().positive().max(8192)])
    .readonly()
    .optional(),
  /** Batches decoded ahead of the encoder. */
  prefetch: z.int().positive().max(64).default(1),
  cache: z.custom<FrameCache>((v) => typeof v === 'object' && v !== null && 'get' in v).optional(),
  signal: z.instanceof(AbortSignal).optional(),
  /** Called after each video. */
  onProgress: z.custom<(p: ExtractProgress) => void>((v) => typeof v === 'function').optional(),
});
export type ExtractFeaturesOptions = z.input<typeof ExtractFeaturesOptionsSchema>;

export interface ExtractProgress {
  video: string;
  done: number;
  videos: number;
  clips: number;
  elapsedMs: number;
}

/** One video's clip features [clips, featureDim] (row-major) and anomaly scores [clips]. */
export interface ExtractedVideo {
  name: string;
  path: string;
  frames: number;
  clips: number;
  featureDim: number;
  features: Float32Array;
  scores: Float32Array;
}

/**
 * Scores every whole 16-frame clip of each video (frames past 16·floor(N/16) are not scored,
 * as the evaluation protocol says) through the encoder in eval mode and the test-time
 * transform. Async. Returns one entry per video, in order. Throws ERR_MIST_ARG (bad options, a
 * video shorter than one clip, two videos of one name), the decoder's errors (ERR_MIST_IO,
 * ERR_MIST_VIDEO), ERR_MIST_ABORTED.
 */
export async function extractFeatures(
  videos: readonly ExtractVideo[],
  encoder: SgaEncoder,
  options: ExtractFeaturesOptions = {},
): Promise<ExtractedVideo[]> {
  const o = parseOptions(ExtractFeaturesOptionsSchema, options, 'feature extraction options');
  const list = videos.map((v) => (typeof v === 'string' ? { name: videoName(v.replace(/[\\/]+$/, '')), path: v } : v));
  const seen = new Set<string>();
  for (const v of list) {
    if (seen.has(v.name)) throw new MistError(ErrorCode.ARG, `two videos are named ${v.name}`);
    seen.add(v.name);
  }
  const [T] = encoder.inputSize;
  const spec = clipTransform(encoder.backbone, {
    train: false,
    inputSize: encoder.inputSize,
    ...(o.testSize ? { testSize: o.testSize } : {}),
  });
  encoder.setTraining(false);
  const out: ExtractedVideo[] = [];
  const t0 = performance.now();
  for (const v of list) {
    throwIfAborted(o.signal);
    const source = await openFrameSource(v.path, { order: 'rgb', signal: o.signal, cache: o.cache });
    const clips = Math.floor(source.frames / T);
    if (clips < 1)
      throw new MistError(ErrorCode.ARG, `${v.path}: ${source.frames} frames, fewer than one ${T}-frame clip`);
    const r = await encodeClips(source, clips, encoder, {
      views: [spec],
      batchSize: o.batchSize,
      prefetch: o.prefetch,
      signal: o.signal,
    });
    out.push({
      name: v.name,
      path: v.path,
      frames: source.frames,
      clips,
      featureDim: r.featureDim,
      features: r.features,
      scores: r.scores,
    });
    o.onProgress?.({ video: v.name, done: out.length, videos: list.length, clips, elapsedMs: performance.now() - t0 });
  }
  return out;
}
