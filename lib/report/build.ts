// Builders of report parts from the package's own results, so that every command that writes
// a report fills it the same way: an evaluation row with its curves, a video's score timeline
// beside its ground truth, training curves of either stage, pseudo labels, and the attention
// maps of a video's highest-scoring clips over their frames.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { arch, cpus, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { z } from 'zod';

import { ffmpegBinaries, FFMPEG_FIX } from '../config.js';
import { openFrameSource } from '../data/frame-cache.js';
import { ErrorCode, MistError, throwIfAborted } from '../errors.js';
import { evaluate, type EvaluateOptions, type Evaluation } from '../eval/evaluate.js';
import type { VideoGroundTruth } from '../eval/groundtruth.js';
import { info } from '../info.js';
import type { SgaEncoder } from '../models/encoder.js';
import { parseOptions } from '../options.js';
import { scoreVideo, testClipSpec } from '../score/video.js';
import type { HistoryEntry } from '../stage1/train.js';
import type { FinetuneHistoryEntry } from '../stage2/finetune.js';
import { thinCurve } from './thin.js';
import type {
  ReportAttention,
  ReportEvaluation,
  ReportPseudoLabels,
  ReportTimeline,
  ReportTrainingCurve,
} from './types.js';

/**
 * A score as the shortest decimal that is the same float32 (the precision scores have: 0.1f is
 * 0.1, not 0.10000000149011612), or null for NaN and ±Infinity (JSON has neither).
 */
function score32(v: number): number | null {
  if (!Number.isFinite(v)) return null;
  const f = Math.fround(v);
  for (let p = 6; p < 9; p++) {
    const x = Number(v.toPrecision(p));
    if (Math.fround(x) === f) return x;
  }
  return Number(v.toPrecision(9));
}

function thinned(x: ArrayLike<number>, y: ArrayLike<number>): { x: number[]; y: number[]; points?: number } {
  const t = thinCurve(x, y);
  return t.x.length < x.length ? { ...t, points: x.length } : t;
}

/**
 * A metrics row from an Evaluation already computed: its figures, and its ROC and
 * precision–recall curves (thinned to at most 500 points) when it holds them (evaluate with
 * `curve: true`). Sync.
 */
export function evaluationFromResult(name: string, e: Evaluation, extra?: { paperAuc?: number }): ReportEvaluation {
  const out: ReportEvaluation = {
    name,
    auc: e.auc,
    ap: e.ap,
    prAuc: e.prAuc,
    scoreGap: e.scoreGap,
    frames: e.frames,
    videos: e.videos,
  };
  if (e.far !== undefined) out.far = e.far;
  if (e.perClassAuc) out.perClassAuc = { ...e.perClassAuc };
  if (extra?.paperAuc !== undefined) out.paperAuc = extra.paperAuc;
  if (e.roc) {
    const t = thinned(e.roc.fpr, e.roc.tpr);
    out.roc = { fpr: t.x, tpr: t.y, ...(t.points ? { points: t.points } : {}) };
  }
  if (e.pr) {
    const t = thinned(e.pr.recall, e.pr.precision);
    out.pr = { recall: t.x, precision: t.y, ...(t.points ? { points: t.points } : {}) };
  }
  return out;
}

/**
 * A metrics row with its curves: runs evaluate() with `curve: true` on `options` (its scores
 * and ground truth) and keeps its figures, ROC and precision–recall curves. Sync. Throws as
 * evaluate().
 */
export function evaluationEntry(
  name: string,
  options: EvaluateOptions,
  extra?: { paperAuc?: number },
): ReportEvaluation {
  return evaluationFromResult(name, evaluate({ ...options, curve: true }), extra);
}

/** The runs of 1 in a label array, as half-open [start, end) intervals. */
function labelIntervals(labels: ArrayLike<number>): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  for (let f = 0; f <= labels.length; f++) {
    const on = f < labels.length && labels[f] === 1;
    if (on && start < 0) start = f;
    if (!on && start >= 0) {
      out.push([start, f]);
      start = -1;
    }
  }
  return out;
}

/**
 * One test video's timeline: each series' clip scores spread over the frames as evaluation
 * does (clip i covers frames [L·i, L·i + L), L = clipLength, default 16), null for the frames
 * past the last whole clip (or past the last clip given), over all `video.sourceFrames`
 * frames; the ground truth's anomalous intervals from its labels. Sync. Throws ERR_MIST_ARG
 * (a bad clip length).
 */
export function timelineEntry(
  video: VideoGroundTruth,
  series: readonly { name: string; clipScores: ArrayLike<number> }[],
  options?: { clipLength?: number },
): ReportTimeline {
  const L = options?.clipLength ?? 16;
  if (!Number.isInteger(L) || L < 1)
    throw new MistError(ErrorCode.ARG, `clipLength must be a positive integer (got ${String(L)})`);
  const frames = Math.max(video.sourceFrames, video.labels.length);
  const whole = Math.floor(frames / L);
  return {
    video: video.name,
    label: video.anomalous ? 'anomalous' : 'normal',
    frames,
    intervals: labelIntervals(video.labels),
    series: series.map((s) => {
      // clipScoresToFrames' rule (frame f has clip floor(f / L)'s score) over the whole clips given.
      const covered = Math.min(whole, s.clipScores.length) * L;
      const scores = Array.from({ length: frames }, (_, f) =>
        f < covered ? score32(s.clipScores[Math.floor(f / L)]!) : null,
      );
      return { name: s.name, scores };
    }),
  };
}

/** A stage-1 history (loss per step, test AUC where evaluated) as a training curve. Sync. */
export function trainingCurve(name: string, history: readonly HistoryEntry[]): ReportTrainingCurve;
/** A stage-2 history (mean loss per epoch, test AUC where evaluated) as a training curve. Sync. */
export function trainingCurve(name: string, history: readonly FinetuneHistoryEntry[]): ReportTrainingCurve;
export function trainingCurve(
  name: string,
  history: readonly (HistoryEntry | FinetuneHistoryEntry)[],
): ReportTrainingCurve {
  const first = history[0];
  const unit: ReportTrainingCurve['unit'] = first !== undefined && 'epoch' in first ? 'epoch' : 'step';
  const points: ReportTrainingCurve['points'] = [];
  for (const h of history) {
    const x = 'epoch' in h ? h.epoch : h.step;
    // A diverged step (NaN loss) has nothing to draw.
    if (!Number.isFinite(h.loss) || !Number.isFinite(x)) continue;
    const auc = 'epoch' in h ? h.evaluation?.auc : h.auc;
    points.push({ x, loss: h.loss, ...(auc !== undefined && Number.isFinite(auc) ? { auc } : {}) });
  }
  return { name, unit, points };
}

/**
 * One video's pseudo labels, per clip: the generator's raw scores and the refined labels.
 * Sync. Throws ERR_MIST_SHAPE (different clip counts), ERR_MIST_ARG (a value that is not a
 * finite number).
 */
export function pseudoLabelEntry(
  video: string,
  raw: ArrayLike<number>,
  refined: ArrayLike<number>,
): ReportPseudoLabels {
  if (raw.length !== refined.length)
    throw new MistError(ErrorCode.SHAPE, `${video}: ${raw.length} raw scores but ${refined.length} refined labels`);
  const plain = (a: ArrayLike<number>, what: string): number[] =>
    Array.from(a, (v, i) => {
      if (!Number.isFinite(v)) throw new MistError(ErrorCode.ARG, `${video}: ${what} label of clip ${i} is ${v}`);
      return v;
    });
  return { video, raw: plain(raw, 'raw'), refined: plain(refined, 'refined') };
}

const Side = z.int().positive().max(8192);

/** Options of attentionEntries. */
export const AttentionEntriesOptionsSchema = z.strictObject({
  /** How many of the highest-scoring clips. */
  top: z.int().positive().max(64).default(3),
  /** Test-time resize [h, w], as scoreVideo takes it. */
  testSize: z.tuple([Side, Side]).readonly().optional(),
  /** Frames wider than this are shown scaled down to it (the PNG's width). */
  frameWidth: Side.default(320),
  batchSize: z.int().positive().max(4096).optional(),
  signal: z.instanceof(AbortSignal).optional(),
});
export type AttentionEntriesOptions = z.input<typeof AttentionEntriesOptionsSchema>;

/**
 * One RGB frame as PNG bytes, encoded by the system ffmpeg (a required tool of the package
 * already, so no image library is added for this). Async. Throws ERR_MIST_VIDEO.
 */
function encodePng(rgb: Uint8Array, width: number, height: number, signal?: AbortSignal): Promise<Buffer> {
  const ffmpeg = ffmpegBinaries().ffmpeg;
  const args = ['-nostdin', '-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`];
  args.push('-i', 'pipe:0', '-frames:v', '1', '-f', 'image2pipe', '-vcodec', 'png', 'pipe:1');
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    const out: Buffer[] = [];
    let stderr = '';
    let failed: Error | undefined;
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.stdin.on('error', () => undefined); // a failed ffmpeg closes its input; its exit says why
    child.on('error', (e) => (failed = e));
    child.on('close', (code) => {
      if (signal?.aborted) return reject(new MistError(ErrorCode.ABORTED, 'operation aborted'));
      if (failed && (failed as NodeJS.ErrnoException).code === 'ENOENT')
        return reject(
          new MistError(ErrorCode.VIDEO, `cannot run ${ffmpeg}: not found (${FFMPEG_FIX})`, { cause: failed }),
        );
      if (code !== 0 || failed) {
        const why = stderr.trim().split('\n').pop() || failed?.message || `exit ${String(code)}`;
        return reject(
          new MistError(ErrorCode.VIDEO, `ffmpeg could not encode a ${width}x${height} frame as PNG: ${why}`),
        );
      }
      resolve(Buffer.concat(out));
    });
    child.stdin.end(rgb);
  });
}

/**
 * The attention maps of a video's `top` highest-scoring clips (default 3), each over its
 * clip's middle frame (the paper's Figure 8): scores the video with scoreVideo (attention on),
 * averages each chosen clip's map over time and scales it to [0, 1] (min–max; all zeros when
 * flat), reads the middle frame (scaled down to `frameWidth` when wider) and encodes it as
 * PNG. `box` places the map on the frame: C3D's test-time centre crop, the whole frame for
 * I3D. Ordered by score, highest first. Async. Throws as scoreVideo, ERR_MIST_VIDEO (PNG).
 */
export async function attentionEntries(
  encoder: SgaEncoder,
  video: { name: string; path: string },
  options?: AttentionEntriesOptions,
): Promise<ReportAttention[]> {
  const o = parseOptions(AttentionEntriesOptionsSchema, options, 'attention entries options');
  const r = await scoreVideo(video.path, encoder, {
    attention: true,
    name: video.name,
    ...(o.testSize ? { testSize: o.testSize } : {}),
    ...(o.batchSize ? { batchSize: o.batchSize } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (r.clips === 0 || !r.attention || !r.attentionShape) return [];
  const [Tp, Hp, Wp] = r.attentionShape as [number, number, number];
  const size = Tp * Hp * Wp;
  const order = Array.from({ length: r.clips }, (_, c) => c).sort(
    (a, b) => r.clipScores[b]! - r.clipScores[a]! || a - b,
  );
  const chosen = order.slice(0, o.top);
  const width = Math.min(r.width, o.frameWidth);
  const height = width === r.width ? r.height : Math.max(2, 2 * Math.round((r.height * width) / r.width / 2));
  const src = await openFrameSource(video.path, {
    order: 'rgb',
    ...(width !== r.width ? { width, height } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  // Where the encoder's input lies on the frame: the test transform's crop of its resize.
  const spec = testClipSpec(encoder, o.testSize);
  const [rh, rw] = spec.resize;
  const cropped = spec.crop.x !== 0 || spec.crop.y !== 0 || spec.crop.w !== rw || spec.crop.h !== rh;
  const box = {
    x: (spec.crop.x * src.width) / rw,
    y: (spec.crop.y * src.height) / rh,
    width: (spec.crop.w * src.width) / rw,
    height: (spec.crop.h * src.height) / rh,
  };
  const out: ReportAttention[] = [];
  for (const c of chosen) {
    throwIfAborted(o.signal);
    const [start, end] = r.ranges[c]!;
    const frameIndex = start + Math.floor((end - start) / 2);
    const batch = await src.read(frameIndex, 1, o.signal ? { signal: o.signal } : undefined);
    const png = await encodePng(batch.data, src.width, src.height, o.signal);
    const mean = new Float64Array(Hp * Wp);
    const base = c * size;
    for (let t = 0; t < Tp; t++)
      for (let k = 0; k < Hp * Wp; k++) mean[k]! += r.attention[base + t * Hp * Wp + k]! / Tp;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of mean) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    const values = Array.from(mean, (v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
    out.push({
      video: video.name,
      clip: c,
      score: r.clipScores[c]!,
      frame: { width: src.width, height: src.height, png: png.toString('base64') },
      map: { width: Wp, height: Hp, values },
      frameIndex,
      ...(cropped ? { box } : {}),
    });
  }
  return out;
}

/** The package's version, from its package.json (beside lib/ and dist/). */
function packageVersion(): string {
  try {
    const p = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');
    return String((JSON.parse(readFileSync(p, 'utf8')) as { version?: unknown }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

/**
 * The machine table of a report: the package and Node versions, the CPU, LibTorch, its
 * threads and BLAS, and CUDA. Sync (loads the addon).
 */
export function reportMachine(): Record<string, string | number | boolean> {
  const i = info();
  const cpu = cpus();
  return {
    'mist-vad': packageVersion(),
    node: process.version,
    platform: `${platform()} ${arch()}`,
    cpu: `${cpu[0]?.model.trim() ?? 'unknown'} (${cpu.length} cores)`,
    libtorch: i.torchVersion,
    threads: i.threads,
    blas: i.blas.kind,
    cuda: i.cudaAvailable ? `${i.cudaDeviceCount} device(s)` : false,
  };
}
