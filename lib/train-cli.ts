// `mist train`: stage 1 from feature files on disk, a split list and (optionally) a test set.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseArgs } from 'node:util';

import { readC3dTxt, readCropFeatures, readFeatures, type FeatureArray } from './data/features.js';
import { openFeatureStore, type FeatureStore } from './data/hdf5.js';
import { readRtfmList, readShanghaiTechList, readUcfCrimeList, type VideoEntry } from './data/lists.js';
import { ErrorCode, MistError } from './errors.js';
import { loadShanghaiTechGroundTruth, loadUcfCrimeGroundTruth, type GroundTruth } from './eval/groundtruth.js';
import { progressBar } from './progress.js';
import { PRESET_NAMES, type PresetName } from './stage1/presets.js';
import { writePseudoLabels } from './stage1/pseudo-labels.js';
import { generatePseudoLabels } from './stage1/scoring.js';
import { trainGenerator } from './stage1/train.js';
import type { VideoFeatures } from './stage1/types.js';

export const TRAIN_USAGE = `mist train --preset NAME --features DIR|FILE.h5 --train LIST [options]

  --preset NAME        ${PRESET_NAMES.join(' | ')}
  --features PATH      a folder of <video>.npy / <video>__<k>.npy / <video>.txt, or an HDF5 store
  --train LIST         training split: Anomaly_Train.txt, SH_Train*.txt (name,label) or an RTFM .list
  --test LIST          test split, scored every --eval-every steps (needs --masks for ShanghaiTech)
  --masks DIR          ShanghaiTech test_frame_mask folder
  --layout clips|segments  test features: one per 16-frame clip (default) or Sultani's 32 segments
  --steps N            override the preset's step count
  --eval-every N       steps between evaluations
  --batch-size N       videos of each class per step (preset: 40)
  --loss topk|subbag   bag score: mean of top-k (released code) or max sub-bag mean (paper)
  --seed N --device cpu|cuda|cuda:N
  --out DIR            where generator.pt, history.json, pseudo-labels.json go (default mist-train)`;

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
  throw new MistError(ErrorCode.IO, `no features for ${name} in ${source} (looked for ${name}.npy, ${name}__0.npy, ${name}.txt)`);
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
export async function trainCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: 'string' }, features: { type: 'string' }, train: { type: 'string' }, test: { type: 'string' },
      masks: { type: 'string' }, layout: { type: 'string', default: 'clips' }, steps: { type: 'string' }, 'eval-every': { type: 'string' },
      'batch-size': { type: 'string' }, loss: { type: 'string' }, seed: { type: 'string' }, device: { type: 'string' },
      out: { type: 'string', default: 'mist-train' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(TRAIN_USAGE);
    return;
  }
  for (const k of ['preset', 'features', 'train'] as const) {
    if (!values[k]) throw new MistError(ErrorCode.ARG, `--${k} is required\n\n${TRAIN_USAGE}`);
  }
  const preset = values.preset as PresetName;
  if (!PRESET_NAMES.includes(preset)) throw new MistError(ErrorCode.ARG, `--preset must be one of ${PRESET_NAMES.join(', ')}`);
  const source = values.features!;
  if (!existsSync(source)) throw new MistError(ErrorCode.IO, `--features ${source} does not exist`);
  const store = statSync(source).isFile() ? await openFeatureStore(source) : undefined;
  const num = (v: string | undefined, what: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new MistError(ErrorCode.ARG, `--${what} must be an integer, got '${v}'`);
    return n;
  };
  try {
    const train = await loadSplit(values.train!, source, store);
    if (values.layout !== 'clips' && values.layout !== 'segments') {
      throw new MistError(ErrorCode.ARG, `--layout must be 'clips' or 'segments', got '${values.layout}'`);
    }
    const scoreLayout = values.layout;
    let test: { videos: VideoFeatures[]; groundTruth: GroundTruth; scoreLayout: 'clips' | 'segments' } | undefined;
    if (values.test) {
      const videos = await loadSplit(values.test, source, store);
      const groundTruth = preset.startsWith('ucf-crime')
        ? loadUcfCrimeGroundTruth()
        : loadShanghaiTechGroundTruth({ masks: values.masks ?? '' });
      test = { videos, groundTruth, scoreLayout };
    }
    mkdirSync(values.out!, { recursive: true });
    const checkpoint = join(values.out!, 'generator.pt');
    let bar: ReturnType<typeof progressBar> | undefined;
    let lastAuc = '';
    const r = await trainGenerator({
      preset,
      steps: num(values.steps, 'steps'),
      evalEvery: num(values['eval-every'], 'eval-every'),
      batchSize: num(values['batch-size'], 'batch-size'),
      seed: num(values.seed, 'seed'),
      lossVariant: values.loss as 'topk' | 'subbag' | undefined,
      device: values.device,
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
    const pls = await generatePseudoLabels(r.model, train.filter((v) => v.anomalous), { l2Normalize: r.options.l2Normalize });
    await writePseudoLabels(join(values.out!, 'pseudo-labels.json'), pls, { dataset: preset.slice(0, preset.lastIndexOf('-')), featureKind: preset.slice(preset.lastIndexOf('-') + 1) });
    writeFileSync(join(values.out!, 'history.json'), `${JSON.stringify({ options: r.options, best: r.best && { step: r.best.step, auc: r.best.evaluation.auc, far: r.best.evaluation.far, ap: r.best.evaluation.ap }, history: r.history }, null, 2)}\n`);
    if (r.best) console.log(`best frame AUC ${r.best.evaluation.auc.toFixed(4)} at step ${r.best.step} (FAR ${r.best.evaluation.far?.toFixed(4) ?? '-'})`);
    console.log(`wrote ${checkpoint}, ${join(values.out!, 'pseudo-labels.json')} (${pls.size} videos), history.json`);
    r.model.dispose();
  } finally {
    store?.close();
  }
}
