// finetuneEncoder(): stage 2 of MIST (docs/MIST.md, "Stage 2: SGA encoder"). The SGA encoder
// is trained on video from the stage-1 pseudo labels: each step takes n normal + n anomalous
// videos, three windows of 16 frames in each (one per third, soft targets interpolated from
// the pseudo labels), decodes only those frames, pre-processes them natively and runs one
// native training call. The next step's frames decode while the current one trains. Every
// epoch ends with a training checkpoint (written atomically) from which `resume` continues a
// killed run, losing at most the epoch in progress.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { z } from 'zod';

import { removeStaleTemporaries } from '../checkpoints.js';
import { createFrameCache, openFrameSource, prefetch, type FrameCache, type FrameSource } from '../data/frame-cache.js';
import type { ManifestVideo, VideoManifest } from '../data/manifest.js';
import { readOfficialPseudoLabels, readPseudoLabels, type PseudoLabelSet } from '../data/pseudo-labels.js';
import { DeviceSchema, resolveDevice } from '../device.js';
import { ErrorCode, MistError, throwIfAborted } from '../errors.js';
import { evaluate, type Evaluation } from '../eval/evaluate.js';
import { manifestGroundTruth, type GroundTruth } from '../eval/groundtruth.js';
import { DEFAULT_INPUT_SIZE, SgaEncoder, type SgaEncoderOptions } from '../models/encoder.js';
import { checkEncoderMemory } from '../models/footprint.js';
import { clipTransform, preprocessClips } from '../models/preprocess.js';
import { parseOptions } from '../options.js';
import { createRng } from '../rng.js';
import { scoreVideo } from '../score/video.js';
import type { EncoderStepResult, InputSize } from '../types.js';
import { createBalancedVideoPlan, sampleTrainingClips, type TrainingVideo } from './clips.js';
import {
  EncoderHyperparameterOptionsSchema,
  freezeRule,
  resolveEncoderHyperparameters,
  warmupFactor,
  type EncoderHyperparameters,
} from './presets.js';

/** What the run builds when no encoder is given: a backbone, its size, and weights by file. */
export const EncoderModelOptionsSchema = z.strictObject({
  /** Channel multiplier (1: the paper's network; small values for small data and CPU). */
  width: z.number().positive().max(16).default(1),
  /** [frames, height, width] of the clips (default: the paper's for the backbone). */
  inputSize: z.tuple([z.int().positive(), z.int().positive(), z.int().positive()]).readonly().optional(),
  expandK: z.int().positive().max(1024).default(8),
  init: z.enum(['pytorch', 'kaiming']).default('pytorch'),
  /**
   * Weights loaded by name: the Kinetics I3D port (model_rgb.pth), a C3D Sports-1M state
   * dict, a released MIST checkpoint or one of ours.
   */
  weights: z.string().min(1).optional(),
});
export type EncoderModelOptions = z.input<typeof EncoderModelOptionsSchema>;

export const FinetuneEncoderOptionsSchema = EncoderHyperparameterOptionsSchema.extend({
  model: EncoderModelOptionsSchema.prefault({}),
  /** Epochs between evaluations of the test videos (and at the last epoch). */
  evalEvery: z.int().positive().default(10),
  /** Where the training checkpoint (`last.pt`, every epoch) and the best weights (`best.pt`) go. */
  checkpointDir: z.string().min(1).optional(),
  /** Continue from checkpointDir/last.pt when it exists (same options and data required). */
  resume: z.boolean().default(false),
  seed: z
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(0),
  device: DeviceSchema.optional(),
  /** Steps decoded ahead of training. */
  prefetch: z.int().positive().max(16).default(2),
  /** ffmpeg processes decoding one step's windows at once. */
  decoders: z.int().positive().max(64).default(4),
  /** Keep decoded frames in memory up to this many MiB (0: decode every window afresh). */
  frameCacheMb: z.number().min(0).default(0),
  /** Test-time resize [h, w] for evaluation (see extractFeatures). */
  testSize: z.tuple([z.int().positive(), z.int().positive()]).readonly().optional(),
  evalBatchSize: z.int().positive().max(4096).default(8),
}).strict();

/** One training video: a manifest entry or just what stage 2 needs. */
export type FinetuneVideo = Pick<ManifestVideo, 'name' | 'path' | 'label'> & Partial<Pick<ManifestVideo, 'frameCount'>>;

export type FinetuneEncoderOptions = z.input<typeof FinetuneEncoderOptionsSchema> & {
  /** The encoder to train (its backbone wins); without one, `model` says what to build. */
  encoder?: SgaEncoder;
  /** Training videos: a manifest (its train split) or a list. */
  videos: VideoManifest | readonly FinetuneVideo[];
  /**
   * Per-clip pseudo labels of the anomalous training videos: generatePseudoLabels()' set, a
   * Map, or a file (ours, `.json`; the authors' `*_PLs.npy`).
   */
  pseudoLabels: PseudoLabelSet | ReadonlyMap<string, ArrayLike<number>> | string;
  /** Test videos with ground truth: a manifest (its test split) or videos and a ground truth. */
  test?: VideoManifest | { videos: readonly FinetuneVideo[]; groundTruth: GroundTruth };
  signal?: AbortSignal;
  onProgress?: (p: FinetuneProgress) => void;
};

export interface FinetuneProgress {
  epoch: number;
  epochs: number;
  /** Step within the epoch (1-based) and steps per epoch. */
  step: number;
  steps: number;
  loss: number;
  lr: number;
  /** Time this step waited for its frames (0 when decoding kept ahead of training). */
  waitMs: number;
  evaluation?: Evaluation;
  elapsedMs: number;
}

export interface FinetuneHistoryEntry {
  epoch: number;
  /** Mean over the epoch's steps. */
  loss: number;
  mainLoss: number;
  guidedLoss: number;
  /** Weight updates so far. */
  updates: number;
  lr: number;
  seconds: number;
  /** Share of the epoch's time spent waiting for frames. */
  waitShare: number;
  evaluation?: Evaluation;
}

export interface FinetuneEncoderResult {
  /** The best encoder by frame AUC when there were test videos, else the last one. */
  encoder: SgaEncoder;
  hyperparameters: EncoderHyperparameters;
  history: FinetuneHistoryEntry[];
  best?: { epoch: number; evaluation: Evaluation };
  /** The epoch training started from (0, or the checkpoint's when resumed). */
  resumedFrom: number;
  checkpointDir?: string;
  frameCache?: { hits: number; misses: number; bytes: number };
}

interface Meta {
  run: string;
  epoch: number;
  history: FinetuneHistoryEntry[];
  best?: { epoch: number; evaluation: Evaluation };
}

/** A seed for epoch e of a run: the run seed and the epoch mixed (splitmix32-like). */
function epochSeed(seed: number, epoch: number): number {
  let h = (seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

async function loadPseudoLabels(p: FinetuneEncoderOptions['pseudoLabels']): Promise<Map<string, Float32Array>> {
  if (typeof p === 'string') {
    const set = p.endsWith('.npy') ? await readOfficialPseudoLabels(p) : await readPseudoLabels(p);
    return set.labels;
  }
  const map = p instanceof Map ? p : (p as PseudoLabelSet).labels;
  if (!(map instanceof Map)) {
    throw new MistError(ErrorCode.ARG, 'pseudoLabels must be a pseudo-label set, a Map or a file path');
  }
  return new Map([...map].map(([k, v]) => [k, Float32Array.from(v as ArrayLike<number>)]));
}

function trainingList(videos: FinetuneEncoderOptions['videos']): FinetuneVideo[] {
  const list = Array.isArray(videos)
    ? (videos as readonly FinetuneVideo[])
    : (videos as VideoManifest).videos.filter((v) => v.split === 'train');
  if (!Array.isArray(list) || list.length === 0) {
    throw new MistError(
      ErrorCode.ARG,
      'finetuneEncoder needs training videos (a manifest with a train split, or a list)',
    );
  }
  return [...list];
}

/** Runs `f` over items with at most `width` in flight; results in order. */
async function pool<T, R>(items: readonly T[], width: number, f: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

async function buildEncoder(
  o: z.output<typeof FinetuneEncoderOptionsSchema>,
  h: EncoderHyperparameters,
  given: SgaEncoder | undefined,
): Promise<SgaEncoder> {
  // A step's clips (both classes), checked against the memory limit before anything is built.
  const stepClips = 2 * h.videosPerClass * h.clipsPerVideo;
  const what = 'finetuneEncoder: a training step';
  if (given) {
    if (given.backbone !== h.backbone) {
      throw new MistError(ErrorCode.ARG, `the encoder is ${given.backbone} but the options say backbone ${h.backbone}`);
    }
    given.checkMemory('training', stepClips, what);
    return given;
  }
  checkEncoderMemory(
    { backbone: h.backbone, width: o.model.width, expandK: o.model.expandK, device: resolveDevice(o.device) },
    'training',
    stepClips,
    (o.model.inputSize as InputSize | undefined) ?? DEFAULT_INPUT_SIZE[h.backbone],
    what,
  );
  const options: SgaEncoderOptions = {
    backbone: h.backbone,
    width: o.model.width,
    expandK: o.model.expandK,
    dropout: h.dropout,
    init: o.model.init,
    seed: o.seed,
    ...(o.model.inputSize ? { inputSize: o.model.inputSize as InputSize } : {}),
    ...(o.device ? { device: o.device } : {}),
  };
  const encoder = await SgaEncoder.createAsync(options);
  if (o.model.weights) await encoder.loadStateDict(o.model.weights);
  return encoder;
}

/**
 * Fine-tunes the SGA encoder on video from pseudo labels. Async; progress after each step,
 * an AbortSignal between steps. Returns the best (or last) encoder and the history. Throws
 * ERR_MIST_ARG (bad options, a video without pseudo labels, a checkpoint of another run),
 * ERR_MIST_SHAPE (pseudo labels of the wrong length), the decoder's errors, ERR_MIST_ABORTED
 * (the last epoch's checkpoint stays on disk).
 */
export async function finetuneEncoder(options: FinetuneEncoderOptions): Promise<FinetuneEncoderResult> {
  if (typeof options !== 'object' || options === null) {
    throw new MistError(
      ErrorCode.ARG,
      `finetuneEncoder needs an options object (got ${options === null ? 'null' : typeof options})`,
    );
  }
  const { encoder: given, videos, pseudoLabels, test, signal, onProgress, ...rest } = options;
  const o = parseOptions(FinetuneEncoderOptionsSchema, rest, 'encoder training options');
  const h = resolveEncoderHyperparameters({ preset: o.preset, ...pick(o) });
  const labels = await loadPseudoLabels(pseudoLabels);
  const train = trainingList(videos);
  const missing = train.filter((v) => v.label === 'anomalous' && !labels.has(v.name)).map((v) => v.name);
  if (missing.length > 0) {
    throw new MistError(
      ErrorCode.ARG,
      `${missing.length} anomalous training video(s) have no pseudo labels: ${missing.slice(0, 5).join(', ')}`,
    );
  }
  const cache: FrameCache | undefined =
    o.frameCacheMb > 0 ? createFrameCache({ maxBytes: Math.floor(o.frameCacheMb * 2 ** 20) }) : undefined;
  const encoder = await buildEncoder(o, h, given);
  const [T] = encoder.inputSize;
  // Frame sources (probing every video once) and the clip sampler's view of each video.
  const sources = new Map<string, FrameSource>();
  await pool(train, o.decoders, async (v) => {
    throwIfAborted(signal);
    sources.set(v.name, await openFrameSource(v.path, { order: 'rgb', cache, signal }));
  });
  const byLabel = (label: 'normal' | 'anomalous'): TrainingVideo[] =>
    train
      .filter((v) => v.label === label)
      .map((v) => ({
        name: v.name,
        frames: sources.get(v.name)!.frames,
        label,
        ...(labels.has(v.name) ? { pseudoLabels: labels.get(v.name)! } : {}),
      }));
  const normal = byLabel('normal');
  const anomalous = byLabel('anomalous');
  // Checks every video's pseudo-label length now rather than at its first step.
  sampleTrainingClips([...normal, ...anomalous], createRng(0), { clipsPerVideo: 1, clipLength: T });
  const planRng = createRng(o.seed);
  const plan = createBalancedVideoPlan(normal, anomalous, { videosPerClass: h.videosPerClass }, planRng);
  const clipValues = 3 * T * encoder.inputSize[1] * encoder.inputSize[2];

  const dir = o.checkpointDir ?? mkdtempSync(join(tmpdir(), 'mist-finetune-'));
  mkdirSync(dir, { recursive: true });
  // What a run killed in the middle of a write left beside its checkpoints.
  removeStaleTemporaries(dir, ['last.pt', 'best.pt']);
  const lastPath = join(dir, 'last.pt');
  const bestPath = join(dir, 'best.pt');
  const run = JSON.stringify({ h, seed: o.seed, videos: train.map((v) => v.name), model: o.model, T });
  await encoder.configureTraining({
    lr: h.lr,
    weightDecay: h.weightDecay,
    gradClip: h.gradClip,
    w1: h.w1,
    w0: h.w0,
    accumulate: h.accumulate,
  });
  let start = 0;
  let history: FinetuneHistoryEntry[] = [];
  let best: FinetuneEncoderResult['best'];
  if (o.resume && existsSync(lastPath)) {
    const meta = (await encoder.restoreTraining(lastPath)) as Meta;
    if (meta?.run !== run) {
      throw new MistError(
        ErrorCode.ARG,
        `${lastPath} is the checkpoint of another run (other options, seed or videos); remove it or choose another checkpointDir`,
      );
    }
    start = meta.epoch;
    history = meta.history;
    best = meta.best;
    for (let i = 0; i < start * plan.stepsPerEpoch; i++) plan.next();
  }
  try {
    const testSet = test ? resolveTest(test) : undefined;
    const t0 = performance.now();
    for (let epoch = start; epoch < h.epochs; epoch++) {
      throwIfAborted(signal);
      const e0 = performance.now();
      const rng = createRng(epochSeed(o.seed, epoch));
      const lrFactor = warmupFactor(epoch, h.warmupEpochs);
      await encoder.freeze(freezeRule(epoch, h));
      encoder.setTraining(true);
      // Every random draw of a step happens synchronously when its producer starts, and
      // producers start in step order, so prefetching does not change what a seed gives.
      const produce = async (i: number, sig: AbortSignal) => {
        if (i >= plan.stepsPerEpoch) return undefined;
        const step = plan.next();
        const clips = sampleTrainingClips([...step.normal, ...step.anomalous], rng, {
          clipsPerVideo: h.clipsPerVideo,
          clipLength: T,
        });
        const specs = clips.map(() => clipTransform(h.backbone, { train: true, inputSize: encoder.inputSize }, rng));
        const x = new Float32Array(clips.length * clipValues);
        await pool(clips, o.decoders, async (c, k) => {
          const f = await sources.get(c.video)!.read(c.startFrame, T, { signal: sig });
          const [, H, W] = f.shape;
          const p = await preprocessClips(f.data, [T, H, W, 3], specs[k]!);
          x.set(p.data, k * clipValues);
        });
        return { x, targets: Float32Array.from(clips, (c) => c.target), ready: performance.now() };
      };
      let sums = { loss: 0, mainLoss: 0, guidedLoss: 0 };
      let steps = 0;
      let waited = 0;
      let updates = 0;
      let lr = 0;
      let asked = performance.now();
      for await (const b of prefetch(produce, o.prefetch, { signal })) {
        const waitMs = Math.max(0, b.ready - asked);
        waited += waitMs;
        let r: EncoderStepResult;
        try {
          r = await encoder.trainStep(b.x, b.targets, { lrFactor });
        } catch (e) {
          // A loss or gradient that is not finite: native refused the step and changed nothing.
          if (e instanceof MistError && e.code === ErrorCode.TORCH && /not finite/.test(e.message)) {
            throw new MistError(
              ErrorCode.TORCH,
              `epoch ${epoch + 1}, batch ${steps + 1} of ${plan.stepsPerEpoch}: ${e.message}; lower the learning rate`,
              { cause: e },
            );
          }
          throw e;
        }
        if (!Number.isFinite(r.loss)) {
          throw new MistError(
            ErrorCode.TORCH,
            `the loss became ${r.loss} in epoch ${epoch + 1}; lower the learning rate`,
          );
        }
        steps++;
        sums = {
          loss: sums.loss + r.loss,
          mainLoss: sums.mainLoss + r.mainLoss,
          guidedLoss: sums.guidedLoss + r.guidedLoss,
        };
        updates = r.steps;
        lr = r.lr;
        onProgress?.({
          epoch: epoch + 1,
          epochs: h.epochs,
          step: steps,
          steps: plan.stepsPerEpoch,
          loss: r.loss,
          lr: r.lr,
          waitMs,
          elapsedMs: performance.now() - t0,
        });
        asked = performance.now();
      }
      const seconds = (performance.now() - e0) / 1000;
      const entry: FinetuneHistoryEntry = {
        epoch: epoch + 1,
        loss: sums.loss / steps,
        mainLoss: sums.mainLoss / steps,
        guidedLoss: sums.guidedLoss / steps,
        updates,
        lr,
        seconds,
        waitShare: waited / 1000 / seconds,
      };
      if (testSet && ((epoch + 1) % o.evalEvery === 0 || epoch + 1 === h.epochs)) {
        const evaluation = await evaluateEncoder(encoder, testSet, {
          testSize: o.testSize,
          batchSize: o.evalBatchSize,
          cache,
          signal,
        });
        entry.evaluation = evaluation;
        if (!best || evaluation.auc > best.evaluation.auc) {
          best = { epoch: epoch + 1, evaluation };
          await encoder.save(bestPath);
        }
        onProgress?.({
          epoch: epoch + 1,
          epochs: h.epochs,
          step: steps,
          steps: plan.stepsPerEpoch,
          loss: entry.loss,
          lr,
          waitMs: 0,
          evaluation,
          elapsedMs: performance.now() - t0,
        });
      }
      history.push(entry);
      // Without a checkpointDir nothing can resume the run: no training checkpoint is written.
      const meta: Meta = { run, epoch: epoch + 1, history, ...(best ? { best } : {}) };
      if (o.checkpointDir) await encoder.saveTraining(lastPath, meta);
    }
    encoder.setTraining(false);
    if (best && best.epoch !== h.epochs && existsSync(bestPath)) await encoder.loadStateDict(bestPath);
  } finally {
    // A folder of our own (best.pt only) goes; a caller's checkpointDir stays.
    if (!o.checkpointDir) rmSync(dir, { recursive: true, force: true });
  }
  return {
    encoder,
    hyperparameters: h,
    history,
    ...(best ? { best } : {}),
    resumedFrom: start,
    ...(o.checkpointDir ? { checkpointDir: o.checkpointDir } : {}),
    ...(cache ? { frameCache: cacheStats(cache) } : {}),
  };
}

function cacheStats(cache: FrameCache): { hits: number; misses: number; bytes: number } {
  const s = cache.stats();
  return { hits: s.hits, misses: s.misses, bytes: s.bytes };
}

/** The hyper-parameter fields of the parsed options. */
function pick(o: z.output<typeof FinetuneEncoderOptionsSchema>): Partial<EncoderHyperparameters> {
  const keys = Object.keys(EncoderHyperparameterOptionsSchema.shape).filter((k) => k !== 'preset');
  return Object.fromEntries(keys.map((k) => [k, (o as Record<string, unknown>)[k]])) as Partial<EncoderHyperparameters>;
}

/** Test videos and how to label their frames: a ground truth, or a manifest's intervals. */
export interface EncoderTestSet {
  videos: FinetuneVideo[];
  groundTruth?: GroundTruth;
  manifest?: VideoManifest;
}

function resolveTest(test: NonNullable<FinetuneEncoderOptions['test']>): EncoderTestSet {
  if ('groundTruth' in test) return { videos: [...test.videos], groundTruth: test.groundTruth };
  const videos = test.videos.filter((v) => v.split === 'test');
  if (videos.length === 0) throw new MistError(ErrorCode.ARG, 'the test manifest has no test video');
  return { videos, manifest: test };
}

/**
 * Scores the test videos with the encoder (eval mode, test-time transform) and evaluates the
 * frame-level metrics. Async.
 */
export async function evaluateEncoder(
  encoder: SgaEncoder,
  test: EncoderTestSet,
  options: {
    testSize?: readonly [number, number] | undefined;
    batchSize?: number;
    cache?: FrameCache | undefined;
    signal?: AbortSignal | undefined;
  } = {},
): Promise<Evaluation> {
  const extracted: { name: string; frames: number; scores: Float32Array }[] = [];
  const seen = new Set<string>();
  for (const v of test.videos) {
    if (seen.has(v.name)) throw new MistError(ErrorCode.ARG, `two test videos are named ${v.name}`);
    seen.add(v.name);
    throwIfAborted(options.signal);
    const source = await openFrameSource(v.path, {
      order: 'rgb',
      ...(options.cache ? { cache: options.cache } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const r = await scoreVideo(source, encoder, {
      batchSize: options.batchSize ?? 8,
      name: v.name,
      ...(options.testSize ? { testSize: options.testSize } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (r.clips < 1) throw new MistError(ErrorCode.ARG, `${v.path}: ${r.frames} frames, fewer than one clip`);
    extracted.push({ name: v.name, frames: r.frames, scores: r.clipScores });
  }
  const scores = new Map(extracted.map((v) => [v.name, v.scores]));
  const groundTruth =
    test.groundTruth ??
    manifestGroundTruth(
      { ...test.manifest!, videos: test.manifest!.videos.filter((v) => v.split === 'test') },
      new Map(extracted.map((v) => [v.name, v.frames])),
    );
  return evaluate({ scores, groundTruth, scoreLayout: 'clips', onMissing: 'error' });
}
