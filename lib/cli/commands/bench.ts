// `mist bench`: how fast this machine runs MIST, through the public API only: for MIST-I3D and
// MIST-C3D the parameters, multiply-accumulates per clip, inference clips and frames per second
// at batch 1 and batch N, and the time of one stage-1 training step on random features of the
// preset's size; the peak resident memory; the machine it ran on.
import { cpus } from 'node:os';

import { z } from 'zod';

import { info } from '../../info.js';
import { MilGenerator } from '../../models/generator.js';
import { DEFAULT_INPUT_SIZE, SgaEncoder, SgaEncoderOptionsSchema } from '../../models/encoder.js';
import { PRESETS } from '../../stage1/presets.js';
import type { InputSize } from '../../types.js';
import { flagHelp, numberFlag, type FlagSpecs } from '../args.js';
import type { Command } from '../command.js';
import { DEVICE_FLAG, ENCODER_FLAGS } from '../encoder.js';
import { commandArgs, emit } from '../run.js';

const QUICK_WIDTH = 0.125;
const FLAGS = {
  backbone: { ...ENCODER_FLAGS.backbone, help: 'one backbone only (default: both)' },
  width: { ...ENCODER_FLAGS.width, help: `channel multiplier of the encoders (default 1; --quick ${QUICK_WIDTH})` },
  'input-size': ENCODER_FLAGS['input-size'],
  batch: {
    schema: numberFlag(z.int({ error: 'must be a positive integer' }).positive().max(256)).default(4),
    arg: 'N',
    help: 'the second batch size timed (default 4)',
  },
  repeats: {
    schema: numberFlag(z.int({ error: 'must be a positive integer' }).positive().max(1000)).optional(),
    arg: 'N',
    help: 'timed calls of each measurement, after one warm-up call; the median counts (default 2, --quick 1)',
  },
  dataset: {
    schema: z.enum(['ucf-crime', 'shanghaitech'], { error: 'must be ucf-crime or shanghaitech' }).default('ucf-crime'),
    arg: 'NAME',
    help: "whose stage-1 preset sizes the generator's step (default ucf-crime)",
  },
  quick: {
    schema: z.boolean().optional(),
    switch: true,
    help: `narrow encoders (width ${QUICK_WIDTH}): seconds, not a minute`,
  },
  device: { ...DEVICE_FLAG, schema: SgaEncoderOptionsSchema.shape.device },
  json: { schema: z.boolean().optional(), switch: true, help: 'one JSON line per measurement and the result' },
  help: { schema: z.boolean().optional(), switch: true, help: 'this text' },
} satisfies FlagSpecs;

const HELP = flagHelp(
  'mist bench [--quick] [--backbone i3d|c3d] [--width X] [--input-size T,H,W] [--batch N] [options]\n\n' +
    'Times MIST-I3D and MIST-C3D inference and a stage-1 training step on this machine (random inputs).',
  FLAGS,
);

/** One backbone's figures. */
interface BenchRow {
  model: string;
  backbone: 'i3d' | 'c3d';
  width: number;
  inputSize: InputSize;
  device: string;
  parameters: number;
  macsPerClip: number;
  buildSeconds: number;
  batch1: { clipsPerSecond: number; framesPerSecond: number; secondsPerCall: number };
  batchN: { batch: number; clipsPerSecond: number; framesPerSecond: number; secondsPerCall: number };
  stage1: {
    preset: string;
    featureDim: number;
    videos: number;
    clipsPerVideo: number;
    stepMs: number;
    parameters: number;
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The median seconds of `repeats` calls of `f`, after one warm-up call. Async. */
async function time(repeats: number, f: () => Promise<unknown>): Promise<number> {
  await f();
  const t: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await f();
    t.push((performance.now() - t0) / 1000);
  }
  return median(t);
}

/** Values in [-1, 1), a simple fixed sequence (the figures do not depend on the values). */
function randomValues(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    x[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return x;
}

type BenchFlags = NonNullable<ReturnType<typeof parse>>['flags'];
const parse = (argv: string[]) => commandArgs('bench', argv, FLAGS, HELP);

async function benchBackbone(backbone: 'i3d' | 'c3d', f: BenchFlags, say: (line: string) => void): Promise<BenchRow> {
  const model = backbone === 'i3d' ? 'MIST-I3D' : 'MIST-C3D';
  const width = f.width ?? (f.quick ? QUICK_WIDTH : 1);
  const inputSize = f['input-size'] ?? DEFAULT_INPUT_SIZE[backbone];
  const repeats = f.repeats ?? (f.quick ? 1 : 2);
  const t0 = performance.now();
  const encoder = await SgaEncoder.createAsync({
    backbone,
    width,
    inputSize,
    ...(f.device ? { device: f.device } : {}),
  });
  const buildSeconds = (performance.now() - t0) / 1000;
  let row: BenchRow;
  try {
    const d = encoder.describe();
    const parameters = encoder.parameterCount().total;
    const macsPerClip = encoder.macsPerClip().total;
    say(
      `${model}: ${(parameters / 1e6).toFixed(2)} M parameters, built in ${buildSeconds.toFixed(1)} s; timing batch 1`,
    );
    const [T, H, W] = inputSize;
    const per = 3 * T * H * W;
    const x1 = randomValues(per, 1);
    const s1 = await time(repeats, () => encoder.forward(x1, 1));
    say(`${model}: batch 1 ${(1 / s1).toFixed(2)} clips/s; timing batch ${f.batch}`);
    const xn = randomValues(per * f.batch, 2);
    const sn = await time(repeats, () => encoder.forward(xn, f.batch));
    row = {
      model,
      backbone,
      width,
      inputSize: [...inputSize] as unknown as InputSize,
      device: d.device,
      parameters,
      macsPerClip,
      buildSeconds,
      batch1: { clipsPerSecond: 1 / s1, framesPerSecond: T / s1, secondsPerCall: s1 },
      batchN: { batch: f.batch, clipsPerSecond: f.batch / sn, framesPerSecond: (f.batch * T) / sn, secondsPerCall: sn },
      stage1: { preset: '', featureDim: 0, videos: 0, clipsPerVideo: 0, stepMs: 0, parameters: 0 },
    };
  } finally {
    encoder.dispose();
  }
  // Stage 1: one training step of the generator on a batch of the preset's size.
  const preset = `${f.dataset}-${backbone}` as keyof typeof PRESETS;
  const p = PRESETS[preset];
  const clips = p.L * p.T;
  const videos = 2 * p.batchSize;
  say(`${model}: timing a stage-1 step (${preset}: ${videos} videos x ${clips} clips x ${p.featureDim})`);
  const generator = MilGenerator.create({ featureDim: p.featureDim, ...(f.device ? { device: f.device } : {}) });
  try {
    const features = randomValues(videos * clips * p.featureDim, 3).map((v) => (v + 1) / 2);
    const batch = { features, normal: p.batchSize, anomalous: p.batchSize, clips };
    const loss = {
      lossVariant: 'topk' as const,
      k: p.k,
      L: p.L,
      lambdaSparsity: p.lambdaSparsity,
      lambdaSmoothness: p.lambdaSmoothness,
    };
    const s = await time(repeats, () => generator.trainStep(batch, loss));
    row.stage1 = {
      preset,
      featureDim: p.featureDim,
      videos,
      clipsPerVideo: clips,
      stepMs: s * 1000,
      parameters: generator.describe().parameterCount,
    };
  } finally {
    generator.dispose();
  }
  return row;
}

/** Runs `mist bench` with its command-line arguments. Async. */
async function run(argv: string[]): Promise<void> {
  const args = parse(argv);
  if (!args) return;
  const f = args.flags;
  const i = info();
  const c = cpus();
  const machine = {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    torch: i.torchVersion,
    threads: i.threads,
    threadsObserved: i.threadsObserved,
    blas: i.blas.kind,
    cuda: i.cudaAvailable,
    addon: i.addon.variant ?? i.addon.kind,
  };
  if (i.blasWarning && !f.json) console.warn(`WARNING: ${i.blasWarning}`);
  const say = (line: string) => (f.json ? emit('progress', { message: line }) : console.error(line));
  const rows: BenchRow[] = [];
  for (const b of f.backbone ? [f.backbone] : (['i3d', 'c3d'] as const)) {
    rows.push(await benchBackbone(b, f, say));
    if (f.json) emit('model', rows.at(-1)!);
  }
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  if (f.json) {
    emit('result', { machine, models: rows, peakRssBytes });
    return;
  }
  console.log(
    `machine: ${machine.cpu}, ${machine.cores} cores; LibTorch ${machine.torch}, ${machine.threads} threads (${machine.threadsObserved} observed), BLAS ${machine.blas}, device ${rows[0]?.device ?? '-'}`,
  );
  const head = [
    'model'.padEnd(9),
    'width'.padStart(6),
    'input'.padStart(11),
    'params'.padStart(9),
    'GMACs/clip'.padStart(11),
    'clips/s b1'.padStart(11),
    'frames/s b1'.padStart(12),
    `clips/s b${f.batch}`.padStart(11),
    `frames/s b${f.batch}`.padStart(12),
    'stage-1 step'.padStart(13),
  ];
  console.log(head.join(' '));
  for (const r of rows) {
    console.log(
      [
        r.model.padEnd(9),
        String(r.width).padStart(6),
        r.inputSize.join('x').padStart(11),
        `${(r.parameters / 1e6).toFixed(2)} M`.padStart(9),
        (r.macsPerClip / 1e9).toFixed(2).padStart(11),
        r.batch1.clipsPerSecond.toFixed(2).padStart(11),
        r.batch1.framesPerSecond.toFixed(1).padStart(12),
        r.batchN.clipsPerSecond.toFixed(2).padStart(11),
        r.batchN.framesPerSecond.toFixed(1).padStart(12),
        `${r.stage1.stepMs.toFixed(1)} ms`.padStart(13),
      ].join(' '),
    );
  }
  for (const r of rows)
    console.log(
      `stage-1 step of ${r.model}: ${r.stage1.preset} generator (D = ${r.stage1.featureDim}, ${r.stage1.parameters} parameters), ${r.stage1.videos} videos x ${r.stage1.clipsPerVideo} clips`,
    );
  console.log(
    `peak RSS ${(peakRssBytes / 2 ** 20).toFixed(0)} MiB; medians of ${f.repeats ?? (f.quick ? 1 : 2)} calls after one warm-up`,
  );
}

export const benchCommand: Command = {
  summary: 'speed and size of MIST-I3D and MIST-C3D on this machine (parameters, MACs, clips/s, stage-1 step)',
  run,
};
