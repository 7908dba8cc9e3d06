// The plain data shapes every layer shares: a feature array, one video's features, the crop
// choice, and the small helpers that read one clip's vector out of them.
import { z } from 'zod';
import { ErrorCode, MistError } from '../errors.js';

/** A feature matrix in row-major order: [T, D], or [T, K, D] for K crops per clip. */
export interface FeatureArray {
  data: Float32Array;
  shape: number[];
}

/** One video's clip features: shape [N, D], or [N, C, D] for C crops (10-crop I3D). */
export interface VideoFeatures {
  name: string;
  features: FeatureArray;
}

/** How to turn [N, C, D] crop features into one vector per clip: average, or take crop k. */
export type CropMode = 'mean' | number;

/**
 * Returns [N, C, D] of a feature array, C = 1 for [N, D]. Sync. Throws ERR_MIST_SHAPE for
 * another rank, a zero dimension, or data whose length does not match the shape.
 */
export function featureDims(f: FeatureArray, name = 'features'): { clips: number; crops: number; dim: number } {
  const s = f.shape;
  if (!(f.data instanceof Float32Array)) {
    throw new MistError(ErrorCode.DTYPE, `${name}: data must be a Float32Array`);
  }
  if (s.length !== 2 && s.length !== 3) {
    throw new MistError(ErrorCode.SHAPE, `${name}: shape must be [N, D] or [N, crops, D] (got [${s.join(', ')}])`);
  }
  const clips = s[0]!;
  const crops = s.length === 3 ? s[1]! : 1;
  const dim = s[s.length - 1]!;
  if (![clips, crops, dim].every((v) => Number.isInteger(v) && v > 0)) {
    throw new MistError(ErrorCode.SHAPE, `${name}: every dimension must be a positive integer (got [${s.join(', ')}])`);
  }
  if (f.data.length !== clips * crops * dim) {
    throw new MistError(
      ErrorCode.SHAPE,
      `${name}: data has ${f.data.length} values but shape [${s.join(', ')}] needs ${clips * crops * dim}`,
    );
  }
  return { clips, crops, dim };
}

/**
 * Writes the feature vector of clip `clip` into `out` at `offset`: the crop average or crop k,
 * then optionally divided by its L2 norm (as torch's F.normalize, eps 1e-12). Sync.
 */
export function copyClipFeature(
  f: FeatureArray,
  dims: { crops: number; dim: number },
  clip: number,
  crop: CropMode,
  l2Normalize: boolean,
  out: Float32Array,
  offset: number,
): void {
  const { crops, dim } = dims;
  const base = clip * crops * dim;
  if (crop === 'mean' && crops > 1) {
    // Sum in float64 so that the 10-crop mean does not depend on the summation order.
    for (let d = 0; d < dim; d++) {
      let s = 0;
      for (let c = 0; c < crops; c++) s += f.data[base + c * dim + d]!;
      out[offset + d] = s / crops;
    }
  } else {
    const k = crop === 'mean' ? 0 : crop;
    out.set(f.data.subarray(base + k * dim, base + (k + 1) * dim), offset);
  }
  if (l2Normalize) {
    let ss = 0;
    for (let d = 0; d < dim; d++) ss += out[offset + d]! * out[offset + d]!;
    const inv = 1 / Math.max(Math.sqrt(ss), 1e-12);
    for (let d = 0; d < dim; d++) out[offset + d] = out[offset + d]! * inv;
  }
}

/** Throws ERR_MIST_ARG when crop k does not exist in a [N, C, D] array. Sync. */
export function checkCrop(crop: CropMode, crops: number, name: string): void {
  if (crop !== 'mean' && crop >= crops) {
    throw new MistError(ErrorCode.ARG, `${name}: crop ${crop} requested but the features have ${crops} crop(s)`);
  }
}

const CROP_MESSAGE = "must be 'mean' or a crop index ≥ 0";

/** Schema of a CropMode option; defaults to 'mean'. */
export const CropSchema = z
  .union([z.literal('mean'), z.int({ error: CROP_MESSAGE }).nonnegative({ error: CROP_MESSAGE })], { error: CROP_MESSAGE })
  .default('mean');

/** What every feature reader takes about values that are not finite numbers. */
export interface NonFiniteOptions {
  /** Accept NaN and ±Infinity in the features (default: refused with ERR_MIST_FORMAT). */
  allowNonFinite?: boolean;
}

function where(shape: readonly number[], index: number): string {
  const D = shape[shape.length - 1] || 1;
  if (shape.length === 3) {
    const K = shape[1] || 1;
    return `row ${Math.floor(index / (K * D))}, crop ${Math.floor(index / D) % K}, element ${index % D}`;
  }
  if (shape.length === 2) return `row ${Math.floor(index / D)}, element ${index % D}`;
  return `element ${index}`;
}

/**
 * Throws ERR_MIST_FORMAT naming the first NaN or infinity of `data` (the row and element of
 * `shape`) unless `allow`; `original` is the array before a float32 conversion, so a float64
 * beyond float32's range is told as such. Sync.
 */
export function checkFinite(
  data: Float32Array,
  shape: readonly number[],
  source: string,
  allow = false,
  original?: ArrayLike<number>,
): void {
  if (allow) return;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v - v === 0) continue; // finite (NaN - NaN and Inf - Inf are NaN)
    const o = original?.[i];
    const what =
      o !== undefined && Number.isFinite(o) ? `${o} overflows float32` : `non-finite value ${String(o ?? v)}`;
    throw new MistError(
      ErrorCode.FORMAT,
      `${source}: ${what} at ${where(shape, i)} (pass allowNonFinite: true to accept it)`,
    );
  }
}
