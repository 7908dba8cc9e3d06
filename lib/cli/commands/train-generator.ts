// `mist train-generator` (alias `mist train`): stage 1 from feature files on disk, a split list
// and (optionally) a test set, with the options from a preset, flags or a JSON config.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { z } from 'zod';

import { writePseudoLabels } from '../../data/pseudo-labels.js';
import { ErrorCode, MistError } from '../../errors.js';
import { loadShanghaiTechGroundTruth, loadUcfCrimeGroundTruth } from '../../eval/groundtruth.js';
import {
  GeneratorHyperparametersSchema,
  GeneratorTrainOptionsSchema,
  PRESET_NAMES,
  resolveGeneratorTrainOptions,
  type GeneratorTrainOptions,
} from '../../stage1/presets.js';
import { generatePseudoLabels } from '../../stage1/scoring.js';
import {
  GENERATOR_TRAINING_CHECKPOINT,
  GeneratorResumeOptionsSchema,
  trainGenerator,
  type GeneratorTestSet,
} from '../../stage1/train.js';
import { flagHelp, numberFlag, required, type FlagSpecs } from '../args.js';
import type { Command } from '../command.js';
import { DEVICE_FLAG } from '../encoder.js';
import { FEATURES_FLAG, loadSplit, openFeatures } from '../features.js';
import { progressBar, type ProgressBar } from '../progress.js';
import { commandArgs, emit, fixed, interruptible, readConfig } from '../run.js';

const H = GeneratorHyperparametersSchema.shape;
const T = GeneratorTrainOptionsSchema.shape;
const R = GeneratorResumeOptionsSchema.shape;
const path = z.string().min(1, { error: 'must be a path' });
const FLAGS = {
  preset: { schema: T.preset, arg: 'NAME', help: `${PRESET_NAMES.join(' | ')} (or the config's preset)` },
  features: FEATURES_FLAG,
  train: {
    schema: required(path),
    arg: 'LIST',
    help: 'training split: Anomaly_Train.txt, SH_Train*.txt (name,label) or an RTFM .list',
  },
  test: {
    schema: path.optional(),
    arg: 'LIST',
    help: 'test split, scored every --eval-every steps (needs --masks for ShanghaiTech)',
  },
  masks: { schema: path.optional(), arg: 'DIR', help: 'ShanghaiTech test_frame_mask folder' },
  layout: {
    schema: z.enum(['clips', 'segments']).optional(),
    arg: 'clips|segments',
    help: "test features: one per 16-frame clip (default) or Sultani's 32 segments",
  },
  config: {
    schema: path.optional(),
    arg: 'FILE',
    help: 'JSON with the training options: preset, any hyper-parameter (L, T, k, lr, steps, ...), lossVariant, seed, crop (flags win)',
  },
  steps: { schema: numberFlag(H.steps).optional(), arg: 'N', help: "override the preset's step count" },
  'eval-every': { schema: numberFlag(H.evalEvery).optional(), arg: 'N', help: 'steps between evaluations' },
  'batch-size': {
    schema: numberFlag(H.batchSize).optional(),
    arg: 'N',
    help: 'videos of each class per step (preset: 40)',
  },
  loss: {
    schema: T.lossVariant.unwrap().optional(),
    arg: 'topk|subbag',
    help: 'bag score: mean of top-k (released code, default) or max sub-bag mean (paper)',
  },
  seed: {
    schema: numberFlag(T.seed.unwrap()).optional(),
    arg: 'N',
    help: 'seeds the weights, dropout and sampling (default 0)',
  },
  device: { ...DEVICE_FLAG, help: 'where to train (default: CUDA when available)' },
  out: {
    schema: path.default('mist-train'),
    arg: 'DIR',
    help: 'the run folder: generator.pt, last.pt, history.json, pseudo-labels.json (default mist-train)',
  },
  resume: { schema: z.boolean().optional(), switch: true, help: 'continue the run in --out from its last.pt' },
  'save-every': {
    schema: numberFlag(R.saveEvery.unwrap()).optional(),
    arg: 'N',
    help: 'steps between training checkpoints (default: every evaluation, at least every 100 steps)',
  },
  json: { schema: z.boolean().optional(), switch: true, help: 'one JSON line per step and the result' },
  help: { schema: z.boolean().optional(), switch: true, help: 'this text' },
} satisfies FlagSpecs;

export const TRAIN_USAGE = flagHelp(
  'mist train-generator --preset NAME --features DIR|FILE.h5 --train LIST [options]\n\n' +
    'Trains the stage-1 pseudo-label generator (also: mist train). A training checkpoint, --out/last.pt,\n' +
    'is written every --save-every steps and on Ctrl-C; --resume continues from it.',
  FLAGS,
);

/** The stage-1 options a config file may hold (the rest come from flags). */
const ConfigSchema = GeneratorHyperparametersSchema.partial()
  .extend({
    preset: T.preset,
    lossVariant: T.lossVariant.unwrap().optional(),
    seed: T.seed.unwrap().optional(),
    crop: T.crop.unwrap().optional(),
  })
  .strict();

const defined = <O extends object>(o: O): Partial<O> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<O>;

/** Runs `mist train-generator` with its command-line arguments. Async. */
async function run(argv: string[]): Promise<void> {
  const args = commandArgs('train-generator', argv, FLAGS, TRAIN_USAGE);
  if (!args) return;
  const f = args.flags;
  const config = f.config ? readConfig(f.config, ConfigSchema) : {};
  if (!f.preset && !config.preset && !f.config) {
    throw new MistError(
      ErrorCode.ARG,
      'invalid flags of mist train-generator: --preset: is required (or a --config with preset or every hyper-parameter)',
    );
  }
  const options: GeneratorTrainOptions = {
    ...config,
    ...defined({
      preset: f.preset,
      steps: f.steps,
      evalEvery: f['eval-every'],
      batchSize: f['batch-size'],
      seed: f.seed,
      lossVariant: f.loss,
      device: f.device,
    }),
  };
  // Every option checked, and the preset merged, before any file is read.
  const resolved = resolveGeneratorTrainOptions(options);
  const preset = resolved.preset;
  const dataset = preset ? preset.slice(0, preset.lastIndexOf('-')) : f.masks ? 'shanghaitech' : 'ucf-crime';
  if (f.test && dataset === 'shanghaitech' && !f.masks) {
    throw new MistError(
      ErrorCode.ARG,
      'invalid flags of mist train-generator: --masks: is required with a ShanghaiTech --test',
    );
  }
  const lastPath = join(f.out, GENERATOR_TRAINING_CHECKPOINT);
  if (existsSync(lastPath) && !f.resume) {
    throw new MistError(ErrorCode.ARG, `${lastPath} holds a run: --resume continues it, or choose another --out`);
  }
  const source = await openFeatures(f.features);
  try {
    const train = await loadSplit(f.train, source);
    let test: GeneratorTestSet | undefined;
    if (f.test) {
      const videos = await loadSplit(f.test, source);
      const groundTruth =
        dataset === 'ucf-crime' ? loadUcfCrimeGroundTruth() : loadShanghaiTechGroundTruth({ masks: f.masks! });
      test = { videos, groundTruth, ...(f.layout ? { scoreLayout: f.layout } : {}) };
    }
    mkdirSync(f.out, { recursive: true });
    const checkpoint = join(f.out, 'generator.pt');
    let bar: ProgressBar | undefined;
    let lastAuc = '';
    let at = 0;
    const r = await interruptible(
      (signal) =>
        trainGenerator({
          ...options,
          checkpoint,
          checkpointDir: f.out,
          resume: f.resume ?? false,
          ...(f['save-every'] !== undefined ? { saveEvery: f['save-every'] } : {}),
          normal: train.filter((v) => !v.anomalous),
          anomalous: train.filter((v) => v.anomalous),
          test,
          signal,
          onProgress: (p) => {
            at = p.step;
            if (f.json) {
              emit('progress', p);
              return;
            }
            bar ??= progressBar('training', p.steps);
            if (p.evaluation) lastAuc = ` AUC ${p.evaluation.auc.toFixed(4)}`;
            bar.update(p.step, `loss ${p.loss.toFixed(3)}${lastAuc}`);
          },
        }),
      (e) =>
        // The training checkpoint is written on the way out (the API says when it could not be).
        /could not be written/.test(e.message)
          ? e.message
          : `stopped after step ${/after step (\d+)/.exec(e.message)?.[1] ?? at} of ${resolved.steps}; ${lastPath} holds it: rerun with --resume to continue`,
    );
    // Without a terminal the update at the last step was the last line already.
    if (process.stderr.isTTY) bar?.finish(lastAuc);
    if (!test) await r.model.save(checkpoint);
    const anomalous = train.filter((v) => v.anomalous);
    const pls = await generatePseudoLabels(r.model, anomalous, {
      l2Normalize: r.options.l2Normalize,
      crop: r.options.crop,
    });
    const plPath = join(f.out, 'pseudo-labels.json');
    await writePseudoLabels(plPath, pls, {
      dataset,
      featureKind: preset ? preset.slice(preset.lastIndexOf('-') + 1) : `${resolved.featureDim}-d`,
      source: `mist train-generator${preset ? ` --preset ${preset}` : ''}, seed ${resolved.seed}, ${checkpoint}`,
    });
    const bestOut = r.best && {
      step: r.best.step,
      auc: r.best.evaluation.auc,
      far: r.best.evaluation.far,
      ap: r.best.evaluation.ap,
    };
    writeFileSync(
      join(f.out, 'history.json'),
      `${JSON.stringify({ options: r.options, best: bestOut, history: r.history }, null, 2)}\n`,
    );
    r.model.dispose();
    if (f.json) {
      emit('result', {
        checkpoint,
        pseudoLabels: plPath,
        history: join(f.out, 'history.json'),
        videos: pls.size,
        steps: r.history.length,
        resumedFrom: r.resumedFrom,
        ...(bestOut ? { best: bestOut } : {}),
      });
      return;
    }
    if (r.resumedFrom > 0) console.log(`resumed from step ${r.resumedFrom}`);
    if (r.best)
      console.log(
        `best frame AUC ${r.best.evaluation.auc.toFixed(4)} at step ${r.best.step} (FAR ${fixed(r.best.evaluation.far)})`,
      );
    console.log(`wrote ${checkpoint}, ${plPath} (${pls.size} videos), history.json`);
  } finally {
    source.close();
  }
}

export const trainGeneratorCommand: Command = {
  summary: 'train the stage-1 pseudo-label generator on feature files (trainGenerator)',
  run,
};
