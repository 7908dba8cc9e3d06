// `mist train`: stage 1 from feature files on disk, a split list and (optionally) a test set.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';

import { z } from 'zod';

import { readC3dTxt, readCropFeatures, readFeatures, type FeatureArray } from '../../data/features.js';
import { openFeatureStore, type FeatureStore } from '../../data/hdf5.js';
import { readRtfmList, readShanghaiTechList, readUcfCrimeList, type VideoEntry } from '../../data/lists.js';
import { ErrorCode, MistError } from '../../errors.js';
import { loadShanghaiTechGroundTruth, loadUcfCrimeGroundTruth } from '../../eval/groundtruth.js';
import { progressBar } from '../progress.js';
import { DeviceSchema } from '../../device.js';
import { GeneratorHyperparametersSchema, GeneratorTrainOptionsSchema, PRESET_NAMES } from '../../stage1/presets.js';
import { writePseudoLabels } from '../../data/pseudo-labels.js';
import { generatePseudoLabels } from '../../stage1/scoring.js';
import { trainGenerator, type GeneratorTestSet } from '../../stage1/train.js';
import { flagHelp, numberFlag, parseFlags, required } from '../args.js';
import type { Command } from '../command.js';
import type { VideoFeatures } from '../../data/types.js';

const H = GeneratorHyperparametersSchema.shape;
const T = GeneratorTrainOptionsSchema.shape;
const path = z.string().min(1, { error: 'must be a path' });
const FLAGS = {
  preset: { schema: required(T.preset.unwrap()), arg: 'NAME', help: PRESET_NAMES.join(' | ') },
  features: {
    schema: required(path),
    arg: 'PATH',
    help: 'a folder of <video>.npy / <video>__<k>.npy / <video>.txt, or an HDF5 store',
  },
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
  steps: { schema: numberFlag(H.steps).optional(), arg: 'N', help: "override the preset's step count" },
  'eval-every': { schema: numberFlag(H.evalEvery).optional(), arg: 'N', help: 'steps between evaluations' },
  'batch-size': {
    schema: numberFlag(H.batchSize).optional(),
    arg: 'N',
    help: 'videos of each class per step (preset: 40)',
  },
  loss: {
    schema: T.lossVariant,
    arg: 'topk|subbag',
    help: 'bag score: mean of top-k (released code, default) or max sub-bag mean (paper)',
  },
  seed: {
    schema: numberFlag(T.seed.unwrap()).optional(),
    arg: 'N',
    help: 'seeds the weights, dropout and sampling (default 0)',
  },
  device: {
    schema: DeviceSchema.optional(),
    arg: 'cpu|cuda|cuda:N',
    help: 'where to train (default: CUDA when available)',
  },
  out: {
    schema: path.default('mist-train'),
    arg: 'DIR',
    help: 'where generator.pt, history.json, pseudo-labels.json go (default mist-train)',
  },
  help: { schema: z.boolean().optional(), switch: true, help: 'this text' },
};

export const TRAIN_USAGE = flagHelp('mist train --preset NAME --features DIR|FILE.h5 --train LIST [options]', FLAGS);

function readList(path: string): VideoEntry[] {
  const text = path.toLowerCase();
  if (text.endsWith('.list')) return readRtfmList(path);
  if (/anomaly_(train|test)/.test(text)) return readUcfCrimeList(path);
  return readShanghaiTechList(path);
}

/** Finds and reads one video's features in a folder or an HDF5 store. Async. */
async function loadVideo(source: string, store: FeatureStore | undefined, name: string): Promise<FeatureArray> {
  if (store) return store.read(name);
  for (const candidate of [`${name}.npy`, `${name}_i3d.npy`, `${name}.txt`]) {
    const p = join(source, candidate);
    if (existsSync(p)) return extname(p) === '.txt' ? readC3dTxt(p) : await readFeatures(p);
  }
  if (existsSync(join(source, `${name}__0.npy`))) return readCropFeatures(join(source, name));
  throw new MistError(
    ErrorCode.IO,
    `no features for ${name} in ${source} (looked for ${name}.npy, ${name}__0.npy, ${name}.txt)`,
  );
}

async function loadSplit(list: string, source: string, store: FeatureStore | undefined) {
  const seen = new Set<string>();
  const videos: (VideoFeatures & { anomalous: boolean })[] = [];
  for (const e of readList(list)) {
    if (seen.has(e.name)) continue;
    seen.add(e.name);
    // RTFM's UCF-Crime lists mark only the normal videos by name; the rest are anomalous.
    if (e.label === undefined && /_x264$/.test(e.name)) e.label = 1;
    if (e.label === undefined) {
      throw new MistError(ErrorCode.ARG, `${list}: no video label for ${e.name} (use a name,label list)`);
    }
    videos.push({ name: e.name, features: await loadVideo(source, store, e.name), anomalous: e.label === 1 });
  }
  return videos;
}

/** Runs `mist train` with its command-line arguments. Async. */
async function run(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    console.log(TRAIN_USAGE);
    return;
  }
  const f = parseFlags('train', argv, FLAGS);
  const preset = f.preset;
  const source = f.features;
  if (!existsSync(source)) throw new MistError(ErrorCode.IO, `--features ${source} does not exist`);
  const store = statSync(source).isFile() ? await openFeatureStore(source) : undefined;
  try {
    const train = await loadSplit(f.train, source, store);
    let test: GeneratorTestSet | undefined;
    if (f.test) {
      const videos = await loadSplit(f.test, source, store);
      const groundTruth = preset.startsWith('ucf-crime')
        ? loadUcfCrimeGroundTruth()
        : loadShanghaiTechGroundTruth({ masks: f.masks ?? '' });
      test = { videos, groundTruth, scoreLayout: f.layout };
    }
    mkdirSync(f.out, { recursive: true });
    const checkpoint = join(f.out, 'generator.pt');
    let bar: ReturnType<typeof progressBar> | undefined;
    let lastAuc = '';
    const r = await trainGenerator({
      preset,
      steps: f.steps,
      evalEvery: f['eval-every'],
      batchSize: f['batch-size'],
      seed: f.seed,
      lossVariant: f.loss,
      device: f.device,
      checkpoint,
      normal: train.filter((v) => !v.anomalous),
      anomalous: train.filter((v) => v.anomalous),
      test,
      onProgress: (p) => {
        bar ??= progressBar('training', p.steps);
        if (p.evaluation) lastAuc = ` AUC ${p.evaluation.auc.toFixed(4)}`;
        bar.update(p.step, `loss ${p.loss.toFixed(3)}${lastAuc}`);
      },
    });
    bar?.finish(lastAuc);
    if (!test) await r.model.save(checkpoint);
    const pls = await generatePseudoLabels(
      r.model,
      train.filter((v) => v.anomalous),
      { l2Normalize: r.options.l2Normalize },
    );
    await writePseudoLabels(join(f.out, 'pseudo-labels.json'), pls, {
      dataset: preset.slice(0, preset.lastIndexOf('-')),
      featureKind: preset.slice(preset.lastIndexOf('-') + 1),
    });
    writeFileSync(
      join(f.out, 'history.json'),
      `${JSON.stringify({ options: r.options, best: r.best && { step: r.best.step, auc: r.best.evaluation.auc, far: r.best.evaluation.far, ap: r.best.evaluation.ap }, history: r.history }, null, 2)}\n`,
    );
    if (r.best)
      console.log(
        `best frame AUC ${r.best.evaluation.auc.toFixed(4)} at step ${r.best.step} (FAR ${r.best.evaluation.far?.toFixed(4) ?? '-'})`,
      );
    console.log(`wrote ${checkpoint}, ${join(f.out, 'pseudo-labels.json')} (${pls.size} videos), history.json`);
    r.model.dispose();
  } finally {
    store?.close();
  }
}

export const trainCommand: Command = {
  summary: 'train the stage-1 generator on feature files (mist train --help)',
  run,
};
