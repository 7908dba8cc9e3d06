// Frame-level ground truth of the three benchmarks, built from the files their authors
// publish. Index conventions differ between repositories (see ../shared/data/README.md), so
// the convention is an explicit option, and the default is MIST's: 0-based half-open [s, e),
// clipped to the video, labels truncated to 16·floor(frames/16) because only whole 16-frame
// clips are scored.
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ErrorCode, MistError } from '../errors.js';
import { listDir, readFileOrThrow } from '../data/files.js';
import { readNpy, type NpyArray } from '../data/npy.js';
import {
  MAX_FRAMES,
  readRtfmList,
  readShanghaiTechList,
  uniqueVideoNames,
  videoName,
  type VideoEntry,
} from '../data/lists.js';
import { readUcfCrimeAnnotation, type VideoManifest } from '../data/manifest.js';
import { checkAllocation } from '../memory.js';
import { parseOptions } from '../options.js';

/** Ground truth of one video. */
export interface VideoGroundTruth {
  /** Video name without extension, e.g. `Abuse028_x264`, `01_0015`. */
  name: string;
  /** UCF-Crime class (`Normal` for normal videos); absent for the other datasets. */
  className?: string;
  /** Video-level label: true for an anomalous (or violent) video. */
  anomalous: boolean;
  /** Frame count of the video as published (before truncation). */
  sourceFrames: number;
  /** Labelled frames: labels.length. */
  frames: number;
  /** One label per frame: 1 anomalous, 0 normal. */
  labels: Uint8Array;
}

/** Ground truth of a test set, with its totals. */
export interface GroundTruth {
  dataset: 'ucf-crime' | 'shanghaitech' | 'xd-violence' | 'rtfm' | 'synthetic';
  videos: VideoGroundTruth[];
  /** Sum of labels.length. */
  totalFrames: number;
  /** Frames labelled 1. */
  anomalousFrames: number;
  anomalousVideos: number;
}

/** The package's own data folder (data/ beside lib/ and dist/). */
export function packageDataPath(...parts: string[]): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'data', ...parts);
}

function finish(dataset: GroundTruth['dataset'], videos: VideoGroundTruth[]): GroundTruth {
  let totalFrames = 0;
  let anomalousFrames = 0;
  let anomalousVideos = 0;
  for (const v of videos) {
    totalFrames += v.labels.length;
    for (let i = 0; i < v.labels.length; i++) anomalousFrames += v.labels[i] as number;
    if (v.anomalous) anomalousVideos++;
  }
  return { dataset, videos, totalFrames, anomalousFrames, anomalousVideos };
}

function usable(frames: number, truncate: boolean): number {
  return truncate ? frames - (frames % 16) : frames;
}

/** Zeroed labels for a frame count read from a file, estimated first (ERR_MIST_MEMORY). */
function zeros(frames: number, what: string): Uint8Array {
  checkAllocation(frames, 1, `labels of ${what} (${frames} frames)`);
  return new Uint8Array(frames);
}

const FrameCounts = z.union([z.string(), z.instanceof(Map), z.record(z.string(), z.number())]);

function isInt(t: string | undefined): boolean {
  return /^-?\d+$/.test(t ?? '');
}

/**
 * Reads per-video frame counts from a text file: MIST's
 * `Temporal_Anomaly_Annotation_New.txt` (7th column), ekosman's `Test_Annotation.txt` /
 * `Train_Annotation.txt` (`path frames ...`), or plain `name frames` lines. Sync. Keys are
 * video names without folder or extension. Throws ERR_MIST_IO or ERR_MIST_FORMAT.
 */
export function readFrameCounts(path: string): Map<string, number> {
  const out = new Map<string, number>();
  readFileOrThrow(path, 'frame-count file')
    .toString('utf8')
    .split(/\r?\n/)
    .forEach((line, i) => {
      const t = line.trim().split(/\s+/);
      if (t.length < 2) return; // blank lines, headers (a trimmed line never splits into a leading '')
      let n: string | undefined;
      // MIST's 7 columns (t[6] is absent on shorter lines), else `name frames ...`.
      if (!isInt(t[1]) && isInt(t[6])) n = t[6];
      else if (isInt(t[1])) n = t[1];
      if (n === undefined || Number(n) < 0)
        throw new MistError(ErrorCode.FORMAT, `${path}:${i + 1}: no frame count on this line`);
      if (!Number.isSafeInteger(Number(n)) || Number(n) > MAX_FRAMES) {
        throw new MistError(
          ErrorCode.FORMAT,
          `${path}:${i + 1}: frame count ${n.slice(0, 40)} is beyond ${MAX_FRAMES} (2^30)`,
        );
      }
      const name = videoName(t[0] as string);
      if (out.has(name) && out.get(name) !== Number(n)) {
        throw new MistError(
          ErrorCode.FORMAT,
          `${path}:${i + 1}: ${name} has two frame counts (${out.get(name)} and ${n})`,
        );
      }
      out.set(name, Number(n));
    });
  if (out.size === 0) throw new MistError(ErrorCode.FORMAT, `${path}: no frame counts`);
  return out;
}

function toCountMap(fc: z.infer<typeof FrameCounts>): Map<string, number> {
  if (typeof fc === 'string') return readFrameCounts(fc);
  const entries = fc instanceof Map ? [...(fc as Map<unknown, unknown>).entries()] : Object.entries(fc);
  const m = new Map<string, number>();
  for (const [k, v] of entries) {
    if (typeof k !== 'string' || typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > MAX_FRAMES) {
      throw new MistError(
        ErrorCode.ARG,
        `frameCounts: need video name → non-negative integer, got ${String(k)} → ${String(v)}`,
      );
    }
    m.set(videoName(k), v);
  }
  return m;
}

/** Each convention's [start shift, end shift] from the annotation's numbers to 0-based [s, e). */
const CONVENTIONS = { mist: [0, 0], inclusive: [0, 1], sultani: [-1, 0] } as const;

/** Options of loadUcfCrimeGroundTruth(). */
export const UcfCrimeGroundTruthOptionsSchema = z.strictObject({
  /** `Temporal_Anomaly_Annotation_for_Testing_Videos.txt` (default: the copy in data/). */
  annotation: z.string().optional(),
  /** Frame counts: a file readFrameCounts() reads, or a map (default: MIST's file in data/). */
  frameCounts: FrameCounts.optional(),
  /**
   * `mist`: 0-based half-open [s, e) (MIST, PEL4VAD). `inclusive`: [s, e] (RTFM and other
   * feature-based peers). `sultani`: Sultani's MATLAB GT(s:e), i.e. 0-based [s-1, e).
   */
  convention: z.enum(['mist', 'inclusive', 'sultani']).default('mist'),
  /** Keep only 16·floor(frames/16) frames (whole clips), as MIST evaluates. */
  truncate: z.boolean().default(true),
});
export type UcfCrimeGroundTruthOptions = z.input<typeof UcfCrimeGroundTruthOptionsSchema>;

/**
 * UCF-Crime test ground truth from the official annotation (`name class s1 e1 s2 e2`, −1 =
 * none) and per-video frame counts. Sync. Intervals past the last frame are clipped (five
 * official ones are). Throws ERR_MIST_ARG (bad options, a video without frame count),
 * ERR_MIST_IO or ERR_MIST_FORMAT (malformed line).
 */
export function loadUcfCrimeGroundTruth(options?: UcfCrimeGroundTruthOptions): GroundTruth {
  const o = parseOptions(UcfCrimeGroundTruthOptionsSchema, options, 'UCF-Crime ground-truth options');
  const annotation = o.annotation ?? packageDataPath('ucf-crime', 'Temporal_Anomaly_Annotation_for_Testing_Videos.txt');
  const countsFrom = o.frameCounts ?? packageDataPath('ucf-crime', 'Temporal_Anomaly_Annotation_New.txt');
  const counts = toCountMap(countsFrom);
  const [shift, endPlus] = CONVENTIONS[o.convention];
  // One parser of the annotation file, shared with ucfCrimeVideoManifest().
  const videos = readUcfCrimeAnnotation(annotation).map(({ name, className, spans, line }): VideoGroundTruth => {
    const n = counts.get(name);
    if (n === undefined) {
      const from = typeof o.frameCounts === 'string' || o.frameCounts === undefined ? ` in ${countsFrom}` : '';
      throw new MistError(ErrorCode.ARG, `no frame count for ${name} (${annotation}:${line})${from}`);
    }
    const labels = zeros(usable(n, o.truncate), `${name} (${annotation}:${line})`);
    for (const [s, e] of spans) {
      // An end past the last frame is clipped (five official intervals are); a start past the
      // last frame of a video that has frames says the annotation and the frame counts are of
      // different videos (the anomalous video would get no anomalous frame).
      if (n > 0 && Math.max(0, s + shift) >= n) {
        const from = typeof countsFrom === 'string' ? ` (the count of ${countsFrom})` : '';
        throw new MistError(
          ErrorCode.FORMAT,
          `${annotation}:${line}: interval ${s} ${e} of ${name} starts past its ${n} frames${from}`,
        );
      }
      labels.fill(1, Math.max(0, s + shift), Math.min(labels.length, e + endPlus));
    }
    return { name, className, anomalous: className !== 'Normal', sourceFrames: n, frames: labels.length, labels };
  });
  return finish('ucf-crime', videos);
}

function labelArray(a: NpyArray, source: string): Uint8Array {
  if (a.shape.length !== 1)
    throw new MistError(ErrorCode.SHAPE, `${source}: labels must be 1-D, got [${a.shape.join(', ')}]`);
  const out = new Uint8Array(a.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = Number(a.data[i]);
    if (v !== 0 && v !== 1)
      throw new MistError(ErrorCode.FORMAT, `${source}: labels must be 0 or 1, got ${v} at frame ${i}`);
    out[i] = v;
  }
  return out;
}

/** Options of loadShanghaiTechGroundTruth(). */
export const ShanghaiTechGroundTruthOptionsSchema = z.strictObject({
  /** Frame masks folder, `test_frame_mask/<video>.npy` (required: not shipped in data/). */
  masks: z.string(),
  /**
   * The test list (default: MIST's `SH_Test_NEW.txt` in data/, `name,label,frames`). A plain
   * list works too: a video with a mask is anomalous, the others need `frameCounts`.
   */
  list: z.string().optional(),
  /** Frame counts of normal videos, when the list has none. */
  frameCounts: FrameCounts.optional(),
  truncate: z.boolean().default(true),
});
export type ShanghaiTechGroundTruthOptions = z.input<typeof ShanghaiTechGroundTruthOptionsSchema>;

/**
 * ShanghaiTech (Zhong et al. weak split) test ground truth from the frame masks of the
 * anomalous videos and the frame counts of the normal ones. Sync. Throws ERR_MIST_ARG (bad
 * options, a normal video without frame count), ERR_MIST_IO (list or mask missing) or
 * ERR_MIST_FORMAT.
 */
export function loadShanghaiTechGroundTruth(options: ShanghaiTechGroundTruthOptions): GroundTruth {
  const o = parseOptions(ShanghaiTechGroundTruthOptionsSchema, options, 'ShanghaiTech ground-truth options');
  const list = o.list ?? packageDataPath('shanghaitech', 'SH_Test_NEW.txt');
  const counts = o.frameCounts ? toCountMap(o.frameCounts) : new Map<string, number>();
  if (!existsSync(o.masks)) throw new MistError(ErrorCode.IO, `masks folder ${o.masks} does not exist`);
  const videos = readShanghaiTechList(list).map((e: VideoEntry): VideoGroundTruth => {
    const maskPath = join(o.masks, `${e.name}.npy`);
    const anomalous = e.label !== undefined ? e.label === 1 : existsSync(maskPath);
    let full: Uint8Array;
    if (anomalous) {
      full = labelArray(readNpy(maskPath), maskPath);
      if (e.frames !== undefined && e.frames !== full.length) {
        throw new MistError(
          ErrorCode.FORMAT,
          `${maskPath}: the mask has ${full.length} frames, ${list} says ${e.name} has ${e.frames}`,
        );
      }
    } else {
      const n = e.frames ?? counts.get(e.name);
      if (n === undefined) throw new MistError(ErrorCode.ARG, `no frame count for normal video ${e.name} (${list})`);
      full = zeros(n, `${e.name} (${list})`);
    }
    const labels = full.slice(0, usable(full.length, o.truncate));
    return { name: e.name, anomalous, sourceFrames: full.length, frames: labels.length, labels };
  });
  return finish('shanghaitech', videos);
}

/** Options of loadXdViolenceGroundTruth(): label files, or annotation plus frame counts. */
export const XdViolenceGroundTruthOptionsSchema = z.union([
  z.strictObject({
    /** Folder of per-video label files `<video>__0.npy` or `<video>.npy` (0/1 per frame). */
    labelsDir: z.string(),
    truncate: z.boolean().default(true),
  }),
  z.strictObject({
    /** `XD_Annotation.txt`: `name s1 e1 [s2 e2 ...]`, 0-based half-open, violent videos only. */
    annotation: z.string(),
    /** Frame counts of every test video (normal ones included): file or map. */
    frameCounts: FrameCounts,
    truncate: z.boolean().default(true),
  }),
]);
export type XdViolenceGroundTruthOptions = z.input<typeof XdViolenceGroundTruthOptionsSchema>;

/** XD-Violence video names carry their labels: `label_A` is the non-violent class. */
function xdViolent(name: string): boolean {
  return !/_label_A$/.test(name);
}

/**
 * XD-Violence test ground truth, either from the per-video label files (`labelsDir`) or
 * from the annotation text plus frame counts (`annotation`, `frameCounts`). Videos are in
 * name order. Sync. Throws ERR_MIST_ARG, ERR_MIST_IO or ERR_MIST_FORMAT.
 */
export function loadXdViolenceGroundTruth(options: XdViolenceGroundTruthOptions): GroundTruth {
  // A union's own message ("Invalid input") says nothing about which fields it wanted.
  const given = (options ?? {}) as Record<string, unknown>;
  if (given.labelsDir === undefined && given.annotation === undefined) {
    throw new MistError(
      ErrorCode.ARG,
      'invalid XD-Violence ground-truth options: give labelsDir, or annotation and frameCounts',
    );
  }
  const o = parseOptions(XdViolenceGroundTruthOptionsSchema, options, 'XD-Violence ground-truth options');
  const videos: VideoGroundTruth[] = [];
  const push = (name: string, full: Uint8Array, anomalous: boolean): void => {
    const labels = full.slice(0, usable(full.length, o.truncate));
    videos.push({ name, anomalous, sourceFrames: full.length, frames: labels.length, labels });
  };
  if ('labelsDir' in o) {
    const files = listDir(o.labelsDir)
      .filter((f) => f.endsWith('.npy'))
      .sort();
    if (files.length === 0) throw new MistError(ErrorCode.IO, `${o.labelsDir}: no .npy label files`);
    for (const f of files) {
      const p = join(o.labelsDir, f);
      const name = basename(f, '.npy').replace(/__\d+$/, '');
      push(name, labelArray(readNpy(p), p), xdViolent(name));
    }
  } else {
    const counts = toCountMap(o.frameCounts);
    const spans = new Map<string, { nums: number[]; line: number }>();
    readFileOrThrow(o.annotation, 'annotation')
      .toString('utf8')
      .split(/\r?\n/)
      .forEach((line, i) => {
        const t = line.trim().split(/\s+/);
        if (t[0] === '') return;
        const where = `${o.annotation}:${i + 1}`;
        const nums = t.slice(1);
        if (nums.length === 0 || nums.length % 2 !== 0 || !nums.every(isInt)) {
          throw new MistError(ErrorCode.FORMAT, `${where}: expected "name s1 e1 [s2 e2 ...]"`);
        }
        const values = nums.map(Number);
        for (let k = 0; k < values.length; k += 2) {
          const [s, e] = [values[k] as number, values[k + 1] as number];
          if (!Number.isSafeInteger(s) || !Number.isSafeInteger(e) || s < 0 || e <= s) {
            throw new MistError(
              ErrorCode.FORMAT,
              `${where}: bad interval ${s} ${e} (want 0 <= start < end, half-open)`,
            );
          }
          if (k > 0 && s < (values[k - 1] as number)) {
            throw new MistError(ErrorCode.FORMAT, `${where}: interval ${s} ${e} starts before the previous one ends`);
          }
        }
        const name = videoName(t[0] as string);
        if (spans.has(name))
          throw new MistError(
            ErrorCode.FORMAT,
            `${where}: ${name} is annotated twice (first at line ${spans.get(name)!.line})`,
          );
        spans.set(name, { nums: values, line: i + 1 });
      });
    for (const [name, { line }] of spans) {
      if (!counts.has(name)) {
        const from = typeof o.frameCounts === 'string' ? ` in ${o.frameCounts}` : '';
        throw new MistError(
          ErrorCode.ARG,
          `no frame count for annotated video ${name} (${o.annotation}:${line})${from}`,
        );
      }
    }
    for (const name of [...counts.keys()].sort()) {
      const n = counts.get(name) as number;
      const full = zeros(n, name);
      const a = spans.get(name);
      const s = a?.nums ?? [];
      for (let k = 0; k < s.length; k += 2) {
        // An end past the last frame is clipped; a start past it is of another video.
        if (n > 0 && (s[k] as number) >= n) {
          throw new MistError(
            ErrorCode.FORMAT,
            `${o.annotation}:${a!.line}: interval ${s[k]} ${s[k + 1]} of ${name} starts past its ${n} frames`,
          );
        }
        full.fill(1, s[k] as number, Math.min(full.length, s[k + 1] as number));
      }
      push(name, full, spans.has(name)); // an annotated line always has spans
    }
  }
  return finish('xd-violence', videos);
}

/** Options of loadRtfmGroundTruth(). */
export const RtfmGroundTruthOptionsSchema = z.strictObject({
  /** The concatenated `gt-*.npy` (one 0/1 per frame, all test videos in list order). */
  gt: z.string(),
  /** The matching `.list` file; with `lengths` the labels are split per video. */
  list: z.string().optional(),
  /** Labelled frames per video (16·T of the peer's features), in list order or by name. */
  lengths: z.union([z.array(z.int().nonnegative()), z.instanceof(Map), z.record(z.string(), z.number())]).optional(),
});
export type RtfmGroundTruthOptions = z.input<typeof RtfmGroundTruthOptionsSchema>;

/**
 * Imports an RTFM-style concatenated ground truth (`gt-ucf.npy`, `gt-sh.npy`), to compare
 * with peers' numbers on their own frame alignment. Sync. With `list` and `lengths` the
 * result has one entry per video; otherwise one entry, `all`, holding every frame. Throws
 * ERR_MIST_ARG, ERR_MIST_IO, ERR_MIST_FORMAT, or ERR_MIST_SHAPE when the lengths do not add
 * up to the file's length.
 */
export function loadRtfmGroundTruth(options: RtfmGroundTruthOptions): GroundTruth {
  const o = parseOptions(RtfmGroundTruthOptionsSchema, options, 'RTFM ground-truth options');
  const all = labelArray(readNpy(o.gt), o.gt);
  if (o.list === undefined || o.lengths === undefined) {
    if ((o.list === undefined) !== (o.lengths === undefined)) {
      throw new MistError(
        ErrorCode.ARG,
        'loadRtfmGroundTruth: give both list and lengths to split per video, or neither',
      );
    }
    let any = false;
    for (let i = 0; i < all.length && !any; i++) any = all[i] === 1;
    return finish('rtfm', [{ name: 'all', anomalous: any, sourceFrames: all.length, frames: all.length, labels: all }]);
  }
  const entries = readRtfmList(o.list);
  const names = uniqueVideoNames(entries);
  const labelOf = new Map(entries.map((e) => [e.name, e.label]));
  let lengths: number[];
  if (Array.isArray(o.lengths)) lengths = o.lengths;
  else {
    const m = toCountMap(o.lengths as Map<string, number> | Record<string, number>);
    lengths = names.map((n) => {
      const v = m.get(n);
      if (v === undefined) throw new MistError(ErrorCode.ARG, `lengths: no length for ${n}`);
      return v;
    });
  }
  if (lengths.length !== names.length) {
    throw new MistError(ErrorCode.SHAPE, `lengths: ${lengths.length} values for ${names.length} videos in ${o.list}`);
  }
  const total = lengths.reduce((a, b) => a + b, 0);
  if (total !== all.length)
    throw new MistError(ErrorCode.SHAPE, `lengths add up to ${total} frames, ${o.gt} has ${all.length}`);
  let off = 0;
  const videos = names.map((name, i): VideoGroundTruth => {
    const n = lengths[i] as number;
    const labels = all.slice(off, off + n);
    off += n;
    const listed = labelOf.get(name);
    const anomalous = listed !== undefined ? listed === 1 : labels.includes(1);
    return { name, anomalous, sourceFrames: n, frames: n, labels };
  });
  return finish('rtfm', videos);
}

/** Options of manifestGroundTruth(). */
export const ManifestGroundTruthOptionsSchema = z.strictObject({
  /** The ground truth's dataset (default: the manifest's, when it is one of these, else `synthetic`). */
  dataset: z.enum(['ucf-crime', 'shanghaitech', 'xd-violence', 'rtfm', 'synthetic']).optional(),
  truncate: z.boolean().default(true),
});
export type ManifestGroundTruthOptions = z.input<typeof ManifestGroundTruthOptionsSchema>;

/**
 * The ground truth of a video manifest's test videos (lib/data/manifest.ts), in manifest
 * order: 1 inside each anomalous interval (half-open, clipped to the video), truncated to
 * whole 16-frame clips as the other loaders do. Frame counts come from `frameCounts` (a map
 * by video name, or a function of the name), else from the video's `frameCount`. Sync.
 * Throws ERR_MIST_ARG (bad options, no test video, a video without a frame count or with a
 * count that is not a non-negative integer).
 */
export function manifestGroundTruth(
  manifest: VideoManifest,
  frameCounts?: Map<string, number> | ((name: string) => number),
  options?: ManifestGroundTruthOptions,
): GroundTruth {
  const o = parseOptions(ManifestGroundTruthOptionsSchema, options, 'manifest ground-truth options');
  const counts = frameCounts instanceof Map ? toCountMap(frameCounts) : undefined;
  const known = ManifestGroundTruthOptionsSchema.shape.dataset.unwrap().options as readonly string[];
  const dataset =
    o.dataset ?? (known.includes(manifest.dataset ?? '') ? (manifest.dataset as GroundTruth['dataset']) : 'synthetic');
  const tests = manifest.videos.filter((v) => v.split === 'test');
  if (tests.length === 0) throw new MistError(ErrorCode.ARG, 'manifestGroundTruth: the manifest has no test video');
  const videos = tests.map((v): VideoGroundTruth => {
    const n = typeof frameCounts === 'function' ? frameCounts(v.name) : (counts?.get(v.name) ?? v.frameCount);
    if (n === undefined) throw new MistError(ErrorCode.ARG, `manifestGroundTruth: no frame count for ${v.name}`);
    if (!Number.isInteger(n) || n < 0) {
      throw new MistError(
        ErrorCode.ARG,
        `manifestGroundTruth: frame count of ${v.name} must be a non-negative integer, got ${String(n)}`,
      );
    }
    if (n > MAX_FRAMES) {
      throw new MistError(
        ErrorCode.ARG,
        `manifestGroundTruth: frame count of ${v.name} is beyond ${MAX_FRAMES} (2^30), got ${n}`,
      );
    }
    const labels = zeros(usable(n, o.truncate), v.name);
    for (const [s, e] of v.intervals) labels.fill(1, s, Math.min(labels.length, e));
    const g: VideoGroundTruth = {
      name: v.name,
      anomalous: v.label === 'anomalous',
      sourceFrames: n,
      frames: labels.length,
      labels,
    };
    if (v.className !== undefined) g.className = v.className;
    return g;
  });
  return finish(dataset, videos);
}
