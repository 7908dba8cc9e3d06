// selfTrain(): MIST's self-training loop (docs/MIST.md, item 3: the paper allows it, the
// released code never did it). Round 1 is stage 1 on the starting encoder's features (or on
// features given), pseudo labels, stage 2; round k + 1 extracts features with round k's
// encoder, trains a new generator from scratch on them, makes new pseudo labels and fine-tunes
// round k's encoder again. Every stage's artefacts land in dir/round-<k>/, and a small state
// file, rewritten atomically after each stage, lets `resume` continue a killed run where it
// stopped: finished stages are read back, stage 2 resumes from its own last epoch.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { z } from 'zod';

import { readFileAsync, writeFileAtomic } from '../data/files.js';
import type { VideoManifest } from '../data/manifest.js';
import { writePseudoLabels } from '../data/pseudo-labels.js';
import { featureDims, type FeatureArray, type VideoFeatures } from '../data/types.js';
import { ErrorCode, MistError, throwIfAborted, withContext } from '../errors.js';
import { evaluate, type Evaluation } from '../eval/evaluate.js';
import { manifestGroundTruth, type GroundTruth } from '../eval/groundtruth.js';
import { DEFAULT_INPUT_SIZE, SgaEncoder, SgaEncoderOptionsSchema } from '../models/encoder.js';
import { parseOptions } from '../options.js';
import type { InputSize } from '../types.js';
import { GeneratorTrainOptionsSchema, resolveGeneratorTrainOptions } from '../stage1/presets.js';
import { generatePseudoLabels } from '../stage1/scoring.js';
import { GeneratorResumeOptionsSchema, trainGenerator, type HistoryEntry } from '../stage1/train.js';
import {
  finetuneEncoder,
  FinetuneEncoderOptionsSchema,
  type FinetuneHistoryEntry,
  type FinetuneVideo,
} from '../stage2/finetune.js';
import { EncoderHyperparameterOptionsSchema, resolveEncoderHyperparameters } from '../stage2/presets.js';
import { extractFeatures, type ExtractedVideo } from './extract.js';
import { fingerprint } from '../data/fingerprint.js';

function without<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Omit<T, K> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k as K))) as Omit<T, K>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasVideos = (v: unknown): boolean => isObject(v) && Array.isArray(v.videos);

/** The starting encoder built from options: SgaEncoder.create()'s, plus weights loaded by name. */
export const StartEncoderOptionsSchema = SgaEncoderOptionsSchema.extend({
  /** Seeds the initial weights and the dropout masks (default: the run's seed). */
  seed: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /** Weights loaded by name after creation (see SgaEncoder.loadStateDict). */
  weights: z.string().min(1).optional(),
}).strict();
/** The starting encoder's options, as callers pass them. */
export type StartEncoderOptions = z.input<typeof StartEncoderOptionsSchema>;

/**
 * Stage 1 of every round: trainGenerator's options (a preset and overrides, or every
 * hyper-parameter) less those selfTrain sets itself: featureDim (the features'), seed (the
 * run's), checkpoint (round-<k>/generator.pt), checkpointDir (round-<k>/stage1, where the
 * training checkpoint goes every `saveEvery` steps) and resume (the run's: an interrupted stage 1
 * continues from its checkpoint).
 */
export const SelfTrainStage1OptionsSchema = z.strictObject({
  ...without(GeneratorTrainOptionsSchema.shape, ['featureDim', 'seed', 'checkpoint']),
  saveEvery: GeneratorResumeOptionsSchema.shape.saveEvery,
});
/** Stage 1's options of every round, as callers pass them. */
export type SelfTrainStage1Options = z.input<typeof SelfTrainStage1OptionsSchema>;

/**
 * Stage 2 of every round: finetuneEncoder's options less those selfTrain sets itself: the
 * encoder (the round's), model and device (the starting encoder's), seed (the run's),
 * checkpointDir (round-<k>/stage2) and resume (the run's).
 */
export const SelfTrainStage2OptionsSchema = FinetuneEncoderOptionsSchema.omit({
  model: true,
  device: true,
  seed: true,
  checkpointDir: true,
  resume: true,
});
/** Stage 2's options of every round, as callers pass them. */
export type SelfTrainStage2Options = z.input<typeof SelfTrainStage2OptionsSchema>;

/** Test videos with ground truth: a manifest (its test split) or videos and a ground truth. */
export type SelfTrainTestSet = VideoManifest | { videos: readonly FinetuneVideo[]; groundTruth: GroundTruth };

/** Options of selfTrain(). */
export const SelfTrainOptionsSchema = z.strictObject({
  /** The run's folder: state.json and one round-<k>/ folder a round. */
  dir: z.string().min(1),
  /** Rounds to have run when the call returns (a finished run resumed with more continues it). */
  rounds: z.int().min(1).max(1000).default(2),
  /**
   * Every round's stage 1 and stage 2 use it (and every encoder a round loads), so that round
   * k + 1 differs from round k by its features and starting weights only.
   */
  seed: z
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(0),
  /** Continue the run in `dir` (same options, data and starting encoder required). */
  resume: z.boolean().default(false),
  /** Training videos: the manifest's train split (both labels). */
  videos: z.custom<VideoManifest>(hasVideos, 'must be a video manifest (readVideoManifest)'),
  /** Scored after each stage of each round when given. */
  test: z.custom<SelfTrainTestSet>(hasVideos, 'must be a video manifest or { videos, groundTruth }').optional(),
  /**
   * The starting encoder: an SgaEncoder (round 1 trains it in place, as finetuneEncoder does;
   * resuming takes a fresh one of the same weights) or the options to create one. Round k > 1
   * loads round k − 1's encoder.pt with the starting encoder's input size and device.
   */
  encoder: z.custom<SgaEncoder | StartEncoderOptions>(
    (v) => v instanceof SgaEncoder || isObject(v),
    'must be an SgaEncoder or the options to create one',
  ),
  /**
   * Round 1's stage-1 features by video name ([clips, D] or [clips, crops, D]), e.g. the
   * public I3D features: every training video, and every test video when there is a test
   * set. Without them round 1 extracts the starting encoder's.
   */
  features: z
    .custom<ReadonlyMap<string, FeatureArray>>((v) => v instanceof Map, 'must be a Map from video name to features')
    .optional(),
  stage1: SelfTrainStage1OptionsSchema,
  stage2: SelfTrainStage2OptionsSchema,
  /**
   * Multiplies every feature before stage 1. 'mean-norm': 1 / the mean L2 norm of the
   * training videos' feature rows, computed for each round's features. An untrained encoder's
   * features have norms in the hundreds (C3D's input is mean-subtracted, not scaled), which
   * saturates the generator; one scale for all keeps the relative magnitudes (motion energy)
   * that per-row L2 normalisation would remove.
   */
  featureScale: z.union([z.literal('mean-norm'), z.number().positive()]).default('mean-norm'),
  signal: z.instanceof(AbortSignal).optional(),
  onProgress: z.custom<(p: SelfTrainProgress) => void>((v) => typeof v === 'function').optional(),
});
/** Options of selfTrain(), as callers pass them. */
export type SelfTrainOptions = z.input<typeof SelfTrainOptionsSchema>;

interface Where {
  round: number;
  rounds: number;
  /** Since the call started. */
  elapsedMs: number;
}

/** What onProgress reports: the round, the stage, and the stage's own counters. */
export type SelfTrainProgress = Where &
  (
    | { stage: 'features'; video: string; done: number; total: number }
    | { stage: 'stage1'; step: number; steps: number; loss: number; evaluation?: Evaluation }
    | { stage: 'pseudo-labels'; done: number; total: number }
    | {
        stage: 'stage2';
        epoch: number;
        epochs: number;
        step: number;
        steps: number;
        loss: number;
        evaluation?: Evaluation;
      }
    | { stage: 'round'; result: SelfTrainRound }
  );

/** One round: its evaluations, artefacts and times. */
export interface SelfTrainRound {
  round: number;
  dir: string;
  /**
   * The encoder that entered the round scored by its own head on the test videos (the
   * starting encoder's in round 1, round k − 1's after); absent without a test set and when
   * round 1 trained on given features.
   */
  encoderBefore?: Evaluation;
  /** The round's generator on the test videos' features of the encoder that entered the round. */
  stage1?: Evaluation;
  /** The round's fine-tuned encoder (the one saved) on the test videos. */
  stage2?: Evaluation;
  /** The generator's step kept (the best evaluated one with a test set, else the last). */
  generatorStep: number;
  /** The feature scale stage 1 used. */
  featureScale: number;
  paths: {
    /** The generator's weights (MilGenerator.load). */
    generator: string;
    /** The refined pseudo labels of the anomalous training videos (readPseudoLabels). */
    pseudoLabels: string;
    /** The fine-tuned encoder (SgaEncoder.load): the next round starts from it. */
    encoder: string;
    /** Everything below as JSON. */
    metrics: string;
    /** finetuneEncoder's checkpointDir (last.pt, best.pt). */
    checkpoints: string;
    /** trainGenerator's checkpointDir (last.pt): an interrupted stage 1 resumes from it. */
    stage1Checkpoints: string;
  };
  seconds: { features: number; stage1: number; stage2: number };
  history: { stage1: HistoryEntry[]; stage2: FinetuneHistoryEntry[] };
  /** What this call took from the run's state instead of running: whole stages, stage-2 epochs. */
  resumed: { stage1: boolean; stage2: boolean; stage2FromEpoch: number };
}

/** What selfTrain() returns: its rounds, the last round's encoder, the run's folder and state file. */
export interface SelfTrainResult {
  rounds: SelfTrainRound[];
  /** The last round's encoder (the caller disposes it). */
  encoder: SgaEncoder;
  dir: string;
  statePath: string;
}

// ---- The state file --------------------------------------------------------------------------

const FORMAT = 'mist-vad-selftrain-state';
const VERSION = 1;

interface Stage1State {
  encoderBefore?: Evaluation;
  evaluation?: Evaluation;
  generatorStep: number;
  featureScale: number;
  history: HistoryEntry[];
  seconds: { features: number; stage1: number };
}
interface Stage2State {
  evaluation?: Evaluation;
  history: FinetuneHistoryEntry[];
  resumedFrom: number;
  seconds: number;
}
interface RoundState {
  round: number;
  stage1?: Stage1State;
  stage2?: Stage2State;
}
interface State {
  format: typeof FORMAT;
  version: typeof VERSION;
  fingerprint: string;
  rounds: RoundState[];
}

const StateSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(VERSION),
  fingerprint: z.string(),
  rounds: z.array(z.object({ round: z.int().positive() }).loose()),
});

async function readState(path: string): Promise<State> {
  const text = (await readFileAsync(path, 'self-training state')).toString('utf8');
  try {
    return parseOptions(StateSchema, JSON.parse(text), 'self-training state') as State;
  } catch (e) {
    throw new MistError(ErrorCode.FORMAT, `${path}: not a self-training state file (${(e as Error).message})`, {
      cause: e,
    });
  }
}

// ---- Features --------------------------------------------------------------------------------

/** A video's stage-1 input: its features, and its frame count (for the ground truth). */
interface RoundFeatures {
  name: string;
  features: FeatureArray;
  frames: number;
  /** The encoder's own clip scores, when the features were extracted. */
  scores?: Float32Array;
}

/** 1 / the mean L2 norm of every feature row of the videos (summed in order, in float64). */
function meanNormScale(videos: readonly RoundFeatures[]): number {
  let sum = 0;
  let rows = 0;
  for (const v of videos) {
    const { data, shape } = v.features;
    const D = shape[shape.length - 1]!;
    for (let r = 0; r < data.length / D; r++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += data[r * D + d]! ** 2;
      sum += Math.sqrt(s);
      rows++;
    }
  }
  if (!(sum > 0) || !Number.isFinite(sum)) {
    throw new MistError(ErrorCode.ARG, `the training features' mean norm is ${sum / rows}: give featureScale a number`);
  }
  return rows / sum;
}

function scaled(v: RoundFeatures, scale: number): VideoFeatures {
  return { name: v.name, features: { data: v.features.data.map((x) => x * scale), shape: [...v.features.shape] } };
}

// ---- selfTrain -------------------------------------------------------------------------------

/**
 * Runs `rounds` rounds of MIST self-training (see the file's head). Async; onProgress after
 * each video, step and epoch, the AbortSignal between them. Returns each round's evaluations,
 * artefact paths and seconds, and the last encoder. Throws ERR_MIST_ARG (bad options, a dir
 * that holds another run or holds a run without `resume`, missing features), ERR_MIST_FORMAT
 * (a damaged state file), ERR_MIST_ABORTED (the state of every finished stage stays on disk),
 * and what extractFeatures, trainGenerator and finetuneEncoder throw.
 */
export async function selfTrain(options: SelfTrainOptions): Promise<SelfTrainResult> {
  const o = parseOptions(SelfTrainOptionsSchema, options, 'self-training options');
  const t0 = performance.now();
  const signal = o.signal;

  // ---- Everything checked before any work.
  const train = o.videos.videos.filter((v) => v.split === 'train');
  for (const label of ['normal', 'anomalous'] as const) {
    if (!train.some((v) => v.label === label)) {
      throw new MistError(
        ErrorCode.ARG,
        `invalid self-training options: videos: the train split has no ${label} video`,
      );
    }
  }
  const test = o.test ? resolveTest(o.test) : undefined;
  const trainNames = new Set(train.map((v) => v.name));
  for (const v of test?.videos ?? []) {
    if (trainNames.has(v.name)) {
      throw new MistError(ErrorCode.ARG, `invalid self-training options: test: ${v.name} is a training video too`);
    }
  }
  const given = o.encoder instanceof SgaEncoder ? o.encoder : undefined;
  const startOptions = given
    ? undefined
    : parseOptions(StartEncoderOptionsSchema, o.encoder, 'self-training options: encoder');
  const backbone = given?.backbone ?? startOptions!.backbone;
  // How often stage 1 saves its checkpoint changes nothing it computes.
  const stage1Hyperparameters = without(o.stage1, ['saveEvery']);
  try {
    resolveGeneratorTrainOptions({ ...stage1Hyperparameters, featureDim: 1, seed: o.seed });
  } catch (e) {
    throw withContext(e, 'stage1');
  }
  const hyperKeys = Object.keys(EncoderHyperparameterOptionsSchema.shape);
  const h = resolveEncoderHyperparameters(
    Object.fromEntries(Object.entries(o.stage2).filter(([k]) => hyperKeys.includes(k))),
  );
  if (h.backbone !== backbone) {
    throw new MistError(
      ErrorCode.ARG,
      `invalid self-training options: stage2: trains a ${h.backbone} encoder, but the starting encoder is ${backbone}`,
    );
  }
  if (o.features) checkGivenFeatures(o.features, train, test);
  // How a round's encoder is loaded from the previous round's file.
  const loadOptions = given
    ? (({ inputSize, device, fold, onednn }) => ({ inputSize, device, fold, onednn }))(given.describe())
    : {
        inputSize: (startOptions!.inputSize ?? DEFAULT_INPUT_SIZE[backbone]) as InputSize,
        fold: startOptions!.fold,
        onednn: startOptions!.onednn,
        ...(startOptions!.device ? { device: startOptions!.device } : {}),
      };

  const fp = fingerprint({
    seed: o.seed,
    featureScale: o.featureScale,
    stage1: stage1Hyperparameters,
    // Decoding knobs change the speed, not the results.
    stage2: without(o.stage2, ['prefetch', 'decoders', 'frameCacheMb']),
    videos: train.map((v) => [v.name, v.path, v.label]),
    test: test && {
      videos: test.videos.map((v) => [v.name, v.path, v.label]),
      truth: test.groundTruth?.videos.map((g) => [g.name, g.labels]) ?? test.manifestTest?.map((v) => v.intervals),
    },
    encoder: given ? { describe: archOf(given), weights: await given.stateDict() } : startOptions,
    features: o.features,
  });

  mkdirSync(o.dir, { recursive: true });
  const statePath = join(o.dir, 'state.json');
  let state: State;
  if (existsSync(statePath)) {
    if (!o.resume) {
      throw new MistError(
        ErrorCode.ARG,
        `${o.dir} holds a self-training run already: pass resume: true to continue it, or choose another dir`,
      );
    }
    state = await readState(statePath);
    if (state.fingerprint !== fp) {
      throw new MistError(
        ErrorCode.ARG,
        `${statePath} is the state of another run (other options, videos or starting encoder); remove it or choose another dir`,
      );
    }
  } else {
    state = { format: FORMAT, version: VERSION, fingerprint: fp, rounds: [] };
    await writeFileAtomic(statePath, JSON.stringify(state));
  }
  const saveState = () => writeFileAtomic(statePath, JSON.stringify(state));
  const emit = (p: SelfTrainProgress) => o.onProgress?.(p);
  const where = (round: number): Where => ({ round, rounds: o.rounds, elapsedMs: performance.now() - t0 });

  const results: SelfTrainRound[] = [];
  // The encoder in memory: round k's after its stage 2 (returned when k is the last round).
  let current: SgaEncoder | undefined;
  const release = (e: SgaEncoder | undefined) => {
    if (e && e !== given) e.dispose();
  };
  try {
    for (let k = 1; k <= o.rounds; k++) {
      throwIfAborted(signal);
      const rdir = join(o.dir, `round-${k}`);
      mkdirSync(rdir, { recursive: true });
      const paths: SelfTrainRound['paths'] = {
        generator: join(rdir, 'generator.pt'),
        pseudoLabels: join(rdir, 'pseudo-labels.json'),
        encoder: join(rdir, 'encoder.pt'),
        metrics: join(rdir, 'metrics.json'),
        checkpoints: join(rdir, 'stage2'),
        stage1Checkpoints: join(rdir, 'stage1'),
      };
      const rs: RoundState = state.rounds[k - 1] ?? { round: k };
      state.rounds[k - 1] = rs;
      const resumed = { stage1: rs.stage1 !== undefined, stage2: rs.stage2 !== undefined, stage2FromEpoch: 0 };
      if (!rs.stage1 || !rs.stage2) {
        // The encoder entering the round: always the previous round's file, so that a resumed
        // run and an uninterrupted one start each round from the same state (dropout
        // generator included), not from whatever the previous round left in memory.
        release(current);
        current = undefined;
        const entering =
          k === 1
            ? (given ?? (await createStart(startOptions!, o.seed)))
            : await SgaEncoder.load(join(o.dir, `round-${k - 1}`, 'encoder.pt'), { ...loadOptions, seed: o.seed });
        current = entering;
        let labels: Map<string, Float32Array> | undefined;
        if (!rs.stage1) {
          const r = await runStage1(k, entering, paths);
          rs.stage1 = r.state;
          labels = r.labels;
          await writeFileAtomic(paths.metrics, JSON.stringify(metricsOf(rs, o.seed)));
          await saveState();
        }
        const f0 = performance.now();
        const r = await finetuneEncoder({
          ...o.stage2,
          encoder: entering,
          videos: o.videos,
          pseudoLabels: labels ?? paths.pseudoLabels,
          ...(o.test ? { test: o.test } : {}),
          checkpointDir: paths.checkpoints,
          resume: o.resume,
          seed: o.seed,
          ...(signal ? { signal } : {}),
          onProgress: (p) =>
            emit({
              ...where(k),
              stage: 'stage2',
              epoch: p.epoch,
              epochs: p.epochs,
              step: p.step,
              steps: p.steps,
              loss: p.loss,
              ...(p.evaluation ? { evaluation: p.evaluation } : {}),
            }),
        });
        await r.encoder.save(paths.encoder);
        resumed.stage2FromEpoch = r.resumedFrom;
        rs.stage2 = {
          ...(r.best ? { evaluation: r.best.evaluation } : {}),
          history: r.history,
          resumedFrom: r.resumedFrom,
          // A resumed stage: this call's time plus the training time of the epochs run before.
          seconds:
            (performance.now() - f0) / 1000 + r.history.slice(0, r.resumedFrom).reduce((sum, e) => sum + e.seconds, 0),
        };
        await writeFileAtomic(paths.metrics, JSON.stringify(metricsOf(rs, o.seed)));
        await saveState();
      }
      const result = roundResult(rs, rdir, paths, resumed);
      results.push(result);
      emit({ ...where(k), stage: 'round', result });
    }
    const encoder = current ?? (await SgaEncoder.load(results[results.length - 1]!.paths.encoder, loadOptions));
    return { rounds: results, encoder, dir: o.dir, statePath };
  } catch (e) {
    release(current);
    throw e;
  }

  /** Features, stage 1 and pseudo labels of round k, on the features of `encoder`. */
  async function runStage1(
    k: number,
    encoder: SgaEncoder,
    paths: SelfTrainRound['paths'],
  ): Promise<{ state: Stage1State; labels: Map<string, Float32Array> }> {
    const e0 = performance.now();
    const all = k === 1 && o.features ? givenFeatures(o.features, train, test) : await extract(k, encoder);
    const byName = new Map(all.map((v) => [v.name, v]));
    const trainF = train.map((v) => byName.get(v.name)!);
    const testF = test?.videos.map((v) => byName.get(v.name)!);
    const groundTruth = test?.groundTruth ?? (test ? truthOf(test.manifest!, all) : undefined);
    let encoderBefore: Evaluation | undefined;
    if (testF && groundTruth && testF.every((v) => v.scores)) {
      encoderBefore = evaluate({ scores: new Map(testF.map((v) => [v.name, v.scores!])), groundTruth });
    }
    const s0 = performance.now();
    const scale = o.featureScale === 'mean-norm' ? meanNormScale(trainF) : o.featureScale;
    const label = new Map(train.map((v) => [v.name, v.label]));
    const normal = trainF.filter((v) => label.get(v.name) === 'normal').map((v) => scaled(v, scale));
    const anomalous = trainF.filter((v) => label.get(v.name) === 'anomalous').map((v) => scaled(v, scale));
    const dims = featureDims(normal[0]!.features);
    const stage1 = await trainGenerator({
      ...o.stage1,
      featureDim: dims.dim,
      seed: o.seed,
      checkpoint: paths.generator,
      checkpointDir: paths.stage1Checkpoints,
      resume: o.resume,
      normal,
      anomalous,
      ...(testF && groundTruth
        ? { test: { videos: testF.map((v) => scaled(v, scale)), groundTruth, scoreLayout: 'clips' as const } }
        : {}),
      ...(signal ? { signal } : {}),
      onProgress: (p) =>
        emit({
          ...where(k),
          stage: 'stage1',
          step: p.step,
          steps: p.steps,
          loss: p.loss,
          ...(p.evaluation ? { evaluation: p.evaluation } : {}),
        }),
    });
    try {
      const labels = await generatePseudoLabels(
        stage1.model,
        anomalous.map((v) => ({ ...v, anomalous: true })),
        {
          l2Normalize: stage1.options.l2Normalize,
          crop: stage1.options.crop,
          ...(signal ? { signal } : {}),
          onProgress: (done, total) => emit({ ...where(k), stage: 'pseudo-labels', done, total }),
        },
      );
      await writePseudoLabels(paths.pseudoLabels, labels, {
        dataset: o.videos.dataset ?? 'unknown',
        featureKind: k === 1 ? (o.features ? 'given' : backbone) : `mist-${backbone}-round-${k - 1}`,
        source: `selfTrain round ${k}, seed ${o.seed}, generator step ${stage1.best?.step ?? stage1.options.steps}`,
      });
      const s1 = performance.now();
      return {
        labels,
        state: {
          ...(encoderBefore ? { encoderBefore } : {}),
          ...(stage1.best ? { evaluation: stage1.best.evaluation } : {}),
          generatorStep: stage1.best?.step ?? stage1.options.steps,
          featureScale: scale,
          history: stage1.history,
          seconds: { features: (s0 - e0) / 1000, stage1: (s1 - s0) / 1000 },
        },
      };
    } finally {
      stage1.model.dispose();
    }
  }

  /** Every training and test video through `encoder` (its features and own scores). */
  async function extract(k: number, encoder: SgaEncoder): Promise<RoundFeatures[]> {
    const list = [...train, ...(test?.videos ?? [])].map((v) => ({ name: v.name, path: v.path }));
    const got: ExtractedVideo[] = await extractFeatures(list, encoder, {
      batchSize: o.stage2.evalBatchSize,
      ...(o.stage2.testSize ? { testSize: o.stage2.testSize } : {}),
      ...(signal ? { signal } : {}),
      onProgress: (p) => emit({ ...where(k), stage: 'features', video: p.video, done: p.done, total: p.videos }),
    });
    return got.map((v) => ({
      name: v.name,
      features: { data: v.features, shape: [v.clips, v.featureDim] },
      frames: v.frames,
      scores: v.scores,
    }));
  }
}

async function createStart(options: z.output<typeof StartEncoderOptionsSchema>, seed: number): Promise<SgaEncoder> {
  const encoder = await SgaEncoder.createAsync({ ...without(options, ['weights']), seed: options.seed ?? seed });
  if (options.weights) {
    try {
      await encoder.loadStateDict(options.weights);
    } catch (e) {
      encoder.dispose();
      throw e;
    }
  }
  return encoder;
}

/** What makes two encoders of equal weights the same network. */
function archOf(e: SgaEncoder): object {
  const d = e.describe();
  return { backbone: d.backbone, width: d.width, expandK: d.expandK, dropout: d.dropout, inputSize: d.inputSize };
}

interface ResolvedTest {
  videos: FinetuneVideo[];
  groundTruth?: GroundTruth;
  /** The manifest, when the ground truth comes from its intervals. */
  manifest?: VideoManifest;
  manifestTest?: VideoManifest['videos'];
}

function resolveTest(test: SelfTrainTestSet): ResolvedTest {
  if ('groundTruth' in test) {
    if (!Array.isArray(test.videos) || test.videos.length === 0) {
      throw new MistError(ErrorCode.ARG, 'invalid self-training options: test: no test video');
    }
    return { videos: [...test.videos], groundTruth: test.groundTruth };
  }
  const videos = test.videos.filter((v) => v.split === 'test');
  if (videos.length === 0)
    throw new MistError(ErrorCode.ARG, 'invalid self-training options: test: the manifest has no test video');
  return { videos, manifest: test, manifestTest: videos };
}

/** The manifest's test ground truth with the frame counts the features were taken from. */
function truthOf(manifest: VideoManifest, all: readonly RoundFeatures[]): GroundTruth {
  return manifestGroundTruth(manifest, new Map(all.map((v) => [v.name, v.frames])));
}

function checkGivenFeatures(
  features: ReadonlyMap<string, FeatureArray>,
  train: readonly FinetuneVideo[],
  test: ResolvedTest | undefined,
): void {
  const need = [...train, ...(test?.videos ?? [])];
  const missing = need.filter((v) => !features.has(v.name)).map((v) => v.name);
  if (missing.length > 0) {
    throw new MistError(
      ErrorCode.ARG,
      `invalid self-training options: features: none for ${missing.length} video(s): ${missing.slice(0, 5).join(', ')}`,
    );
  }
  let dim: number | undefined;
  for (const v of need) {
    const d = featureDims(features.get(v.name)!, `features of ${v.name}`).dim;
    if (dim !== undefined && d !== dim) {
      throw new MistError(ErrorCode.SHAPE, `features of ${v.name} have D = ${d}, others D = ${dim}`);
    }
    dim = d;
  }
}

function givenFeatures(
  features: ReadonlyMap<string, FeatureArray>,
  train: readonly FinetuneVideo[],
  test: ResolvedTest | undefined,
): RoundFeatures[] {
  return [...train, ...(test?.videos ?? [])].map((v) => {
    const f = features.get(v.name)!;
    // Only whole clips are labelled: 16 frames a clip stands in for an unknown count.
    return { name: v.name, features: f, frames: v.frameCount ?? 16 * f.shape[0]! };
  });
}

function metricsOf(rs: RoundState, seed: number): object {
  return { round: rs.round, seed, stage1: rs.stage1, stage2: rs.stage2 };
}

function roundResult(
  rs: RoundState,
  dir: string,
  paths: SelfTrainRound['paths'],
  resumed: SelfTrainRound['resumed'],
): SelfTrainRound {
  const s1 = rs.stage1!;
  const s2 = rs.stage2!;
  return {
    round: rs.round,
    dir,
    ...(s1.encoderBefore ? { encoderBefore: s1.encoderBefore } : {}),
    ...(s1.evaluation ? { stage1: s1.evaluation } : {}),
    ...(s2.evaluation ? { stage2: s2.evaluation } : {}),
    generatorStep: s1.generatorStep,
    featureScale: s1.featureScale,
    paths,
    seconds: { features: s1.seconds.features, stage1: s1.seconds.stage1, stage2: s2.seconds },
    history: { stage1: s1.history, stage2: s2.history },
    resumed,
  };
}
