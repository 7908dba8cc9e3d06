// `mist finetune`: stage 2 (finetuneEncoder) on the videos of a manifest from a pseudo-label
// file, with a preset, flags or a JSON config; a training checkpoint every epoch, so that
// Ctrl-C stops cleanly and --resume continues.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { z } from 'zod';

import { readVideoManifest } from '../../data/manifest.js';
import { ErrorCode, MistError } from '../../errors.js';
import { SgaEncoder } from '../../models/encoder.js';
import { parseOptions } from '../../options.js';
import { trainingCurve } from '../../report/build.js';
import {
  finetuneEncoder,
  FinetuneEncoderOptionsSchema,
  type FinetuneEncoderOptions,
  type FinetuneEncoderResult,
} from '../../stage2/finetune.js';
import {
  ENCODER_PRESET_NAMES,
  EncoderHyperparametersSchema,
  resolveEncoderHyperparameters,
} from '../../stage2/presets.js';
import { flagHelp, numberFlag, required, type FlagSpecs } from '../args.js';
import type { Command } from '../command.js';
import { DEVICE_FLAG, ENCODER_FLAGS, testSizeFlag } from '../encoder.js';
import { progressBar, type ProgressBar } from '../progress.js';
import { encoderReportParts, writeReport } from '../report-parts.js';
import { commandArgs, emit, fixed, interruptible, readConfig } from '../run.js';

const S = FinetuneEncoderOptionsSchema.shape;
const H = EncoderHyperparametersSchema.shape;
const path = z.string().min(1, { error: 'must be a path' });
const FLAGS = {
  manifest: {
    schema: required(path),
    arg: 'FILE',
    help: 'the videos (.json or .csv manifest): its train split trains, its test split is evaluated',
  },
  'pseudo-labels': {
    schema: required(path),
    arg: 'FILE',
    help: "the anomalous training videos' pseudo labels: mist pseudo-labels' .json or the authors' *_PLs.npy",
  },
  preset: {
    schema: S.preset,
    arg: 'NAME',
    help: `${ENCODER_PRESET_NAMES.join(' | ')} (or the config's preset)`,
  },
  config: {
    schema: path.optional(),
    arg: 'FILE',
    help: "JSON with finetuneEncoder's options: preset, hyper-parameters (epochs, lr, ...), model, seed, ... (flags win)",
  },
  ...ENCODER_FLAGS,
  backbone: { ...ENCODER_FLAGS.backbone, help: "the backbone (default: the preset's)" },
  'input-size': {
    ...ENCODER_FLAGS['input-size'],
    help: "the clip size (default I3D 16,224,224, C3D 16,112,112; a checkpoint's is not recorded: give it again)",
  },
  device: { ...DEVICE_FLAG, help: 'where to train (default: CUDA when available)' },
  epochs: { schema: numberFlag(H.epochs).optional(), arg: 'N', help: "override the preset's epoch count (300)" },
  'eval-every': {
    schema: numberFlag(S.evalEvery.unwrap()).optional(),
    arg: 'N',
    help: 'epochs between evaluations of the test split (default 10, and the last epoch)',
  },
  seed: {
    schema: numberFlag(S.seed.unwrap()).optional(),
    arg: 'N',
    help: 'seeds the sampling and dropout (default 0)',
  },
  'frame-cache-mb': {
    schema: numberFlag(S.frameCacheMb.unwrap()).optional(),
    arg: 'MB',
    help: 'keep decoded frames in memory up to this size (default 0: decode every window)',
  },
  'test-size': testSizeFlag('test-time resize of the evaluation (I3D: UCF-Crime 256,340, ShanghaiTech 240,320)'),
  'checkpoint-dir': {
    schema: path.default('mist-finetune'),
    arg: 'DIR',
    help: 'last.pt (every epoch) and best.pt (by test AUC) (default mist-finetune)',
  },
  resume: { schema: z.boolean().optional(), switch: true, help: 'continue from --checkpoint-dir/last.pt' },
  out: {
    schema: path.optional(),
    arg: 'FILE',
    help: 'the fine-tuned encoder, best by test AUC, else the last (default <checkpoint-dir>/encoder.pt)',
  },
  report: {
    schema: path.regex(/\.html?$/i, { error: 'must end in .html' }).optional(),
    arg: 'FILE.html',
    help: 'an HTML report: training curve, test metrics (and a JSON copy beside it)',
  },
  json: { schema: z.boolean().optional(), switch: true, help: 'one JSON line per step, per evaluation and the result' },
  help: { schema: z.boolean().optional(), switch: true, help: 'this text' },
} satisfies FlagSpecs;

const HELP = flagHelp(
  'mist finetune --manifest FILE --pseudo-labels FILE --preset NAME [options]\n\n' +
    'Fine-tunes the SGA encoder on video (stage 2). Ctrl-C stops after the step in progress;\n' +
    '--resume continues from the last finished epoch.',
  FLAGS,
);

/** What a config file may hold: finetuneEncoder's options but where the checkpoints go. */
const ConfigSchema = FinetuneEncoderOptionsSchema.omit({ checkpointDir: true, resume: true });

const defined = <O extends object>(o: O): Partial<O> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<O>;

type Options = Omit<FinetuneEncoderOptions, 'videos' | 'pseudoLabels' | 'test' | 'encoder' | 'signal' | 'onProgress'>;

/** Runs `mist finetune` with its command-line arguments. Async. */
async function run(argv: string[]): Promise<void> {
  const args = commandArgs('finetune', argv, FLAGS, HELP);
  if (!args) return;
  const f = args.flags;
  const config = f.config ? readConfig(f.config, ConfigSchema) : undefined;
  if (!f.preset && !config) {
    throw new MistError(
      ErrorCode.ARG,
      'invalid flags of mist finetune: --preset: is required (or a --config with preset or every hyper-parameter)',
    );
  }
  const model = {
    ...config?.model,
    ...defined({ width: f.width, inputSize: f['input-size'], weights: f.weights }),
  };
  const options: Options = {
    ...config,
    ...defined({
      preset: f.preset,
      backbone: f.backbone,
      epochs: f.epochs,
      evalEvery: f['eval-every'],
      seed: f.seed,
      frameCacheMb: f['frame-cache-mb'],
      testSize: f['test-size'],
      device: f.device,
    }),
    model,
    checkpointDir: f['checkpoint-dir'],
    resume: f.resume ?? false,
  };
  // Every option checked, and the preset merged, before any file is read.
  parseOptions(FinetuneEncoderOptionsSchema, options, 'encoder training options');
  const hyper = resolveEncoderHyperparameters(
    Object.fromEntries(
      Object.entries(options).filter(([k]) => k === 'preset' || k in EncoderHyperparametersSchema.shape),
    ),
  );
  const dir = f['checkpoint-dir'];
  const lastPath = join(dir, 'last.pt');
  if (existsSync(lastPath) && !f.resume) {
    throw new MistError(
      ErrorCode.ARG,
      `${lastPath} holds a run: --resume continues it, or choose another --checkpoint-dir`,
    );
  }
  if (!existsSync(f['pseudo-labels']))
    throw new MistError(ErrorCode.IO, `--pseudo-labels ${f['pseudo-labels']} does not exist`);
  const manifest = readVideoManifest(f.manifest);
  const hasTest = manifest.videos.some((v) => v.split === 'test');
  const out = f.out ?? join(dir, 'encoder.pt');

  // A mist-vad checkpoint names its own architecture: it is loaded as it is. Other weights
  // (the public ones) are loaded by name into the encoder the run builds.
  let encoder: SgaEncoder | undefined;
  if (f.weights) {
    try {
      encoder = await SgaEncoder.load(f.weights, {
        ...(f['input-size'] ? { inputSize: f['input-size'] } : {}),
        ...(f.device ? { device: f.device } : {}),
      });
      delete options.model;
    } catch (e) {
      if (!(e instanceof MistError) || e.code !== ErrorCode.WEIGHTS) throw e;
    }
  } else {
    console.warn('WARNING: no --weights: the encoder starts from randomly initialised weights');
  }

  let bar: ProgressBar | undefined;
  let epochAt = 0;
  const say = (line: string) => {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    console.error(line);
  };
  let r: FinetuneEncoderResult;
  try {
    r = await interruptible(
      (signal) =>
        finetuneEncoder({
          ...options,
          ...(encoder ? { encoder } : {}),
          videos: manifest,
          pseudoLabels: f['pseudo-labels'],
          ...(hasTest ? { test: manifest } : {}),
          signal,
          onProgress: (p) => {
            epochAt = p.epoch;
            if (f.json) {
              if (p.evaluation) emit('evaluation', { epoch: p.epoch, epochs: p.epochs, evaluation: p.evaluation });
              else emit('progress', p);
              return;
            }
            if (p.evaluation) {
              say(
                `epoch ${p.epoch}/${p.epochs} test AUC ${p.evaluation.auc.toFixed(4)} AP ${p.evaluation.ap.toFixed(4)}`,
              );
              return;
            }
            if (p.step === 1) bar = progressBar(`epoch ${p.epoch}/${p.epochs}`, p.steps);
            bar?.update(p.step, `loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)}`);
            // Without a terminal the update at the last step was the epoch's line already.
            if (p.step === p.steps && process.stderr.isTTY) bar?.finish(`loss ${p.loss.toFixed(4)}`);
          },
        }),
      () =>
        existsSync(lastPath)
          ? `stopped in epoch ${epochAt} of ${hyper.epochs}; ${lastPath} keeps the last finished epoch: rerun with --resume to continue`
          : `stopped in epoch ${epochAt || 1} of ${hyper.epochs}, before the first epoch finished: nothing to resume, run it again`,
    );
  } catch (e) {
    encoder?.dispose();
    throw e;
  }
  await r.encoder.save(out);
  let report: string | undefined;
  if (f.report) {
    // The encoder kept (best by test AUC, else the last) scored once more, for its curves.
    const parts = hasTest
      ? await encoderReportParts('stage 2: fine-tuned encoder', r.encoder, manifest, { testSize: f['test-size'] })
      : undefined;
    const written = await writeReport(f.report, {
      title: `mist finetune: ${r.hyperparameters.backbone.toUpperCase()} encoder, ${r.hyperparameters.epochs} epochs`,
      description: [
        `Stage 2 on the train split of ${f.manifest} from the pseudo labels of ${f['pseudo-labels']}${options.preset ? `, preset ${options.preset}` : ''}, seed ${options.seed ?? 0}.`,
        hasTest
          ? `Evaluated on the ${manifest.videos.filter((v) => v.split === 'test').length} test videos of the manifest${r.best ? ` (the best epoch, ${r.best.epoch}, is the encoder kept)` : ''}.`
          : 'The manifest has no test split: no evaluation.',
      ],
      evaluations: parts ? [parts.evaluation] : [],
      training: [trainingCurve('stage 2', r.history)],
      ...(parts ? { timelines: parts.timelines, attention: parts.attention } : {}),
    });
    report = written.html;
  }
  const best = r.best && { epoch: r.best.epoch, auc: r.best.evaluation.auc, ap: r.best.evaluation.ap };
  const lastEval = [...r.history].reverse().find((h) => h.evaluation)?.evaluation;
  if (f.json) {
    emit('result', {
      out,
      checkpointDir: dir,
      epochs: r.hyperparameters.epochs,
      resumedFrom: r.resumedFrom,
      ...(best ? { best } : {}),
      ...(report ? { report } : {}),
      history: r.history,
    });
  } else {
    if (r.resumedFrom > 0) console.log(`resumed from epoch ${r.resumedFrom}`);
    if (best) console.log(`best test AUC ${best.auc.toFixed(4)} at epoch ${best.epoch} (AP ${fixed(best.ap)})`);
    if (lastEval && r.best && r.best.epoch !== r.hyperparameters.epochs)
      console.log(`last epoch's test AUC ${lastEval.auc.toFixed(4)}`);
    console.log(
      `wrote ${out} (${r.hyperparameters.backbone}, ${r.hyperparameters.epochs} epochs); checkpoints in ${dir}`,
    );
  }
  r.encoder.dispose();
}

export const finetuneCommand: Command = {
  summary: 'fine-tune the SGA encoder on videos from pseudo labels (stage 2, finetuneEncoder)',
  run,
};
