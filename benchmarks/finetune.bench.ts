// Benchmark: stage-2 fine-tuning on this machine, in two parts.
//  1. One training step of the full-size SGA encoders (MIST-I3D 16 x 224 x 224, MIST-C3D 16 x
//     112 x 112): train-mode forward, the class-weighted BCE of both heads, backward, gradient-norm
//     clip 20, Adam with weight decay on weights only; mist-vad (SgaEncoder.configureTraining +
//     trainStep) beside the same step in PyTorch (benchmarks/finetune_pytorch.py, the SgaEncoder of
//     test/reference/encoder_reference.py). Each engine runs in its own process (so peak memory is
//     its own) as a small server, and the two take turns step by step, the order alternating every
//     round, so that load which comes and goes on a shared machine falls on both alike.
//  2. Decoding plus pre-processing throughput (clips per second) of a real UCF-Crime video (when
//     ../shared/data holds it) and a synthetic 320 x 240 one: plain ffmpeg decoding, a full decode
//     to RGB with the training pre-processing of every clip, and random-window training reads.
//
// Run: npm run bench:finetune [-- --steps=3 --warmup=1 --fwd=2 --i3d-batch=2 --c3d-batch=4 --reps=3 --reads=6]
// (also --fwd=N forward-only rounds, --width=W for a narrow smoke test, --only=train|decode).
// Writes benchmarks/results/finetune.md. Needs python3-torch for the PyTorch column (Debian:
// apt-get install -y python3-torch) and ffmpeg for part 2.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { engine, Results, stats } from './results.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const threads = Number(process.env.MIST_NUM_THREADS ?? 2);
// Debian's python3-torch lives under /usr/bin/python3 (a pyenv python3 on PATH may lack it).
const python = process.env.MIST_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const SIZES = { i3d: [16, 224, 224], c3d: [16, 112, 112] } as const;
type Model = keyof typeof SIZES;

const { values: opt } = parseArgs({
  options: {
    serve: { type: 'string' },
    batch: { type: 'string' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    fwd: { type: 'string', default: '2' },
    'i3d-batch': { type: 'string', default: '2' },
    'c3d-batch': { type: 'string', default: '4' },
    width: { type: 'string', default: '1' },
    reps: { type: 'string', default: '3' },
    reads: { type: 'string', default: '6' },
    only: { type: 'string' },
  },
  strict: true,
});
const num = (k: keyof typeof opt): number => {
  const v = Number(opt[k]);
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`--${k} must be a positive number (got ${String(opt[k])})`);
  return v;
};

type Reply = {
  ready?: string;
  threads?: number;
  parameters?: number;
  macs?: number;
  ms?: number;
  fwdMs?: number;
  bwdMs?: number;
  optMs?: number;
  loss?: number;
  peakRssMiB?: number;
};

/** Random clips in [-1, 1) and soft targets in [0, 1), from a seeded generator. */
async function randomBatch(n: number, size: readonly number[]) {
  const { createRng } = await import('../lib/rng.js');
  const rng = createRng(0);
  const x = new Float32Array(n * 3 * size[0]! * size[1]! * size[2]!);
  for (let i = 0; i < x.length; i++) x[i] = rng.float() * 2 - 1;
  return { x, y: Float32Array.from({ length: n }, () => rng.float()) };
}

// The mist-vad side of part 1: this same file with --serve=MODEL --batch=N.
async function serve(model: Model, batch: number, width: number): Promise<void> {
  const { SgaEncoder, info, setNumThreads } = await import('../lib/index.js');
  setNumThreads(threads);
  const e = await SgaEncoder.createAsync({ backbone: model, device: 'cpu', width, dropout: 0.8, seed: 0 });
  await e.configureTraining({ lr: 1e-4, weightDecay: 5e-4, gradClip: 20, w1: 1, w0: 1, accumulate: 1 });
  e.setTraining(true);
  const { x, y } = await randomBatch(batch, SIZES[model]);
  const say = (r: Reply) => process.stdout.write(`${JSON.stringify(r)}\n`);
  say({
    ready: `mist-vad (LibTorch ${info().torchVersion})`,
    threads: info().threads,
    parameters: e.parameterCount().total,
    macs: e.macsPerClip().total,
  });
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = line.trim();
    const t0 = performance.now();
    if (cmd === 'step') {
      const r = await e.trainStep(x, y);
      say({ ms: performance.now() - t0, loss: r.loss });
    } else if (cmd === 'fwd') {
      await e.forward(x); // train mode: batch statistics and dropout, no autograd
      say({ ms: performance.now() - t0 });
    } else break;
  }
  say({ peakRssMiB: process.resourceUsage().maxRSS / 1024 });
  // LibTorch's thread pool would keep the process alive: the parent is done with it.
  process.exit(0);
}

const f0 = (v: number) => v.toFixed(0);
const f2 = (v: number) => v.toFixed(2);

/** Part 1 for one model: both engines, interleaved step by step. */
async function trainPart(model: Model, batch: number, width: number) {
  const steps = num('steps'),
    warmup = Number(opt.warmup),
    fwd = Number(opt.fwd);
  const self = [fileURLToPath(import.meta.url), `--serve=${model}`, `--batch=${batch}`, `--width=${width}`];
  const ours = engine<Reply>(threads, process.execPath, ['--import', 'tsx', ...self]);
  const size = SIZES[model].map(String);
  const torch = engine<Reply>(threads, python, [
    join(here, 'finetune_pytorch.py'),
    model,
    String(batch),
    String(threads),
    String(width),
    ...size,
  ]);
  const [a, b] = [await ours.next(), await torch.next()];
  const engines = [
    { name: a.ready!, e: ours, ms: [] as number[], fwd: [] as number[], parts: [] as Reply[], loss: [] as number[] },
    { name: b.ready!, e: torch, ms: [] as number[], fwd: [] as number[], parts: [] as Reply[], loss: [] as number[] },
  ];
  if (a.parameters !== b.parameters) console.log(`parameter counts differ: ${a.parameters} vs ${b.parameters}`);
  const order = (i: number) => (i % 2 === 0 ? engines : [...engines].reverse());
  for (let i = 0; i < warmup; i++) for (const x of order(i)) await x.e.ask('step');
  for (let i = 0; i < steps; i++) {
    for (const x of order(i)) {
      const r = await x.e.ask('step');
      x.ms.push(r.ms!);
      x.loss.push(r.loss!);
      x.parts.push(r);
      console.log(`  ${model} step ${i + 1}/${steps} ${x.name}: ${f0(r.ms!)} ms`);
    }
  }
  // Forward only (train mode, no autograd), after the steps, interleaved the same way.
  for (let i = 0; i < fwd; i++) for (const x of order(i)) x.fwd.push((await x.e.ask('fwd')).ms!);
  const rss = [await ours.ask('quit'), await torch.ask('quit')].map((r) => r.peakRssMiB!);
  const perRound = engines[1]!.ms.map((t, i) => t / engines[0]!.ms[i]!);
  const label = `MIST-${model.toUpperCase()} ${SIZES[model].join('x')}${width === 1 ? '' : ` (width ${width})`}, batch ${batch}`;
  const rows = engines.map((x, i) => {
    const s = stats(x.ms);
    const fw = x.fwd.length ? stats(x.fwd).median : NaN;
    return [
      label,
      x.name,
      `${f0(s.median)} ms`,
      `${f0(s.min)} ms`,
      f2((1000 * batch) / s.median),
      f2((1000 * batch) / s.min),
      x.fwd.length ? `${f0(fw)} ms (${f0((100 * fw) / s.median)} %)` : '-',
      `${f0(rss[i]!)} MiB`,
    ];
  });
  const [o, t] = [stats(engines[0]!.ms), stats(engines[1]!.ms)];
  const r = stats(perRound);
  const med = (k: 'fwdMs' | 'bwdMs' | 'optMs') => stats(engines[1]!.parts.map((p) => p[k]!)).median;
  // A training step costs about three forwards (forward, input gradient, weight gradient).
  const flops = 3 * 2 * a.macs! * batch;
  const notes = [
    `${label}: speed-up over PyTorch ${f2(t.median / o.median)}x (medians), ${f2(t.min / o.min)}x (minima); ` +
      `per round (PyTorch / mist-vad of adjacent steps): median ${f2(r.median)}x, lowest ${f2(r.min)}x, highest ` +
      `${f2(Math.max(...perRound))}x.`,
    `  PyTorch's step split: forward with autograd ${f0(med('fwdMs'))} ms, backward ${f0(med('bwdMs'))} ms, ` +
      `clip + Adam ${f0(med('optMs'))} ms (medians). ${a.parameters} parameters; ~3 x 2 x ${(a.macs! / 1e9).toFixed(2)} ` +
      `G MACs x ${batch} clips = ${(flops / 1e9).toFixed(0)} GFLOP per step, i.e. ${f0(flops / (o.median * 1e6))} GFLOP/s ` +
      `(mist-vad, median step).`,
    `  losses of the measured steps: mist-vad ${engines[0]!.loss.map(f2).join(' ')}; PyTorch ${engines[1]!.loss.map(f2).join(' ')}.`,
  ];
  return { rows, notes, stepMs: o.median, fwdMs: engines[0]!.fwd.length ? stats(engines[0]!.fwd).median : NaN };
}

// ---- Part 2: decoding and pre-processing --------------------------------------------------------

/** Seconds of one run of `ffmpeg -i FILE -f null -` (decoding only, ffmpeg's own thread count). */
function ffmpegNull(file: string): Promise<number> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const p = spawn('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-'], { stdio: 'ignore' });
    p.on('error', fail);
    p.on('close', (code) =>
      code === 0 ? done((performance.now() - t0) / 1000) : fail(new Error(`ffmpeg exit ${code}`)),
    );
  });
}

async function decodePart(res: Results) {
  const lib = await import('../lib/index.js');
  const { createRng } = await import('../lib/rng.js');
  lib.setNumThreads(threads);
  const reps = num('reps'),
    reads = num('reads');
  const videos: { name: string; file: string }[] = [];
  const real = resolve(root, '..', 'shared', 'data', 'ucf-crime', 'videos', 'Normal_Videos_006_x264.mp4');
  const skipped: string[] = [];
  if (existsSync(real)) videos.push({ name: 'UCF-Crime Normal_Videos_006_x264.mp4', file: real });
  else skipped.push(`skipped the real UCF-Crime video: ${real} is absent (see ../shared/data/README.md)`);
  const dir = join(root, '.bench-out', 'finetune');
  mkdirSync(dir, { recursive: true });
  const synth = await lib.makeSyntheticVideos(dir, {
    seed: 0,
    normal: 1,
    anomalous: 0,
    testNormal: 0,
    testAnomalous: 0,
    frames: 450,
    width: 320,
    height: 240,
    fps: 30,
  });
  videos.push({ name: 'synthetic (makeSyntheticVideos)', file: synth.videos[0]!.file });

  const rng = createRng(1);
  const rows: string[][] = [];
  const descr: string[] = [];
  for (const v of videos) {
    const reader = await lib.openVideo(v.file);
    const source = await lib.openFrameSource(v.file, { order: 'rgb' });
    await source.read(0, 16); // builds the seek index once
    const clips = reader.clipCount;
    descr.push(
      `${v.name}: ${reader.width}x${reader.height}, ${reader.frames} frames (${clips} clips of 16), ${reader.codec}, ${f2(reader.fps)} fps`,
    );
    let onePre: { data: Uint8Array; shape: number[] } | undefined;
    for await (const c of reader.clips()) {
      onePre = c; // leaving the loop stops that decode's ffmpeg
      break;
    }
    const train = (bb: Model) => lib.clipTransform(bb, { train: true }, rng);
    const randomReads = async (bb: Model, concurrency: number) => {
      let next = 0;
      const worker = async () => {
        while (next < reads) {
          next++;
          const f = await source.read(rng.int(0, source.frames - 16 + 1), 16);
          await lib.preprocessClips(f.data, f.shape, train(bb));
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      return reads;
    };
    // Each measurement returns the clips it produced; its time is taken around it.
    const cases: { what: string; run: () => Promise<number>; times: number[]; n: number }[] = [
      {
        what: '(a) `ffmpeg -i FILE -f null -` (decode only, frames / 16)',
        run: async () => (await ffmpegNull(v.file), reader.frames / 16),
        times: [],
        n: 0,
      },
      {
        what: '(b0) full decode to rgb24 (openVideo clips), no pre-processing',
        run: async () => {
          let n = 0;
          for await (const _ of reader.clips()) n++;
          return n;
        },
        times: [],
        n: 0,
      },
      ...(['i3d', 'c3d'] as const).map((bb) => ({
        what: `(b) full decode + ${bb.toUpperCase()} train pre-processing (${SIZES[bb].slice(1).join('x')})`,
        run: async () => {
          let n = 0;
          for await (const c of reader.clips()) {
            await lib.preprocessClips(c.data, c.shape, train(bb));
            n++;
          }
          return n;
        },
        times: [] as number[],
        n: 0,
      })),
      ...(['i3d', 'c3d'] as const).flatMap((bb) =>
        [1, 4].map((k) => ({
          what: `(c) random 16-frame reads + ${bb.toUpperCase()} train pre-processing, ${k} at a time`,
          run: () => randomReads(bb, k),
          times: [] as number[],
          n: 0,
        })),
      ),
      ...(['i3d', 'c3d'] as const).map((bb) => ({
        what: `(p) ${bb.toUpperCase()} train pre-processing alone (decoded clip in memory)`,
        run: async () => {
          for (let i = 0; i < 4; i++) await lib.preprocessClips(onePre!.data, onePre!.shape, train(bb));
          return 4;
        },
        times: [] as number[],
        n: 0,
      })),
    ];
    for (const c of cases) await c.run(); // warm-up
    for (let r = 0; r < reps; r++) {
      // Rotate the order every repetition so that no case always follows the same one.
      for (let j = 0; j < cases.length; j++) {
        const c = cases[(j + r) % cases.length]!;
        const t0 = performance.now();
        c.n = await c.run();
        c.times.push((performance.now() - t0) / c.n);
      }
    }
    for (const c of cases) {
      const s = stats(c.times);
      rows.push([
        v.name,
        c.what,
        `${s.median.toFixed(1)} ms`,
        `${s.min.toFixed(1)} ms`,
        f2(1000 / s.median),
        f2(1000 / s.min),
      ]);
    }
  }
  res.line('## Decoding and pre-processing');
  res.line();
  for (const s of skipped) res.line(s);
  for (const d of descr) res.line(`- ${d}`);
  res.line();
  res.line(
    `${reps} repetitions of every case after one warm-up, the cases taking turns (order rotated every repetition); ` +
      `time per clip of 16 frames, median and best. (c) reads ${reads} windows at random starts per repetition ` +
      `through openFrameSource without a cache (each read one ffmpeg run seeking to its window); fine-tuning reads up ` +
      `to 4 at a time (its \`decoders\` default). (p) is what a read costs once a frame cache holds the video. ` +
      `Pre-processing runs on the libuv pool, LibTorch at ${threads} threads.`,
  );
  res.line();
  res.table(['video', 'what', 'ms/clip (median)', 'ms/clip (min)', 'clips/s (median)', 'clips/s (best)'], rows);
}

async function main(): Promise<void> {
  const res = new Results('finetune', 'Stage-2 fine-tuning: training step beside PyTorch, decoding and pre-processing');
  const width = num('width');
  const only = opt.only;
  if (only !== 'decode') {
    const torchLib = (await import('../lib/index.js')).info();
    const batches = { i3d: num('i3d-batch'), c3d: num('c3d-batch') };
    const rows: string[][] = [];
    const notes: string[] = [];
    const share: string[] = [];
    for (const model of ['i3d', 'c3d'] as const) {
      const p = await trainPart(model, batches[model], width);
      rows.push(...p.rows);
      notes.push(...p.notes);
      share.push(`${model.toUpperCase()} ${f0((100 * p.fwdMs) / p.stepMs)} %`);
    }
    res.line('## One training step');
    res.line();
    res.line(
      `Stage-2 step at accumulate 1: train-mode forward (BatchNorm batch statistics, dropout 0.8), class-weighted BCE ` +
        `of the main and guided heads, backward, gradient-norm clip 20, Adam (lr 1e-4, weight decay 5e-4 on conv / ` +
        `linear weights only). Random clips in [-1, 1) and random soft targets, the same sizes on both sides; ` +
        `${threads} threads each; ${opt.warmup} warm-up steps, then ${opt.steps} steps of each engine interleaved ` +
        `step by step (order alternating); then ${opt.fwd} forward-only rounds (train mode, no autograd) the same way.`,
    );
    res.line();
    res.table(
      [
        'model, batch',
        'engine',
        'step (median)',
        'step (min)',
        'clips/s (median)',
        'clips/s (best)',
        'forward only (share of step)',
        'peak RSS',
      ],
      rows,
    );
    res.line();
    for (const n of notes) res.line(n);
    res.line();
    res.line(
      `What limits the speed: the step is the forward and the backward of the 3D convolutions (the backward ` +
        `computes the input and the weight gradient of every convolution, about twice the forward's multiply-adds). ` +
        `A train-mode forward without autograd takes ${share.join(', ')} of mist-vad's median step; the backward, ` +
        `the loss, the clip and Adam take the rest. mist-vad links the ${torchLib.torchSource} LibTorch ` +
        `${torchLib.torchVersion} (${torchLib.torchDir}); Debian's python3-torch is built on the same ` +
        `libtorch_cpu, so here both engines run the same ATen / oneDNN kernels forward and backward, and the ` +
        `difference between them lies around those kernels (Python dispatch and torch.optim's per-parameter loop, ` +
        `its clip + Adam share above, among others). The inference-only speed-ups of benchmarks/results/encoders.md (BatchNorm folded ` +
        `into the convolutions, oneDNN's blocked layout with prepacked weights) do not apply to training: the ` +
        `weights change every step and BatchNorm uses batch statistics.`,
    );
    res.line();
  }
  if (only !== 'train') await decodePart(res);
  res.write();
}

if (opt.serve) await serve(opt.serve as Model, num('batch'), num('width'));
else await main();
