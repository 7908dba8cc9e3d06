// Online scoring: ffmpeg decodes a live source (a pipe, a growing file, any URL it opens) to raw
// RGB frames at the source's own size; every T = 16 frames make a clip, which goes through the
// same test-time transform and encoder as scoreVideo's clips, so a video scored online and
// offline gets the same clip scores. The size is read from ffmpeg's own stream banner on
// stderr (a pipe cannot be probed twice), which it prints before the first frame.
//
// Memory is bounded however long the stream runs: at most maxBufferedClips whole clips wait
// (their buffers are reused), and when they are all waiting ffmpeg's stdout is paused, so the
// pipe fills and ffmpeg blocks (overflow `pause`), or the oldest waiting clip is dropped
// (overflow `drop`: a live source that outpaces the encoder keeps a bounded latency).
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

import { z } from 'zod';

import { ffmpegBinaries } from '../config.js';
import { fileSize } from '../data/files.js';
import { ffmpegFailure, passthroughFlag } from '../data/video.js';
import { ErrorCode, MistError, throwIfAborted } from '../errors.js';
import type { SgaEncoder } from '../models/encoder.js';
import { preprocessClips } from '../models/preprocess.js';
import { parseOptions } from '../options.js';
import type { InputSize } from '../types.js';
import { followFile } from './follow.js';
import { checkEncoder, padClip, testClipSpec } from './video.js';

const Side = z.int().positive().max(8192);

/** Options of scoreStream(). */
export const ScoreStreamOptionsSchema = z
  .strictObject({
    /** Test-time resize [h, w], as scoreVideo's (default: the backbone's, scaled to the input size). */
    testSize: z.tuple([Side, Side]).readonly().optional(),
    /** Each clip's attention map [T', H', W'] with its score. */
    attention: z.boolean().default(false),
    /** Each clip's feature [D] with its score. */
    features: z.boolean().default(false),
    /** Read the input at its own frame rate (ffmpeg -re): a file then arrives as a camera's frames would. */
    realtime: z.boolean().default(false),
    /** The source is a file still being written: at its end, wait for more instead of ending. */
    follow: z.boolean().default(false),
    /** follow: the stream ends (every frame decoded) once the file has not grown for this long (ms). */
    idleTimeoutMs: z
      .number()
      .positive()
      .max(2 ** 31 - 1)
      .optional(),
    /** follow: wait between looks at a file that has not grown (ms). */
    pollMs: z.int().positive().max(60_000).default(50),
    /** Whole clips held while the encoder is busy (their frames stay in memory). */
    maxBufferedClips: z.int().positive().max(64).default(2),
    /** With maxBufferedClips waiting: `pause` ffmpeg (backpressure) or `drop` the oldest waiting clip. */
    overflow: z.enum(['pause', 'drop']).default('pause'),
    /** Up to this many waiting clips go through the encoder in one call (1: each alone, as scoreVideo with batchSize 1). */
    batchSize: z.int().positive().max(64).default(1),
    /** Frames after the last whole clip at the end of the stream: not scored, or one clip padded with the last frame. */
    tail: z.enum(['unscored', 'pad']).default('unscored'),
    /** ffmpeg input options placed before -i (e.g. ['-rtsp_transport', 'tcp'], ['-f', 'mpegts'], ['-stream_loop', '19']). */
    inputOptions: z.array(z.string()).max(64).default([]),
    /** Default: MIST_FFMPEG, else ffmpeg on PATH. */
    ffmpegPath: z.string().min(1).optional(),
    signal: z.instanceof(AbortSignal).optional(),
  })
  .refine((o) => o.idleTimeoutMs === undefined || o.follow, {
    path: ['idleTimeoutMs'],
    message: 'applies only with follow: true',
  });
/** Options of scoreStream(), as callers pass them. */
export type ScoreStreamOptions = z.input<typeof ScoreStreamOptionsSchema>;

/** What ffmpeg reported about the decoded stream. */
export interface StreamInfo {
  /** The source as errors name it (`pipe`, a path, a URL without its password). */
  source: string;
  width: number;
  height: number;
  /** Frames per second ffmpeg reports (NaN when it does not say). */
  fps: number;
  /** The input's video codec (`h264` ...). */
  codec: string;
}

/** One clip's score, yielded as soon as it is ready. */
export interface StreamClipScore {
  /** Clip number from the start of the stream (a dropped clip leaves its number out). */
  index: number;
  /** Frame range [startFrame, endFrame) of the stream. */
  startFrame: number;
  endFrame: number;
  /** Frames repeated to fill a padded last clip (tail `pad`; 0 otherwise). */
  padded: number;
  score: number;
  /** [T', H', W'] map, with attention: true. */
  attention?: Float32Array;
  attentionShape?: number[];
  /** [D], with features: true. */
  feature?: Float32Array;
  /** Wall clock (ms since the epoch) when the clip's last frame arrived from ffmpeg. */
  arrivedAt: number;
  /** Wall clock (ms since the epoch) when the score was ready. */
  readyAt: number;
  /** readyAt − arrivedAt. */
  latencyMs: number;
  /** Whole clips waiting behind this one when it was ready. */
  queued: number;
}

/** Counters of a running (or finished) stream. */
export interface StreamStats {
  /** ffmpeg's process id (undefined before the first next()). */
  pid: number | undefined;
  /** ffmpeg is still running. */
  running: boolean;
  framesReceived: number;
  clipsReceived: number;
  clipsScored: number;
  clipsDropped: number;
  /** Whole clips waiting now, the most that ever waited, and the bound. */
  bufferedClips: number;
  peakBufferedClips: number;
  maxBufferedClips: number;
  /** ffmpeg's output is paused now (backpressure). */
  paused: boolean;
  /** Frames after the last whole clip, once the stream has ended. */
  tailFrames: number;
}

/** The iterator scoreStream returns, with its stream's facts and counters. */
export interface ScoreStream extends AsyncIterableIterator<StreamClipScore> {
  /** Known once ffmpeg has opened the input (during the first next()). */
  readonly info: StreamInfo | undefined;
  /** Sync: the counters now. */
  stats(): StreamStats;
  /** Async: stops ffmpeg and ends the iteration (a pending next() resolves done); resolves once ffmpeg has exited. */
  close(): Promise<void>;
}

/** A source scoreStream reads: a path or URL ffmpeg opens, or a Readable of a container or elementary stream. */
export type StreamSource = string | Readable;

const isReadable = (v: unknown): v is Readable =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Readable).pipe === 'function' &&
  typeof (v as Readable).on === 'function';

interface RawClip {
  index: number;
  startFrame: number;
  endFrame: number;
  padded: number;
  data: Uint8Array;
  arrivedAt: number;
}

const now = (): number => performance.timeOrigin + performance.now();
const URL_LIKE = /^[a-z][a-z0-9+.-]+:/i;
/** A URL's password, hidden from messages. */
const redact = (s: string): string => s.replace(/(\/\/[^/:@\s]*:)[^/@\s]*@/g, '$1***@');

// One log line of `-loglevel level+info`: optional `[component @ 0x…] `, then `[level] text`.
const LOG_LINE = /^(\[[^\]]* @ 0x[0-9a-f]+\] )?\[(trace|debug|verbose|info|warning|error|fatal|panic)\] (.*)$/;
const OUTPUT_VIDEO = /^\s*Stream #\d+:\d+.*?: Video: rawvideo\b.*?, (\d+)x(\d+)\b/;
const INPUT_VIDEO = /^\s*Stream #\d+:\d+.*?: Video: ([\w-]+)/;

/** ffmpeg, its input feed, and the clips it has decoded that wait for the encoder. */
class ClipFeed {
  info: StreamInfo | undefined;
  child: ChildProcess | undefined;
  framesReceived = 0;
  clipsReceived = 0;
  clipsTaken = 0;
  clipsDropped = 0;
  peak = 0;
  paused = false;
  tailFrames = 0;
  readonly queue: RawClip[] = [];

  readonly #pool: Uint8Array[] = [];
  #cur: Uint8Array | undefined;
  #filled = 0;
  #frameBytes = 0;
  #clipBytes = 0;
  /** Output chunks not yet cut into clips (before the banner, or while maxBufferedClips wait). */
  #held: Buffer[] = [];
  #errors: string[] = [];
  #stderrTail = '';
  #banner: 'input' | 'output' | 'done' | undefined;
  #codec = 'unknown';
  #spawnError: Error | undefined;
  #inputError: MistError | undefined;
  #stopped: 'close' | 'abort' | undefined;
  #ended = false;
  #failure: Error | undefined;
  #waiter: { resolve: () => void } | undefined;
  #exited: Promise<void> = Promise.resolve();
  #input: Readable | undefined;
  #ownsInput = false;

  constructor(
    readonly source: string,
    readonly T: number,
    readonly o: z.output<typeof ScoreStreamOptionsSchema>,
  ) {}

  /** Spawns ffmpeg on `input` (a path or URL) or on `feed` piped into its stdin. */
  start(ffmpegPath: string, args: string[], feed: Readable | undefined, ownsFeed: boolean): void {
    const child = spawn(ffmpegPath, args, { stdio: [feed ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.#input = feed;
    this.#ownsInput = ownsFeed;
    this.#exited = new Promise((resolve) =>
      child.on('close', (code, signal) => {
        this.#finish(ffmpegPath, code, signal);
        resolve();
      }),
    );
    child.on('error', (e) => {
      this.#spawnError = e;
    });
    let line = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      const lines = (line + d).split(/\r?\n|\r/);
      line = lines.pop() ?? '';
      for (const l of lines) this.#log(l);
    });
    child.stderr!.on('end', () => {
      if (line) this.#log(line);
    });
    const out = child.stdout!;
    out.on('data', (chunk: Buffer) => this.#data(chunk));
    if (feed) {
      const stdin = child.stdin as Writable;
      // ffmpeg closes its input when it stops (an error, a kill): the writes then fail with EPIPE.
      stdin.on('error', () => undefined);
      feed.on('error', this.#onInputError);
      feed.pipe(stdin);
    }
  }

  readonly #onInputError = (e: Error): void => {
    this.#inputError ??=
      e instanceof MistError
        ? e
        : new MistError(ErrorCode.IO, `${this.source}: the input stream failed: ${e.message}`, { cause: e });
    this.child?.kill('SIGKILL');
  };

  #log(raw: string): void {
    const m = LOG_LINE.exec(raw);
    const level = m?.[2];
    const text = m ? m[3]! : raw;
    if (level === 'error' || level === 'fatal' || level === 'panic') {
      // Lines of ffmpeg itself (no component) say what failed; a decoder's say where.
      this.#errors.push(m?.[1] ? `${m[1]}${text}` : text);
      if (this.#errors.length > 32) this.#errors.shift();
    }
    this.#stderrTail = (this.#stderrTail + raw + '\n').slice(-4000);
    if (this.#banner === 'done') return;
    if (/^Input #0\b/.test(text)) this.#banner = 'input';
    else if (/^Output #0\b/.test(text)) this.#banner = 'output';
    else if (this.#banner === 'input' && this.#codec === 'unknown') {
      const v = INPUT_VIDEO.exec(text);
      if (v) this.#codec = v[1]!;
    } else if (this.#banner === 'output') {
      const v = OUTPUT_VIDEO.exec(text);
      if (!v) return;
      const fps = /, (\d+(?:\.\d+)?) fps\b/.exec(text) ?? /, (\d+(?:\.\d+)?) tbr\b/.exec(text);
      this.#banner = 'done';
      this.#header({
        source: this.source,
        width: Number(v[1]),
        height: Number(v[2]),
        fps: fps ? Number(fps[1]) : NaN,
        codec: this.#codec,
      });
    }
  }

  #header(info: StreamInfo): void {
    this.info = info;
    this.#frameBytes = info.width * info.height * 3;
    this.#clipBytes = this.#frameBytes * this.T;
    this.#drain();
  }

  #data(chunk: Buffer): void {
    // Before the banner is read (ffmpeg prints it first, but the two pipes race), or while
    // clips are held back: keep the chunk (pause() stops further ones within a chunk or two).
    if (!this.info || this.#held.length > 0) {
      this.#held.push(chunk);
      this.#pause();
      return;
    }
    this.#consume(chunk, true);
  }

  /** Cuts a chunk into clips; with `bounded`, stops (holding the rest) once maxBufferedClips wait. */
  #consume(chunk: Buffer, bounded: boolean): void {
    let off = 0;
    while (off < chunk.length) {
      if (bounded && this.o.overflow === 'pause' && this.queue.length >= this.o.maxBufferedClips) {
        this.#held.unshift(chunk.subarray(off));
        this.#pause();
        break;
      }
      this.#cur ??= this.#pool.pop() ?? new Uint8Array(this.#clipBytes);
      const n = Math.min(chunk.length - off, this.#clipBytes - this.#filled);
      this.#cur.set(chunk.subarray(off, off + n), this.#filled);
      this.#filled += n;
      off += n;
      if (this.#filled === this.#clipBytes) this.#complete(this.#cur, 0);
    }
    this.framesReceived = this.clipsReceived * this.T + Math.floor(this.#filled / this.#frameBytes);
    if (this.o.overflow === 'pause' && this.queue.length >= this.o.maxBufferedClips) this.#pause();
  }

  /** Takes in the chunks held back while there is room, then lets ffmpeg's output flow again. */
  #drain(): void {
    if (!this.info) return;
    while (this.#held.length > 0 && !(this.o.overflow === 'pause' && this.queue.length >= this.o.maxBufferedClips)) {
      this.#consume(this.#held.shift()!, true);
    }
    if (this.#held.length === 0 && (this.o.overflow === 'drop' || this.queue.length < this.o.maxBufferedClips)) {
      this.#resume();
    }
  }

  #complete(data: Uint8Array, padded: number): void {
    const index = this.clipsReceived++;
    const start = index * this.T;
    this.#cur = undefined;
    this.#filled = 0;
    if (this.o.overflow === 'drop' && this.queue.length >= this.o.maxBufferedClips) {
      this.release(this.queue.shift()!.data);
      this.clipsDropped++;
    }
    this.queue.push({ index, startFrame: start, endFrame: start + this.T - padded, padded, data, arrivedAt: now() });
    this.peak = Math.max(this.peak, this.queue.length);
    this.#wake();
  }

  #pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.child?.stdout?.pause();
  }

  #resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.child?.stdout?.resume();
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.resolve();
  }

  /** ffmpeg has exited and its output is read: the stream's end, its error, or its last padded clip. */
  #finish(ffmpegPath: string, code: number | null, signal: NodeJS.Signals | null): void {
    this.#input?.unpipe();
    this.#input?.off('error', this.#onInputError);
    // A followed file's reader is ours to close; a caller's Readable is only let go.
    if (this.#ownsInput) this.#input?.destroy();
    if (!this.#stopped) {
      // The output is all read once ffmpeg has closed it; chunks still held are the stream's last.
      if (this.info) for (const c of this.#held.splice(0)) this.#consume(c, false);
      const top = this.#errors.find((l) => !l.startsWith('['));
      // ffmpeg names the input in its messages: a URL's password is not repeated.
      const stderr = redact(top ?? this.#errors[this.#errors.length - 1] ?? this.#stderrTail);
      const spawnError = this.#spawnError;
      this.#failure =
        this.#inputError ??
        ffmpegFailure(ffmpegPath, this.source, { stderr, ...(spawnError ? { spawnError } : {}) }, code, signal);
      const rest = this.info ? Math.floor(this.#filled / this.#frameBytes) : 0;
      this.tailFrames = rest;
      if (!this.#failure && rest > 0 && this.o.tail === 'pad') {
        this.#complete(padClip(this.#cur!, rest, this.T, this.#frameBytes), this.T - rest);
      }
    }
    this.#ended = true;
    this.#wake();
  }

  /**
   * The next waiting clip (waiting for one to arrive), or undefined at the end of the stream.
   * Clips already whole come before an ffmpeg failure is thrown; none come after an abort.
   */
  async take(): Promise<RawClip | undefined> {
    for (;;) {
      if (this.#stopped === 'abort') throw new MistError(ErrorCode.ABORTED, 'operation aborted');
      if (this.#stopped === 'close') return undefined;
      const c = this.queue.shift();
      if (c) {
        this.clipsTaken++;
        this.#drain();
        return c;
      }
      if (this.#ended) {
        if (this.#failure) throw this.#failure;
        return undefined;
      }
      await new Promise<void>((resolve) => {
        this.#waiter = { resolve };
      });
    }
  }

  /** A waiting clip when there is one, without waiting. */
  takeNow(): RawClip | undefined {
    if (this.#stopped || this.queue.length === 0) return undefined;
    const c = this.queue.shift()!;
    this.clipsTaken++;
    this.#drain();
    return c;
  }

  /** Gives a clip's buffer back once its frames have been read. */
  release(data: Uint8Array): void {
    if (data.length === this.#clipBytes && this.#pool.length < this.o.maxBufferedClips + 1) this.#pool.push(data);
  }

  get running(): boolean {
    const c = this.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** Kills ffmpeg (when it still runs) and resolves once it has exited. */
  async stop(reason: 'close' | 'abort'): Promise<void> {
    this.#stopped ??= reason;
    this.queue.length = 0;
    if (!this.#ended) {
      this.#input?.unpipe();
      this.child?.stdin?.destroy();
      this.child?.kill('SIGKILL');
      this.child?.stdout?.destroy();
    }
    this.#wake();
    await this.#exited;
  }
}

/** ffmpeg's arguments, and the Readable to pipe into its stdin (if any). */
function ffmpegInput(
  source: StreamSource,
  o: z.output<typeof ScoreStreamOptionsSchema>,
): { input: string; feed?: Readable; owned?: boolean; what: string } {
  if (isReadable(source)) {
    if (o.follow) throw new MistError(ErrorCode.ARG, 'follow applies to a file path, not to a Readable');
    return { input: 'pipe:0', feed: source, what: 'pipe' };
  }
  if (typeof source !== 'string' || source.length === 0) {
    throw new MistError(ErrorCode.ARG, 'scoreStream needs a path, a URL or a Readable');
  }
  let isPath = !URL_LIKE.test(source) || source.startsWith('file:');
  const path = source.startsWith('file:') ? source.slice(5) : source;
  if (URL_LIKE.test(source) && !source.startsWith('file:')) {
    // `name:with:colons.mp4` is a file when one is there.
    try {
      isPath = statSync(source).isFile();
    } catch {
      isPath = false;
    }
  }
  if (!isPath) {
    if (o.follow) throw new MistError(ErrorCode.ARG, `follow applies to a file path, not to ${redact(source)}`);
    return { input: source, what: redact(source) };
  }
  if (isDirectory(path))
    throw new MistError(ErrorCode.ARG, `${path} is a folder: score an image folder with scoreVideo`);
  fileSize(path, 'score');
  if (o.follow) {
    return {
      input: 'pipe:0',
      feed: followFile(path, { pollMs: o.pollMs, idleMs: o.idleTimeoutMs }),
      owned: true,
      what: path,
    };
  }
  return { input: `file:${path}`, what: path };
}

/**
 * Scores a live source clip by clip: a path or URL ffmpeg opens (a file, rtsp://, http://), a
 * file still being written (follow: true; it ends by the signal, close(), or idleTimeoutMs), or
 * a Readable of a container or elementary stream ffmpeg can read from a pipe (unpiped at the
 * end, not destroyed). ffmpeg decodes to RGB at the source's own size; each clip of T = 16
 * frames goes through scoreVideo's test-time transform and the encoder (eval mode), and is
 * yielded as soon as it is scored, with the wall-clock time its last frame arrived and the
 * latency to its score. Frames past the last whole clip are not scored (tail `unscored`, the
 * evaluation rule) or make one padded clip (tail `pad`). ffmpeg reads the start of a pipe
 * (up to about 5 s of an MPEG-TS, its probe) before it gives the first frame; inputOptions
 * such as ['-analyzeduration', '1000000'] shorten that. Sync: returns the iterator; ffmpeg
 * starts on its first next(), and stops (killed) when the iteration ends early, return() or
 * close() is called, or the signal fires. Throws ERR_MIST_ARG for bad options at once; the
 * iterator throws ERR_MIST_IO (a missing file, a failing Readable), ERR_MIST_VIDEO (ffmpeg
 * missing, failing, or the input not a video), the encoder's errors, ERR_MIST_ABORTED.
 */
export function scoreStream(source: StreamSource, encoder: SgaEncoder, options: ScoreStreamOptions = {}): ScoreStream {
  const o = parseOptions(ScoreStreamOptionsSchema, options, 'score stream options');
  checkEncoder(encoder, 'scoreStream');
  const spec = testClipSpec(encoder, o.testSize);
  const [T] = encoder.inputSize;
  const size: InputSize = [T, spec.outSize[0], spec.outSize[1]];
  encoder.checkMemory('inference', o.batchSize, 'scoreStream: an encoder call', size);
  let feed: ClipFeed | undefined;
  let scored = 0;

  async function* run(): AsyncGenerator<StreamClipScore, void, undefined> {
    throwIfAborted(o.signal);
    const ffmpegPath = o.ffmpegPath ?? ffmpegBinaries().ffmpeg;
    const sync = await passthroughFlag(ffmpegPath);
    throwIfAborted(o.signal);
    const { input, feed: pipe, owned, what } = ffmpegInput(source, o);
    const args = [
      '-nostdin',
      '-hide_banner',
      '-nostats',
      '-loglevel',
      'level+info',
      ...(o.realtime ? ['-re'] : []),
      ...o.inputOptions,
      '-i',
      input,
      // As readFrames decodes: the first video stream, one output frame per decoded frame.
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      '-dn',
      sync,
      'passthrough',
      '-pix_fmt',
      'rgb24',
      '-f',
      'rawvideo',
      'pipe:1',
    ];
    const f = new ClipFeed(what, T, o);
    feed = f;
    const onAbort = (): void => void f.stop('abort');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    encoder.setTraining(false);
    try {
      f.start(ffmpegPath, args, pipe, owned === true);
      for (;;) {
        const first = await f.take();
        if (!first) return;
        const batch = [first];
        while (batch.length < o.batchSize) {
          const c = f.takeNow();
          if (!c) break;
          batch.push(c);
        }
        const { width: W, height: H } = f.info!;
        let x;
        try {
          const frames = batch.length === 1 ? first.data : concatBytes(batch.map((c) => c.data));
          x = await preprocessClips(frames, [batch.length, T, H, W, 3], spec);
        } finally {
          for (const c of batch) f.release(c.data);
        }
        const r = await encoder.forward(x.data, batch.length, size);
        const readyAt = now();
        throwIfAborted(o.signal);
        const A = r.attentionShape.slice(1);
        const a = A.reduce((p, q) => p * q, 1);
        const D = r.featureDim;
        for (const [i, c] of batch.entries()) {
          scored++;
          yield {
            index: c.index,
            startFrame: c.startFrame,
            endFrame: c.endFrame,
            padded: c.padded,
            score: r.score[i]!,
            ...(o.attention ? { attention: r.attention.slice(i * a, (i + 1) * a), attentionShape: A } : {}),
            ...(o.features ? { feature: r.feature.slice(i * D, (i + 1) * D) } : {}),
            arrivedAt: c.arrivedAt,
            readyAt,
            latencyMs: readyAt - c.arrivedAt,
            queued: f.queue.length + batch.length - 1 - i,
          };
        }
      }
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      await f.stop('close');
    }
  }

  const gen = run();
  let closing: Promise<void> | undefined;
  const it: ScoreStream = {
    get info() {
      return feed?.info;
    },
    stats: () => ({
      pid: feed?.child?.pid,
      running: feed?.running ?? false,
      framesReceived: feed?.framesReceived ?? 0,
      clipsReceived: feed?.clipsReceived ?? 0,
      clipsScored: scored,
      clipsDropped: feed?.clipsDropped ?? 0,
      bufferedClips: feed?.queue.length ?? 0,
      peakBufferedClips: feed?.peak ?? 0,
      maxBufferedClips: o.maxBufferedClips,
      paused: feed?.paused ?? false,
      tailFrames: feed?.tailFrames ?? 0,
    }),
    next: () => gen.next(),
    return: async () => {
      await it.close();
      return { done: true, value: undefined };
    },
    throw: (e?: unknown) => gen.throw(e),
    close() {
      // Stop ffmpeg first: a next() waiting for frames then ends, and the generator can return.
      closing ??= (async () => {
        await feed?.stop('close');
        await gen.return(undefined);
      })();
      return closing;
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // fileSize reports a missing path
  }
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
