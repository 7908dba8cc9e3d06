// `mist self-train`: MIST's rounds (selfTrain) on the videos of a manifest, with the stage
// options from presets or a JSON config, progress on stderr (or JSON lines), and Ctrl-C that
// stops cleanly so that `--resume` continues.
import { z } from 'zod';

import { readVideoManifest, type VideoManifest } from '../../data/manifest.js';
import { ErrorCode, MistError } from '../../errors.js';
import { evaluationFromResult, trainingCurve } from '../../report/build.js';
import type { ReportEvaluation, ReportTrainingCurve } from '../../report/types.js';
import {
  selfTrain,
  SelfTrainOptionsSchema,
  type SelfTrainProgress,
  type SelfTrainResult,
} from '../../selftrain/rounds.js';
import { PRESET_NAMES } from '../../stage1/presets.js';
import { ENCODER_PRESET_NAMES } from '../../stage2/presets.js';
import { flagHelp, numberFlag, required, type FlagSpecs } from '../args.js';
import type { Command } from '../command.js';
import { DEVICE_FLAG, ENCODER_FLAGS } from '../encoder.js';
import { encoderReportParts, writeReport } from '../report-parts.js';
import { commandArgs, emit, interruptible, readConfig } from '../run.js';

const S = SelfTrainOptionsSchema.shape;
const path = z.string().min(1, { error: 'must be a path' });
const FLAGS = {
  manifest: {
    schema: required(path),
    arg: 'FILE',
    help: 'the videos (.json or .csv manifest): its train split trains, its test split is scored',
  },
  dir: { schema: required(S.dir), arg: 'DIR', help: 'the run folder: state.json and round-<k>/' },
  config: {
    schema: path.optional(),
    arg: 'FILE',
    help: 'JSON with any of stage1, stage2, featureScale, rounds, seed (flags win)',
  },
  'stage1-preset': {
    schema: z.enum(PRESET_NAMES).optional(),
    arg: 'NAME',
    help: `stage 1 preset when the config has no stage1: ${PRESET_NAMES.join(' | ')}`,
  },
  'stage2-preset': {
    schema: z.enum(ENCODER_PRESET_NAMES).optional(),
    arg: 'NAME',
    help: `stage 2 preset when the config has no stage2: ${ENCODER_PRESET_NAMES.join(' | ')}`,
  },
  rounds: { schema: numberFlag(S.rounds.unwrap()).optional(), arg: 'N', help: 'rounds (default 2)' },
  seed: { schema: numberFlag(S.seed.unwrap()).optional(), arg: 'N', help: 'seed of every stage (default 0)' },
  resume: { schema: z.boolean().optional(), switch: true, help: 'continue the run in --dir where it stopped' },
  ...ENCODER_FLAGS,
  device: DEVICE_FLAG,
  report: {
    schema: path.regex(/\.html?$/i, { error: 'must end in .html' }).optional(),
    arg: 'FILE.html',
    help: "an HTML report: every round's metrics and training curves, the last encoder's timelines and attention",
  },
  json: { schema: z.boolean().optional(), switch: true, help: 'one JSON line per progress event and the result' },
  help: { schema: z.boolean().optional(), switch: true, help: 'this text' },
} satisfies FlagSpecs;

const HELP = flagHelp(
  'mist self-train --manifest FILE --dir DIR (--config FILE | --stage1-preset NAME --stage2-preset NAME) [options]',
  FLAGS,
);

/** What a config file may hold: the run's stage options and a few of its settings. */
const ConfigSchema = z.strictObject({
  stage1: S.stage1.optional(),
  stage2: S.stage2.optional(),
  featureScale: S.featureScale.unwrap().optional(),
  rounds: S.rounds.unwrap().optional(),
  seed: S.seed.unwrap().optional(),
});

/** One line for a progress event, or undefined for events too frequent to print. */
function describe(p: SelfTrainProgress): string | undefined {
  const at = `round ${p.round}/${p.rounds}`;
  const auc = (e?: { auc: number }) => (e ? ` test AUC ${e.auc.toFixed(4)}` : '');
  switch (p.stage) {
    case 'features':
      return p.done === p.total ? `${at} features: ${p.total} videos` : undefined;
    case 'stage1':
      return p.evaluation || p.step === p.steps
        ? `${at} stage 1 step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)}${auc(p.evaluation)}`
        : undefined;
    case 'pseudo-labels':
      return p.done === p.total ? `${at} pseudo labels: ${p.total} videos` : undefined;
    case 'stage2':
      // The evaluation comes as an event of its own after the epoch's last step.
      if (p.evaluation) return `${at} stage 2 epoch ${p.epoch}/${p.epochs}${auc(p.evaluation)}`;
      return p.step === p.steps ? `${at} stage 2 epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}` : undefined;
    case 'round':
      return `${at} done:${p.result.stage1 ? ` stage 1 AUC ${p.result.stage1.auc.toFixed(4)}` : ''}${p.result.stage2 ? `, stage 2 AUC ${p.result.stage2.auc.toFixed(4)}` : ''}`;
  }
}

/** Writes the report of a run: each round's metrics and curves, the last encoder's scores. Async. */
async function selfTrainReport(
  path: string,
  r: SelfTrainResult,
  manifest: VideoManifest,
  hasTest: boolean,
): Promise<string> {
  const evaluations: ReportEvaluation[] = [];
  const training: ReportTrainingCurve[] = [];
  for (const x of r.rounds) {
    if (x.encoderBefore)
      evaluations.push(evaluationFromResult(`round ${x.round}: encoder before (its own head)`, x.encoderBefore));
    if (x.stage1) evaluations.push(evaluationFromResult(`round ${x.round}: stage 1 (generator)`, x.stage1));
    if (x.stage2) evaluations.push(evaluationFromResult(`round ${x.round}: stage 2 (fine-tuned encoder)`, x.stage2));
    if (x.history.stage1.length > 0) training.push(trainingCurve(`round ${x.round}: stage 1`, x.history.stage1));
    if (x.history.stage2.length > 0) training.push(trainingCurve(`round ${x.round}: stage 2`, x.history.stage2));
  }
  const last = r.rounds.at(-1);
  const parts =
    hasTest && last ? await encoderReportParts(`round ${last.round}: final encoder`, r.encoder, manifest) : undefined;
  if (parts) evaluations.push(parts.evaluation);
  const written = await writeReport(path, {
    title: `mist self-train: ${r.rounds.length} round${r.rounds.length === 1 ? '' : 's'}`,
    description: [
      `Self-training on the train split of ${manifest.path ?? 'the manifest'}; run folder ${r.dir}.`,
      hasTest
        ? 'Every stage of every round is scored on the test split; the last row is the final encoder scored again, with its curves.'
        : 'The manifest has no test split: no evaluation.',
    ],
    evaluations,
    training,
    ...(parts ? { timelines: parts.timelines, attention: parts.attention } : {}),
  });
  return written.html;
}

/** Runs `mist self-train` with its command-line arguments. Async. */
async function run(argv: string[]): Promise<void> {
  const args = commandArgs('self-train', argv, FLAGS, HELP);
  if (!args) return;
  const f = args.flags;
  const config = f.config ? readConfig(f.config, ConfigSchema) : {};
  const stage1 = config.stage1 ?? (f['stage1-preset'] ? { preset: f['stage1-preset'] } : undefined);
  const stage2 = config.stage2 ?? (f['stage2-preset'] ? { preset: f['stage2-preset'] } : undefined);
  if (!stage1 || !stage2) {
    throw new MistError(
      ErrorCode.ARG,
      `mist self-train needs the stage options: --config with stage1 and stage2, or --stage1-preset and --stage2-preset (missing: ${[!stage1 && 'stage 1', !stage2 && 'stage 2'].filter(Boolean).join(', ')})`,
    );
  }
  const manifest = readVideoManifest(f.manifest);
  const hasTest = manifest.videos.some((v) => v.split === 'test');
  const encoder = {
    backbone: f.backbone ?? 'i3d',
    ...(f.width !== undefined ? { width: f.width } : {}),
    ...(f['input-size'] ? { inputSize: f['input-size'] } : {}),
    ...(f.weights ? { weights: f.weights } : {}),
    ...(f.device ? { device: f.device } : {}),
  };
  if (!f.weights) console.warn('WARNING: no --weights: round 1 starts from randomly initialised weights');
  const r = await interruptible(
    (signal) =>
      selfTrain({
        dir: f.dir,
        videos: manifest,
        ...(hasTest ? { test: manifest } : {}),
        encoder,
        stage1,
        stage2,
        ...(config.featureScale !== undefined ? { featureScale: config.featureScale } : {}),
        ...((f.rounds ?? config.rounds) !== undefined ? { rounds: f.rounds ?? config.rounds } : {}),
        ...((f.seed ?? config.seed) !== undefined ? { seed: f.seed ?? config.seed } : {}),
        resume: f.resume ?? false,
        signal,
        onProgress: (p) => {
          if (f.json) {
            const { result, ...rest } = p as SelfTrainProgress & { result?: unknown };
            if (p.stage !== 'round') emit('progress', rest);
            else emit('round', { round: p.round, rounds: p.rounds, result });
            return;
          }
          const line = describe(p);
          if (line) console.error(line);
        },
      }),
    () => `the finished stages and stage 2's last epoch are kept in ${f.dir}; rerun with --resume to continue`,
  );
  const rows = r.rounds.map((x) => ({
    round: x.round,
    stage1Auc: x.stage1?.auc ?? null,
    stage2Auc: x.stage2?.auc ?? null,
    dir: x.dir,
  }));
  let report: string | undefined;
  try {
    if (f.report) report = await selfTrainReport(f.report, r, manifest, hasTest);
  } finally {
    r.encoder.dispose();
  }
  if (f.json) {
    emit('result', { dir: r.dir, rounds: rows, ...(report ? { report } : {}) });
    return;
  }
  console.log('round  stage-1 AUC  stage-2 AUC  folder');
  for (const x of rows) {
    const a = (v: number | null) => (v === null ? '-'.padStart(11) : v.toFixed(4).padStart(11));
    console.log(`${String(x.round).padStart(5)}  ${a(x.stage1Auc)}  ${a(x.stage2Auc)}  ${x.dir}`);
  }
}

export const selfTrainCommand: Command = {
  summary: 'self-training rounds on videos: stage 1, pseudo labels, stage 2, again (selfTrain)',
  run,
};
