// The pseudo-label files: the hand-off from stage 1 to stage 2, ours (JSON) and the MIST
// authors' released ones (a pickled dict in a .npy).
import { basename } from 'node:path';
import { z } from 'zod';
import { ErrorCode, MistError } from '../errors.js';
import { parseOptions } from '../options.js';
import { readFileAsync, writeFileAtomic } from './files.js';
import { NdArray, readPickledNpy } from './pickle.js';

/** What a pseudo-label set says about itself. */
export const PseudoLabelMetaSchema = z.strictObject({
  /** e.g. 'shanghaitech', 'ucf-crime'. */
  dataset: z.string({ error: 'must be a non-empty string' }).min(1, { error: 'must be a non-empty string' }),
  /** The vanilla encoder whose features trained the generator, e.g. 'i3d', 'c3d'. */
  featureKind: z.string({ error: 'must be a non-empty string' }).min(1, { error: 'must be a non-empty string' }),
  /** ISO 8601 time the labels were made; absent for the authors' files, which do not say. */
  created: z.iso.datetime({ error: 'must be an ISO 8601 date-time' }).optional(),
  /** Free text: the preset, seed and checkpoint that made the labels, or the file they came from. */
  source: z.string({ error: 'must be a string' }).optional(),
  /** Frames per clip: one label per clip of this many frames. */
  clipFrames: z.int({ error: 'must be a positive integer' }).positive({ error: 'must be a positive integer' }).default(16),
});
export type PseudoLabelMeta = z.infer<typeof PseudoLabelMetaSchema>;

/** Per-clip pseudo labels of a set of training videos, by video name. */
export interface PseudoLabelSet {
  meta: PseudoLabelMeta;
  labels: Map<string, Float32Array>;
}

const FORMAT = 'mist-vad-pseudo-labels';
const VERSION = 1;

const FileSchema = z.strictObject({
  format: z.literal(FORMAT, { error: `must be "${FORMAT}"` }),
  version: z.literal(VERSION, { error: `must be ${VERSION} (this reader's version)` }),
  meta: PseudoLabelMetaSchema,
  videos: z.record(
    z.string(),
    z.array(
      z
        .number({ error: 'must hold numbers only' })
        .min(0, { error: 'must hold values in [0, 1]' })
        .max(1, { error: 'must hold values in [0, 1]' }),
      { error: 'must be an array of numbers' },
    ),
  ),
});

/** The shortest decimal text that reads back as the same float32, so files stay small and exact. */
function f32Text(x: number): string {
  for (let p = 1; p < 9; p++) {
    const s = Number(x.toPrecision(p));
    if (Math.fround(s) === x) return String(s);
  }
  return String(Number(x.toPrecision(9)));
}

/**
 * Writes pseudo labels as JSON: {format, version, meta, videos: {name: [labels]}}, each label
 * the shortest decimal that reads back as the same float32 (any JSON reader, Python's too, can
 * load it). Written to a temporary file first and renamed, so a crash leaves no half file.
 * Async. Throws ERR_MIST_ARG for bad meta or a label that is not finite or outside [0, 1] (what
 * the reader refuses), ERR_MIST_IO when the file
 * cannot be written. `meta.created` defaults to now.
 */
export async function writePseudoLabels(
  path: string,
  labels: ReadonlyMap<string, ArrayLike<number>>,
  meta: z.input<typeof PseudoLabelMetaSchema>,
): Promise<void> {
  const m = parseOptions(PseudoLabelMetaSchema, { created: new Date().toISOString(), ...meta }, 'pseudo-label meta');
  const parts: string[] = [];
  for (const [name, values] of labels) {
    const texts: string[] = [];
    for (let i = 0; i < values.length; i++) {
      const v = Math.fround(values[i]!);
      if (!Number.isFinite(v)) throw new MistError(ErrorCode.ARG, `${name}: label ${i} is not finite (${values[i]})`);
      if (v < 0 || v > 1) throw new MistError(ErrorCode.ARG, `${name}: label ${i} is outside [0, 1] (${values[i]})`);
      texts.push(f32Text(v));
    }
    parts.push(`${JSON.stringify(name)}:[${texts.join(',')}]`);
  }
  const text = `{"format":"${FORMAT}","version":${VERSION},"meta":${JSON.stringify(m)},\n"videos":{\n${parts.join(',\n')}\n}}\n`;
  await writeFileAtomic(path, text);
}

/**
 * Reads a file written by writePseudoLabels. Async. Returns the meta and a Map of
 * Float32Arrays in file order. Throws ERR_MIST_IO when the file cannot be read,
 * ERR_MIST_FORMAT when it is not valid JSON of this format, naming the first bad field (a
 * wrong format tag or version, a label that is not a number in [0, 1]: JSON has no NaN, and
 * 1e400 reads as Infinity and is refused).
 */
export async function readPseudoLabels(path: string): Promise<PseudoLabelSet> {
  const text = (await readFileAsync(path, 'pseudo-label file')).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const why = (e as Error).message.replace(/\s+/g, ' ');
    throw new MistError(ErrorCode.FORMAT, `${path}: not JSON (${why})`, { cause: e });
  }
  let file: z.output<typeof FileSchema>;
  try {
    file = parseOptions(FileSchema, json, 'pseudo-label file');
  } catch (e) {
    throw new MistError(ErrorCode.FORMAT, `${path}: ${(e as Error).message}`, { cause: e });
  }
  const labels = new Map<string, Float32Array>();
  for (const [name, values] of Object.entries(file.videos)) labels.set(name, Float32Array.from(values));
  return { meta: file.meta, labels };
}

/** Options of readOfficialPseudoLabels; by default guessed from the file name (SHT_I3D_PLs.npy). */
export const OfficialPseudoLabelOptionsSchema = z.strictObject({
  dataset: z.string().min(1).optional(),
  featureKind: z.string().min(1).optional(),
});
export type OfficialPseudoLabelOptions = z.infer<typeof OfficialPseudoLabelOptionsSchema>;

/**
 * Reads the MIST authors' released pseudo labels (SHT_I3D_PLs.npy, SHT_C3D_PLs.npy): a .npy
 * holding a pickled dict of video name → float64 array. Keys lose their '.npy' suffix so they
 * match the split lists (01_0014.npy → 01_0014); values become Float32Array (stage 2 trains in
 * float32). dataset and featureKind come from options, else from the file name (SHT → shanghaitech,
 * I3D/C3D). Async. Throws ERR_MIST_IO, ERR_MIST_FORMAT when the file is not such a dict or a
 * label is not a number in [0, 1].
 */
export async function readOfficialPseudoLabels(path: string, options: OfficialPseudoLabelOptions = {}): Promise<PseudoLabelSet> {
  const o = parseOptions(OfficialPseudoLabelOptionsSchema, options, 'official pseudo-label options');
  const value = await readPickledNpy(path);
  if (!(value instanceof Map)) throw new MistError(ErrorCode.FORMAT, `${path}: holds no dict of pseudo labels`);
  const labels = new Map<string, Float32Array>();
  for (const [key, arr] of value) {
    if (typeof key !== 'string') throw new MistError(ErrorCode.FORMAT, `${path}: a dict key is not a string`);
    if (!(arr instanceof NdArray) || arr.shape.length !== 1 || !(arr.data instanceof Float64Array || arr.data instanceof Float32Array)) {
      throw new MistError(ErrorCode.FORMAT, `${path}: ${key} is not a 1-d float array`);
    }
    const name = key.endsWith('.npy') ? key.slice(0, -4) : key;
    if (labels.has(name)) throw new MistError(ErrorCode.FORMAT, `${path}: video ${name} appears twice`);
    const values = Float32Array.from(arr.data);
    const bad = values.findIndex((v) => !(v >= 0 && v <= 1)); // NaN fails both
    if (bad >= 0) throw new MistError(ErrorCode.FORMAT, `${path}: ${key}: label ${bad} is ${arr.data[bad]}, not a number in [0, 1]`);
    labels.set(name, values);
  }
  const file = basename(path);
  const guessedDataset = /^SHT?_/i.test(file) ? 'shanghaitech' : /^UCF/i.test(file) ? 'ucf-crime' : 'unknown';
  const guessedKind = /I3D/i.test(file) ? 'i3d' : /C3D/i.test(file) ? 'c3d' : 'unknown';
  const meta = parseOptions(
    PseudoLabelMetaSchema,
    { dataset: o.dataset ?? guessedDataset, featureKind: o.featureKind ?? guessedKind, source: `MIST authors' ${file}` },
    'pseudo-label meta',
  );
  return { meta, labels };
}
