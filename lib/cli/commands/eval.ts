// `mist eval`: frame-level metrics of scores against a ground truth, the way the papers report
// them (evaluate): AUC, AP, PR-AUC, FAR, score gap and per-class AUC. The scores come from
// files (a folder or a list: one score per clip, per segment or per frame, or what `mist score
// --out` writes) or from a model (an encoder on a manifest's test videos, a generator on
// feature files); the ground truth from a manifest or from a benchmark's annotation files.
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';

import { z } from 'zod';

import { openFrameSource } from '../../data/frame-cache.js';
import { readFileOrThrow } from '../../data/files.js';
import { readVideoManifest, type VideoManifest } from '../../data/manifest.js';
import { readNpy } from '../../data/npy.js';
import { ErrorCode, MistError, withContext } from '../../errors.js';
import { EvaluateOptionsSchema, evaluate, type EvaluateOptions, type Evaluation } from '../../eval/evaluate.js';
import {
  loadShanghaiTechGroundTruth,
  loadUcfCrimeGroundTruth,
  loadXdViolenceGroundTruth,
  manifestGroundTruth,
  ShanghaiTechGroundTruthOptionsSchema,
  UcfCrimeGroundTruthOptionsSchema,
  type GroundTruth,
  type XdViolenceGroundTruthOptions,
} from '../../eval/groundtruth.js';
import { segmentScoresToClips } from '../../eval/segments.js';
import { MilGenerator } from '../../models/generator.js';
import { evaluationEntry } from '../../report/build.js';
import type { ReportAttention } from '../../report/types.js';
import { ScoreVideoOptionsSchema, scoreVideo } from '../../score/video.js';
import { PRESETS, PRESET_NAMES, GeneratorTrainOptionsSchema } from '../../stage1/presets.js';
import { scoreClips } from '../../stage1/scoring.js';
import { flagHelp, numberFlag, type FlagSpecs } from '../args.js';
import type { Command } from '../command.js';
import { DEVICE_FLAG, ENCODER_FLAGS, encoderFromFlags, testSizeFlag } from '../encoder.js';
import { loadSplit, openFeatures } from '../features.js';
import { progressBar, type ProgressBar } from '../progress.js';
import { attentionOf, timelines, writeReport } from '../report-parts.js';
import { commandArgs, emit, fixed, readConfig } from '../run.js';
import { CROP_FLAG, L2_FLAG } from './pseudo-labels.js';

const E = EvaluateOptionsSchema.shape;
const U = UcfCrimeGroundTruthOptionsSchema.shape;
const path = z.string().min(1, { error: 'must be a path' });
const DATASETS = ['ucf-crime', 'shanghaitech', 'xd-violence'] as const;
const FLAGS = {
  encoder: {
    schema: path.optional(),
    arg: 'FILE',
    help: "score the --manifest's test videos with this encoder (a mist-vad checkpoint or public weights)",
  },
  backbone: ENCODER_FLAGS.backbone,
  width: ENCODER_FLAGS.width,
  'input-size': {
    ...ENCODER_FLAGS['input-size'],
    help: "the encoder's clip size: a checkpoint does not record it, give the one it was trained at (default I3D 16,224,224, C3D 16,112,112)",
  },
  'test-size': testSizeFlag('--encoder: test-time resize (I3D: UCF-Crime 256,340, ShanghaiTech 240,320)'),
  'batch-size': {
    schema: numberFlag(ScoreVideoOptionsSchema.shape.batchSize.unwrap()).optional(),
    arg: 'N',
    help: '--encoder: clips per encoder call (default 8)',
  },
  generator: {
    schema: path.optional(),
    arg: 'FILE',
    help: 'score feature files (--features) with this stage-1 generator',
  },
  features: {
    schema: path.optional(),
    arg: 'PATH',
    help: '--generator: a folder of <video>.npy / <video>__<k>.npy / <video>.txt, or an HDF5 store',
  },
  test: {
    schema: path.optional(),
    arg: 'LIST',
    help: "--generator: the test videos to score (default: the ground truth's that have features)",
  },
  preset: {
    schema: GeneratorTrainOptionsSchema.shape.preset,
    arg: 'NAME',
    help: `--generator: the stage-1 preset it was trained with (${PRESET_NAMES.join(' | ')})`,
  },
  'l2-normalize': L2_FLAG,
  crop: CROP_FLAG,
  manifest: {
    schema: path.optional(),
    arg: 'FILE',
    help: "ground truth: the manifest's test split (and --encoder's videos)",
  },
  dataset: {
    schema: z.enum(DATASETS, { error: `must be one of ${DATASETS.join(', ')}` }).optional(),
    arg: 'NAME',
    help: `ground truth: a benchmark's annotation (${DATASETS.join(' | ')})`,
  },
  annotation: {
    schema: path.optional(),
    arg: 'FILE',
    help: "ucf-crime: Temporal_Anomaly_Annotation_for_Testing_Videos.txt (default: the package's); xd-violence: XD_Annotation.txt",
  },
  'frame-counts': {
    schema: path.optional(),
    arg: 'FILE',
    help: "frame counts (`name frames` lines, MIST's annotation file); ucf-crime default: the package's",
  },
  convention: {
    schema: U.convention.unwrap().optional(),
    arg: 'mist|inclusive|sultani',
    help: 'ucf-crime: how the annotation counts frames (default mist: 0-based, half-open)',
  },
  masks: { schema: path.optional(), arg: 'DIR', help: 'shanghaitech: the test_frame_mask folder' },
  list: {
    schema: path.optional(),
    arg: 'FILE',
    help: "shanghaitech: the test list (default: the package's SH_Test_NEW.txt)",
  },
  'labels-dir': { schema: path.optional(), arg: 'DIR', help: 'xd-violence: a folder of per-video frame labels' },
  layout: {
    schema: E.scoreLayout.unwrap().optional(),
    arg: 'clips|segments|frames',
    help: "score files: one score per 16-frame clip (default), Sultani's 32 segments, or one per frame",
  },
  fill: {
    schema: E.fill.unwrap().optional(),
    arg: 'error|last',
    help: 'clip scores covering fewer frames than labelled: fail (default) or repeat the last',
  },
  missing: {
    schema: E.onMissing.unwrap().optional(),
    arg: 'error|skip',
    help: 'a ground-truth video without scores: fail (default) or leave it out',
  },
  'far-threshold': {
    schema: numberFlag(E.farThreshold.unwrap()).optional(),
    arg: 'X',
    help: 'score above which a frame of a normal video is a false alarm (default 0.5)',
  },
  config: {
    schema: path.optional(),
    arg: 'FILE',
    help: 'JSON with scoreLayout, clipLength, fill, onMissing, farThreshold, dataset and the loader options ucfCrime, shanghaiTech, xdViolence (flags win)',
  },
  device: DEVICE_FLAG,
  report: {
    schema: path.regex(/\.html?$/i, { error: 'must end in .html' }).optional(),
    arg: 'FILE.html',
    help: 'an HTML report: metrics, ROC and PR curves, score timelines (and a JSON copy beside it)',
  },
  json: { schema: z.boolean().optional(), switch: true, help: 'JSON lines: progress while scoring, then the result' },
  help: { schema: z.boolean().optional(), switch: true, help: 'this text' },
} satisfies FlagSpecs;

const HELP = flagHelp(
  'mist eval [SCORES ...] (--manifest FILE | --dataset NAME [annotation flags]) [options]\n\n' +
    'SCORES: score files or folders of them, one per video named after it: .npy (one score per clip,\n' +
    'segment or frame, see --layout) or the .npy / .csv that `mist score --out` writes (per frame).\n' +
    'Or a model: --encoder FILE with --manifest, or --generator FILE with --features.',
  FLAGS,
);

/** What a config file may hold: evaluate()'s options and the ground-truth loaders'. */
const ConfigSchema = z.strictObject({
  scoreLayout: E.scoreLayout.unwrap().optional(),
  clipLength: E.clipLength.unwrap().optional(),
  fill: E.fill.unwrap().optional(),
  onMissing: E.onMissing.unwrap().optional(),
  farThreshold: E.farThreshold.unwrap().optional(),
  dataset: FLAGS.dataset.schema,
  ucfCrime: UcfCrimeGroundTruthOptionsSchema.partial().optional(),
  shanghaiTech: ShanghaiTechGroundTruthOptionsSchema.partial().optional(),
  xdViolence: z.record(z.string(), z.unknown()).optional(),
});

type EvalFlags = NonNullable<ReturnType<typeof parse>>['flags'];
const parse = (argv: string[]) => commandArgs('eval', argv, FLAGS, HELP, true);

const defined = <O extends object>(o: O): Partial<O> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<O>;

/** A video's scores, and what a report shows of it. */
interface Scored {
  name: string;
  scores: Float32Array;
}

/** The score files named on the command line: files, and the .npy / .csv files of folders. Sync. */
function scoreFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    let dir: boolean;
    try {
      dir = statSync(p).isDirectory();
    } catch {
      throw new MistError(ErrorCode.IO, `score file ${p} does not exist`);
    }
    if (!dir) {
      files.push(p);
      continue;
    }
    const inside = readdirSync(p)
      .filter((n) => /\.(npy|csv)$/i.test(n))
      .sort()
      .map((n) => join(p, n));
    if (inside.length === 0) throw new MistError(ErrorCode.IO, `${p}: no .npy or .csv score files`);
    files.push(...inside);
  }
  return files;
}

/** One score file, in the layout asked (a `mist score` .csv: per frame, or per clip). Sync. */
function readScoreFile(file: string, layout: 'clips' | 'segments' | 'frames'): Scored {
  const ext = extname(file).toLowerCase();
  const name = basename(file, extname(file));
  if (ext === '.npy') {
    const a = readNpy(file);
    if (!(a.shape.length === 1 || (a.shape.length === 2 && a.shape[1] === 1)) || typeof a.data[0] === 'bigint') {
      throw new MistError(
        ErrorCode.FORMAT,
        `${file}: scores must be a 1-d array of numbers, got [${a.shape.join(', ')}]`,
      );
    }
    return { name, scores: Float32Array.from(a.data as ArrayLike<number>) };
  }
  if (ext !== '.csv') throw new MistError(ErrorCode.FORMAT, `${file}: a score file is .npy or .csv`);
  if (layout === 'segments') {
    throw new MistError(
      ErrorCode.ARG,
      `${file}: a .csv of mist score holds frame scores: use --layout clips or frames`,
    );
  }
  const lines = readFileOrThrow(file, 'score file').toString('utf8').split(/\r?\n/);
  if (lines[0]?.trim() !== 'frame,clip,score') {
    throw new MistError(ErrorCode.FORMAT, `${file}: expected the header frame,clip,score (mist score --out FILE.csv)`);
  }
  const frames: number[] = [];
  const clips: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const [, clip, score] = line.split(',');
    const s = Number(score);
    if (score === undefined || (Number.isNaN(s) && score !== 'NaN')) {
      throw new MistError(ErrorCode.FORMAT, `${file}:${i + 1}: expected frame,clip,score`);
    }
    frames.push(s);
    // A clip's score is that of its first frame; the unscored tail has no clip.
    if (clip !== '' && Number(clip) === clips.length) clips.push(s);
  }
  return { name, scores: Float32Array.from(layout === 'frames' ? frames : clips) };
}

/** The ground truth the flags name. Sync except for probing videos without a frame count. */
async function groundTruthOf(
  f: EvalFlags,
  config: z.output<typeof ConfigSchema>,
  manifest: VideoManifest | undefined,
  frameCounts?: Map<string, number>,
): Promise<GroundTruth> {
  const dataset = f.dataset ?? config.dataset;
  if (dataset === 'ucf-crime') {
    return loadUcfCrimeGroundTruth({
      ...config.ucfCrime,
      ...defined({ annotation: f.annotation, frameCounts: f['frame-counts'], convention: f.convention }),
    });
  }
  if (dataset === 'shanghaitech') {
    const o = { ...config.shanghaiTech, ...defined({ masks: f.masks, list: f.list, frameCounts: f['frame-counts'] }) };
    if (o.masks === undefined)
      throw new MistError(
        ErrorCode.ARG,
        'invalid flags of mist eval: --masks: is required with --dataset shanghaitech',
      );
    return loadShanghaiTechGroundTruth({ ...o, masks: o.masks });
  }
  if (dataset === 'xd-violence') {
    return loadXdViolenceGroundTruth({
      ...config.xdViolence,
      ...defined({ labelsDir: f['labels-dir'], annotation: f.annotation, frameCounts: f['frame-counts'] }),
    } as XdViolenceGroundTruthOptions);
  }
  const m = manifest!;
  const counts = new Map(frameCounts);
  for (const v of m.videos) {
    if (v.split !== 'test' || counts.has(v.name) || v.frameCount !== undefined) continue;
    try {
      counts.set(v.name, (await openFrameSource(v.path)).frames);
    } catch (e) {
      throw withContext(e, `frame count of ${v.name}`);
    }
  }
  return manifestGroundTruth(m, counts);
}

/** Runs `mist eval` with its command-line arguments. Async. */
async function run(argv: string[]): Promise<void> {
  const args = parse(argv);
  if (!args) return;
  const f = args.flags;
  const files = args.positionals;
  const config = f.config ? readConfig(f.config, ConfigSchema) : {};
  const sources = [files.length > 0 && 'score files', f.encoder && '--encoder', f.generator && '--generator'].filter(
    (x): x is string => typeof x === 'string',
  );
  const bad = (msg: string) => new MistError(ErrorCode.ARG, `invalid flags of mist eval: ${msg}`);
  if (sources.length !== 1) {
    throw bad(
      sources.length === 0
        ? 'no scores: give score files or folders, --encoder FILE with --manifest, or --generator FILE with --features'
        : `one source of scores at a time (got ${sources.join(' and ')})`,
    );
  }
  const dataset = f.dataset ?? config.dataset;
  if (!f.manifest && !dataset) throw bad('--manifest or --dataset: one is required (the ground truth)');
  if (f.manifest && dataset && !f.encoder) throw bad('--manifest and --dataset: give one ground truth, not both');
  if (f.encoder && !f.manifest) throw bad('--manifest: is required with --encoder (the videos to score)');
  if (f.generator && !f.features) throw bad('--features: is required with --generator');
  if (f.features && !f.generator) throw bad('--features: applies to --generator');
  const l2 = f['l2-normalize'] ?? (f.preset ? PRESETS[f.preset].l2Normalize : undefined);
  if (f.generator && l2 === undefined) throw bad('--l2-normalize: is required with --generator without --preset');
  const layout = f.encoder ? 'clips' : (f.layout ?? config.scoreLayout ?? 'clips');
  if (f.encoder && f.layout && f.layout !== 'clips') throw bad('--layout: --encoder scores clips');
  const evalOptions = {
    scoreLayout: layout,
    ...defined({
      clipLength: config.clipLength,
      fill: f.fill ?? config.fill,
      farThreshold: f['far-threshold'] ?? config.farThreshold,
    }),
  } satisfies Omit<EvaluateOptions, 'scores' | 'groundTruth'>;
  const onMissing = f.missing ?? config.onMissing ?? 'error';
  const manifest = f.manifest ? readVideoManifest(f.manifest) : undefined;

  const scored: Scored[] = [];
  const frameCounts = new Map<string, number>();
  let bar: ProgressBar | undefined;
  const progress = (done: number, total: number, video: string) => {
    if (f.json) emit('progress', { done, total, video });
    else (bar ??= progressBar('scoring', total)).update(done, video);
  };
  let groundTruth: GroundTruth | undefined;
  let attention: ReportAttention[] = [];
  if (files.length > 0) {
    for (const file of scoreFiles(files)) scored.push(readScoreFile(file, layout));
  } else if (f.encoder) {
    const videos = manifest!.videos.filter((v) => v.split === 'test');
    if (videos.length === 0) throw bad(`--manifest ${f.manifest}: no test video`);
    const encoder = await encoderFromFlags(
      { weights: f.encoder, backbone: f.backbone, width: f.width, 'input-size': f['input-size'], device: f.device },
      'scores',
    );
    try {
      for (const [i, v] of videos.entries()) {
        const r = await scoreVideo(v.path, encoder, {
          name: v.name,
          ...(f['batch-size'] ? { batchSize: f['batch-size'] } : {}),
          ...(f['test-size'] ? { testSize: f['test-size'] } : {}),
        });
        scored.push({ name: v.name, scores: r.clipScores });
        frameCounts.set(v.name, r.frames);
        progress(i + 1, videos.length, v.name);
      }
      if (f.report) {
        // The anomalous test video that scores highest: where its attention looks.
        const top = videos
          .filter((v) => v.label === 'anomalous')
          .map((v) => ({ v, max: Math.max(...scored.find((s) => s.name === v.name)!.scores) }))
          .sort((a, b) => b.max - a.max)[0];
        if (top) attention = await attentionOf(encoder, top.v, f['test-size']);
      }
    } finally {
      encoder.dispose();
    }
  } else {
    const source = await openFeatures(f.features!);
    let model: MilGenerator | undefined;
    try {
      model = await MilGenerator.load(f.generator!, f.device ? { device: f.device } : {});
      let videos: { name: string; features: Parameters<typeof scoreClips>[1] }[];
      if (f.test) videos = await loadSplit(f.test, source);
      else {
        groundTruth = await groundTruthOf(f, config, manifest);
        videos = [];
        for (const v of groundTruth.videos)
          if (source.has(v.name)) videos.push({ name: v.name, features: await source.read(v.name) });
        if (videos.length === 0)
          throw new MistError(ErrorCode.IO, `${f.features}: no features of a ground-truth video`);
      }
      for (const [i, v] of videos.entries()) {
        const scores = await scoreClips(model, v.features, {
          l2Normalize: l2!,
          ...(f.crop !== undefined ? { crop: f.crop } : {}),
        });
        scored.push({ name: v.name, scores });
        progress(i + 1, videos.length, v.name);
      }
    } finally {
      source.close();
      model?.dispose();
    }
  }
  bar?.finish();
  groundTruth ??= await groundTruthOf(f, config, manifest, frameCounts);

  const scores = new Map<string, Float32Array>();
  for (const s of scored) {
    if (scores.has(s.name)) throw new MistError(ErrorCode.ARG, `two score files are named ${s.name}`);
    scores.set(s.name, s.scores);
  }
  const missing = groundTruth.videos.filter((v) => !scores.has(v.name)).map((v) => v.name);
  if (missing.length > 0 && onMissing === 'error') {
    throw new MistError(
      ErrorCode.ARG,
      `no scores for ${missing.length} of ${groundTruth.videos.length} ground-truth videos (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}): --missing skip evaluates the others`,
    );
  }
  const options: EvaluateOptions = { ...evalOptions, scores, groundTruth, onMissing };
  const evaluation = evaluate(options);
  let report: string | undefined;
  if (f.report) {
    const name = f.encoder
      ? `encoder ${basename(f.encoder)}`
      : f.generator
        ? `generator ${basename(f.generator)}`
        : 'scores';
    const clipLength = evalOptions.clipLength ?? 16;
    // Segment scores are spread over clips as evaluate() spreads them; frame scores are clips of one frame.
    const series =
      layout === 'segments'
        ? new Map(
            groundTruth.videos
              .filter((v) => scores.has(v.name))
              .map((v) => [v.name, segmentScoresToClips(scores.get(v.name)!, v.sourceFrames, { clipLength })]),
          )
        : scores;
    report = (
      await writeReport(f.report, {
        title: `mist eval: ${name} on ${groundTruth.dataset}`,
        description: [
          `${evaluation.videos} test videos of the ${groundTruth.dataset} ground truth (${f.manifest ? `manifest ${f.manifest}` : `--dataset ${dataset}`}), ${layout} scores${missing.length > 0 ? `; ${missing.length} videos without scores left out` : ''}.`,
        ],
        evaluations: [evaluationEntry(name, options)],
        timelines: timelines(groundTruth, [{ name, scores: series }], layout === 'frames' ? 1 : clipLength),
        ...(attention.length > 0 ? { attention } : {}),
      })
    ).html;
  }
  if (f.json) {
    emit('result', {
      dataset: groundTruth.dataset,
      layout,
      ...(missing.length > 0 ? { skipped: missing } : {}),
      ...(report ? { report } : {}),
      ...evaluation,
    });
    return;
  }
  printEvaluation(evaluation, groundTruth, layout, missing.length, evalOptions.farThreshold ?? 0.5);
}

/** The metrics as a table on stdout. Sync. */
function printEvaluation(e: Evaluation, gt: GroundTruth, layout: string, skipped: number, threshold: number): void {
  const rows: [string, string][] = [
    ['frame AUC', fixed(e.auc)],
    ['AP', fixed(e.ap)],
    ['PR-AUC', fixed(e.prAuc)],
    [`FAR (> ${threshold})`, fixed(e.far)],
    ['score gap', fixed(e.scoreGap)],
    ['videos', `${e.videos}${skipped > 0 ? ` (${skipped} without scores left out)` : ''}`],
    ['frames', `${e.frames} (${e.anomalousFrames} anomalous)`],
  ];
  console.log(`${gt.dataset} ground truth, ${layout} scores`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(14)} ${v}`);
  if (e.perClassAuc && Object.keys(e.perClassAuc).length > 0) {
    console.log('per-class AUC');
    for (const [c, auc] of Object.entries(e.perClassAuc)) console.log(`  ${c.padEnd(16)} ${fixed(auc)}`);
  }
}

export const evalCommand: Command = {
  summary: 'frame AUC, AP, PR-AUC, FAR, score gap, per-class AUC of scores or a model (evaluate)',
  run,
};
