// `mist pseudo-labels`: a trained generator scores every clip of the anomalous training videos,
// and the scores, smoothed and min-max normalised (generatePseudoLabels), go to the JSON file
// that stage 2 reads.
import { z } from 'zod';

import { writePseudoLabels, PseudoLabelMetaSchema } from '../../data/pseudo-labels.js';
import { CropSchema } from '../../data/types.js';
import { ErrorCode, MistError } from '../../errors.js';
import { MilGenerator } from '../../models/generator.js';
import { PRESETS, PRESET_NAMES, GeneratorTrainOptionsSchema } from '../../stage1/presets.js';
import { generatePseudoLabels } from '../../stage1/scoring.js';
import { flagHelp, required, type FlagSpecs } from '../args.js';
import type { Command } from '../command.js';
import { DEVICE_FLAG } from '../encoder.js';
import { FEATURES_FLAG, loadSplit, openFeatures } from '../features.js';
import { progressBar, type ProgressBar } from '../progress.js';
import { commandArgs, emit } from '../run.js';

const path = z.string().min(1, { error: 'must be a path' });
const M = PseudoLabelMetaSchema.shape;

/** --crop: `mean` or a crop index, checked by the API's own schema. */
export const CROP_FLAG = {
  schema: z
    .string()
    .transform((s) => (/^\d+$/.test(s) ? Number(s) : s))
    .pipe(CropSchema.unwrap())
    .optional(),
  arg: 'mean|K',
  help: '[T, crops, D] features: average the crops (default) or take crop K',
};

/** --l2-normalize true|false: must match how the generator was trained. */
export const L2_FLAG = {
  schema: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .transform((s) => s === 'true')
    .optional(),
  arg: 'true|false',
  help: "L2-normalise each clip feature, as the generator was trained (default: the preset's, C3D true)",
};

const FLAGS = {
  generator: {
    schema: required(path),
    arg: 'FILE',
    help: 'the generator weights (generator.pt of mist train-generator, or a PyTorch fc1/fc2/fc3 dict)',
  },
  features: FEATURES_FLAG,
  train: {
    schema: required(path),
    arg: 'LIST',
    help: 'the training split (its anomalous videos get pseudo labels): Anomaly_Train.txt, name,label, .list',
  },
  out: {
    schema: path.regex(/\.json$/i, { error: 'must end in .json' }).default('pseudo-labels.json'),
    arg: 'FILE.json',
    help: 'the pseudo-label file (default pseudo-labels.json)',
  },
  preset: {
    schema: GeneratorTrainOptionsSchema.shape.preset,
    arg: 'NAME',
    help: `the stage-1 preset the generator was trained with (${PRESET_NAMES.join(' | ')}): feature norm, dataset`,
  },
  'l2-normalize': L2_FLAG,
  crop: CROP_FLAG,
  dataset: { schema: M.dataset.optional(), arg: 'NAME', help: "the file's dataset (default: the preset's)" },
  'feature-kind': {
    schema: M.featureKind.optional(),
    arg: 'NAME',
    help: "the encoder the features came from (default: the preset's)",
  },
  device: DEVICE_FLAG,
  json: { schema: z.boolean().optional(), switch: true, help: 'one JSON line per video and the result' },
  help: { schema: z.boolean().optional(), switch: true, help: 'this text' },
} satisfies FlagSpecs;

const HELP = flagHelp(
  'mist pseudo-labels --generator FILE --features DIR|FILE.h5 --train LIST (--preset NAME | --l2-normalize true|false) [options]\n\n' +
    'Scores every clip of the anomalous training videos and writes their refined pseudo labels.',
  FLAGS,
);

/** Runs `mist pseudo-labels` with its command-line arguments. Async. */
async function run(argv: string[]): Promise<void> {
  const args = commandArgs('pseudo-labels', argv, FLAGS, HELP);
  if (!args) return;
  const f = args.flags;
  const preset = f.preset ? PRESETS[f.preset] : undefined;
  const l2Normalize = f['l2-normalize'] ?? preset?.l2Normalize;
  if (l2Normalize === undefined) {
    throw new MistError(
      ErrorCode.ARG,
      'invalid flags of mist pseudo-labels: --l2-normalize: is required without --preset (true for C3D features, as trained)',
    );
  }
  const dataset = f.dataset ?? (f.preset ? f.preset.slice(0, f.preset.lastIndexOf('-')) : 'unknown');
  const featureKind = f['feature-kind'] ?? (f.preset ? f.preset.slice(f.preset.lastIndexOf('-') + 1) : 'unknown');
  const source = await openFeatures(f.features);
  let model: MilGenerator | undefined;
  try {
    model = await MilGenerator.load(f.generator, f.device ? { device: f.device } : {});
    const anomalous = (await loadSplit(f.train, source)).filter((v) => v.anomalous);
    if (anomalous.length === 0) throw new MistError(ErrorCode.ARG, `${f.train}: no anomalous video`);
    const bar: ProgressBar | undefined = f.json ? undefined : progressBar('pseudo labels', anomalous.length);
    const labels = await generatePseudoLabels(model, anomalous, {
      l2Normalize,
      ...(f.crop !== undefined ? { crop: f.crop } : {}),
      onProgress: (done) => bar?.update(done),
    });
    bar?.finish();
    await writePseudoLabels(f.out, labels, { dataset, featureKind, source: `generator ${f.generator}` });
    let clips = 0;
    for (const [name, v] of labels) {
      clips += v.length;
      let min = Infinity;
      let max = -Infinity;
      for (const x of v) {
        min = Math.min(min, x);
        max = Math.max(max, x);
      }
      if (f.json) emit('video', { video: name, clips: v.length, min, max });
      else
        console.log(
          `${name.padEnd(28)} ${String(v.length).padStart(6)} clips  min ${min.toFixed(4)}  max ${max.toFixed(4)}`,
        );
    }
    if (f.json) emit('result', { out: f.out, videos: labels.size, clips, l2Normalize, dataset, featureKind });
    else console.log(`wrote ${f.out}: ${labels.size} anomalous videos, ${clips} clips`);
  } finally {
    source.close();
    model?.dispose();
  }
}

export const pseudoLabelsCommand: Command = {
  summary: "a trained generator's pseudo labels of the anomalous training videos (generatePseudoLabels)",
  run,
};
