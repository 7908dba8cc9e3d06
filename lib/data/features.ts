// Clip-feature readers for the files the community publishes, and our own feature format.
//
// Our format ("mist-vad features", version 1), written by writeFeatures():
//   <name>.npy   float32, C order, shape [T, D] (one row per non-overlapping 16-frame clip)
//                or [T, K, D] (K crops per clip, e.g. 10-crop I3D);
//   <name>.json  optional sidecar: {"format": "mist-vad.features", "version": 1,
//                "shape": [...], "dtype": "float32", "encoder"?, "clipLength"?, "frames"?,
//                "fps"?, "video"?, "crops"?, "layout"?, "extra"?}.
// Plain .npy keeps the files readable by numpy users; the sidecar records what a bare array
// cannot (which encoder, how many frames the video had, clips or 32 segments).
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { z } from 'zod';
import { ErrorCode, MistError } from '../errors.js';
import { parseOptions } from '../options.js';
import { listDir, readFileOrThrow, writeFileOrThrow } from './files.js';
import { readNpy, writeNpy, type NpyArray } from './npy.js';
import { checkFinite, type FeatureArray, type NonFiniteOptions } from './types.js';

export type { FeatureArray, NonFiniteOptions };
export { checkFinite };

/** Schema of the sidecar metadata of our feature format. */
export const FeatureMetaSchema = z.strictObject({
  encoder: z.string().optional(),
  clipLength: z.int().positive().optional(),
  frames: z.int().nonnegative().optional(),
  fps: z.number().positive().optional(),
  video: z.string().optional(),
  crops: z.int().positive().optional(),
  layout: z.enum(['clips', 'segments']).optional(),
  extra: z.record(z.string(), z.unknown()).optional(),
});
/** Metadata stored beside features in our format. */
export type FeatureMeta = z.infer<typeof FeatureMetaSchema>;

/** Features as read by readFeatures(): the array, plus the sidecar metadata when one exists. */
export interface Features extends FeatureArray {
  meta?: FeatureMeta;
}

const FORMAT_ID = 'mist-vad.features';

/**
 * Converts an .npy array to a FeatureArray ([T, D] or [T, K, D], float32). Sync. Throws
 * ERR_MIST_DTYPE for a non-float array, ERR_MIST_SHAPE for another rank, ERR_MIST_FORMAT for
 * a NaN or infinity (or a float64 beyond float32's range) unless `allowNonFinite`.
 */
export function toFeatureArray(array: NpyArray, source = '<array>', options: NonFiniteOptions = {}): FeatureArray {
  if (array.dtype !== 'float32' && array.dtype !== 'float64' && array.dtype !== 'float16') {
    throw new MistError(ErrorCode.DTYPE, `${source}: features must be float32 or float64, got ${array.dtype}`);
  }
  checkFeatureShape(array.shape, source);
  const data = array.data instanceof Float32Array ? array.data : Float32Array.from(array.data as Float64Array);
  checkFinite(data, array.shape, source, options.allowNonFinite === true, array.data as Float64Array);
  return { data, shape: array.shape };
}

function checkFeatureShape(shape: readonly number[], source: string): void {
  if (shape.length !== 2 && shape.length !== 3) {
    throw new MistError(
      ErrorCode.SHAPE,
      `${source}: features must be [T, D] or [T, crops, D], got shape [${shape.join(', ')}]`,
    );
  }
}

// A decimal number as Python and MATLAB print them, and the non-finite words numpy writes.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/**
 * Reads a whitespace-separated text feature file such as Sultani's C3D `.txt` (32 rows of
 * 4096 values). Sync. Returns [rows, columns]. Throws ERR_MIST_IO, or ERR_MIST_FORMAT for an
 * empty file, a token that is not a decimal number, rows of different lengths, or (unless
 * `allowNonFinite`) nan, inf or a value beyond float32's range, naming the line and column.
 */
export function readC3dTxt(path: string, options: NonFiniteOptions = {}): FeatureArray {
  const allow = options.allowNonFinite === true;
  const text = readFileOrThrow(path, 'feature file').toString('latin1');
  const lines = text.split(/\r?\n/);
  const rows: number[][] = [];
  let cols = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line.length === 0) continue;
    const tokens = line.split(/[\s,]+/);
    const row = new Array<number>(tokens.length);
    for (let j = 0; j < tokens.length; j++) {
      const t = tokens[j] as string;
      const word = NON_FINITE.test(t);
      if (!DECIMAL.test(t) && !word) {
        throw new MistError(ErrorCode.FORMAT, `${path}:${i + 1}: not a number: ${JSON.stringify(t.slice(0, 20))} (column ${j + 1})`);
      }
      const v = word ? (/nan/i.test(t) ? NaN : t.startsWith('-') ? -Infinity : Infinity) : Number(t);
      const f = Math.fround(v);
      if (!allow && f - f !== 0) {
        const why = Number.isFinite(v) ? `${t} overflows float32` : `non-finite value ${t}`;
        throw new MistError(ErrorCode.FORMAT, `${path}:${i + 1}: ${why} at column ${j + 1} (pass allowNonFinite: true to accept it)`);
      }
      row[j] = v;
    }
    if (cols < 0) cols = row.length;
    else if (row.length !== cols) {
      throw new MistError(ErrorCode.FORMAT, `${path}:${i + 1}: ${row.length} values, the first row has ${cols}`);
    }
    rows.push(row);
  }
  if (rows.length === 0) throw new MistError(ErrorCode.FORMAT, `${path}: no feature rows`);
  const data = new Float32Array(rows.length * cols);
  rows.forEach((r, i) => data.set(r, i * cols));
  return { data, shape: [rows.length, cols] };
}

const CROP_RE = /^(.*)__(\d+)\.npy$/;

/**
 * Reads per-crop feature files `<video>__<k>.npy` (k = 0..K-1, each [T, D]) and stacks them
 * into [T, K, D]. Sync. `path` is one crop file or the stem `<dir>/<video>`. Throws
 * ERR_MIST_IO (no crop files), ERR_MIST_FORMAT (a crop index missing), ERR_MIST_SHAPE
 * (crops of different shapes) or the readNpy errors.
 */
export function readCropFeatures(path: string, options: NonFiniteOptions = {}): FeatureArray {
  const m = CROP_RE.exec(basename(path));
  const stem = m ? (m[1] as string) : basename(path);
  const dir = dirname(path);
  const entries = listDir(dir);
  const crops = new Map<number, string>();
  for (const f of entries) {
    const cm = CROP_RE.exec(f);
    if (cm && cm[1] === stem) crops.set(Number(cm[2]), join(dir, f));
  }
  if (crops.size === 0) throw new MistError(ErrorCode.IO, `no crop files ${join(dir, stem)}__<k>.npy`);
  const K = crops.size;
  for (let k = 0; k < K; k++) {
    if (!crops.has(k)) {
      throw new MistError(ErrorCode.FORMAT, `${join(dir, stem)}: crop files must be numbered 0..${K - 1}, crop ${k} is missing`);
    }
  }
  let T = -1;
  let D = -1;
  let out: Float32Array | undefined;
  for (let k = 0; k < K; k++) {
    const file = crops.get(k) as string;
    const f = toFeatureArray(readNpy(file), file, options);
    if (f.shape.length !== 2) {
      throw new MistError(ErrorCode.SHAPE, `${file}: a crop file must be [T, D], got [${f.shape.join(', ')}]`);
    }
    const [t, d] = f.shape as [number, number];
    if (!out) {
      T = t;
      D = d;
      out = new Float32Array(T * K * D);
    } else if (t !== T || d !== D) {
      throw new MistError(ErrorCode.SHAPE, `${file}: shape [${t}, ${d}] differs from crop 0 [${T}, ${D}]`);
    }
    for (let i = 0; i < T; i++) out.set(f.data.subarray(i * D, (i + 1) * D), (i * K + k) * D);
  }
  return { data: out as Float32Array, shape: [T, K, D] };
}

function sidecarPath(npyPath: string): string {
  return npyPath.replace(/\.npy$/i, '') + '.json';
}

function readSidecar(npyPath: string, shape: readonly number[]): FeatureMeta | undefined {
  const p = sidecarPath(npyPath);
  if (!existsSync(p)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileOrThrow(p, 'feature sidecar').toString('utf8'));
  } catch (e) {
    if (e instanceof MistError) throw e;
    throw new MistError(ErrorCode.FORMAT, `${p}: sidecar is not valid JSON`, { cause: e });
  }
  if (typeof json !== 'object' || json === null || (json as { format?: unknown }).format !== FORMAT_ID) {
    return undefined; // some other tool's JSON beside the .npy: not ours, ignore it
  }
  const { format: _f, version, shape: s, dtype: _d, ...meta } = json as Record<string, unknown>;
  if (version !== 1) throw new MistError(ErrorCode.FORMAT, `${p}: unsupported feature format version ${String(version)}`);
  if (Array.isArray(s) && s.join(',') !== shape.join(',')) {
    throw new MistError(ErrorCode.SHAPE, `${p}: sidecar says shape [${s.join(', ')}], the .npy has [${shape.join(', ')}]`);
  }
  const r = FeatureMetaSchema.safeParse(meta);
  if (!r.success) throw new MistError(ErrorCode.FORMAT, `${p}: bad sidecar field: ${r.error.issues[0]?.path.join('.')}`);
  return r.data;
}

/** Options of readFeatures(). */
export const ReadFeaturesOptionsSchema = z.strictObject({
  /** Dataset name inside an HDF5 store (with or without the `.npy` suffix). */
  key: z.string().optional(),
  /** For `<video>__<k>.npy`: stack all crops into [T, K, D] (true) or read only this crop. */
  allCrops: z.boolean().default(false),
  /** Accept NaN and ±Infinity in the features (refused by default with ERR_MIST_FORMAT). */
  allowNonFinite: z.boolean().default(false),
});
export type ReadFeaturesOptions = z.input<typeof ReadFeaturesOptionsSchema>;

/**
 * Reads clip features, choosing the reader by extension: `.npy` (our format or any float
 * [T, D] / [T, K, D] array; with `allCrops`, all `<video>__<k>.npy` crops stacked), `.txt`
 * (Sultani C3D text) or `.h5`/`.hdf5` (with `key`). Async (HDF5 needs its wasm module).
 * Throws ERR_MIST_ARG, ERR_MIST_IO, ERR_MIST_FORMAT (also for a NaN or infinity, naming the
 * row and element, unless `allowNonFinite`), ERR_MIST_DTYPE, ERR_MIST_SHAPE or ERR_MIST_MEMORY.
 */
export async function readFeatures(path: string, options?: ReadFeaturesOptions): Promise<Features> {
  const o = parseOptions(ReadFeaturesOptionsSchema, options, 'readFeatures options');
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') {
    if (o.allCrops) return readCropFeatures(path, o);
    const f = toFeatureArray(readNpy(path), path, o);
    const meta = readSidecar(path, f.shape);
    return meta ? { ...f, meta } : f;
  }
  if (ext === '.txt') return readC3dTxt(path, o);
  if (ext === '.h5' || ext === '.hdf5') {
    if (o.key === undefined) throw new MistError(ErrorCode.ARG, `readFeatures: ${path} is an HDF5 store; pass options.key (the video)`);
    const { openFeatureStore } = await import('./hdf5.js');
    const store = await openFeatureStore(path);
    try {
      return store.read(o.key, o);
    } finally {
      store.close();
    }
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new MistError(ErrorCode.ARG, `readFeatures: ${path} is a directory; pass a feature file`);
  }
  throw new MistError(ErrorCode.FORMAT, `readFeatures: unknown feature file type '${ext || basename(path)}' (want .npy, .txt, .h5)`);
}

/**
 * Writes features in our format: float32 C-order `.npy` plus a `.json` sidecar with `meta`.
 * Sync. `path` must end in `.npy`. Throws ERR_MIST_ARG, ERR_MIST_SHAPE or ERR_MIST_IO.
 */
export function writeFeatures(path: string, features: FeatureArray, meta?: FeatureMeta): void {
  if (!/\.npy$/i.test(path)) throw new MistError(ErrorCode.ARG, `writeFeatures: path must end in .npy (got ${path})`);
  if (!(features.data instanceof Float32Array)) {
    throw new MistError(ErrorCode.DTYPE, 'writeFeatures: features.data must be a Float32Array');
  }
  checkFeatureShape(features.shape, 'writeFeatures');
  const m = parseOptions(FeatureMetaSchema, meta ?? {}, 'feature metadata');
  writeNpy(path, features);
  const sidecar = { format: FORMAT_ID, version: 1, shape: features.shape, dtype: 'float32', ...m };
  writeFileOrThrow(sidecarPath(path), JSON.stringify(sidecar, null, 2) + '\n');
}

/** Mean over crops: [T, K, D] → [T, D]; a [T, D] array is returned as is. Sync. */
export function meanOverCrops(features: FeatureArray): FeatureArray {
  if (features.shape.length === 2) return features;
  checkFeatureShape(features.shape, 'meanOverCrops');
  const [T, K, D] = features.shape as [number, number, number];
  const out = new Float32Array(T * D);
  const acc = new Float64Array(D);
  for (let t = 0; t < T; t++) {
    acc.fill(0);
    for (let k = 0; k < K; k++) {
      const off = (t * K + k) * D;
      for (let d = 0; d < D; d++) acc[d] = (acc[d] as number) + (features.data[off + d] as number);
    }
    for (let d = 0; d < D; d++) out[t * D + d] = (acc[d] as number) / K;
  }
  return { data: out, shape: [T, D] };
}
