// trainGenerator(): MIST stage 1 end to end. Balanced MIL batches of sparse continuous
// sub-bags, native training steps, periodic frame-level evaluation, the best checkpoint kept.
// With a checkpointDir it writes a training checkpoint (last.pt, atomically) every `saveEvery`
// steps, at the end and when aborted, from which `resume` continues a stopped run to the same
// weights and history as an uninterrupted one.
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

import { z } from 'zod';

import { removeStaleTemporaries } from '../checkpoints.js';
import { ErrorCode, MistError, withContext } from '../errors.js';
import { evaluate, type Evaluation } from '../eval/evaluate.js';
import type { GroundTruth } from '../eval/groundtruth.js';
import { MilGenerator } from '../models/generator.js';
import { parseOptions } from '../options.js';
import { createRng } from '../rng.js';
import { createBatchSampler, resumeBatchSampler, type BatchSampler } from './batch.js';
import {
  resolveGeneratorTrainOptions,
  type GeneratorTrainOptions,
  type ResolvedGeneratorTrainOptions,
} from './presets.js';
import {
  decodeExactJson,
  describeRun,
  encodeExactJson,
  runDifferences,
  TRAINING_FORMAT,
  TRAINING_VERSION,
  type TrainingMeta,
} from './resume.js';
import { scoreClips } from './scoring.js';
import type { VideoFeatures } from '../data/types.js';

/** A test set: features of each test video and the frame-level ground truth they are scored on. */
export interface GeneratorTestSet {
  videos: readonly VideoFeatures[];
  groundTruth: GroundTruth;
  /** 'clips' (one feature per 16-frame clip) or 'segments' (Sultani's 32 segments per video). */
  scoreLayout?: 'clips' | 'segments';
}

export interface TrainProgress {
  step: number;
  steps: number;
  loss: number;
  /** Set on evaluation steps. */
  evaluation?: Evaluation;
  /** Set on steps after which the training checkpoint was written: its path (on disk before this report). */
  checkpoint?: string;
  elapsedMs: number;
}

export interface HistoryEntry {
  step: number;
  loss: number;
  rank: number;
  sparsity: number;
  smoothness: number;
  gradNorm: number;
  auc?: number;
  far?: number;
  ap?: number;
}

/** How a run is kept on disk to survive being stopped. */
export const GeneratorResumeOptionsSchema = z.strictObject({
  /**
   * The run's folder: the training checkpoint `last.pt` (weights, Adagrad state, counters,
   * sampler, history, best weights) is written there every `saveEvery` steps, at the end and
   * when aborted.
   */
  checkpointDir: z.string({ error: 'must be a non-empty path' }).min(1).optional(),
  /** Continue from checkpointDir/last.pt when it exists (same options and data required). */
  resume: z.boolean({ error: 'must be true or false' }).default(false),
  /** Steps between training checkpoints (default: every evaluation, at least every 100 steps). */
  saveEvery: z.int({ error: 'must be a positive integer (steps)' }).positive().optional(),
});
export type GeneratorResumeOptions = z.input<typeof GeneratorResumeOptionsSchema>;

export type TrainGeneratorOptions = GeneratorTrainOptions &
  GeneratorResumeOptions & {
    normal: readonly VideoFeatures[];
    anomalous: readonly VideoFeatures[];
    test?: GeneratorTestSet;
    signal?: AbortSignal;
    onProgress?: (p: TrainProgress) => void;
  };

export interface TrainGeneratorResult {
  /** The generator at the best evaluated step (the last step when there is no test set). */
  model: MilGenerator;
  options: ResolvedGeneratorTrainOptions;
  history: HistoryEntry[];
  best?: { step: number; evaluation: Evaluation };
  /** Where the best weights were written (options.checkpoint), if asked. */
  checkpoint?: string;
  /** The step training started from (0, or the checkpoint's when resumed). */
  resumedFrom: number;
  /** The run's folder (options.checkpointDir), if given. */
  checkpointDir?: string;
}

/** The name of the training checkpoint in checkpointDir. */
export const GENERATOR_TRAINING_CHECKPOINT = 'last.pt';

type Best = NonNullable<TrainGeneratorResult['best']>;
type Meta = TrainingMeta<HistoryEntry, Best>;

/** Scores every test video with the model and evaluates the frame-level metrics. Async. */
export async function evaluateGenerator(
  model: MilGenerator,
  test: GeneratorTestSet,
  options: { l2Normalize: boolean; crop?: 'mean' | number },
): Promise<Evaluation> {
  const scores = new Map<string, Float32Array>();
  for (const v of test.videos) {
    scores.set(v.name, await scoreClips(model, v.features, { l2Normalize: options.l2Normalize, crop: options.crop }));
  }
  return evaluate({
    scores,
    groundTruth: test.groundTruth,
    scoreLayout: test.scoreLayout ?? 'clips',
    onMissing: 'skip',
  });
}

/** A batch's videos in a message: the first few and how many more. */
function batchWords(names: readonly string[]): string {
  const shown = names.slice(0, 4).join(', ');
  return names.length > 4 ? `${shown} and ${names.length - 4} more` : shown;
}

/**
 * Trains the stage-1 generator. Async; runs `steps` native steps with progress and an
 * AbortSignal; every `evalEvery` steps (and at the end) it scores the test set and keeps the
 * weights with the best frame AUC (written to `checkpoint` when given, atomically). With a
 * `checkpointDir`, a training checkpoint goes there every `saveEvery` steps, at the end and
 * when aborted, and `resume: true` continues from it. Returns the best model and the metric
 * history. Throws ERR_MIST_ARG for bad options or a checkpoint of another run (saying what
 * differs), ERR_MIST_TORCH for a step whose loss or gradient is not finite (not applied; the
 * message names the step and its videos), ERR_MIST_ABORTED when aborted (the training
 * checkpoint is written first; the message says where).
 */
export async function trainGenerator(options: TrainGeneratorOptions): Promise<TrainGeneratorResult> {
  if (typeof options !== 'object' || options === null) {
    throw new MistError(
      ErrorCode.ARG,
      `trainGenerator needs an options object (got ${options === null ? 'null' : typeof options})`,
    );
  }
  const { normal, anomalous, test, signal, onProgress, checkpointDir, resume, saveEvery, ...rest } = options;
  const r = parseOptions(
    GeneratorResumeOptionsSchema,
    { checkpointDir, resume, saveEvery },
    'generator training options',
  );
  const o = resolveGeneratorTrainOptions(rest);
  if (!Array.isArray(normal) || !Array.isArray(anomalous)) {
    throw new MistError(ErrorCode.ARG, 'trainGenerator needs `normal` and `anomalous` arrays of video features');
  }
  if (r.resume && r.checkpointDir === undefined) {
    throw new MistError(ErrorCode.ARG, 'resume: true needs the checkpointDir of the run to continue');
  }
  const samplerOptions = {
    batchSize: o.batchSize,
    L: o.L,
    T: o.T,
    l2Normalize: o.l2Normalize,
    crop: o.crop,
    reuseBuffers: true,
  };
  // Checks every video's shape (and D) before anything is written.
  let sampler: BatchSampler = createBatchSampler(normal, anomalous, samplerOptions, createRng(o.seed));
  const first = normal[0]!.features.shape;
  const dim = first[first.length - 1]!;
  if (dim !== o.featureDim) {
    throw new MistError(ErrorCode.SHAPE, `features have D = ${dim} but the options say featureDim = ${o.featureDim}`);
  }
  const every = r.saveEvery ?? Math.min(o.evalEvery, 100);
  const lastPath = r.checkpointDir !== undefined ? join(r.checkpointDir, GENERATOR_TRAINING_CHECKPOINT) : undefined;
  const run = lastPath ? describeRun(o, normal, anomalous, test) : undefined;
  if (r.checkpointDir !== undefined) {
    mkdirSync(r.checkpointDir, { recursive: true });
    removeStaleTemporaries(r.checkpointDir, [GENERATOR_TRAINING_CHECKPOINT]);
  }
  if (o.checkpoint !== undefined) removeStaleTemporaries(dirname(o.checkpoint), [basename(o.checkpoint)]);
  const training = { dropout: o.dropout, seed: o.seed, lr: o.lr, weightDecay: o.weightDecay, gradClip: o.gradClip };
  const model = MilGenerator.create({ featureDim: dim, ...training, device: o.device });
  let history: HistoryEntry[] = [];
  let best: TrainGeneratorResult['best'];
  let start = 0;
  let saved = -1;
  const save = async (step: number): Promise<void> => {
    const meta: Meta = {
      format: TRAINING_FORMAT,
      version: TRAINING_VERSION,
      run: run!,
      step,
      sampler: sampler.state(),
      history,
      ...(best ? { best } : {}),
    };
    await model.saveTraining(lastPath!, encodeExactJson(meta));
    saved = step;
  };
  const t0 = performance.now();
  try {
    if (r.resume && existsSync(lastPath!)) {
      // The meta is checked before anything is restored.
      const meta = decodeExactJson(await model.trainingMeta(lastPath!)) as Partial<Meta> | null;
      if (meta?.format !== TRAINING_FORMAT || meta.version !== TRAINING_VERSION || !meta.run || !meta.sampler) {
        throw new MistError(ErrorCode.ARG, `${lastPath} is not a stage-1 training checkpoint of this version`);
      }
      const differ = runDifferences(meta.run, run!);
      if (differ.length > 0) {
        throw new MistError(
          ErrorCode.ARG,
          `${lastPath} is the checkpoint of another run: ${differ.join('; ')}; resume with the run's options and data, or remove it or choose another checkpointDir`,
        );
      }
      await model.restoreTraining(lastPath!);
      if (meta.step !== model.describe().steps || meta.history?.length !== meta.step) {
        throw new MistError(ErrorCode.ARG, `${lastPath}: its step counts disagree (a damaged checkpoint)`);
      }
      sampler = resumeBatchSampler(normal, anomalous, samplerOptions, meta.sampler);
      start = meta.step;
      history = meta.history;
      best = meta.best;
      saved = start;
    }
    for (let step = start + 1; step <= o.steps; step++) {
      if (signal?.aborted) throw await aborted(step - 1);
      const batch = sampler.next();
      let t;
      try {
        t = await model.trainStep(batch, {
          lossVariant: o.lossVariant,
          k: o.k,
          L: o.L,
          lambdaSparsity: o.lambdaSparsity,
          lambdaSmoothness: o.lambdaSmoothness,
        });
      } catch (e) {
        const hint =
          e instanceof MistError && /not finite/.test(e.message)
            ? '; lower the learning rate or check the features for huge or non-finite values'
            : '';
        const err = withContext(e, `step ${step} of ${o.steps} (videos ${batchWords(batch.names)})`);
        if (err instanceof Error) err.message += hint;
        throw err;
      }
      const entry: HistoryEntry = {
        step,
        loss: t.loss,
        rank: t.rank,
        sparsity: t.sparsity,
        smoothness: t.smoothness,
        gradNorm: t.gradNorm,
      };
      let evaluation: Evaluation | undefined;
      if (test && (step % o.evalEvery === 0 || step === o.steps)) {
        evaluation = await evaluateGenerator(model, test, { l2Normalize: o.l2Normalize, crop: o.crop });
        entry.auc = evaluation.auc;
        entry.far = evaluation.far;
        entry.ap = evaluation.ap;
        if (!best || evaluation.auc > best.evaluation.auc) {
          best = { step, evaluation };
          await model.keepBest();
          if (o.checkpoint) await model.save(o.checkpoint);
        }
      }
      history.push(entry);
      const checkpoint = lastPath && (step % every === 0 || step === o.steps) ? lastPath : undefined;
      if (checkpoint) await save(step);
      onProgress?.({
        step,
        steps: o.steps,
        loss: t.loss,
        evaluation,
        ...(checkpoint ? { checkpoint } : {}),
        elapsedMs: performance.now() - t0,
      });
    }
    if (best && best.step !== o.steps) {
      await model.useBest();
    } else if (!test && o.checkpoint) {
      await model.save(o.checkpoint);
    }
    return {
      model,
      options: o,
      history,
      best,
      checkpoint: o.checkpoint,
      resumedFrom: start,
      ...(r.checkpointDir !== undefined ? { checkpointDir: r.checkpointDir } : {}),
    };
  } catch (e) {
    // Keep the best weights a crash or an abort would otherwise lose.
    const abort = (e as { code?: string } | undefined)?.code === ErrorCode.ABORTED;
    // (An abort with a checkpointDir has them in its training checkpoint.)
    if (best && o.checkpoint === undefined && !(abort && lastPath)) {
      const keep = join(tmpdir(), `mist-generator-best-${process.pid}.pt`);
      try {
        await model.saveBest(keep);
        if (e instanceof Error) e.message += ` (best weights so far, step ${best.step}: ${keep})`;
      } catch {
        // nothing to keep
      }
    }
    if (lastPath && saved >= 0 && e instanceof Error && !abort) {
      e.message += ` (the training checkpoint ${lastPath} holds step ${saved})`;
    }
    model.dispose();
    throw e;
  }

  /** The error of an abort after `done` steps, the training checkpoint written first. */
  async function aborted(done: number): Promise<MistError> {
    if (!lastPath) return new MistError(ErrorCode.ABORTED, `training aborted after step ${done} of ${o.steps}`);
    try {
      if (saved !== done) await save(done);
    } catch (e) {
      return new MistError(
        ErrorCode.ABORTED,
        `training aborted after step ${done} of ${o.steps}, and its training checkpoint could not be written: ${(e as Error).message}`,
        { cause: e },
      );
    }
    return new MistError(
      ErrorCode.ABORTED,
      `training aborted after step ${done} of ${o.steps}; ${lastPath} holds it: run again with resume: true to continue`,
    );
  }
}
