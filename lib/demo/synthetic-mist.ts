// The whole of MIST on a synthetic surveillance set the package makes itself (real video files
// through ffmpeg, known anomalous intervals): features of an untrained encoder, stage 1 on
// them, pseudo labels, stage 2 fine-tuning the encoder on the videos, and the frame AUC of the
// test videos before and after. Small enough for a CPU: a narrow C3D at 32 x 32.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { z } from 'zod';

import { readVideoManifest, type VideoManifest } from '../data/manifest.js';
import type { VideoFeatures } from '../data/types.js';
import { ErrorCode, MistError } from '../errors.js';
import { evaluate, type Evaluation } from '../eval/evaluate.js';
import { manifestGroundTruth } from '../eval/groundtruth.js';
import { SgaEncoder } from '../models/encoder.js';
import { parseOptions } from '../options.js';
import { generatePseudoLabels } from '../stage1/scoring.js';
import { trainGenerator } from '../stage1/train.js';
import { extractFeatures } from '../selftrain/extract.js';
import { finetuneEncoder, type FinetuneProgress } from '../stage2/finetune.js';
import { makeSyntheticVideos } from '../stage2/synthetic-videos.js';

/** Options of runSyntheticMist(). */
export const SyntheticMistOptionsSchema = z.strictObject({
  /** Working folder: the videos, checkpoints. */
  dir: z.string().min(1),
  seed: z
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(0),
  /** Videos of each label (train) and test videos of each label. */
  videos: z.int().min(2).max(256).default(16),
  testVideos: z.int().min(1).max(256).default(12),
  /** Fixed cameras the videos share (see makeSyntheticVideos). */
  scenes: z.int().min(1).max(1000).default(3),
  frames: z.tuple([z.int().min(48), z.int().min(48)]).default([96, 160]),
  /** Stage-1 steps and stage-2 epochs. */
  steps: z.int().positive().default(300),
  epochs: z.int().positive().default(60),
  width: z
    .number()
    .positive()
    .max(1)
    .default(1 / 8),
  side: z.int().min(32).max(112).default(32),
  lr: z.number().positive().default(1e-3),
  /** Stage-2 epochs with the backbone frozen (the SGA branch and head train first). */
  freezeBackboneEpochs: z.int().min(0).default(0),
  /** Videos of each class per stage-2 step (small: more updates per epoch on a small set). */
  videosPerStep: z.int().positive().default(4),
  frameCacheMb: z.number().min(0).default(512),
  /** Dropout before the main head (the paper's 0.8 is for D = 4096 / 1024 features). */
  dropout: z.number().min(0).lt(1).default(0.5),
  /** The untrained encoder's initialisation (see SgaEncoderOptions.init). */
  init: z.enum(['pytorch', 'kaiming']).default('pytorch'),
  /** L2-normalise the features for stage 1 (off: their magnitude, which carries motion energy, stays). */
  l2Normalize: z.boolean().default(false),
});
/** Options of runSyntheticMist(), as callers pass them. */
export type SyntheticMistOptions = z.input<typeof SyntheticMistOptionsSchema>;

/** What runSyntheticMist() returns. */
export interface SyntheticMistResult {
  seed: number;
  /** The untrained encoder's own scores (its random head). */
  untrained: Evaluation;
  /** Stage 1: the generator trained on the untrained encoder's features. */
  stage1: Evaluation;
  /** Stage 2: the fine-tuned encoder's scores after the last epoch (no model selection). */
  finetuned: Evaluation;
  seconds: { videos: number; stage1: number; stage2: number; total: number };
}

/**
 * Runs MIST end to end on a synthetic set. Async. Throws what its stages throw.
 */
export async function runSyntheticMist(
  options: SyntheticMistOptions,
  onProgress?: (p: FinetuneProgress) => void,
): Promise<SyntheticMistResult> {
  const o = parseOptions(SyntheticMistOptionsSchema, options, 'synthetic MIST options');
  const t0 = performance.now();
  const dir = join(o.dir, `seed-${o.seed}`);
  mkdirSync(dir, { recursive: true });
  const made = await makeSyntheticVideos(join(dir, 'videos'), {
    seed: o.seed,
    normal: o.videos,
    anomalous: o.videos,
    testNormal: o.testVideos,
    testAnomalous: o.testVideos,
    frames: o.frames,
    scenes: o.scenes,
  });
  const manifest: VideoManifest = { ...readVideoManifest(made.manifestPath), dataset: 'synthetic' };
  const tVideos = performance.now();
  const model = { width: o.width, inputSize: [16, o.side, o.side] as const, init: o.init };
  const encoder = SgaEncoder.create({ backbone: 'c3d', ...model, seed: o.seed, dropout: o.dropout });
  const all = await extractFeatures(manifest.videos, encoder);
  const groundTruth = manifestGroundTruth(manifest, new Map(all.map((v) => [v.name, v.frames])));
  const isTest = new Set(manifest.videos.filter((v) => v.split === 'test').map((v) => v.name));
  const label = new Map(manifest.videos.map((v) => [v.name, v.label]));
  const untrained = evaluate({
    scores: new Map(all.filter((v) => isTest.has(v.name)).map((v) => [v.name, v.scores])),
    groundTruth,
  });
  // One scale for every feature, from the training videos: the untrained encoder's features
  // have norms in the hundreds (C3D's input is mean-subtracted, not scaled), which saturates
  // the generator; dividing by their mean norm keeps the relative magnitudes (motion energy)
  // that L2 normalisation would remove.
  let sum = 0;
  let rows = 0;
  for (const v of all.filter((x) => !isTest.has(x.name))) {
    for (let c = 0; c < v.clips; c++) {
      let s = 0;
      for (let d = 0; d < v.featureDim; d++) s += v.features[c * v.featureDim + d]! ** 2;
      sum += Math.sqrt(s);
      rows++;
    }
  }
  const scale = o.l2Normalize ? 1 : rows / sum;
  const feats = (pick: (name: string) => boolean): VideoFeatures[] =>
    all
      .filter((v) => pick(v.name))
      .map((v) => ({
        name: v.name,
        features: { data: v.features.map((x) => x * scale), shape: [v.clips, v.featureDim] },
      }));
  const trainNormal = feats((n) => !isTest.has(n) && label.get(n) === 'normal');
  const trainAnomalous = feats((n) => !isTest.has(n) && label.get(n) === 'anomalous');
  const minClips = Math.min(...all.map((v) => v.clips));
  if (minClips < 3) throw new MistError(ErrorCode.ARG, 'every synthetic video needs at least 48 frames');
  const stage1 = await trainGenerator({
    L: Math.min(8, minClips),
    T: 1,
    k: 2,
    lambdaSparsity: 0.01,
    lambdaSmoothness: 0,
    batchSize: o.videos,
    lr: 0.01,
    weightDecay: 0.001,
    gradClip: 10,
    steps: o.steps,
    evalEvery: o.steps,
    featureDim: encoder.featureDim,
    l2Normalize: o.l2Normalize,
    dropout: 0.6,
    seed: o.seed,
    normal: trainNormal,
    anomalous: trainAnomalous,
    test: { videos: feats((n) => isTest.has(n)), groundTruth, scoreLayout: 'clips' },
  });
  const pseudoLabels = await generatePseudoLabels(
    stage1.model,
    trainAnomalous.map((v) => ({ ...v, anomalous: true })),
    { l2Normalize: o.l2Normalize },
  );
  stage1.model.dispose();
  const tStage1 = performance.now();
  const r = await finetuneEncoder({
    preset: 'shanghaitech-c3d',
    encoder,
    epochs: o.epochs,
    videosPerClass: o.videosPerStep,
    freezeBackboneEpochs: o.freezeBackboneEpochs,
    warmupEpochs: Math.min(5, o.epochs),
    lr: o.lr,
    evalEvery: o.epochs,
    seed: o.seed,
    model,
    videos: manifest,
    pseudoLabels,
    test: manifest,
    checkpointDir: join(dir, 'checkpoints'),
    frameCacheMb: o.frameCacheMb,
    ...(onProgress ? { onProgress } : {}),
  });
  const finetuned = r.history[r.history.length - 1]!.evaluation!;
  r.encoder.dispose();
  const t1 = performance.now();
  return {
    seed: o.seed,
    untrained,
    stage1: stage1.best!.evaluation,
    finetuned,
    seconds: {
      videos: (tVideos - t0) / 1000,
      stage1: (tStage1 - tVideos) / 1000,
      stage2: (t1 - tStage1) / 1000,
      total: (t1 - t0) / 1000,
    },
  };
}
