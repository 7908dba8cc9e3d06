// Synthetic clip features with a known answer, for tests and demos that must run without the
// real feature files (none are public in git) and without a GPU.
import { z } from 'zod';
import type { GroundTruth } from '../eval/groundtruth.js';
import { createRng } from '../rng.js';
import { parseOptions } from '../options.js';
import type { VideoFeatures } from '../data/types.js';

const posInt = (what: string) => z.int({ error: `must be ${what}` }).positive({ error: `must be ${what}` });

/** Options of makeSyntheticFeatures. */
export const SyntheticFeaturesOptionsSchema = z
  .strictObject({
    videos: posInt('a positive integer'),
    /** Clips per video, drawn uniformly from [min, max]. */
    clipsRange: z.tuple([posInt('a positive integer'), posInt('a positive integer')], { error: 'must be [min, max]' }),
    dim: posInt('a positive integer'),
    /** Share of the videos that are anomalous (rounded to a count). */
    anomalousFraction: z
      .number({ error: 'must be a number in [0, 1]' })
      .min(0, { error: 'must be a number in [0, 1]' })
      .max(1, { error: 'must be a number in [0, 1]' }),
    seed: z.int({ error: 'must be an integer' }).default(0),
    /** Shift of anomalous clips along the planted direction, in units of the noise's std. */
    strength: z.number({ error: 'must be a number > 0' }).positive({ error: 'must be a number > 0' }).default(3),
    /** Length of the anomalous segment as a share of the video, drawn uniformly from [min, max]. */
    segmentFraction: z
      .tuple([z.number().gt(0).max(1), z.number().gt(0).max(1)], { error: 'must be [min, max] within (0, 1]' })
      .default([0.1, 0.4]),
  })
  .refine((o) => o.clipsRange[0] <= o.clipsRange[1], { path: ['clipsRange'], message: 'min must not exceed max' })
  .refine((o) => o.segmentFraction[0] <= o.segmentFraction[1], {
    path: ['segmentFraction'],
    message: 'min must not exceed max',
  });
/** Options of makeSyntheticFeatures(), as callers pass them. */
export type SyntheticFeaturesOptions = z.input<typeof SyntheticFeaturesOptionsSchema>;

/** A synthetic video: features [N, D], its video-level label and per-clip ground truth. */
export interface SyntheticVideo extends VideoFeatures {
  anomalous: boolean;
  /** 1 for planted anomalous clips, 0 elsewhere (all 0 in normal videos). */
  labels: Uint8Array;
}

/**
 * Makes a data set whose anomalies are known. Every clip feature is Gaussian noise N(0, 1) per
 * dimension plus a per-video "scene" offset N(0, 0.5²) per dimension (so videos differ as real
 * ones do); an anomalous video has one contiguous segment (length a uniform share in
 * segmentFraction of its clips, at a uniform position) whose clips are shifted by `strength`
 * along one fixed random unit direction. Normal videos come first (normal_000 …), then
 * anomalous ones (anomalous_000 …). The projection of a clip on `direction` separates the
 * classes with AUC near 1 at strength 3, so a trained generator should get near there too.
 * Sync and deterministic in `seed`. Throws ERR_MIST_ARG for bad options.
 */
export function makeSyntheticFeatures(options: SyntheticFeaturesOptions): {
  videos: SyntheticVideo[];
  direction: Float32Array;
} {
  const o = parseOptions(SyntheticFeaturesOptionsSchema, options, 'synthetic feature options');
  const rng = createRng(o.seed);
  const direction = new Float32Array(o.dim);
  let norm = 0;
  for (let d = 0; d < o.dim; d++) {
    direction[d] = rng.normal();
    norm += direction[d]! * direction[d]!;
  }
  for (let d = 0; d < o.dim; d++) direction[d] = direction[d]! / Math.sqrt(norm);

  const nAnomalous = Math.round(o.videos * o.anomalousFraction);
  const videos: SyntheticVideo[] = [];
  for (let v = 0; v < o.videos; v++) {
    const anomalous = v >= o.videos - nAnomalous;
    const index = anomalous ? v - (o.videos - nAnomalous) : v;
    const n = rng.int(o.clipsRange[0], o.clipsRange[1] + 1);
    const scene = Float32Array.from({ length: o.dim }, () => 0.5 * rng.normal());
    const data = new Float32Array(n * o.dim);
    for (let c = 0; c < n; c++) for (let d = 0; d < o.dim; d++) data[c * o.dim + d] = scene[d]! + rng.normal();
    const labels = new Uint8Array(n);
    if (anomalous) {
      const share = o.segmentFraction[0] + rng.float() * (o.segmentFraction[1] - o.segmentFraction[0]);
      const len = Math.min(n, Math.max(1, Math.round(share * n)));
      const start = rng.int(0, n - len + 1);
      for (let c = start; c < start + len; c++) {
        labels[c] = 1;
        for (let d = 0; d < o.dim; d++) data[c * o.dim + d] = data[c * o.dim + d]! + o.strength * direction[d]!;
      }
    }
    const name = `${anomalous ? 'anomalous' : 'normal'}_${String(index).padStart(3, '0')}`;
    videos.push({ name, anomalous, labels, features: { data, shape: [n, o.dim] } });
  }
  return { videos, direction };
}

/**
 * The frame-level ground truth of synthetic videos: each clip label covers its 16 frames.
 * Sync. Lets evaluate() and trainGenerator() score synthetic runs like real ones.
 */
export function syntheticGroundTruth(videos: readonly SyntheticVideo[], clipLength = 16): GroundTruth {
  let totalFrames = 0;
  let anomalousFrames = 0;
  const out = videos.map((v) => {
    const labels = new Uint8Array(v.labels.length * clipLength);
    v.labels.forEach((l, c) => labels.fill(l, c * clipLength, (c + 1) * clipLength));
    totalFrames += labels.length;
    for (const l of labels) anomalousFrames += l;
    return { name: v.name, anomalous: v.anomalous, sourceFrames: labels.length, frames: labels.length, labels };
  });
  return {
    dataset: 'synthetic',
    videos: out,
    totalFrames,
    anomalousFrames,
    anomalousVideos: videos.filter((v) => v.anomalous).length,
  };
}
