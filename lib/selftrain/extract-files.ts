// Feature extraction to disk, in the layouts the community's stage-1 code reads: one
// `<video>.npy` per video ([T, D], or [T, crops, D] for five or ten crops), one
// `<video>__<k>.npy` per crop k ([T, D] each, as RTFM-style loaders read them), or one HDF5
// store (datasets `<video>.npy`, as the MIST authors publish theirs), with an RTFM-style
// `.list` beside them. Long runs over a data set must survive being stopped and bad files:
// - every file is written under a temporary name and renamed, so what exists is complete, and
//   a rerun skips each video whose output is there with the expected layout;
// - an HDF5 store cannot take a dataset atomically, so each video is first written as
//   `.<store>.parts/<video>.npy` (atomically), and the store is rebuilt once at the end
//   (the old datasets and the new ones, into a temporary file renamed over the old);
// - a video that cannot be opened or decoded is reported and skipped; a failure to write
//   the output, or of the encoder, ends the run.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { z } from 'zod';

import { openFrameSource } from '../data/frame-cache.js';
import { readFileAsync, writeFileAtomic } from '../data/files.js';
import { openFeatureStore, writeFeatureStore, type FeatureStore, type FeatureStoreEntry } from '../data/hdf5.js';
import { writeRtfmList } from '../data/lists.js';
import { encodeNpy, parseNpy, parseNpyHeader } from '../data/npy.js';
import { ErrorCode, MistError, ioError, throwIfAborted } from '../errors.js';
import type { SgaEncoder } from '../models/encoder.js';
import { parseOptions } from '../options.js';
import {
  CropCountSchema,
  ExtractFeaturesOptionsSchema,
  cropViews,
  defaultBatchSize,
  encodeVideo,
  namedVideos,
  wholeClips,
  type ExtractVideo,
} from './extract.js';

/** `npy`: `<video>.npy`; `npy-per-crop`: `<video>__<k>.npy`; `hdf5`: one store. */
export const FeatureFileFormatSchema = z.enum(['npy', 'npy-per-crop', 'hdf5']);
/** The file layout extractFeatureFiles() writes: `npy`, `npy-per-crop` or `hdf5`. */
export type FeatureFileFormat = z.output<typeof FeatureFileFormatSchema>;

const FileName = z
  .string()
  .min(1)
  .regex(/^[^\\/]+$/, { error: 'must be a file name, without a folder' });

const X = ExtractFeaturesOptionsSchema.shape;
/** Options of extractFeatureFiles(). */
export const ExtractFeatureFilesOptionsSchema = z.strictObject({
  /** The folder the features (and the list) go to; made when missing. */
  dir: z.string().min(1),
  format: FeatureFileFormatSchema.default('npy'),
  crops: CropCountSchema.default(1),
  /** The HDF5 store's file name in `dir` (format hdf5). */
  store: FileName.default('features.h5'),
  /** The `.list` file's name in `dir`, or false for none. */
  list: z.union([FileName, z.literal(false)]).default('features.list'),
  batchSize: X.batchSize,
  testSize: X.testSize,
  prefetch: X.prefetch,
  signal: X.signal,
  /** Called when a video starts, after each batch, and when a video is written, skipped or fails. */
  onProgress: z.custom<(p: ExtractFilesProgress) => void>((v) => typeof v === 'function').optional(),
});
/** Options of extractFeatureFiles(), as callers pass them. */
export type ExtractFeatureFilesOptions = z.input<typeof ExtractFeatureFilesOptionsSchema>;

/** What extractFeatureFiles() reports as it goes (see `event`). */
export interface ExtractFilesProgress {
  /**
   * `start`: the video is open and its clip count known; `batch`: a batch of its clips is
   * done; `written`; `skipped`: its output was already complete; `failed`: it could not be
   * read (see `error`) and is left out.
   */
  event: 'start' | 'batch' | 'written' | 'skipped' | 'failed';
  video: string;
  /** 0-based position in the list, and the list's length. */
  index: number;
  videos: number;
  /** This video's clips encoded so far, and its clip count (0 until it is open). */
  clipsDone: number;
  clips: number;
  /** Clips encoded by this run, every video. */
  totalClips: number;
  /** totalClips over the seconds since the first video started (0 before the first batch). */
  clipsPerSecond: number;
  /**
   * Seconds left, estimated: this video's remaining clips, plus the videos still to encode at
   * the mean clip count so far, at clipsPerSecond. NaN before the first batch.
   */
  etaSeconds: number;
  elapsedSeconds: number;
  /** Why the video failed (`failed` only). */
  error?: MistError;
}

/** What a run did. */
export interface ExtractFilesSummary {
  /** Videos encoded and written by this run, in list order. */
  written: string[];
  /** Videos whose output was already complete. */
  skipped: string[];
  /** Videos that could not be read, with the reason. */
  failed: { video: string; path: string; error: MistError }[];
  /** Clips encoded by this run. */
  clips: number;
  seconds: number;
  /** The list file (absent with `list: false`) and the store (format hdf5). */
  list?: string;
  store?: string;
}

// Errors that belong to one video (its file, its decoding, its length): the video is left
// out and the run goes on. Anything else (the encoder, memory, an abort) ends the run.
const VIDEO_FAILURES: ReadonlySet<string> = new Set([ErrorCode.VIDEO, ErrorCode.IO, ErrorCode.FORMAT, ErrorCode.ARG]);

/**
 * Whether `path` is a complete float32 C-order .npy of shape [T, ...tail] (T >= 1), from its
 * header and size alone: what an atomic write leaves is whole, but an older run may have used
 * another layout. Sync; any failure reads as "no". Returns T, or 0.
 */
function npyClips(path: string, tail: readonly number[]): number {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, 65536 + 12));
    readSync(fd, head, 0, head.length, 0);
    const h = parseNpyHeader(head, path);
    const s = h.shape;
    if (h.descr !== '<f4' || h.fortranOrder || s.length !== tail.length + 1 || s[0]! < 1) return 0;
    if (tail.some((d, i) => s[i + 1] !== d)) return 0;
    return size === h.dataOffset + 4 * s.reduce((a, b) => a * b, 1) ? s[0]! : 0;
  } catch {
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw ioError(e, 'make folder', dir);
  }
}

/**
 * Extracts the clip features of every video to files in `options.dir` (see the module
 * comment for the layouts), skipping videos whose output is already complete and reporting,
 * not throwing for, videos that cannot be read. Async; progress per batch, an AbortSignal
 * between batches (what was written stays, complete). Returns the summary. Throws ERR_MIST_ARG
 * (bad options, two videos of one name), ERR_MIST_IO (cannot write the output), the
 * encoder's errors, ERR_MIST_ABORTED.
 */
export async function extractFeatureFiles(
  videos: readonly ExtractVideo[],
  encoder: SgaEncoder,
  options: ExtractFeatureFilesOptions,
): Promise<ExtractFilesSummary> {
  const o = parseOptions(ExtractFeatureFilesOptionsSchema, options, 'feature file extraction options');
  const list = namedVideos(videos);
  // Bad crop options fail here once, not once per video.
  cropViews(
    encoder.backbone,
    { width: 4096, height: 4096 },
    {
      crops: o.crops,
      inputSize: encoder.inputSize,
      ...(o.testSize ? { testSize: o.testSize } : {}),
    },
  );
  const t0 = performance.now();
  const D = encoder.featureDim;
  const [T] = encoder.inputSize;
  const K = o.crops;
  const tail = o.format === 'npy' && K > 1 ? [K, D] : [D];
  const dir = o.dir;
  makeDir(dir);
  const storePath = join(dir, o.store);
  const parts = join(dir, `.${o.store}.parts`);
  const npyPath = (name: string) => join(dir, `${name}.npy`);
  const cropPath = (name: string, k: number) => join(dir, `${name}__${k}.npy`);
  const partPath = (name: string) => join(parts, `${name}.npy`);

  let store: FeatureStore | undefined;
  if (o.format === 'hdf5' && existsSync(storePath)) store = await openFeatureStore(storePath);
  const summary: ExtractFilesSummary = { written: [], skipped: [], failed: [], clips: 0, seconds: 0 };
  try {
    const storeHas = (name: string): boolean => {
      if (!store?.has(name)) return false;
      const d = store.describe(name);
      const want = K > 1 ? [K, D] : [D];
      return d.dtype === 'float32' && d.shape.length === want.length + 1 && want.every((v, i) => d.shape[i + 1] === v);
    };
    const complete = (name: string): boolean => {
      if (o.format === 'npy') return npyClips(npyPath(name), tail) > 0;
      if (o.format === 'hdf5') return storeHas(name) || npyClips(partPath(name), K > 1 ? [K, D] : [D]) > 0;
      const t = npyClips(cropPath(name, 0), [D]);
      for (let k = 1; k < K && t > 0; k++) if (npyClips(cropPath(name, k), [D]) !== t) return false;
      return t > 0;
    };
    const done = list.map((v) => complete(v.name));
    encoder.setTraining(false);
    const batchSize = o.batchSize ?? defaultBatchSize(K);
    let toEncode = done.filter((d) => !d).length;
    let encodedVideos = 0;
    let started: number | undefined;
    const report = (
      event: ExtractFilesProgress['event'],
      index: number,
      clipsDone: number,
      clips: number,
      error?: MistError,
    ): void => {
      if (!o.onProgress) return;
      const now = performance.now();
      const totalClips = summary.clips + (event === 'written' ? 0 : clipsDone);
      const seconds = started === undefined ? 0 : (now - started) / 1000;
      const rate = seconds > 0 && totalClips > 0 ? totalClips / seconds : 0;
      // The current video counts among those with known clip counts once it is open.
      const open = event === 'start' || event === 'batch' ? 1 : 0;
      const mean = encodedVideos + open > 0 ? (summary.clips + (open ? clips : 0)) / (encodedVideos + open) : 0;
      const left = Math.max(0, clips - clipsDone) * open + Math.max(0, toEncode - open) * mean;
      o.onProgress({
        event,
        video: list[index]!.name,
        index,
        videos: list.length,
        clipsDone,
        clips,
        totalClips,
        clipsPerSecond: rate,
        etaSeconds: rate > 0 ? left / rate : NaN,
        elapsedSeconds: (now - t0) / 1000,
        ...(error ? { error } : {}),
      });
    };

    for (const [i, v] of list.entries()) {
      throwIfAborted(o.signal);
      if (done[i]) {
        summary.skipped.push(v.name);
        report('skipped', i, 0, 0);
        continue;
      }
      started ??= performance.now();
      let clips = 0;
      let r;
      try {
        const source = await openFrameSource(v.path, { order: 'rgb', signal: o.signal });
        clips = wholeClips(source, T, v.path);
        report('start', i, 0, clips);
        r = await encodeVideo(source, clips, encoder, {
          crops: K,
          batchSize,
          prefetch: o.prefetch,
          testSize: o.testSize,
          signal: o.signal,
          onBatch: (c) => report('batch', i, c, clips),
        });
      } catch (e) {
        if (!(e instanceof MistError) || !VIDEO_FAILURES.has(e.code)) throw e;
        summary.failed.push({ video: v.name, path: v.path, error: e });
        toEncode--;
        report('failed', i, 0, clips, e);
        continue;
      }
      const shape = K > 1 ? [clips, K, D] : [clips, D];
      if (o.format === 'npy') await writeFileAtomic(npyPath(v.name), encodeNpy({ data: r.features, shape }));
      else if (o.format === 'hdf5') {
        makeDir(parts);
        await writeFileAtomic(partPath(v.name), encodeNpy({ data: r.features, shape }));
      } else {
        for (let k = 0; k < K; k++) {
          const one = new Float32Array(clips * D);
          for (let c = 0; c < clips; c++) one.set(r.features.subarray((c * K + k) * D, (c * K + k + 1) * D), c * D);
          await writeFileAtomic(cropPath(v.name, k), encodeNpy({ data: one, shape: [clips, D] }));
        }
      }
      summary.clips += clips;
      encodedVideos++;
      toEncode--;
      summary.written.push(v.name);
      report('written', i, clips, clips);
    }

    if (o.format === 'hdf5') {
      summary.store = storePath;
      const staged = existsSync(parts) ? readdirSync(parts).filter((f) => /\.npy$/.test(f)) : [];
      if (staged.length > 0) {
        const fresh = new Set(staged.map((f) => f.slice(0, -4)));
        const old = store;
        async function* entries(): AsyncGenerator<FeatureStoreEntry> {
          for (const name of old?.names() ?? []) if (!fresh.has(name)) yield { name, features: old!.read(name) };
          for (const f of staged) {
            const a = parseNpy(await readFileAsync(join(parts, f), 'staged features'), join(parts, f));
            yield { name: f.slice(0, -4), features: { data: a.data as Float32Array, shape: a.shape } };
          }
        }
        await writeFeatureStore(storePath, entries());
      }
      rmSync(parts, { recursive: true, force: true });
    }
  } finally {
    store?.close();
  }

  if (o.list !== false) {
    const listPath = join(dir, o.list);
    const failed = new Set(summary.failed.map((f) => f.video));
    const lines: string[] = [];
    for (const v of list) {
      if (failed.has(v.name)) continue;
      if (o.format === 'npy') lines.push(resolve(npyPath(v.name)));
      else if (o.format === 'hdf5') lines.push(`${v.name}.npy`);
      else for (let k = 0; k < K; k++) lines.push(resolve(cropPath(v.name, k)));
    }
    await writeRtfmList(listPath, lines);
    summary.list = listPath;
  }
  summary.seconds = (performance.now() - t0) / 1000;
  return summary;
}
