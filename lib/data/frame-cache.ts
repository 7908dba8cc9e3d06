// Feeding training batches from videos: a bounded LRU cache of decoded, resized frames (worth
// it when a data set's frames fit in memory, as small ones do: each frame is then decoded
// once instead of once per epoch), a FrameSource that reads frame windows of one video through
// that cache in clip-aligned chunks, and prefetch(), which decodes the next batches while the
// current one trains.
import { z } from 'zod';
import { ErrorCode, MistError, throwIfAborted } from '../errors.js';
import { parseOptions } from '../options.js';
import {
  type FrameBatch,
  type FrameSourceInfo,
  ReadFramesOptionsSchema,
  outputFrameSize,
  probeFrameSource,
  readFrames,
} from './video.js';

/** Counters of a frame cache. */
export interface FrameCacheStats {
  hits: number;
  misses: number;
  /** Bytes of frame data held now. */
  bytes: number;
  maxBytes: number;
  entries: number;
  evictions: number;
}

/** A byte-bounded LRU map from a chunk key to frame bytes. */
export interface FrameCache {
  /** The bytes stored under `key` (counted as a hit, and made most recent), or undefined (a miss). Sync. */
  get(key: string): Uint8Array | undefined;
  /**
   * Stores `data` under `key` (the cache keeps the array itself: do not change it afterwards),
   * evicting least recently used entries until the total fits maxBytes. An entry larger than
   * maxBytes is not stored. Sync.
   */
  set(key: string, data: Uint8Array): void;
  has(key: string): boolean;
  delete(key: string): boolean;
  clear(): void;
  stats(): FrameCacheStats;
}

export const FrameCacheOptionsSchema = z.strictObject({
  /** The bound on the frame bytes held (keys and bookkeeping not counted). */
  maxBytes: z.int().nonnegative(),
});
export type FrameCacheOptions = z.input<typeof FrameCacheOptionsSchema>;

/** Creates an empty frame cache. Sync. Throws ERR_MIST_ARG for bad options. */
export function createFrameCache(options: FrameCacheOptions): FrameCache {
  const { maxBytes } = parseOptions(FrameCacheOptionsSchema, options, 'frame cache options');
  // A Map iterates in insertion order: re-inserting on use keeps the least recent first.
  const entries = new Map<string, Uint8Array>();
  let bytes = 0;
  let hits = 0;
  let misses = 0;
  let evictions = 0;
  const remove = (key: string): boolean => {
    const d = entries.get(key);
    if (!d) return false;
    entries.delete(key);
    bytes -= d.byteLength;
    return true;
  };
  return {
    get(key) {
      const d = entries.get(key);
      if (!d) {
        misses++;
        return undefined;
      }
      hits++;
      entries.delete(key);
      entries.set(key, d);
      return d;
    },
    set(key, data) {
      remove(key);
      if (data.byteLength > maxBytes) return;
      for (const k of entries.keys()) {
        if (bytes + data.byteLength <= maxBytes) break;
        remove(k);
        evictions++;
      }
      entries.set(key, data);
      bytes += data.byteLength;
    },
    has: (key) => entries.has(key),
    delete: remove,
    clear() {
      entries.clear();
      bytes = 0;
    },
    stats: () => ({ hits, misses, bytes, maxBytes, entries: entries.size, evictions }),
  };
}

/** Options of openFrameSource: readFrames' options, plus the cache. */
export const FrameSourceOptionsSchema = ReadFramesOptionsSchema.extend({
  /** A cache shared by any number of sources (keys name the video, size and order). */
  cache: z.custom<FrameCache>((v) => typeof v === 'object' && v !== null && 'get' in v && 'set' in v).optional(),
  /** Frames per cached chunk; chunks start at multiples of it (16: one clip). */
  chunkFrames: z.int().positive().default(16),
});
export type FrameSourceOptions = z.input<typeof FrameSourceOptionsSchema>;

/** One video's frames, resized once, read by window. */
export interface FrameSource {
  /** The source's own facts (its size is the stored size, not the output size). */
  readonly info: FrameSourceInfo;
  readonly frames: number;
  /** Output size and channel order of every batch. */
  readonly width: number;
  readonly height: number;
  readonly order: 'rgb' | 'bgr';
  /**
   * Frames [startFrame, startFrame + count) as one [count, H, W, 3] array of its own. Async.
   * With a cache, whole chunks are looked up and the missing runs decoded with one readFrames
   * call each. Throws as readFrames does.
   */
  read(startFrame: number, count: number, options?: { signal?: AbortSignal }): Promise<FrameBatch>;
  /**
   * With `strict: false`: every report of damaged data ffmpeg made in this source's decodes so
   * far, in order (frames served from the cache are not decoded again, and report nothing).
   */
  readonly warnings: string[];
}

/**
 * Opens a video file or an image folder for reading frame windows. Async (probes the source). Throws ERR_MIST_ARG, ERR_MIST_IO,
 * ERR_MIST_VIDEO or ERR_MIST_ABORTED.
 */
export async function openFrameSource(path: string, options?: FrameSourceOptions): Promise<FrameSource> {
  const o = parseOptions(FrameSourceOptionsSchema, options, 'frame source options');
  const { cache, chunkFrames, signal, ...decode } = o;
  const info = await probeFrameSource(path, { fps: o.fps, ffprobePath: o.ffprobePath, signal });
  const { width, height } = outputFrameSize(info, decode);
  const frameBytes = height * width * 3;
  const keyBase = JSON.stringify([
    info.path,
    width,
    height,
    o.cropWidth ?? null,
    o.cropHeight ?? null,
    o.interpolation,
    o.order,
    chunkFrames,
  ]);
  const warnings: string[] = [];
  const decodeRange = async (start: number, count: number, sig?: AbortSignal): Promise<Uint8Array> => {
    const b = await readFrames(info, start, count, { ...decode, signal: sig ?? signal });
    if (b.warnings?.length) warnings.push(...b.warnings);
    return b.data;
  };

  const read = async (startFrame: number, count: number, more?: { signal?: AbortSignal }): Promise<FrameBatch> => {
    if (!Number.isInteger(startFrame) || startFrame < 0 || !Number.isInteger(count) || count < 1) {
      throw new MistError(ErrorCode.ARG, `read(startFrame, count) needs integers >= 0 and >= 1 (got ${startFrame}, ${count})`);
    }
    if (startFrame + count > info.frames) {
      throw new MistError(ErrorCode.ARG, `${path}: frames ${startFrame}..${startFrame + count - 1} are past the end (${info.frames} frames)`);
    }
    const sig = more?.signal ?? signal;
    throwIfAborted(sig);
    const shape: [number, number, number, 3] = [count, height, width, 3];
    if (!cache) return { startFrame, shape, order: o.order, data: await decodeRange(startFrame, count, sig) };
    const out = new Uint8Array(count * frameBytes);
    const first = Math.floor(startFrame / chunkFrames);
    const last = Math.floor((startFrame + count - 1) / chunkFrames);
    const chunkStart = (c: number): number => c * chunkFrames;
    const chunkEnd = (c: number): number => Math.min((c + 1) * chunkFrames, info.frames);
    // Copies the part of chunk c that the window covers.
    const place = (c: number, data: Uint8Array): void => {
      const from = Math.max(chunkStart(c), startFrame);
      const to = Math.min(chunkEnd(c), startFrame + count);
      out.set(data.subarray((from - chunkStart(c)) * frameBytes, (to - chunkStart(c)) * frameBytes), (from - startFrame) * frameBytes);
    };
    const missing: number[] = [];
    for (let c = first; c <= last; c++) {
      const d = cache.get(`${keyBase}#${c}`);
      if (d) place(c, d);
      else missing.push(c);
    }
    // Consecutive missing chunks are decoded by one ffmpeg run.
    for (let i = 0; i < missing.length; ) {
      let j = i;
      while (j + 1 < missing.length && missing[j + 1] === (missing[j] as number) + 1) j++;
      const c0 = missing[i] as number;
      const c1 = missing[j] as number;
      const data = await decodeRange(chunkStart(c0), chunkEnd(c1) - chunkStart(c0), sig);
      for (let c = c0; c <= c1; c++) {
        // Each chunk gets its own buffer, so evicting one frees its memory.
        const chunk = data.slice((chunkStart(c) - chunkStart(c0)) * frameBytes, (chunkEnd(c) - chunkStart(c0)) * frameBytes);
        cache.set(`${keyBase}#${c}`, chunk);
        place(c, chunk);
      }
      i = j + 1;
    }
    return { startFrame, shape, order: o.order, data: out };
  };
  return { info, frames: info.frames, width, height, order: o.order, read, warnings };
}

/** Makes item `index` (0, 1, 2 …), or returns undefined when there are no more. */
export type Producer<T> = (index: number, signal: AbortSignal) => Promise<T | undefined>;

/**
 * Yields the items of `source` in order while up to `depth` later items are already being
 * made, so that decoding the next batch overlaps training on the current one. An async
 * iterable is pulled one item at a time (never two next() calls at once); a producer is
 * called for indices 0, 1, 2 … with up to `depth` calls running together, until one returns
 * undefined (calls already started past the end are ignored, so they should also return
 * undefined or something harmless). The signal given to a producer fires when the consumer
 * stops early, fails, or `options.signal` fires. Async generator. Throws the source's error
 * when the consumer reaches the item that failed, ERR_MIST_ABORTED when `options.signal`
 * fires (at once, even while an item is being made), ERR_MIST_ARG for a bad depth.
 */
export async function* prefetch<T>(
  source: AsyncIterable<T> | Producer<T>,
  depth = 1,
  options?: { signal?: AbortSignal },
): AsyncGenerator<T, void, undefined> {
  if (!Number.isInteger(depth) || depth < 1) throw new MistError(ErrorCode.ARG, `prefetch depth must be an integer >= 1 (got ${depth})`);
  const signal = options?.signal;
  throwIfAborted(signal);
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const aborted = new Promise<never>((_, reject) =>
    stop.signal.addEventListener('abort', () => reject(new MistError(ErrorCode.ABORTED, 'operation aborted')), { once: true }),
  );
  aborted.catch(() => undefined);

  let iterator: AsyncIterator<T> | undefined;
  let start: () => Promise<IteratorResult<T>>;
  if (typeof source === 'function') {
    let index = 0;
    start = () =>
      source(index++, stop.signal).then((v): IteratorResult<T> => (v === undefined ? { done: true, value: undefined } : { done: false, value: v }));
  } else {
    const it = source[Symbol.asyncIterator]();
    iterator = it;
    // Each pull waits for the one before, so the iterator never sees two next() calls at once.
    let chain: Promise<IteratorResult<T>> = Promise.resolve({ done: false, value: undefined as T });
    start = () => {
      chain = chain.then((r) => (r.done ? r : it.next()));
      return chain;
    };
  }
  const queue: Promise<IteratorResult<T>>[] = [];
  const push = (): void => {
    const p = start();
    // Items never reached must not become unhandled rejections.
    p.catch(() => undefined);
    queue.push(p);
  };
  let ended = false;
  try {
    push();
    while (!ended) {
      const r = await Promise.race([queue.shift() as Promise<IteratorResult<T>>, aborted]);
      if (r.done) {
        ended = true;
        break;
      }
      while (queue.length < depth) push();
      yield r.value;
      throwIfAborted(signal);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stop.abort();
    if (iterator?.return && !ended) {
      // Let pulls in flight settle first, then close the source (kills its ffmpeg, say).
      await Promise.allSettled(queue);
      await iterator.return().catch(() => undefined);
    }
  }
}
