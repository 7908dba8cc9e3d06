// Video decoding through the system ffmpeg/ffprobe. ffprobe reports the stream; ffmpeg runs
// as a child process that writes raw RGB (or BGR) frames, already resized by its scale
// filter, to a pipe. Clips are cut from that pipe as the consumer asks for them, so memory
// holds about one clip plus the pipe buffers whatever the video length; when the consumer
// stops early the child is killed.
import { execFile, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ErrorCode, MistError, throwIfAborted } from '../errors.js';
import { FFMPEG_FIX, ffmpegBinaries } from '../config.js';
import { checkAllocation } from '../memory.js';
import { parseOptions } from '../options.js';
import { fileSize, listDir } from './files.js';

/** One clip of consecutive frames, row-major [frames, height, width, 3] uint8. */
export interface Clip {
  /** Clip number, 0-based. */
  index: number;
  /** Video frame index of the clip's first frame (0-based). */
  startFrame: number;
  /** Frames in the clip (the clip length), height, width, channels. */
  shape: [number, number, number, 3];
  /** Channel order of `data`. */
  order: 'rgb' | 'bgr';
  /** Frames of the source video repeated to fill a padded last clip (0 when not padded). */
  padded: number;
  data: Uint8Array;
  /**
   * With `strict: false`: the damage ffmpeg reported since the previous clip (absent when it
   * reported none). The decoder runs a few frames ahead of the pipe, so a report can come with
   * the clip after the damaged frame's; the reader's `warnings` holds them all.
   */
  warnings?: string[];
}

/** What ffprobe says about a video's first video stream. */
export interface VideoInfo {
  path: string;
  /** Number of frames (see `countFrames`). */
  frames: number;
  fps: number;
  /** Displayed size (rotation applied, as ffmpeg decodes it). */
  width: number;
  height: number;
  /** Seconds, from the container or the stream; NaN when neither says. */
  duration: number;
  codec: string;
  /** Whole 16-frame clips: floor(frames / 16). */
  clipCount: number;
}

const Interp = z.enum(['bilinear', 'bicubic', 'area', 'neighbor', 'lanczos']);

/** Options of a clip iteration. */
export const ClipOptionsSchema = z.strictObject({
  /** Output width; with only one of width/height the other keeps the aspect ratio. */
  width: z.int().positive().optional(),
  height: z.int().positive().optional(),
  /** Centre crop after resizing (e.g. 112 × 112 from 171 × 128 for C3D). */
  cropWidth: z.int().positive().optional(),
  cropHeight: z.int().positive().optional(),
  /** Resize filter of ffmpeg's scaler. */
  interpolation: Interp.default('bilinear'),
  /** Channel order: RGB (I3D) or BGR (C3D). */
  order: z.enum(['rgb', 'bgr']).default('rgb'),
  clipLength: z.int().positive().default(16),
  /** The frames after the last whole clip: dropped (MIST evaluation) or padded with the last frame. */
  lastClip: z.enum(['drop', 'pad']).default('drop'),
  /**
   * Fail (ERR_MIST_VIDEO) when fewer frames decode than the probe reported (a truncated or
   * damaged file), or when ffmpeg reports damaged data while decoding (`error while decoding
   * MB`, `Invalid NAL unit`, `corrupt decoded frame` ...: the codec conceals such damage and
   * would otherwise return altered frames without a word). With false, frames are returned and
   * ffmpeg's reports are passed through as warnings.
   */
  strict: z.boolean().default(true),
  signal: z.instanceof(AbortSignal).optional(),
});
export type ClipOptions = z.input<typeof ClipOptionsSchema>;

/** Options of openVideo(): how to count frames, where ffmpeg is, and default clip options. */
export const OpenVideoOptionsSchema = ClipOptionsSchema.extend({
  /**
   * `packets` (default) demuxes the file once and counts packets (one per frame for the
   * codecs of these datasets) and, in strict mode, fails when the header promised more:
   * this catches truncated files before decoding. `header` trusts the container (fast, falls
   * back to packets when absent). `decode` decodes everything once (exact, slow).
   */
  countFrames: z.enum(['packets', 'header', 'decode']).default('packets'),
  /** Default: MIST_FFMPEG / MIST_FFPROBE, else the binaries on PATH (read when a video opens). */
  ffmpegPath: z.string().min(1).optional(),
  ffprobePath: z.string().min(1).optional(),
});
export type OpenVideoOptions = z.input<typeof OpenVideoOptionsSchema>;

/** An opened video: its stream facts, and its clips as an async iterator. */
export interface VideoReader extends VideoInfo, AsyncIterable<Clip> {
  /**
   * Decodes the video into non-overlapping clips. Async iterator; each call starts a fresh
   * ffmpeg. Options override those given to openVideo. Throws ERR_MIST_VIDEO (decode
   * failure, truncated file in strict mode) or ERR_MIST_ABORTED.
   */
  clips(options?: ClipOptions): AsyncGenerator<Clip, void, undefined>;
  /** With `strict: false`: every damage report of ffmpeg in this reader's decodes so far, in order. */
  readonly warnings: string[];
}

/** The one message for a missing ffmpeg or ffprobe. */
function notFound(cmd: string, cause: unknown): MistError {
  return new MistError(ErrorCode.VIDEO, `cannot run ${cmd}: not found (${FFMPEG_FIX})`, { cause });
}

function run(cmd: string, args: string[], signal?: AbortSignal): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024, signal }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(notFound(cmd, err));
        return;
      }
      if (err && err.name === 'AbortError') {
        reject(new MistError(ErrorCode.ABORTED, 'operation aborted', { cause: err }));
        return;
      }
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ stdout, stderr, code });
    });
  });
}

function rate(text: unknown): number {
  if (typeof text !== 'string') return NaN;
  const [n, d] = text.split('/').map(Number);
  if (n === undefined || !Number.isFinite(n)) return NaN;
  if (d === undefined) return n;
  return d > 0 ? n / d : NaN;
}

function lastLine(stderr: string): string {
  const l = stderr.trim().split('\n').filter((s) => s.trim().length > 0);
  return (l[l.length - 1] ?? '').trim();
}

/** Damage reports kept per decode (the rest are counted). */
const MAX_REPORTS = 100;

/** ffmpeg's stderr lines as reports: the `[h264 @ 0x55...]` prefix becomes `h264:`; repeats folded. */
function damageReport(line: string): string | undefined {
  const l = line.trim();
  if (!l || /^Last message repeated \d+ times?$/.test(l)) return undefined;
  return l.replace(/^\[([\w:.-]+) @ 0x[0-9a-f]+\]\s*/i, '$1: ');
}

/** The stderr state of an ffmpeg run: its tail, and (for decodes) its damage reports with the frames read when each came. */
interface FfmpegState {
  stderr: string;
  spawnError?: Error;
  /** Reports of a decode (ffmpeg runs at -v error: every line it prints is an error it met). */
  reports: { text: string; framesRead: number }[];
  /** Reports past MAX_REPORTS, not kept. */
  moreReports: number;
  /** Frames the consumer has read from the pipe so far (set by the reader). */
  framesRead: number;
}

/** An ffmpeg child writing raw frames to a pipe, with its last stderr, damage reports, spawn error and exit. */
function startFfmpeg(ffmpegPath: string, args: string[]) {
  const child = spawn(ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const state: FfmpegState = { stderr: '', reports: [], moreReports: 0, framesRead: 0 };
  let partial = '';
  child.stderr.on('data', (d: Buffer) => {
    const text = d.toString();
    state.stderr = (state.stderr + text).slice(-8000);
    const lines = (partial + text).split(/\r?\n/);
    partial = (lines.pop() ?? '').slice(-2000);
    for (const line of lines) {
      const r = damageReport(line);
      if (r === undefined) continue;
      if (state.reports.length < MAX_REPORTS) state.reports.push({ text: r.slice(0, 300), framesRead: state.framesRead });
      else state.moreReports++;
    }
  });
  child.on('error', (e) => {
    state.spawnError = e;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, state, exited };
}

/**
 * The error of an ffmpeg run that did not start or exited non-zero (ERR_MIST_VIDEO, with the
 * last line of `state.stderr`), or undefined when it succeeded. Sync; never throws.
 */
export function ffmpegFailure(
  ffmpegPath: string,
  what: string,
  state: { stderr: string; spawnError?: Error },
  code: number | null,
  signal: NodeJS.Signals | null,
): MistError | undefined {
  const e = state.spawnError;
  if (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return notFound(ffmpegPath, e);
    return new MistError(ErrorCode.VIDEO, `${what}: ffmpeg failed: ${e.message}`, { cause: e });
  }
  if (code !== 0) return new MistError(ErrorCode.VIDEO, `${what}: ffmpeg failed (${signal ?? `exit ${code}`}): ${lastLine(state.stderr)}`);
  return undefined;
}

/**
 * Strict mode: the error for the first damage report of a decode, or undefined when there is
 * none. ffmpeg names the macroblock, not the frame, for h264, MPEG-1/2 and MPEG-4: the message
 * says how many frames had come through the pipe when the report came (decoding runs a few
 * frames ahead of it). Sync.
 */
function damageFailure(what: string, state: FfmpegState, firstFrame: number): MistError | undefined {
  const r = state.reports[0];
  if (!r) return undefined;
  const more = state.reports.length - 1 + state.moreReports;
  return new MistError(
    ErrorCode.VIDEO,
    `${what}: damaged video: ffmpeg reports "${r.text}" when ${firstFrame + r.framesRead} frames had been read` +
      `${more > 0 ? ` (and ${more} more report${more > 1 ? 's' : ''} so far)` : ''}; pass strict: false to read it with the damage concealed`,
  );
}

/** Non-strict mode: a decode's reports as warning strings. */
function damageWarnings(what: string, state: FfmpegState, firstFrame: number, from = 0): string[] {
  const out = state.reports.slice(from).map((r) => `${what}: ffmpeg reports "${r.text}" when ${firstFrame + r.framesRead} frames had been read`);
  return out;
}

interface ProbeStream {
  codec_name?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  nb_read_packets?: string;
  nb_read_frames?: string;
  duration?: string;
  tags?: { rotate?: string };
  side_data_list?: { rotation?: number }[];
}

async function probe(path: string, o: z.output<typeof OpenVideoOptionsSchema>, ffprobe: string): Promise<VideoInfo> {
  fileSize(path, 'open video');
  const count = o.countFrames === 'packets' ? ['-count_packets'] : o.countFrames === 'decode' ? ['-count_frames'] : [];
  const args = [
    '-v', 'error', '-select_streams', 'v:0', ...count,
    '-show_entries', 'stream=codec_name,width,height,r_frame_rate,avg_frame_rate,nb_frames,nb_read_packets,nb_read_frames,duration:stream_tags=rotate:stream_side_data=rotation:format=duration',
    '-of', 'json', path,
  ];
  const r = await run(ffprobe, args, o.signal);
  if (r.code !== 0) {
    throw new MistError(ErrorCode.VIDEO, `${path}: not a readable video (${lastLine(r.stderr) || `ffprobe exit ${r.code}`})`);
  }
  let json: { streams?: ProbeStream[]; format?: { duration?: string } };
  try {
    json = JSON.parse(r.stdout) as typeof json;
  } catch (e) {
    throw new MistError(ErrorCode.VIDEO, `${path}: ffprobe gave unreadable output`, { cause: e });
  }
  const s = json.streams?.[0];
  if (!s || !s.width || !s.height) throw new MistError(ErrorCode.VIDEO, `${path}: no video stream`);
  if (!Number.isSafeInteger(s.width) || !Number.isSafeInteger(s.height) || s.width < 1 || s.height < 1) {
    throw new MistError(ErrorCode.VIDEO, `${path}: the video stream's size ${String(s.width)}x${String(s.height)} is not a frame size`);
  }
  const header = Number(s.nb_frames);
  const packets = Number(s.nb_read_packets);
  const decoded = Number(s.nb_read_frames);
  let frames: number;
  if (o.countFrames === 'decode') frames = decoded;
  else if (o.countFrames === 'header' && header > 0) frames = header;
  else if (o.countFrames === 'header') {
    return probe(path, { ...o, countFrames: 'packets' }, ffprobe);
  } else {
    frames = packets;
    if (o.strict && header > 0 && packets < header) {
      throw new MistError(
        ErrorCode.VIDEO,
        `${path}: truncated or damaged video: the header promises ${header} frames, the file holds ${packets}`,
      );
    }
  }
  if (!Number.isInteger(frames) || frames <= 0) throw new MistError(ErrorCode.VIDEO, `${path}: video stream has no frames`);
  const fps = rate(s.avg_frame_rate) > 0 ? rate(s.avg_frame_rate) : rate(s.r_frame_rate);
  const rotation = Number(s.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? s.tags?.rotate ?? 0);
  const swap = Math.abs(rotation) % 180 === 90;
  const duration = Number(json.format?.duration ?? s.duration ?? NaN);
  return {
    path,
    frames,
    fps,
    width: swap ? s.height : s.width,
    height: swap ? s.width : s.height,
    duration,
    codec: s.codec_name ?? 'unknown',
    clipCount: Math.floor(frames / 16),
  };
}

function outputSize(
  info: VideoInfo,
  o: Pick<z.output<typeof ClipOptionsSchema>, 'width' | 'height' | 'cropWidth' | 'cropHeight' | 'interpolation'>,
): { w: number; h: number; filters: string[] } {
  const filters: string[] = [];
  let w = info.width;
  let h = info.height;
  if (o.width !== undefined || o.height !== undefined) {
    // Keep the aspect ratio when one side is given, rounded to an even size as ffmpeg's -2 does.
    const even = (x: number): number => Math.max(2, 2 * Math.round(x / 2));
    w = o.width ?? even((info.width * (o.height as number)) / info.height);
    h = o.height ?? even((info.height * (o.width as number)) / info.width);
    filters.push(`scale=${w}:${h}:flags=${o.interpolation === 'neighbor' ? 'neighbor' : o.interpolation}`);
  }
  if (o.cropWidth !== undefined || o.cropHeight !== undefined) {
    const cw = o.cropWidth ?? w;
    const ch = o.cropHeight ?? h;
    if (cw > w || ch > h) throw new MistError(ErrorCode.ARG, `crop ${cw}x${ch} is larger than the frame ${w}x${h}`);
    filters.push(`crop=${cw}:${ch}:${Math.floor((w - cw) / 2)}:${Math.floor((h - ch) / 2)}`);
    w = cw;
    h = ch;
  }
  return { w, h, filters };
}

// ffmpeg 5.1 renamed -vsync to -fps_mode; older builds (Ubuntu 22.04 ships 4.4) know only
// -vsync, and newer ones may drop it. Ask the binary once.
const syncFlag = new Map<string, Promise<string>>();
/** Async: the flag that takes `passthrough` on this ffmpeg (`-fps_mode` or `-vsync`); never rejects. */
export function passthroughFlag(ffmpegPath: string): Promise<string> {
  let p = syncFlag.get(ffmpegPath);
  if (!p) {
    p = run(ffmpegPath, ['-hide_banner', '-h', 'long']).then(
      (r) => (/^-fps_mode\b/m.test(r.stdout) ? '-fps_mode' : '-vsync'),
      () => '-fps_mode', // spawning fails again below, with the real error
    );
    syncFlag.set(ffmpegPath, p);
  }
  return p;
}

async function* decodeClips(
  info: VideoInfo,
  ffmpegPath: string,
  o: z.output<typeof ClipOptionsSchema>,
  warnings: string[],
): AsyncGenerator<Clip, void, undefined> {
  throwIfAborted(o.signal);
  const { w, h, filters } = outputSize(info, o);
  // Passthrough: one output frame per decoded frame, none duplicated or dropped to fit a rate.
  const sync = await passthroughFlag(ffmpegPath);
  const args = ['-nostdin', '-v', 'error', '-i', info.path, '-map', '0:v:0', '-an', '-sn', '-dn', sync, 'passthrough'];
  if (filters.length) args.push('-vf', filters.join(','));
  // Always RGB from ffmpeg; BGR is a byte swap here, because swscale's bgr24 path rounds
  // differently from its rgb24 path and the two orders should hold the same pixels.
  args.push('-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1');
  const L = o.clipLength;
  const frameBytes = w * h * 3;
  const clipBytes = frameBytes * L;
  // The frame size comes from the file: a clip is estimated before it is allocated.
  checkAllocation(clipBytes, 1, `a ${L}-frame clip of ${info.path} (${w}x${h})`);

  const { child, state, exited } = startFfmpeg(ffmpegPath, args);
  const onAbort = (): void => {
    child.kill('SIGKILL');
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });

  const makeClip = (data: Uint8Array, index: number, padded: number): Clip => {
    if (o.order === 'bgr') {
      for (let i = 0; i < data.length; i += 3) {
        const r = data[i] as number;
        data[i] = data[i + 2] as number;
        data[i + 2] = r;
      }
    }
    const clip: Clip = { index, startFrame: index * L, shape: [L, h, w, 3], order: o.order, padded, data };
    // Non-strict: the reports that came since the previous clip go with this one.
    if (state.reports.length > reported) {
      clip.warnings = damageWarnings(info.path, state, 0, reported);
      warnings.push(...clip.warnings);
      reported = state.reports.length;
    }
    return clip;
  };
  let reported = 0;
  // Strict: a report is thrown once a whole clip has come after it, or when decoding ends. A
  // truncated file's last frame is reported as damaged too, and then the end of decoding says
  // what happened (fewer frames than probed) before the report does.
  const damaged = (atEnd: boolean): void => {
    const first = state.reports[0];
    if (!o.strict || !first || (!atEnd && state.framesRead - first.framesRead < L)) return;
    throw damageFailure(info.path, state, 0)!;
  };

  try {
    let buf = new Uint8Array(clipBytes);
    let filled = 0;
    let index = 0;
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      throwIfAborted(o.signal);
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(chunk.length - off, clipBytes - filled);
        buf.set(chunk.subarray(off, off + n), filled);
        filled += n;
        off += n;
        state.framesRead = index * L + Math.floor(filled / frameBytes);
        if (filled === clipBytes) {
          damaged(false);
          // The consumer may keep the clip, so each clip gets its own buffer.
          yield makeClip(buf, index++, 0);
          buf = new Uint8Array(clipBytes);
          filled = 0;
        }
      }
    }
    const { code, signal } = await exited;
    throwIfAborted(o.signal);
    const failed = ffmpegFailure(ffmpegPath, info.path, state, code, signal);
    if (failed) throw failed;
    // Frames missing at the end (a truncated file) say more than the reports that came with them.
    const decoded = index * L + Math.floor(filled / frameBytes);
    if (o.strict && decoded < info.frames) {
      throw new MistError(
        ErrorCode.VIDEO,
        `${info.path}: truncated or damaged video: decoded ${decoded} of ${info.frames} frames${state.stderr ? ` (${lastLine(state.stderr)})` : ''}`,
      );
    }
    damaged(true);
    if (decoded < info.frames) warnings.push(`${info.path}: decoded ${decoded} of ${info.frames} frames`);
    const rest = Math.floor(filled / frameBytes);
    if (o.lastClip === 'pad' && rest > 0) {
      const last = buf.subarray((rest - 1) * frameBytes, rest * frameBytes);
      for (let f = rest; f < L; f++) buf.set(last, f * frameBytes);
      yield makeClip(buf, index, L - rest);
    }
    // Reports after the last clip, and those past the kept number.
    if (state.reports.length > reported) warnings.push(...damageWarnings(info.path, state, 0, reported));
    if (state.moreReports > 0) warnings.push(`${info.path}: ffmpeg made ${state.moreReports} more reports`);
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      child.stdout.destroy();
      await exited;
    }
  }
}

/**
 * Opens a video with ffprobe and returns its frame count, fps and size, and a clip iterator
 * that decodes with ffmpeg on demand. Async. Throws ERR_MIST_ARG (bad options), ERR_MIST_IO
 * (missing file), ERR_MIST_VIDEO (not a video, no video stream, truncated, no ffmpeg) or
 * ERR_MIST_ABORTED.
 */
export async function openVideo(path: string, options?: OpenVideoOptions): Promise<VideoReader> {
  const o = parseOptions(OpenVideoOptionsSchema, options, 'openVideo options');
  const { countFrames: _c, ffmpegPath: _m, ffprobePath: _p, ...clipDefaults } = o;
  const bins = ffmpegBinaries();
  const ffmpegPath = o.ffmpegPath ?? bins.ffmpeg;
  const info = await probe(path, o, o.ffprobePath ?? bins.ffprobe);
  const warnings: string[] = [];
  const clips = (more?: ClipOptions): AsyncGenerator<Clip, void, undefined> => {
    const merged = parseOptions(ClipOptionsSchema, { ...clipDefaults, ...(more ?? {}) }, 'clip options');
    return decodeClips(info, ffmpegPath, merged, warnings);
  };
  return { ...info, clips, warnings, [Symbol.asyncIterator]: () => clips() };
}

// ---- Random access: decode only the frames a batch needs -------------------------------------
//
// Training reads a few 16-frame windows at random positions of many videos, so decoding every
// video from its start would waste most of the work. readFrames() seeks with ffmpeg's input
// `-ss` (which lands on a keyframe at or before the target) and then keeps exactly the frames
// asked for. Input seeking restarts frame numbers and may land on an earlier keyframe than
// expected, so the frames are never chosen by "n frames after the seek point" alone: the
// demuxer's packet table (ffprobe, no decoding) says where every frame is, and
//  - `pts` mode (every packet has a timestamp, all distinct): frame k is the k-th smallest
//    pts; ffmpeg keeps the original timestamps (-copyts) and trim keeps pts in
//    [pts(k), pts(k + n − 1)] in stream ticks, exact integers, wherever the seek landed;
//  - `count` mode (timestamps missing, as in AVI files, where packets carry only a dts that
//    counts frames, and no sign of B-frames): the seek targets the middle of keyframe j's
//    frame interval, so it lands on j exactly, and trim drops the first k − j decoded frames;
//  - `start` mode (neither holds): decode from frame 0, exact and slow.
// Either way the frames go through the same filters as a full decode (decodeClips), so they
// are the same bytes.

/** Consecutive frames of one video, row-major [frames, height, width, 3] uint8. */
export interface FrameBatch {
  /** Video frame index of the first frame (0-based). */
  startFrame: number;
  shape: [number, number, number, 3];
  order: 'rgb' | 'bgr';
  data: Uint8Array;
  /** With `strict: false`: what ffmpeg reported about damaged data in these frames (empty when nothing). */
  warnings?: string[];
}

/** A folder of numbered images (`000.jpg`, `001.jpg` ...), read through ffmpeg's image2 demuxer. */
export interface ImageSequence {
  /** The printf pattern ffmpeg expands (`<dir>/%03d.jpg`). */
  pattern: string;
  /** Number of the first image. */
  startNumber: number;
}

/** A video file's facts (openVideo) or an image folder's (probeImageSequence). */
export type FrameSourceInfo = VideoInfo & { images?: ImageSequence };

/** Options of readFrames (and of openFrameSource). */
export const ReadFramesOptionsSchema = ClipOptionsSchema.pick({
  width: true,
  height: true,
  cropWidth: true,
  cropHeight: true,
  interpolation: true,
  order: true,
  strict: true,
  signal: true,
}).extend({
  /** Frame rate given to an image folder (it has none of its own); ignored for video files. */
  fps: z.number().positive().default(25),
  ffmpegPath: z.string().min(1).optional(),
  ffprobePath: z.string().min(1).optional(),
});
export type ReadFramesOptions = z.input<typeof ReadFramesOptionsSchema>;

interface SeekIndex {
  mode: 'pts' | 'count' | 'start';
  /** Seconds per stream tick. */
  tb: number;
  /** The container's start time in seconds: ffmpeg adds it to an input -ss. */
  startTime: number;
  /** pts mode: frame timestamps in display order; count mode: packet dts in decode order. */
  ticks: Float64Array;
  /** Frame indices of the keyframes, ascending. */
  keys: number[];
  /** pts mode: some packet's pts differs from its dts (frames are reordered, B-frames). */
  reordered: boolean;
}

const seekIndexes = new WeakMap<VideoInfo, Promise<SeekIndex>>();

async function buildSeekIndex(path: string, ffprobe: string, signal?: AbortSignal): Promise<SeekIndex> {
  const args = [
    '-v', 'error', '-select_streams', 'v:0',
    '-show_entries', 'packet=pts,dts,flags:stream=time_base:format=start_time',
    '-of', 'csv', path,
  ];
  const r = await run(ffprobe, args, signal);
  if (r.code !== 0) throw new MistError(ErrorCode.VIDEO, `${path}: cannot index the video (${lastLine(r.stderr) || `ffprobe exit ${r.code}`})`);
  const pts: number[] = [];
  const dts: number[] = [];
  const key: boolean[] = [];
  let tb = NaN;
  let startTime = 0;
  for (const line of r.stdout.split('\n')) {
    const f = line.trim().split(',');
    if (f[0] === 'packet') {
      pts.push(f[1] === 'N/A' ? NaN : Number(f[1]));
      dts.push(f[2] === 'N/A' ? NaN : Number(f[2]));
      key.push((f[3] ?? '').includes('K'));
    } else if (f[0] === 'stream') tb = rate(f[1]);
    else if (f[0] === 'format' && Number.isFinite(Number(f[1]))) startTime = Number(f[1]);
  }
  const start: SeekIndex = { mode: 'start', tb, startTime, ticks: new Float64Array(0), keys: [], reordered: false };
  if (!(tb > 0) || pts.length === 0) return start;
  if (pts.every(Number.isFinite)) {
    const order = pts.map((_, i) => i).sort((a, b) => (pts[a] as number) - (pts[b] as number));
    const ticks = Float64Array.from(order, (i) => pts[i] as number);
    for (let i = 1; i < ticks.length; i++) if (!(ticks[i]! > ticks[i - 1]!)) return start;
    const keys: number[] = [];
    order.forEach((p, displayIndex) => {
      if (key[p]) keys.push(displayIndex);
    });
    const reordered = pts.some((p, i) => p !== dts[i]);
    return { mode: 'pts', tb, startTime, ticks, keys, reordered };
  }
  // Count mode assumes a keyframe's display index is its decode index: true without B-frames.
  // Where some later packets have a pts and others not, the demuxer's parser found B-frames
  // (it gives them pts = dts), and an open GOP may show frames before its keyframe.
  if (pts.some((p, i) => i > 0 && Number.isFinite(p))) return start;
  const ticks = Float64Array.from(dts);
  for (let i = 0; i < ticks.length; i++) if (!Number.isFinite(ticks[i]) || (i > 0 && !(ticks[i]! > ticks[i - 1]!))) return start;
  const keys = key.flatMap((k, i) => (k ? [i] : []));
  return { mode: 'count', tb, startTime, ticks, keys, reordered: false };
}

/** The seek index of a video, built once per VideoInfo object. */
function seekIndex(info: VideoInfo, ffprobe: string, signal?: AbortSignal): Promise<SeekIndex> {
  let p = seekIndexes.get(info);
  if (!p) {
    p = buildSeekIndex(info.path, ffprobe, signal);
    seekIndexes.set(info, p);
    // A failed or aborted build is not kept: the next read tries again.
    p.catch(() => seekIndexes.delete(info));
  }
  return p;
}

/** The last keyframe at or before frame k (undefined when none is). */
function keyAtOrBefore(keys: number[], k: number): number | undefined {
  let lo = 0;
  let hi = keys.length - 1;
  let best: number | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((keys[mid] as number) <= k) {
      best = keys[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

const seconds = (s: number): string => s.toFixed(6);

/** What ffmpeg subtracts from an input -ss for streams with a decoder delay (fftools, since 2012). */
const DTS_HEURISTIC = 3 / 23;

/** ffmpeg's input arguments and the leading filter that select frames [k, k + n) of a video. */
function seekPlan(ix: SeekIndex, k: number, n: number): { input: string[]; filter: string } {
  const fromStart = { input: [], filter: `trim=start_frame=${k}:end_frame=${k + n}` };
  if (ix.mode === 'start' || k + n > ix.ticks.length) return fromStart;
  const j = keyAtOrBefore(ix.keys, k);
  if (j === undefined) return fromStart;
  const t = (i: number): number => ix.ticks[Math.min(i, ix.ticks.length - 1)] as number;
  const gap = ix.ticks.length > 1 ? t(j + 1) - t(j) || t(j) - t(j - 1) : 0;
  if (ix.mode === 'pts') {
    // Without reordering a keyframe's index timestamp is its pts: aim half a frame past it.
    // With B-frames the index may hold dts, earlier than pts: aim a second before instead.
    const target = ix.reordered ? t(j) * ix.tb - 1 : (t(j) + gap / 2) * ix.tb;
    const ss = target - ix.startTime;
    const input = j > 0 && ss > 0 ? ['-noaccurate_seek', '-ss', seconds(ss)] : [];
    return { input: [...input, '-copyts'], filter: `trim=start_pts=${t(k)}:end_pts=${t(k + n - 1) + 1}` };
  }
  // ffmpeg's CLI moves an input -ss back by 3/23 s when the stream has a decoder delay (its
  // "dts heuristic"), and other builds may not: aim where both land on the same keyframe, the
  // last one whose interval to the next keyframe is long enough for that.
  for (let i = ix.keys.indexOf(j); i > 0; i--) {
    const key = ix.keys[i] as number;
    const next = i + 1 < ix.keys.length ? (t(ix.keys[i + 1] as number) as number) * ix.tb : Infinity;
    const half = ((t(key + 1) - t(key)) / 2) * ix.tb;
    const aim = t(key) * ix.tb + half;
    if (aim + DTS_HEURISTIC >= next) continue;
    const ss = aim + DTS_HEURISTIC - ix.startTime;
    if (ss <= 0) break;
    return {
      input: ['-noaccurate_seek', '-ss', seconds(ss)],
      filter: `trim=start_frame=${k - key}:end_frame=${k - key + n}`,
    };
  }
  return fromStart;
}

/**
 * Runs ffmpeg and reads its raw output into `out`; returns the bytes it wrote and its damage
 * reports as warnings (strict: the first report is thrown as ERR_MIST_VIDEO instead).
 */
async function decodeInto(
  ffmpegPath: string,
  args: string[],
  out: Uint8Array,
  what: string,
  d: { frameBytes: number; firstFrame: number; strict: boolean },
  signal?: AbortSignal,
): Promise<{ bytes: number; warnings: string[] }> {
  throwIfAborted(signal);
  const { child, state, exited } = startFfmpeg(ffmpegPath, args);
  const onAbort = (): void => {
    child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let filled = 0;
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      const n = Math.min(chunk.length, out.length - filled);
      out.set(chunk.subarray(0, n), filled);
      filled += n;
      state.framesRead = Math.floor(filled / d.frameBytes);
      const e = d.strict ? damageFailure(what, state, d.firstFrame) : undefined;
      if (e) throw e;
    }
    const { code, signal: sig } = await exited;
    throwIfAborted(signal);
    const failed = ffmpegFailure(ffmpegPath, what, state, code, sig);
    if (failed) throw failed;
    const e = d.strict ? damageFailure(what, state, d.firstFrame) : undefined;
    if (e) throw e;
    const warnings = damageWarnings(what, state, d.firstFrame);
    if (state.moreReports > 0) warnings.push(`${what}: ffmpeg made ${state.moreReports} more reports`);
    return { bytes: filled, warnings };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      child.stdout.destroy();
      await exited;
    }
  }
}

function swapRedBlue(data: Uint8Array): void {
  for (let i = 0; i < data.length; i += 3) {
    const r = data[i] as number;
    data[i] = data[i + 2] as number;
    data[i + 2] = r;
  }
}

const IMAGE_NAME = /^(\d+)\.(jpe?g|png|bmp)$/i;

/**
 * Reads a folder of numbered frames (`000.jpg` … as ShanghaiTech distributes its test set, or
 * `1.jpg` …): the numbers must be consecutive, with one extension. The size comes from ffprobe
 * on the first image; `fps` is the rate to report (default 25). Async. Throws ERR_MIST_IO
 * (missing folder), ERR_MIST_VIDEO (no numbered images, a gap, mixed extensions, an unreadable
 * first image) or ERR_MIST_ABORTED.
 */
export async function probeImageSequence(
  dir: string,
  options?: { fps?: number; ffprobePath?: string; signal?: AbortSignal },
): Promise<FrameSourceInfo> {
  const o = parseOptions(
    z.strictObject({
      fps: z.number().positive().default(25),
      ffprobePath: z.string().min(1).optional(),
      signal: z.instanceof(AbortSignal).optional(),
    }),
    options,
    'image sequence options',
  );
  const names = listDir(dir).filter((n) => IMAGE_NAME.test(n));
  if (names.length === 0) throw new MistError(ErrorCode.VIDEO, `${dir}: no numbered images (000.jpg, 001.jpg ...)`);
  const parsed = names.map((n) => {
    const m = IMAGE_NAME.exec(n) as RegExpExecArray;
    return { digits: m[1] as string, number: Number(m[1]), ext: m[2] as string };
  });
  const ext = parsed[0]!.ext;
  if (parsed.some((p) => p.ext !== ext)) throw new MistError(ErrorCode.VIDEO, `${dir}: images with different extensions`);
  parsed.sort((a, b) => a.number - b.number);
  const first = parsed[0]!.number;
  const gap = parsed.findIndex((p, i) => p.number !== first + i);
  if (gap >= 0) throw new MistError(ErrorCode.VIDEO, `${dir}: image ${first + gap} is missing (the numbers must be consecutive)`);
  // All names padded to one width (000.jpg) or none padded (1.jpg … 10.jpg).
  const width = parsed[0]!.digits.length;
  const padded = parsed.every((p) => p.digits.length === width);
  if (!padded && parsed.some((p) => p.digits !== String(p.number))) {
    throw new MistError(ErrorCode.VIDEO, `${dir}: image numbers are padded to different widths`);
  }
  const pattern = join(dir, padded && width > 1 ? `%0${width}d.${ext}` : `%d.${ext}`);
  const firstFile = join(dir, `${parsed[0]!.digits}.${ext}`);
  const ffprobe = o.ffprobePath ?? ffmpegBinaries().ffprobe;
  const r = await run(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', firstFile], o.signal);
  let s: ProbeStream | undefined;
  try {
    s = r.code === 0 ? (JSON.parse(r.stdout) as { streams?: ProbeStream[] }).streams?.[0] : undefined;
  } catch {
    s = undefined;
  }
  if (!s?.width || !s.height) {
    throw new MistError(ErrorCode.VIDEO, `${firstFile}: not a readable image (${lastLine(r.stderr) || 'no size'})`);
  }
  const frames = parsed.length;
  return {
    path: dir,
    frames,
    fps: o.fps,
    width: s.width,
    height: s.height,
    duration: frames / o.fps,
    codec: s.codec_name ?? 'unknown',
    clipCount: Math.floor(frames / 16),
    images: { pattern, startNumber: first },
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // probe() reports a missing or unreadable path as ERR_MIST_IO
  }
}

/** Probes a video file (as openVideo does, counting packets) or an image folder. */
export async function probeFrameSource(
  path: string,
  o: { fps: number; ffprobePath?: string | undefined; signal?: AbortSignal | undefined },
): Promise<FrameSourceInfo> {
  if (isDirectory(path)) return probeImageSequence(path, { fps: o.fps, ffprobePath: o.ffprobePath, signal: o.signal });
  const po = parseOptions(OpenVideoOptionsSchema, { signal: o.signal }, 'openVideo options');
  return probe(path, po, o.ffprobePath ?? ffmpegBinaries().ffprobe);
}

/**
 * Decodes frames [startFrame, startFrame + count) of a video file or an image folder, resized
 * and cropped as openVideo's clips are, into one [count, H, W, 3] array. The bytes equal those
 * of the same frames in a full sequential decode with the same options (see the comment above
 * for how the seek is made exact). Given a VideoInfo (an openVideo reader, or a FrameSource's
 * info) the frame index is built once and reused; given a path, each call probes the file.
 * Async. Throws ERR_MIST_ARG (bad options, frames outside the video), ERR_MIST_IO,
 * ERR_MIST_VIDEO (decode failure, fewer frames than asked for), ERR_MIST_MEMORY (frames of
 * that size would not fit in memory, estimated before decoding) or ERR_MIST_ABORTED.
 */
export async function readFrames(
  source: string | FrameSourceInfo,
  startFrame: number,
  count: number,
  options?: ReadFramesOptions,
): Promise<FrameBatch> {
  const o = parseOptions(ReadFramesOptionsSchema, options, 'readFrames options');
  if (!Number.isInteger(startFrame) || startFrame < 0) {
    throw new MistError(ErrorCode.ARG, `startFrame must be an integer >= 0 (got ${String(startFrame)})`);
  }
  if (!Number.isInteger(count) || count < 1) throw new MistError(ErrorCode.ARG, `count must be a positive integer (got ${String(count)})`);
  throwIfAborted(o.signal);
  const bins = ffmpegBinaries();
  const ffmpegPath = o.ffmpegPath ?? bins.ffmpeg;
  const ffprobe = o.ffprobePath ?? bins.ffprobe;
  const info = typeof source === 'string' ? await probeFrameSource(source, { fps: o.fps, ffprobePath: ffprobe, signal: o.signal }) : source;
  if (startFrame + count > info.frames) {
    throw new MistError(ErrorCode.ARG, `${info.path}: frames ${startFrame}..${startFrame + count - 1} are past the end (${info.frames} frames)`);
  }
  const { w, h, filters } = outputSize(info, o);
  checkAllocation(count * h * w * 3, 1, `${count} frames of ${info.path} (${w}x${h})`);
  const sync = await passthroughFlag(ffmpegPath);
  let input: string[];
  let lead: string[] = [];
  if (info.images) {
    const first = info.images.startNumber + startFrame;
    input = ['-f', 'image2', '-framerate', String(info.fps), '-start_number', String(first), '-i', info.images.pattern];
  } else {
    const plan = seekPlan(await seekIndex(info, ffprobe, o.signal), startFrame, count);
    input = [...plan.input, '-i', info.path];
    lead = [plan.filter];
  }
  const args = ['-nostdin', '-v', 'error', ...input, '-map', '0:v:0', '-an', '-sn', '-dn', sync, 'passthrough'];
  const chain = [...lead, ...filters];
  if (chain.length) args.push('-vf', chain.join(','));
  args.push('-frames:v', String(count), '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1');
  const data = new Uint8Array(count * h * w * 3);
  const { bytes: got, warnings } = await decodeInto(
    ffmpegPath,
    args,
    data,
    info.path,
    { frameBytes: h * w * 3, firstFrame: startFrame, strict: o.strict },
    o.signal,
  );
  if (got < data.length) {
    throw new MistError(
      ErrorCode.VIDEO,
      `${info.path}: decoded ${Math.floor(got / (h * w * 3))} of the ${count} frames from frame ${startFrame} (truncated or damaged video)`,
    );
  }
  if (o.order === 'bgr') swapRedBlue(data);
  return { startFrame, shape: [count, h, w, 3], order: o.order, data, warnings };
}

/**
 * The output size of readFrames (and of openVideo's clips) for a source and options: the
 * resize (one side given keeps the aspect ratio, rounded to even), then the crop. Sync.
 * Throws ERR_MIST_ARG (bad options, a crop larger than the resized frame).
 */
export function outputFrameSize(info: VideoInfo, options?: ReadFramesOptions): { width: number; height: number } {
  const { w, h } = outputSize(info, parseOptions(ReadFramesOptionsSchema, options, 'readFrames options'));
  return { width: w, height: h };
}
