// Video decoding through the system ffmpeg/ffprobe. ffprobe reports the stream; ffmpeg runs
// as a child process that writes raw RGB (or BGR) frames, already resized by its scale
// filter, to a pipe. Clips are cut from that pipe as the consumer asks for them, so memory
// holds about one clip plus the pipe buffers whatever the video length; when the consumer
// stops early the child is killed.
import { execFile, spawn } from 'node:child_process';
import { z } from 'zod';
import { ErrorCode, MistError, throwIfAborted } from '../errors.js';
import { FFMPEG_FIX, ffmpegBinaries } from '../config.js';
import { parseOptions } from '../options.js';
import { fileSize } from './files.js';

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
  /** Fail when fewer frames decode than the probe reported (a truncated or damaged file). */
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

function outputSize(info: VideoInfo, o: z.output<typeof ClipOptionsSchema>): { w: number; h: number; filters: string[] } {
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
function passthroughFlag(ffmpegPath: string): Promise<string> {
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

async function* decodeClips(info: VideoInfo, ffmpegPath: string, o: z.output<typeof ClipOptionsSchema>): AsyncGenerator<Clip, void, undefined> {
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

  const child = spawn(ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
  });
  let spawnError: Error | undefined;
  child.on('error', (e) => {
    spawnError = e;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
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
    return { index, startFrame: index * L, shape: [L, h, w, 3], order: o.order, padded, data };
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
        if (filled === clipBytes) {
          // The consumer may keep the clip, so each clip gets its own buffer.
          yield makeClip(buf, index++, 0);
          buf = new Uint8Array(clipBytes);
          filled = 0;
        }
      }
    }
    const { code, signal } = await exited;
    throwIfAborted(o.signal);
    if (spawnError) {
      if ((spawnError as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(ffmpegPath, spawnError);
      throw new MistError(ErrorCode.VIDEO, `${info.path}: ffmpeg failed: ${spawnError.message}`, { cause: spawnError });
    }
    if (code !== 0) {
      throw new MistError(ErrorCode.VIDEO, `${info.path}: ffmpeg failed (${signal ?? `exit ${code}`}): ${lastLine(stderr)}`);
    }
    const decoded = index * L + Math.floor(filled / frameBytes);
    if (o.strict && decoded < info.frames) {
      throw new MistError(
        ErrorCode.VIDEO,
        `${info.path}: truncated or damaged video: decoded ${decoded} of ${info.frames} frames${stderr ? ` (${lastLine(stderr)})` : ''}`,
      );
    }
    const rest = Math.floor(filled / frameBytes);
    if (o.lastClip === 'pad' && rest > 0) {
      const last = buf.subarray((rest - 1) * frameBytes, rest * frameBytes);
      for (let f = rest; f < L; f++) buf.set(last, f * frameBytes);
      yield makeClip(buf, index, L - rest);
    }
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
  const clips = (more?: ClipOptions): AsyncGenerator<Clip, void, undefined> => {
    const merged = parseOptions(ClipOptionsSchema, { ...clipDefaults, ...(more ?? {}) }, 'clip options');
    return decodeClips(info, ffmpegPath, merged);
  };
  return { ...info, clips, [Symbol.asyncIterator]: () => clips() };
}
