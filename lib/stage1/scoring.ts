// Scoring whole videos with a trained generator, and turning the scores into pseudo labels.
import { z } from 'zod';
import { ErrorCode, MistError, throwIfAborted, withContext } from '../errors.js';
import { parseOptions } from '../options.js';
import { refinePseudoLabels } from './refine.js';
import {
  type CropMode,
  CropSchema,
  type VideoFeatures,
  checkCrop,
  copyClipFeature,
  featureDims,
} from '../data/types.js';

/** Anything that scores rows of clip features, one score per row (the native generator does). */
export interface ClipScorer {
  /** x is row-major [rows, dim]; resolves to `rows` scores. */
  forward(x: Float32Array, rows: number, dim: number): Promise<Float32Array>;
}

/** Options of scoreClips. */
export const ScoreClipsOptionsSchema = z.strictObject({
  /** Most clips per forward call: bounds the memory of one call on long videos. */
  chunk: z.int({ error: 'must be a positive integer' }).positive({ error: 'must be a positive integer' }).default(1000),
  /** Must match training: the generator learnt on L2-normalised features or raw ones. */
  l2Normalize: z.boolean({ error: 'must be true or false' }).default(false),
  /** For [N, C, D] features: 'mean' averages the crops, an integer k takes crop k. */
  crop: CropSchema,
});
/** Options of scoreClips(), as callers pass them. */
export type ScoreClipsOptions = z.input<typeof ScoreClipsOptionsSchema>;

/** Options of generatePseudoLabels: scoreClips' plus cancellation and progress. */
export interface GeneratePseudoLabelsOptions extends ScoreClipsOptions {
  signal?: AbortSignal;
  /** Called after each video with the count done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** The index of the first NaN or infinity of `x`, or -1. */
function firstNonFinite(x: Float32Array): number {
  // x - x is 0 for a finite x and NaN otherwise: one comparison per value, no call.
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}

/**
 * Scores every clip of one video, in order, with at most `chunk` clips per forward call
 * (calls run one after another; the model is not asked to run two at once). Async. Returns a
 * Float32Array of N scores. Throws ERR_MIST_ARG for bad options or a feature that is not finite
 * (NaN or an infinity; the error names the clip), ERR_MIST_SHAPE for a
 * malformed feature array or a model that returns the wrong number of scores; model errors
 * pass through.
 */
export async function scoreClips(
  model: ClipScorer,
  features: VideoFeatures['features'],
  options: ScoreClipsOptions = {},
): Promise<Float32Array> {
  const o = parseOptions(ScoreClipsOptionsSchema, options, 'scoring options');
  const dims = featureDims(features);
  checkCrop(o.crop, dims.crops, 'features');
  const scores = new Float32Array(dims.clips);
  for (let start = 0; start < dims.clips; start += o.chunk) {
    const rows = Math.min(o.chunk, dims.clips - start);
    let x: Float32Array;
    if (dims.crops === 1 && !o.l2Normalize) {
      // Rows are already contiguous: hand the model a view, no copy.
      x = features.data.subarray(start * dims.dim, (start + rows) * dims.dim);
    } else {
      x = new Float32Array(rows * dims.dim);
      for (let r = 0; r < rows; r++)
        copyClipFeature(features, dims, start + r, o.crop as CropMode, o.l2Normalize, x, r * dims.dim);
    }
    // ReLU can turn a NaN or an infinity into a finite score: refuse them, naming the clip.
    const bad = firstNonFinite(x);
    if (bad >= 0) {
      const clip = start + Math.floor(bad / dims.dim);
      const where = `value ${bad % dims.dim} of its feature`;
      throw new MistError(ErrorCode.ARG, `features: clip ${clip} holds ${x[bad]} (${where}); features must be finite`);
    }
    const y = await model.forward(x, rows, dims.dim);
    if (!(y instanceof Float32Array) || y.length !== rows) {
      throw new MistError(ErrorCode.SHAPE, `model returned ${y?.length} scores for ${rows} clips`);
    }
    scores.set(y, start);
  }
  return scores;
}

/**
 * Scores every clip of every video and refines the scores into pseudo labels
 * (refinePseudoLabels with each video's own anomalous flag: only anomalous videos are
 * min-max normalised). Async; videos are scored one after another. Returns a Map name →
 * pseudo labels in input order. Throws ERR_MIST_ARG for duplicate names or bad options,
 * ERR_MIST_ABORTED when the signal fires, and whatever scoreClips throws.
 */
export async function generatePseudoLabels(
  model: ClipScorer,
  videos: readonly (VideoFeatures & { anomalous: boolean })[],
  options: GeneratePseudoLabelsOptions = {},
): Promise<Map<string, Float32Array>> {
  const { signal, onProgress, ...scoreOptions } = options;
  parseOptions(ScoreClipsOptionsSchema, scoreOptions, 'scoring options');
  const names = new Set<string>();
  for (const v of videos) {
    if (names.has(v.name)) throw new MistError(ErrorCode.ARG, `video ${v.name} appears twice`);
    if (typeof v.anomalous !== 'boolean')
      throw new MistError(ErrorCode.ARG, `${v.name}: anomalous must be true or false`);
    names.add(v.name);
  }
  const out = new Map<string, Float32Array>();
  for (const [i, v] of videos.entries()) {
    throwIfAborted(signal);
    let scores: Float32Array;
    try {
      scores = await scoreClips(model, v.features, scoreOptions);
    } catch (e) {
      throw withContext(e, v.name);
    }
    out.set(v.name, refinePseudoLabels(scores, { anomalous: v.anomalous }));
    onProgress?.(i + 1, videos.length);
  }
  return out;
}
