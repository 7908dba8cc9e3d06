// trainGenerator(): MIST stage 1 end to end. Balanced MIL batches of sparse continuous
// sub-bags, native training steps, periodic frame-level evaluation, the best checkpoint kept.
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ErrorCode, MistError, throwIfAborted } from '../errors.js';
import { evaluate, type Evaluation } from '../eval/evaluate.js';
import type { GroundTruth } from '../eval/groundtruth.js';
import { MilGenerator } from '../models/generator.js';
import { createRng } from '../rng.js';
import { createBatchSampler } from './batch.js';
import {
  resolveGeneratorTrainOptions,
  type GeneratorTrainOptions,
  type ResolvedGeneratorTrainOptions,
} from './presets.js';
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

export type TrainGeneratorOptions = GeneratorTrainOptions & {
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
}

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

/**
 * Trains the stage-1 generator. Async; runs `steps` native steps with progress and an
 * AbortSignal; every `evalEvery` steps (and at the end) it scores the test set and keeps the
 * weights with the best frame AUC (written to `checkpoint` when given, atomically). Returns
 * the best model and the metric history. Throws ERR_MIST_ARG for bad options,
 * ERR_MIST_ABORTED when aborted (the best checkpoint so far stays on disk).
 */
export async function trainGenerator(options: TrainGeneratorOptions): Promise<TrainGeneratorResult> {
  const { normal, anomalous, test, signal, onProgress, ...rest } = options;
  const o = resolveGeneratorTrainOptions(rest);
  if (!Array.isArray(normal) || !Array.isArray(anomalous)) {
    throw new MistError(ErrorCode.ARG, 'trainGenerator needs `normal` and `anomalous` arrays of video features');
  }
  const rng = createRng(o.seed);
  const sampler = createBatchSampler(
    normal,
    anomalous,
    { batchSize: o.batchSize, L: o.L, T: o.T, l2Normalize: o.l2Normalize, crop: o.crop, reuseBuffers: true },
    rng,
  );
  const first = normal[0]!.features.shape;
  const dim = first[first.length - 1]!;
  if (dim !== o.featureDim) {
    throw new MistError(ErrorCode.SHAPE, `features have D = ${dim} but the options say featureDim = ${o.featureDim}`);
  }
  const training = { dropout: o.dropout, seed: o.seed, lr: o.lr, weightDecay: o.weightDecay, gradClip: o.gradClip };
  const model = MilGenerator.create({ featureDim: dim, ...training, device: o.device });
  const scratch = mkdtempSync(join(tmpdir(), 'mist-gen-'));
  const bestPath = join(scratch, 'best.pt');
  const history: HistoryEntry[] = [];
  let best: TrainGeneratorResult['best'];
  const t0 = performance.now();
  try {
    for (let step = 1; step <= o.steps; step++) {
      throwIfAborted(signal);
      const batch = sampler.next();
      const t = await model.trainStep(batch, {
        lossVariant: o.lossVariant,
        k: o.k,
        L: o.L,
        lambdaSparsity: o.lambdaSparsity,
        lambdaSmoothness: o.lambdaSmoothness,
      });
      if (!Number.isFinite(t.loss)) {
        throw new MistError(ErrorCode.TORCH, `the loss became ${t.loss} at step ${step}; lower the learning rate`);
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
          await model.save(bestPath);
          if (o.checkpoint) await model.save(o.checkpoint);
        }
      }
      history.push(entry);
      onProgress?.({ step, steps: o.steps, loss: t.loss, evaluation, elapsedMs: performance.now() - t0 });
    }
    let result = model;
    if (best && best.step !== o.steps) {
      result = await MilGenerator.load(bestPath, { ...training, device: model.device });
      model.dispose();
    } else if (!test && o.checkpoint) {
      await model.save(o.checkpoint);
    }
    return { model: result, options: o, history, best, checkpoint: o.checkpoint };
  } catch (e) {
    // Keep the best weights a crash or an abort would otherwise lose.
    if (best && o.checkpoint === undefined) {
      const keep = join(tmpdir(), `mist-generator-best-${process.pid}.pt`);
      try {
        renameSync(bestPath, keep);
        if (e instanceof Error) e.message += ` (best weights so far, step ${best.step}: ${keep})`;
      } catch {
        // nothing to keep
      }
    }
    model.dispose();
    throw e;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
