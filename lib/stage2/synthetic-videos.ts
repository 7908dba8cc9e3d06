// Synthetic videos with known anomalies, for trying stage 2 end to end (decoding, clips,
// fine-tuning) without the real data sets, which are far too large to ship. Frames are drawn
// here from a seed and encoded by the system ffmpeg into real video files, so everything
// downstream reads them exactly as it reads UCF-Crime or ShanghaiTech videos.
//
// A scene is a static, smooth, coloured texture with a few small blobs drifting slowly at
// constant velocity (bouncing off the borders): that is "normal". An anomalous video is the
// same kind of scene with one interval (20–40 % of its frames by default, at a random
// position) of abnormal motion: either several fast movers whose velocity jitters every
// frame, or one large object crossing the frame quickly.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { z } from 'zod';

import { FFMPEG_FIX, ffmpegBinaries } from '../config.js';
import { ErrorCode, MistError, ioError, throwIfAborted } from '../errors.js';
import { writeFileAtomic } from '../data/files.js';
import { parseOptions } from '../options.js';
import { type Rng, createRng } from '../rng.js';

const count = z.int().nonnegative();
const range = z
  .tuple([z.number().min(0).max(1), z.number().min(0).max(1)], { error: 'must be [min, max] within [0, 1]' })
  .refine(([a, b]) => a <= b && b > 0, { message: 'min must not exceed max, and max must be > 0' });

/** Options of makeSyntheticVideos. */
export const SyntheticVideosOptionsSchema = z
  .strictObject({
    seed: z.int().default(0),
    /** Training videos of each label. */
    normal: count.default(8),
    anomalous: count.default(8),
    /** Test videos of each label. */
    testNormal: count.default(4),
    testAnomalous: count.default(4),
    /** Frames per video, drawn uniformly from [min, max] (or exactly n). */
    frames: z.union([z.int().min(16), z.tuple([z.int().min(16), z.int().min(16)])]).default([96, 160]),
    width: z.int().min(16).default(64),
    /** Fixed cameras (backgrounds) the videos are spread over, as surveillance sets are (ShanghaiTech: 13). */
    scenes: z.int().min(1).max(1000).default(3),
    height: z.int().min(16).default(64),
    fps: z.number().positive().default(25),
    /** Length of the anomalous interval as a share of the video, drawn uniformly from [min, max]. */
    intervalFraction: range.default([0.2, 0.4]),
    /** `auto`: libx264 when this ffmpeg has it, else mpeg4. */
    codec: z.enum(['auto', 'libx264', 'mpeg4']).default('auto'),
    ffmpegPath: z.string().min(1).optional(),
    onProgress: z
      .custom<(p: { done: number; total: number; path: string }) => void>((v) => typeof v === 'function')
      .optional(),
    signal: z.instanceof(AbortSignal).optional(),
  })
  .refine((o) => typeof o.frames === 'number' || o.frames[0] <= o.frames[1], {
    path: ['frames'],
    message: 'min must not exceed max',
  });
/** Options of makeSyntheticVideos(), as callers pass them. */
export type SyntheticVideosOptions = z.input<typeof SyntheticVideosOptionsSchema>;

/** One entry of manifest.json. */
export interface SyntheticManifestEntry {
  /** Relative to the manifest's folder. */
  path: string;
  label: 'normal' | 'anomalous';
  split: 'train' | 'test';
  /** Anomalous frame intervals [start, end), 0-based, half-open; empty for normal videos. */
  intervals: [number, number][];
}

/** The content of manifest.json. */
export interface SyntheticManifest {
  videos: SyntheticManifestEntry[];
}

/** What makeSyntheticVideos wrote for one video. */
export interface SyntheticVideoFile extends SyntheticManifestEntry {
  /** Absolute path of the encoded file. */
  file: string;
  frames: number;
  /** The kind of abnormal motion in the interval (none for normal videos). */
  event: 'erratic' | 'intruder' | 'none';
  /** sha256 of the raw RGB frames given to the encoder: equal for equal seeds and options. */
  rawSha256: string;
}

interface Mover {
  x: number;
  y: number;
  vx: number;
  vy: number;
  r: number;
  rgb: [number, number, number];
  /** Striped (the abnormal movers): high-contrast edges that move with the disc. */
  striped?: boolean;
}

const clamp255 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** A smooth texture: a few random plane waves per channel around a random base colour. */
function background(rng: Rng, w: number, h: number): Float32Array {
  const bg = new Float32Array(w * h * 3);
  for (let c = 0; c < 3; c++) {
    const base = 60 + 120 * rng.float();
    const waves = Array.from({ length: 4 }, () => ({
      fx: (rng.float() * 2 - 1) * 0.25,
      fy: (rng.float() * 2 - 1) * 0.25,
      phase: rng.float() * 2 * Math.PI,
      amp: 8 + 18 * rng.float(),
    }));
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let v = base;
        for (const wv of waves) v += wv.amp * Math.sin(wv.fx * x + wv.fy * y + wv.phase);
        bg[(y * w + x) * 3 + c] = v;
      }
  }
  return bg;
}

function colour(rng: Rng): [number, number, number] {
  // Far from the mid-range background: dark or bright per channel.
  return [0, 1, 2].map(() => (rng.float() < 0.5 ? 20 * rng.float() : 235 + 20 * rng.float())) as [
    number,
    number,
    number,
  ];
}

/** Draws a disc with a one-pixel soft edge, so sub-pixel motion changes pixels smoothly. */
function drawDisc(frame: Float32Array, w: number, h: number, m: Mover): void {
  const x0 = Math.max(0, Math.floor(m.x - m.r - 1));
  const x1 = Math.min(w - 1, Math.ceil(m.x + m.r + 1));
  const y0 = Math.max(0, Math.floor(m.y - m.r - 1));
  const y1 = Math.min(h - 1, Math.ceil(m.y + m.r + 1));
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      const a = Math.min(1, Math.max(0, m.r + 0.5 - Math.sqrt((x - m.x) * (x - m.x) + (y - m.y) * (y - m.y))));
      if (a <= 0) continue;
      const i = (y * w + x) * 3;
      // Stripes two pixels wide across the disc, its colour and its complement in turn.
      const dark = m.striped === true && Math.floor((x - m.x + m.r) / 2) % 2 === 1;
      for (let c = 0; c < 3; c++) {
        const v = dark ? 255 - m.rgb[c]! : m.rgb[c]!;
        frame[i + c] = (1 - a) * (frame[i + c] as number) + a * v;
      }
    }
}

function move(m: Mover, w: number, h: number): void {
  m.x += m.vx;
  m.y += m.vy;
  if (m.x < m.r || m.x > w - 1 - m.r) {
    m.vx = -m.vx;
    m.x = Math.min(Math.max(m.x, m.r), w - 1 - m.r);
  }
  if (m.y < m.r || m.y > h - 1 - m.r) {
    m.vy = -m.vy;
    m.y = Math.min(Math.max(m.y, m.r), h - 1 - m.r);
  }
}

interface Plan {
  split: 'train' | 'test';
  label: 'normal' | 'anomalous';
  name: string;
  frames: number;
  interval?: [number, number];
  event: 'erratic' | 'intruder' | 'none';
  seed: number;
  /** Seed of the scene's background: videos of one scene share it, as a fixed camera's do. */
  sceneSeed: number;
}

/** Renders one video's raw RGB frames, [frames, H, W, 3]. Deterministic in the plan. */
function render(plan: Plan, w: number, h: number): Uint8Array {
  const rng = createRng(plan.seed);
  const bg = background(createRng(plan.sceneSeed), w, h);
  const side = Math.min(w, h);
  const slow: Mover[] = Array.from({ length: rng.int(2, 5) }, () => {
    const r = side * (0.05 + 0.04 * rng.float());
    const speed = side * (0.004 + 0.008 * rng.float());
    const angle = rng.float() * 2 * Math.PI;
    return {
      x: r + rng.float() * (w - 1 - 2 * r),
      y: r + rng.float() * (h - 1 - 2 * r),
      vx: speed * Math.cos(angle),
      vy: speed * Math.sin(angle),
      r,
      rgb: colour(rng),
    };
  });
  const [a0, a1] = plan.interval ?? [0, 0];
  const events: Mover[] = [];
  if (plan.event === 'erratic') {
    for (let i = rng.int(3, 6); i > 0; i--) {
      const r = side * (0.06 + 0.04 * rng.float());
      events.push({
        x: r + rng.float() * (w - 1 - 2 * r),
        y: r + rng.float() * (h - 1 - 2 * r),
        vx: 0,
        vy: 0,
        r,
        rgb: colour(rng),
        striped: true,
      });
    }
  } else if (plan.event === 'intruder') {
    // A large disc crossing from one side to the other during the interval.
    const r = side * (0.22 + 0.08 * rng.float());
    const fromLeft = rng.float() < 0.5;
    const y = h * (0.3 + 0.4 * rng.float());
    const span = w + 2 * r;
    const v = span / Math.max(1, a1 - a0);
    events.push({ x: fromLeft ? -r : w - 1 + r, y, vx: fromLeft ? v : -v, vy: 0, r, rgb: colour(rng), striped: true });
  }
  const out = new Uint8Array(plan.frames * h * w * 3);
  const frame = new Float32Array(w * h * 3);
  for (let f = 0; f < plan.frames; f++) {
    frame.set(bg);
    for (const m of slow) {
      drawDisc(frame, w, h, m);
      move(m, w, h);
    }
    if (f >= a0 && f < a1) {
      for (const m of events) {
        drawDisc(frame, w, h, m);
        if (plan.event === 'erratic') {
          // A new random velocity every frame: fast and jittery.
          const speed = side * (0.06 + 0.08 * rng.float());
          const angle = rng.float() * 2 * Math.PI;
          m.vx = speed * Math.cos(angle);
          m.vy = speed * Math.sin(angle);
          move(m, w, h);
        } else {
          m.x += m.vx; // the intruder leaves the frame, no bounce
        }
      }
    }
    const base = f * w * h * 3;
    for (let i = 0; i < frame.length; i++) out[base + i] = clamp255(frame[i] as number);
  }
  return out;
}

/** Videos per ffmpeg run. */
const ENCODE_BATCH = 8;

const encoderCache = new Map<string, Promise<'libx264' | 'mpeg4'>>();
function pickEncoder(ffmpeg: string): Promise<'libx264' | 'mpeg4'> {
  let p = encoderCache.get(ffmpeg);
  if (!p) {
    p = new Promise((resolve) => {
      const child = spawn(ffmpeg, ['-hide_banner', '-encoders'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.on('error', () => resolve('mpeg4')); // encoding fails next, with the real error
      child.on('close', () => resolve(/^\s*V\S*\s+libx264\s/m.test(text) ? 'libx264' : 'mpeg4'));
    });
    encoderCache.set(ffmpeg, p);
  }
  return p;
}

/**
 * Encodes several videos with one ffmpeg run (starting ffmpeg costs more than encoding a
 * small video): the raw RGB frames of video i go in through pipe fd 3 + i, and each file is
 * written beside its final name first, then renamed.
 */
async function encodeBatch(
  ffmpeg: string,
  codec: 'libx264' | 'mpeg4',
  jobs: { raw: Uint8Array; file: string }[],
  o: { width: number; height: number; fps: number },
  signal?: AbortSignal,
): Promise<void> {
  const tmp = jobs.map((j) => `${j.file}.${process.pid}.tmp.mp4`);
  const quality =
    codec === 'libx264' ? ['-c:v', 'libx264', '-preset', 'fast', '-crf', '18'] : ['-c:v', 'mpeg4', '-q:v', '2'];
  const args = ['-nostdin', '-v', 'error', '-y'];
  jobs.forEach((_, i) => {
    args.push(
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${o.width}x${o.height}`,
      '-r',
      String(o.fps),
      '-i',
      `pipe:${3 + i}`,
    );
  });
  jobs.forEach((_, i) => {
    args.push(
      '-map',
      `${i}:v`,
      ...quality,
      '-threads',
      '1',
      '-pix_fmt',
      'yuv420p',
      '-an',
      '-f',
      'mp4',
      tmp[i] as string,
    );
  });
  const child = spawn(ffmpeg, args, {
    stdio: ['ignore', 'ignore', 'pipe', ...jobs.map(() => 'pipe' as const)],
    signal,
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const done = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, error }));
    child.on('close', (code) => resolve({ code }));
  });
  jobs.forEach((j, i) => {
    const pipe = child.stdio[3 + i] as Writable | null;
    pipe?.on('error', () => undefined); // a failed ffmpeg closes its pipes; its exit says why
    pipe?.end(j.raw);
  });
  const r = await done;
  try {
    throwIfAborted(signal);
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new MistError(ErrorCode.VIDEO, `cannot run ${ffmpeg}: not found (${FFMPEG_FIX})`, { cause: r.error });
    }
    if (r.code !== 0) {
      const why = stderr.trim().split('\n').pop() || r.error?.message || `exit ${r.code}`;
      throw new MistError(ErrorCode.VIDEO, `${jobs[0]?.file ?? ''}: ffmpeg could not encode the videos: ${why}`);
    }
    for (const [i, j] of jobs.entries()) await rename(tmp[i] as string, j.file);
  } catch (e) {
    await Promise.all(tmp.map((t) => rm(t, { force: true }).catch(() => undefined)));
    throw e instanceof MistError ? e : ioError(e, 'write', jobs[0]?.file ?? '');
  }
}

/**
 * Writes a small data set of synthetic videos under `dir`: `train/` and `test/` folders of
 * `normal_NNN.mp4` and `anomalous_NNN.mp4` (test videos `test_normal_NNN.mp4`, ...), and `manifest.json` (`{"videos": [{path, label,
 * split, intervals}]}`, paths relative to `dir`, intervals half-open in frames), written last
 * and atomically. The raw frames are deterministic in `seed` and the options (`rawSha256`);
 * the encoded bytes depend on the ffmpeg build. Async; videos are encoded eight per ffmpeg
 * run, with `onProgress` after each. Returns the manifest, its path and every video. Throws ERR_MIST_ARG
 * (bad options), ERR_MIST_IO, ERR_MIST_VIDEO (no ffmpeg, an encoding failure) or
 * ERR_MIST_ABORTED.
 */
export async function makeSyntheticVideos(
  dir: string,
  options?: SyntheticVideosOptions,
): Promise<{ manifest: SyntheticManifest; manifestPath: string; videos: SyntheticVideoFile[] }> {
  const o = parseOptions(SyntheticVideosOptionsSchema, options, 'synthetic video options');
  throwIfAborted(o.signal);
  const rng = createRng(o.seed);
  const [fMin, fMax] = typeof o.frames === 'number' ? [o.frames, o.frames] : o.frames;
  const plans: Plan[] = [];
  const groups: [Plan['split'], Plan['label'], number][] = [
    ['train', 'normal', o.normal],
    ['train', 'anomalous', o.anomalous],
    ['test', 'normal', o.testNormal],
    ['test', 'anomalous', o.testAnomalous],
  ];
  // The cameras: each video is filmed by one of them, in turn.
  const sceneSeeds = Array.from({ length: o.scenes }, () => rng.int(0, 2 ** 31));
  for (const [split, label, n] of groups)
    for (let i = 0; i < n; i++) {
      const frames = rng.int(fMin, fMax + 1);
      const plan: Plan = {
        split,
        label,
        // Names are unique across splits: a manifest keys videos by name.
        name: `${split === 'test' ? 'test_' : ''}${label}_${String(i).padStart(3, '0')}`,
        frames,
        event: 'none',
        seed: 0,
        sceneSeed: sceneSeeds[plans.length % sceneSeeds.length]!,
      };
      if (label === 'anomalous') {
        const [s0, s1] = o.intervalFraction;
        const len = Math.min(frames - 2, Math.max(2, Math.round((s0 + rng.float() * (s1 - s0)) * frames)));
        const start = rng.int(0, frames - len + 1);
        plan.interval = [start, start + len];
        plan.event = rng.float() < 0.5 ? 'erratic' : 'intruder';
      }
      plan.seed = rng.int(0, 2 ** 31);
      plans.push(plan);
    }

  const ffmpeg = o.ffmpegPath ?? ffmpegBinaries().ffmpeg;
  const codec = o.codec === 'auto' ? await pickEncoder(ffmpeg) : o.codec;
  for (const split of ['train', 'test']) {
    try {
      await mkdir(join(dir, split), { recursive: true });
    } catch (e) {
      throw ioError(e, 'create folder', join(dir, split));
    }
  }
  const renderBatch = (at: number): { raw: Uint8Array; video: SyntheticVideoFile }[] =>
    plans.slice(at, at + ENCODE_BATCH).map((plan) => {
      const raw = render(plan, o.width, o.height);
      const path = `${plan.split}/${plan.name}.mp4`;
      const video: SyntheticVideoFile = {
        path,
        label: plan.label,
        split: plan.split,
        intervals: plan.interval ? [plan.interval] : [],
        file: join(dir, path),
        frames: plan.frames,
        event: plan.event,
        rawSha256: createHash('sha256').update(raw).digest('hex'),
      };
      return { raw, video };
    });
  const videos: SyntheticVideoFile[] = [];
  let batch = renderBatch(0);
  for (let at = 0; at < plans.length; at += ENCODE_BATCH) {
    throwIfAborted(o.signal);
    const encoding = encodeBatch(
      ffmpeg,
      codec,
      batch.map((b) => ({ raw: b.raw, file: b.video.file })),
      o,
      o.signal,
    );
    encoding.catch(() => undefined); // awaited below, after the next batch is drawn
    // The next batch is drawn here while ffmpeg encodes this one.
    const next = at + ENCODE_BATCH < plans.length ? renderBatch(at + ENCODE_BATCH) : [];
    await encoding;
    for (const b of batch) {
      videos.push(b.video);
      o.onProgress?.({ done: videos.length, total: plans.length, path: b.video.path });
    }
    batch = next;
  }
  const manifest: SyntheticManifest = {
    videos: videos.map(({ path, label, split, intervals }) => ({ path, label, split, intervals })),
  };
  const manifestPath = join(dir, 'manifest.json');
  await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, manifestPath, videos };
}
