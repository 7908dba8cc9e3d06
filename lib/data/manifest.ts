// Video manifests: which video files (or folders of frames) a stage-2 run trains and tests
// on, with their video-level labels and, for test videos, the anomalous frame intervals.
// A manifest is a JSON or CSV file a user writes (or a generator writes), or is built from
// the published split lists of UCF-Crime and ShanghaiTech joined with a folder of videos.
// Every reader validates everything up front, so a bad row fails before hours of training,
// with the file and line in the message.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { ErrorCode, MistError } from '../errors.js';
import { parseOptions } from '../options.js';
import { readFileOrThrow, writeFileAtomic } from './files.js';
import { MAX_FRAMES, readShanghaiTechList, readUcfCrimeList, videoName, type VideoEntry } from './lists.js';
import { readNpy } from './npy.js';

/** Anomalous frames `[start, end)`: 0-based, half-open. */
export type FrameInterval = [start: number, end: number];

/** One video of a manifest. */
export interface ManifestVideo {
  /** Video name: videoName(path), e.g. `Abuse028_x264`, `01_0014`. Unique in a manifest. */
  name: string;
  /** Absolute path of the video file, or of the folder of frames when `media` is `frames`. */
  path: string;
  /** `video`: a file ffmpeg decodes. `frames`: a folder of images in name order (`000.jpg`, ...). */
  media: 'video' | 'frames';
  label: 'normal' | 'anomalous';
  split: 'train' | 'test';
  /** Anomalous intervals, sorted and disjoint; always [] for normal videos. */
  intervals: FrameInterval[];
  /** Frame count, when the manifest or the layout knows it (ShanghaiTech masks and lists). */
  frameCount?: number;
  /** UCF-Crime class (`Normal` for normal videos). */
  className?: string;
}

/** A validated manifest. */
export interface VideoManifest {
  /** The file it was read from (absolute); absent for a manifest built from a layout. */
  path?: string;
  /** Free text naming the data set, e.g. `ucf-crime`, `shanghaitech`. */
  dataset?: string;
  videos: ManifestVideo[];
  /** Names of the listed videos left out because their files were missing (`missing: 'skip'`). */
  skipped?: string[];
}

const FORMAT_NAME = 'mist-vad-video-manifest';
const VERSION = 1;

const nonNegInt = z.int({ error: 'must be a non-negative integer' }).nonnegative({ error: 'must be a non-negative integer' });

/** One entry of a manifest file, as written (paths relative to the manifest's folder or absolute). */
export const ManifestEntrySchema = z.strictObject({
  path: z.string({ error: 'must be a non-empty string' }).min(1, { error: 'must be a non-empty string' }),
  label: z.enum(['normal', 'anomalous'], { error: 'must be "normal" or "anomalous"' }),
  split: z.enum(['train', 'test'], { error: 'must be "train" or "test"' }),
  /** `[[start, end], ...]` in frames, half-open, sorted, disjoint. */
  intervals: z
    .array(z.tuple([nonNegInt, nonNegInt], { error: 'must be a [start, end] pair of integers' }), {
      error: 'must be an array of [start, end] pairs',
    })
    .optional(),
  media: z.enum(['video', 'frames'], { error: 'must be "video" or "frames"' }).default('video'),
  frameCount: nonNegInt.max(MAX_FRAMES, { error: 'must be at most 2^30 frames' }).optional(),
  className: z.string({ error: 'must be a string' }).min(1, { error: 'must be a non-empty string' }).optional(),
});
export type ManifestEntry = z.input<typeof ManifestEntrySchema>;

const ManifestFileSchema = z.strictObject({
  format: z.literal(FORMAT_NAME, { error: `must be "${FORMAT_NAME}"` }).optional(),
  version: z.literal(VERSION, { error: `must be ${VERSION} (this reader's version)` }).optional(),
  dataset: z.string({ error: 'must be a string' }).optional(),
  videos: z.array(z.unknown(), { error: 'must be an array of video entries' }),
});

const CSV_COLUMNS = ['path', 'label', 'split', 'intervals'] as const;
const CSV_OPTIONAL = ['media', 'frameCount', 'className'] as const;

/**
 * The rules parsing alone cannot check, on one entry: intervals well formed, sorted and
 * disjoint, within the frame count when one is given, none for a normal video, at least one for an anomalous test video (it could
 * not be scored otherwise). Returns a problem in words, or undefined.
 */
function ruleProblem(
  label: string,
  split: string,
  intervals: readonly FrameInterval[],
  frameCount?: number,
): string | undefined {
  for (let i = 0; i < intervals.length; i++) {
    const [s, e] = intervals[i]!;
    if (s >= e) return `interval ${s}-${e}: start must be below end (half-open [start, end))`;
    if (frameCount !== undefined && e > frameCount) return `interval ${s}-${e} ends past the video's ${frameCount} frames`;
    const prev = intervals[i - 1];
    if (prev && s < prev[1]) return `interval ${s}-${e} overlaps or comes before ${prev[0]}-${prev[1]}: sort them and keep them disjoint`;
  }
  if (label === 'normal' && intervals.length > 0) return 'a normal video cannot have anomalous intervals';
  if (label === 'anomalous' && split === 'test' && intervals.length === 0) {
    return 'an anomalous test video needs its anomalous intervals';
  }
  return undefined;
}

/** Checks one raw entry; `where` prefixes every message. Sync. Throws `code`. */
function toVideo(raw: unknown, base: string, where: string, code: string): ManifestVideo {
  let e: z.output<typeof ManifestEntrySchema>;
  try {
    e = parseOptions(ManifestEntrySchema, raw, 'video entry');
  } catch (err) {
    throw new MistError(code, `${where}: ${(err as Error).message}`);
  }
  const intervals = (e.intervals ?? []).map(([s, t]): FrameInterval => [s, t]);
  const problem = ruleProblem(e.label, e.split, intervals, e.frameCount);
  if (problem) throw new MistError(code, `${where}: ${problem}`);
  const path = resolve(base, e.path);
  const v: ManifestVideo = { name: videoName(path), path, media: e.media, label: e.label, split: e.split, intervals };
  if (e.frameCount !== undefined) v.frameCount = e.frameCount;
  if (e.className !== undefined) v.className = e.className;
  return v;
}

/** Names and paths must be unique: everything downstream (pseudo labels, scores) keys by name. */
function checkUnique(videos: readonly ManifestVideo[], where: (i: number) => string, code: string): void {
  const byPath = new Map<string, number>();
  const byName = new Map<string, number>();
  videos.forEach((v, i) => {
    const p = byPath.get(v.path);
    if (p !== undefined) throw new MistError(code, `${where(i)}: ${v.path} is listed twice (first at ${where(p)})`);
    const n = byName.get(v.name);
    if (n !== undefined) {
      throw new MistError(code, `${where(i)}: video name ${v.name} is used twice (first at ${where(n)}: ${videos[n]!.path})`);
    }
    byPath.set(v.path, i);
    byName.set(v.name, i);
  });
}

// ---- JSON -----------------------------------------------------------------------------------

/**
 * The 1-based line where each element of the top-level `videos` array starts, so an error
 * can name the line and not only the index. A small scanner over strings and brackets is
 * enough: the text has already parsed as JSON.
 */
function videoLines(text: string): number[] {
  const out: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let strStart = 0;
  let lastString = '';
  let lastKey = '';
  let arrayDepth = -1;
  let expect = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\n') line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') {
        inString = false;
        lastString = text.slice(strStart + 1, i);
      }
      continue;
    }
    if (depth === arrayDepth && expect && !/[\s,\]]/.test(ch)) {
      out.push(line);
      expect = false;
    }
    if (ch === '"') {
      inString = true;
      strStart = i;
    } else if (ch === '{' || ch === '[') {
      depth++;
      if (ch === '[' && depth === 2 && lastKey === 'videos' && arrayDepth === -1) {
        arrayDepth = 2;
        expect = true;
      }
    } else if (ch === '}' || ch === ']') {
      if (depth === arrayDepth) arrayDepth = -2;
      depth--;
    } else if (ch === ',' && depth === arrayDepth) expect = true;
    else if (ch === ':' && depth === 1) lastKey = lastString;
  }
  return out;
}

function lineAt(text: string, position: number): number {
  let line = 1;
  for (let i = 0; i < position && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

function readJsonManifest(path: string, text: string): VideoManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    // V8 names the position of a syntax error, and in newer versions its line too.
    const m = (e as Error).message;
    const at = /position (\d+)/.exec(m);
    const line = /line (\d+)/.exec(m)?.[1] ?? (at ? lineAt(text, Number(at[1])) : undefined);
    // The message quotes the text around the error, newlines included: one line here.
    throw new MistError(ErrorCode.FORMAT, `${path}${line !== undefined ? `:${line}` : ''}: not valid JSON: ${m.replace(/\s+/g, ' ')}`);
  }
  let top: z.output<typeof ManifestFileSchema>;
  try {
    top = parseOptions(ManifestFileSchema, raw, 'video manifest');
  } catch (e) {
    throw new MistError(ErrorCode.FORMAT, `${path}: ${(e as Error).message}`);
  }
  const lines = videoLines(text);
  const where = (i: number) => `${path}${lines[i] !== undefined ? `:${lines[i]}` : ''}: videos[${i}]`;
  const base = dirname(path);
  const videos = top.videos.map((v, i) => toVideo(v, base, where(i), ErrorCode.FORMAT));
  checkUnique(videos, where, ErrorCode.FORMAT);
  const out: VideoManifest = { path, videos };
  if (top.dataset !== undefined) out.dataset = top.dataset;
  return out;
}

// ---- CSV ------------------------------------------------------------------------------------

/**
 * Splits one CSV line. Quoted fields follow RFC 4180 (`"a,b"`, `""` for a quote) but must end
 * on their line: a manifest has one video per line, and a field spanning lines is rejected.
 */
function csvCells(line: string, where: string): string[] {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= line.length) throw new MistError(ErrorCode.FORMAT, `${where}: unterminated quoted field (a field cannot span lines)`);
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            v += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += line[i++];
      }
      while (line[i] === ' ' || line[i] === '\t') i++;
      if (i < line.length && line[i] !== ',') {
        throw new MistError(ErrorCode.FORMAT, `${where}: text after a closing quote (column ${cells.length + 1})`);
      }
      cells.push(v);
    } else {
      const j = line.indexOf(',', i);
      const end = j < 0 ? line.length : j;
      const v = line.slice(i, end).trim();
      if (v.includes('"')) {
        throw new MistError(ErrorCode.FORMAT, `${where}: a quote inside an unquoted field (column ${cells.length + 1}); quote the whole field`);
      }
      cells.push(v);
      i = end;
    }
    if (i >= line.length) return cells;
    i++; // the comma
  }
}

const INTERVAL = /^(\d+)\s*-\s*(\d+)$/;

function csvIntervals(cell: string, where: string): FrameInterval[] | undefined {
  if (cell === '') return undefined;
  return cell.split(';').map((part): FrameInterval => {
    const m = INTERVAL.exec(part.trim());
    if (!m) {
      throw new MistError(
        ErrorCode.FORMAT,
        `${where}: bad interval ${JSON.stringify(part.trim())}: expected start-end with non-negative integers, e.g. 120-170;300-340`,
      );
    }
    return [Number(m[1]), Number(m[2])];
  });
}

function readCsvManifest(path: string, text: string): VideoManifest {
  const rows = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((l, i) => ({ line: i + 1, text: l }))
    .filter((r) => r.text.trim() !== '');
  if (rows.length === 0) throw new MistError(ErrorCode.FORMAT, `${path}: empty manifest (expected a header line ${CSV_COLUMNS.join(',')})`);
  const head = rows[0]!;
  const header = csvCells(head.text, `${path}:${head.line}`);
  const known: readonly string[] = [...CSV_COLUMNS, ...CSV_OPTIONAL];
  header.forEach((h, k) => {
    if (!known.includes(h)) {
      throw new MistError(
        ErrorCode.FORMAT,
        `${path}:${head.line}: unknown column ${JSON.stringify(h)} (the header is ${CSV_COLUMNS.join(',')}, optionally ${CSV_OPTIONAL.join(', ')})`,
      );
    }
    if (header.indexOf(h) !== k) throw new MistError(ErrorCode.FORMAT, `${path}:${head.line}: column ${h} appears twice`);
  });
  for (const c of CSV_COLUMNS) {
    if (!header.includes(c)) {
      throw new MistError(ErrorCode.FORMAT, `${path}:${head.line}: no ${c} column (the header is ${CSV_COLUMNS.join(',')})`);
    }
  }
  const base = dirname(path);
  const body = rows.slice(1);
  const where = (i: number) => `${path}:${body[i]!.line}`;
  const videos = body.map((r, i) => {
    const cells = csvCells(r.text, where(i));
    if (cells.length !== header.length) {
      throw new MistError(ErrorCode.FORMAT, `${where(i)}: ${cells.length} field(s), the header has ${header.length}`);
    }
    const raw: Record<string, unknown> = {};
    header.forEach((h, k) => {
      const cell = cells[k]!;
      if (h === 'intervals') {
        const iv = csvIntervals(cell, where(i));
        if (iv) raw.intervals = iv;
      } else if (h === 'frameCount') {
        // A number when it looks like one, so zod names the bad text otherwise.
        if (cell !== '') raw.frameCount = /^\d+$/.test(cell) ? Number(cell) : cell;
      } else if (cell !== '' || h === 'path' || h === 'label' || h === 'split') raw[h] = cell;
    });
    return toVideo(raw, base, where(i), ErrorCode.FORMAT);
  });
  checkUnique(videos, where, ErrorCode.FORMAT);
  return { path, videos };
}

/**
 * Reads a video manifest. Sync. JSON (`.json`, or text starting with `{`):
 * `{"videos": [{"path", "label", "split", "intervals"?, "media"?, "frameCount"?, "className"?}],
 * "dataset"?}`; CSV otherwise: a header line `path,label,split,intervals` (optional columns
 * `media`, `frameCount`, `className`, any order), intervals written `120-170;300-340`, an
 * empty field for none. Paths are relative to the manifest's folder (or absolute) and come
 * back absolute; intervals are frames, 0-based, half-open. Returns the VideoManifest. Throws
 * ERR_MIST_IO (unreadable file) or ERR_MIST_FORMAT naming the file, the line (and for JSON
 * the entry index): a bad field, an unknown field, intervals unsorted, overlapping, empty,
 * negative or past `frameCount`, intervals on a normal video, none on an anomalous test video, a path or video
 * name listed twice.
 */
export function readVideoManifest(path: string): VideoManifest {
  const abs = resolve(path);
  const text = readFileOrThrow(abs, 'video manifest').toString('utf8');
  const json = /\.json$/i.test(abs) || (!/\.csv$/i.test(abs) && text.trimStart().startsWith('{'));
  return json ? readJsonManifest(abs, text) : readCsvManifest(abs, text);
}

/** What writeVideoManifest takes: entries as in the file, or the videos of a read manifest. */
export interface WritableManifest {
  dataset?: string;
  videos: readonly (ManifestEntry | ManifestVideo)[];
}

/**
 * Writes a manifest as JSON, one video a line, through a temporary file and a rename (a
 * reader never sees half a file). Relative paths in `manifest` are taken relative to the
 * manifest's folder, as the reader does; paths inside that folder are written relative (the
 * folder can move as a whole), others absolute. Async. Throws ERR_MIST_ARG for an entry that
 * readVideoManifest would reject (same rules, `videos[i]` in the message), ERR_MIST_IO.
 */
export async function writeVideoManifest(path: string, manifest: WritableManifest): Promise<void> {
  const abs = resolve(path);
  const base = dirname(abs);
  if (typeof manifest !== 'object' || manifest === null || !Array.isArray(manifest.videos)) {
    throw new MistError(ErrorCode.ARG, 'writeVideoManifest: manifest must be an object with a videos array');
  }
  if (manifest.dataset !== undefined && typeof manifest.dataset !== 'string') {
    throw new MistError(ErrorCode.ARG, 'writeVideoManifest: dataset must be a string');
  }
  const where = (i: number) => `writeVideoManifest: videos[${i}]`;
  const videos = manifest.videos.map((v, i) => {
    // A read manifest's video carries its derived name; it must still match the path.
    const { name, ...entry } = v as ManifestVideo;
    const out = toVideo(entry, base, where(i), ErrorCode.ARG);
    if (name !== undefined && name !== out.name) {
      throw new MistError(ErrorCode.ARG, `${where(i)}: name ${JSON.stringify(name)} differs from the path's video name ${out.name}`);
    }
    return out;
  });
  checkUnique(videos, where, ErrorCode.ARG);
  const rows = videos.map((v) => {
    const rel = relative(base, v.path);
    const e: Record<string, unknown> = {
      path: rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : v.path,
      label: v.label,
      split: v.split,
    };
    if (v.intervals.length > 0) e.intervals = v.intervals;
    if (v.media !== 'video') e.media = v.media;
    if (v.frameCount !== undefined) e.frameCount = v.frameCount;
    if (v.className !== undefined) e.className = v.className;
    return `    ${JSON.stringify(e)}`;
  });
  const head = [`  "format": ${JSON.stringify(FORMAT_NAME)}`, `  "version": ${VERSION}`];
  if (manifest.dataset !== undefined) head.push(`  "dataset": ${JSON.stringify(manifest.dataset)}`);
  const body = rows.length > 0 ? `[\n${rows.join(',\n')}\n  ]` : '[]';
  await writeFileAtomic(abs, `{\n${head.join(',\n')},\n  "videos": ${body}\n}\n`);
}

/** The training videos of a manifest, in manifest order. Sync. */
export function trainVideos(manifest: VideoManifest): ManifestVideo[] {
  return manifest.videos.filter((v) => v.split === 'train');
}

/** The test videos of a manifest, in manifest order. Sync. */
export function testVideos(manifest: VideoManifest): ManifestVideo[] {
  return manifest.videos.filter((v) => v.split === 'test');
}

/** Runs of 1s in a per-frame 0/1 mask, as half-open intervals. Sync. */
export function maskIntervals(mask: ArrayLike<number | bigint>): FrameInterval[] {
  const out: FrameInterval[] = [];
  let start = -1;
  for (let i = 0; i <= mask.length; i++) {
    const on = i < mask.length && Number(mask[i]) !== 0;
    if (on && start < 0) start = i;
    else if (!on && start >= 0) {
      out.push([start, i]);
      start = -1;
    }
  }
  return out;
}

// ---- Public layouts -------------------------------------------------------------------------

/** One line of UCF-Crime's `Temporal_Anomaly_Annotation_for_Testing_Videos.txt`. */
export interface UcfCrimeAnnotation {
  name: string;
  className: string;
  /** The annotated intervals as written (up to two; the −1 pairs left out), numbers of the file. */
  spans: [number, number][];
  /** 1-based line in the file. */
  line: number;
}

function isInt(t: string | undefined): boolean {
  return t !== undefined && /^-?\d+$/.test(t);
}

/**
 * Reads UCF-Crime's temporal annotation (`name class s1 e1 s2 e2`, −1 = none), as
 * loadUcfCrimeGroundTruth reads it. Sync. Returns one entry per line, spans as written (the
 * index convention is the caller's). Throws ERR_MIST_IO or ERR_MIST_FORMAT (a malformed line,
 * an interval with end below start).
 */
export function readUcfCrimeAnnotation(path: string): UcfCrimeAnnotation[] {
  const out: UcfCrimeAnnotation[] = [];
  readFileOrThrow(path, 'annotation')
    .toString('utf8')
    .split(/\r?\n/)
    .forEach((line, i) => {
      const t = line.trim().split(/\s+/);
      if (t[0] === '') return;
      const where = `${path}:${i + 1}`;
      if (t.length < 6 || !t.slice(2, 6).every(isInt)) {
        throw new MistError(
          ErrorCode.FORMAT,
          `${where}: expected "name class s1 e1 s2 e2", got ${JSON.stringify(line.trim().slice(0, 80))}`,
        );
      }
      const spans: [number, number][] = [];
      for (const k of [2, 4]) {
        const s = Number(t[k]);
        const e = Number(t[k + 1]);
        if (s < 0 && e < 0) continue;
        if (s < 0 || e < s) throw new MistError(ErrorCode.FORMAT, `${where}: bad interval ${s} ${e}`);
        spans.push([s, e]);
      }
      out.push({ name: videoName(t[0] as string), className: t[1] as string, spans, line: i + 1 });
    });
  if (out.length === 0) throw new MistError(ErrorCode.FORMAT, `${path}: no videos`);
  return out;
}

const MissingSchema = z.enum(['error', 'skip'], { error: 'must be "error" or "skip"' }).default('error');

/** Options of ucfCrimeVideoManifest(). */
export const UcfCrimeManifestOptionsSchema = z.strictObject({
  /** `Anomaly_Train.txt` (`Class/Name.mp4` lines). */
  trainList: z.string().optional(),
  /** `Anomaly_Test.txt`. */
  testList: z.string().optional(),
  /** `Temporal_Anomaly_Annotation_for_Testing_Videos.txt`: required with testList. */
  annotations: z.string().optional(),
  /**
   * The videos: `<dir>/<list path>` (`Abuse/Abuse028_x264.mp4`), `<dir>/<class>/<file>`,
   * `<dir>/<file>` (flat), or, failing those, the one file of that name anywhere up to three
   * folders down (the official archive's `Anomaly-Videos-Part-1/Abuse/...`).
   */
  videoDir: z.string(),
  /** How the annotation's numbers map to [start, end): as loadUcfCrimeGroundTruth's option. */
  convention: z.enum(['mist', 'inclusive', 'sultani']).default('mist'),
  /** Listed videos whose file is absent: fail listing them, or leave them out. */
  missing: MissingSchema,
});
export type UcfCrimeManifestOptions = z.input<typeof UcfCrimeManifestOptionsSchema>;

/** Options of shanghaiTechVideoManifest(). */
export const ShanghaiTechManifestOptionsSchema = z.strictObject({
  /** `SH_Train_new.txt` (`name,label`) or the plain `SH_Train.txt` (labels then come from the masks). */
  trainList: z.string().optional(),
  /** `SH_Test_NEW.txt` (`name,label,frames`) or the plain `SH_Test.txt`. */
  testList: z.string().optional(),
  /** `test_frame_mask/`: `<name>.npy` per anomalous video; the test intervals are its runs of 1s. */
  frameMasks: z.string().optional(),
  /** Video files `<dir>/<name>.avi` or `.mp4`. */
  videoDir: z.string().optional(),
  /**
   * Extracted frames `<dir>/<name>/000.jpg ...` (the release ships its test videos only so);
   * such a video gets `media: 'frames'` and its folder as path. With videoDir too, a video
   * file is looked for first.
   */
  frameDir: z.string().optional(),
  missing: MissingSchema,
});
export type ShanghaiTechManifestOptions = z.input<typeof ShanghaiTechManifestOptionsSchema>;

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function requireDir(dir: string, what: string): void {
  if (!isDir(dir)) throw new MistError(ErrorCode.IO, `${what} ${dir} does not exist or is not a folder`);
}

/** File name → paths, for files up to `depth` folders below `dir` (hidden folders skipped). */
function indexFiles(dir: string, depth: number, out = new Map<string, string[]>()): Map<string, string[]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    if (n.startsWith('.')) continue;
    const p = join(dir, n);
    if (isDir(p)) {
      if (depth > 0) indexFiles(p, depth - 1, out);
    } else {
      const list = out.get(n);
      if (list) list.push(p);
      else out.set(n, [p]);
    }
  }
  return out;
}

function missingError(missing: readonly string[], dir: string): MistError {
  const first = missing.slice(0, 5).join(', ');
  const more = missing.length > 5 ? `, ... (${missing.length} in all)` : '';
  return new MistError(
    ErrorCode.IO,
    `${missing.length} listed video(s) not found in ${dir}: ${first}${more}; pass missing: 'skip' to leave them out`,
  );
}

/** A built manifest is checked as a file would be; its errors name the list it came from. */
function finishBuilt(
  videos: ManifestVideo[],
  where: string[],
  dataset: string,
  skipped: string[],
): VideoManifest {
  videos.forEach((v, i) => {
    const problem = ruleProblem(v.label, v.split, v.intervals, v.frameCount);
    if (problem) throw new MistError(ErrorCode.FORMAT, `${where[i]}: ${v.name}: ${problem}`);
  });
  checkUnique(videos, (i) => where[i]!, ErrorCode.FORMAT);
  const out: VideoManifest = { dataset, videos };
  if (skipped.length > 0) out.skipped = skipped;
  return out;
}

function needList(trainList: string | undefined, testList: string | undefined, what: string): void {
  if (trainList === undefined && testList === undefined) {
    throw new MistError(ErrorCode.ARG, `invalid ${what}: give trainList, testList or both`);
  }
}

/**
 * A manifest of UCF-Crime from its official split lists and a folder of videos. Sync. Labels
 * and classes come from the lists (normal videos: class `Normal`); test intervals from the
 * annotation, converted to half-open [start, end) by `convention`. Training videos carry no
 * intervals (stage 2 trains on video labels only). Throws ERR_MIST_ARG (bad options),
 * ERR_MIST_IO (a list, the annotation or the folder unreadable; videos missing, listed by
 * name and count, unless `missing: 'skip'`), ERR_MIST_FORMAT (a malformed list or annotation
 * line, an anomalous test video the annotation gives no interval, a normal one it gives one,
 * a video in both lists).
 */
export function ucfCrimeVideoManifest(options: UcfCrimeManifestOptions): VideoManifest {
  const o = parseOptions(UcfCrimeManifestOptionsSchema, options, 'UCF-Crime manifest options');
  needList(o.trainList, o.testList, 'UCF-Crime manifest options');
  if (o.testList !== undefined && o.annotations === undefined) {
    throw new MistError(ErrorCode.ARG, 'invalid UCF-Crime manifest options: annotations is required with testList');
  }
  requireDir(o.videoDir, 'videoDir');
  const annotation = new Map<string, UcfCrimeAnnotation>();
  if (o.testList !== undefined) for (const a of readUcfCrimeAnnotation(o.annotations!)) annotation.set(a.name, a);
  let index: Map<string, string[]> | undefined;
  const locate = (e: VideoEntry): string | undefined => {
    const listed = (e.path ?? e.name).replace(/\\/g, '/');
    const file = listed.split('/').pop()!;
    for (const c of [listed, `${e.className}/${file}`, file]) {
      const p = resolve(o.videoDir, c);
      if (isFile(p)) return p;
    }
    index ??= indexFiles(resolve(o.videoDir), 3);
    const found = index.get(file);
    if (found && found.length > 1) {
      const places = found.slice(0, 2).join(', ');
      throw new MistError(ErrorCode.IO, `${file} found in ${found.length} places under ${o.videoDir}: ${places}`);
    }
    return found?.[0];
  };
  const videos: ManifestVideo[] = [];
  const where: string[] = [];
  const missing: string[] = [];
  const add = (list: string, split: 'train' | 'test'): void => {
    readUcfCrimeList(list).forEach((e, i) => {
      const path = locate(e);
      if (path === undefined) {
        missing.push(e.path ?? e.name);
        return;
      }
      const label = e.label === 1 ? 'anomalous' : 'normal';
      let intervals: FrameInterval[] = [];
      if (split === 'test') {
        const a = annotation.get(e.name);
        if (a === undefined && label === 'anomalous') {
          throw new MistError(ErrorCode.FORMAT, `${o.annotations}: no line for anomalous test video ${e.name} (${list}:${i + 1})`);
        }
        intervals = (a?.spans ?? []).map(([s, t]): FrameInterval => {
          if (o.convention === 'inclusive') return [s, t + 1];
          if (o.convention === 'sultani') return [Math.max(0, s - 1), t];
          return [s, t];
        });
        // Empty after conversion (s == e under MIST's convention) carries no frame.
        intervals = intervals.filter(([s, t]) => s < t);
      }
      videos.push({ name: videoName(path), path, media: 'video', label, split, intervals, className: e.className! });
      const line = split === 'test' ? annotation.get(e.name)?.line : undefined;
      where.push(line === undefined ? `${list}:${i + 1}` : `${list}:${i + 1} (${o.annotations}:${line})`);
    });
  };
  if (o.trainList !== undefined) add(o.trainList, 'train');
  if (o.testList !== undefined) add(o.testList, 'test');
  if (missing.length > 0 && o.missing === 'error') throw missingError(missing, o.videoDir);
  return finishBuilt(videos, where, 'ucf-crime', missing.map(videoName));
}

/**
 * A manifest of ShanghaiTech (Zhong et al.'s weak split) from its split lists and a folder of
 * videos, of extracted frames, or both. Sync. Labels: the list's (`name,label`), else (plain
 * lists) anomalous when `frameMasks` holds the video's mask. Test intervals: the runs of 1s
 * of each anomalous test video's mask, whose length becomes `frameCount`; normal test videos
 * take `frameCount` from the list's third column when it has one. Training videos carry no
 * intervals. Throws ERR_MIST_ARG (bad options; no labels and no masks; anomalous test videos
 * and no frameMasks), ERR_MIST_IO (lists or folders unreadable, masks of anomalous test videos
 * missing, videos missing unless `missing: 'skip'`), ERR_MIST_FORMAT (bad list lines or masks,
 * a video in both lists, a normal video whose mask has 1s).
 */
export function shanghaiTechVideoManifest(options: ShanghaiTechManifestOptions): VideoManifest {
  const o = parseOptions(ShanghaiTechManifestOptionsSchema, options, 'ShanghaiTech manifest options');
  needList(o.trainList, o.testList, 'ShanghaiTech manifest options');
  if (o.videoDir === undefined && o.frameDir === undefined) {
    throw new MistError(ErrorCode.ARG, 'invalid ShanghaiTech manifest options: give videoDir, frameDir or both');
  }
  if (o.videoDir !== undefined) requireDir(o.videoDir, 'videoDir');
  if (o.frameDir !== undefined) requireDir(o.frameDir, 'frameDir');
  if (o.frameMasks !== undefined) requireDir(o.frameMasks, 'frameMasks');
  const maskPath = (name: string) => (o.frameMasks === undefined ? undefined : join(o.frameMasks, `${name}.npy`));
  const locate = (name: string): { path: string; media: 'video' | 'frames' } | undefined => {
    if (o.videoDir !== undefined) {
      for (const ext of ['.avi', '.mp4']) {
        const p = resolve(o.videoDir, name + ext);
        if (isFile(p)) return { path: p, media: 'video' };
      }
    }
    if (o.frameDir !== undefined) {
      const p = resolve(o.frameDir, name);
      if (isDir(p)) return { path: p, media: 'frames' };
    }
    return undefined;
  };
  const videos: ManifestVideo[] = [];
  const where: string[] = [];
  const missing: string[] = [];
  const missingMasks: string[] = [];
  const add = (list: string, split: 'train' | 'test'): void => {
    readShanghaiTechList(list).forEach((e, i) => {
      const mask = maskPath(e.name);
      let anomalous: boolean;
      if (e.label !== undefined) anomalous = e.label === 1;
      else if (mask !== undefined) anomalous = existsSync(mask);
      else {
        throw new MistError(
          ErrorCode.ARG,
          `${list} has no labels (a plain list): give frameMasks, whose <name>.npy marks the anomalous videos`,
        );
      }
      const found = locate(e.name);
      if (found === undefined) {
        missing.push(e.name);
        return;
      }
      const v: ManifestVideo = {
        name: e.name,
        path: found.path,
        media: found.media,
        label: anomalous ? 'anomalous' : 'normal',
        split,
        intervals: [],
      };
      if (split === 'test') {
        if (mask === undefined) {
          if (anomalous) {
            throw new MistError(
              ErrorCode.ARG,
              `invalid ShanghaiTech manifest options: frameMasks is required: ${list} has anomalous test videos (${e.name})`,
            );
          }
        } else if (anomalous || existsSync(mask)) {
          if (!existsSync(mask)) {
            missingMasks.push(e.name);
            return;
          }
          const a = readNpy(mask);
          if (a.shape.length !== 1) {
            throw new MistError(ErrorCode.FORMAT, `${mask}: a frame mask must be 1-D, got [${a.shape.join(', ')}]`);
          }
          for (let k = 0; k < a.data.length; k++) {
            const x = Number(a.data[k]);
            if (x !== 0 && x !== 1) throw new MistError(ErrorCode.FORMAT, `${mask}: labels must be 0 or 1, got ${x} at frame ${k}`);
          }
          if (e.frames !== undefined && e.frames !== a.data.length) {
            throw new MistError(ErrorCode.FORMAT, `${mask}: the mask has ${a.data.length} frames, ${list}:${i + 1} says ${e.frames}`);
          }
          v.intervals = maskIntervals(a.data);
          v.frameCount = a.data.length;
        }
        if (v.frameCount === undefined && e.frames !== undefined) v.frameCount = e.frames;
      }
      videos.push(v);
      where.push(`${list}:${i + 1}`);
    });
  };
  if (o.trainList !== undefined) add(o.trainList, 'train');
  if (o.testList !== undefined) add(o.testList, 'test');
  if (missingMasks.length > 0) {
    const more = missingMasks.length > 5 ? `, ... (${missingMasks.length} in all)` : '';
    throw new MistError(
      ErrorCode.IO,
      `no frame mask in ${o.frameMasks} for ${missingMasks.length} anomalous test video(s): ${missingMasks.slice(0, 5).join(', ')}${more}`,
    );
  }
  if (missing.length > 0 && o.missing === 'error') {
    throw missingError(missing, [o.videoDir, o.frameDir].filter((d) => d !== undefined).join(' or '));
  }
  return finishBuilt(videos, where, 'shanghaitech', missing);
}
