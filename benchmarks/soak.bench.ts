// Benchmark: a soak of the two long-running native loops, watching for leaks and for work on
// the event loop.
//  (a) 10,000 stage-1 training steps of a MilGenerator (featureDim 1024, the paper's hidden
//      sizes 512 and 32, batches of 2 normal + 2 anomalous videos x 16 clips, top-3 loss,
//      Adagrad), the resident set sampled every 1,000 steps;
//  (b) 1,000 forwards of an SgaEncoder (C3D of width 1/8 at 16 x 32 x 32, batches of 4 clips),
//      the resident set sampled every 100 forwards.
// Growth after warm-up is the resident set at the end against the one after the first tenth
// (target: under 5 %). Event-loop lag is sampled in each phase by perf_hooks'
// monitorEventLoopDelay at a 10 ms resolution, reported as the delay beyond that 10 ms period
// (target: p99 under 50 ms): the forward and training passes run on LibTorch's threads, off
// the event loop, so the timer keeps firing on time while they run.
//
// Run (from the repository root): npm run bench:soak [-- --quick]   (writes benchmarks/results/soak.md;
// --quick runs a tenth of the steps and forwards and writes nothing).
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { info, MilGenerator, SgaEncoder } from '../lib/index.js';
import { createRng } from '../lib/rng.js';
import { Results } from './results.js';

const MiB = 2 ** 20;
const RESOLUTION_MS = 10;

/** Resident set after warm-up, at the end, their growth, and the samples. */
export interface RssSeries {
  /** [iterations done, RSS in MiB] every `every` iterations (the first at `every`). */
  samples: [number, number][];
  every: number;
  /** RSS after the first tenth of the iterations, and at the end (MiB). */
  afterWarmUp: number;
  end: number;
  /** (end - afterWarmUp) / afterWarmUp, in per cent. */
  growthPct: number;
}

/** Event-loop delay beyond the monitor's period, in ms. */
export interface Lag {
  p50: number;
  p99: number;
  max: number;
  /** Timer samples taken. */
  count: number;
}

export interface SoakPhase {
  iterations: number;
  seconds: number;
  msPerIteration: number;
  rss: RssSeries;
  lag: Lag;
}

export interface SoakResult {
  training: SoakPhase;
  scoring: SoakPhase;
  loadStart: number[];
  loadEnd: number[];
}

export interface SoakOptions {
  /** Generator training steps (default 10,000), sampled every tenth. */
  steps?: number;
  /** Encoder forwards (default 1,000), sampled every tenth. */
  forwards?: number;
  /** Called after each RSS sample. */
  onSample?: (phase: 'training' | 'scoring', done: number, rssMiB: number) => void;
}

const rssMiB = (): number => process.memoryUsage.rss() / MiB;

/** Runs `iterations` awaited calls of `step`, sampling RSS ten times and the lag throughout. */
export async function phase(
  name: 'training' | 'scoring',
  iterations: number,
  step: (i: number) => Promise<unknown>,
  onSample?: SoakOptions['onSample'],
): Promise<SoakPhase> {
  const every = Math.max(1, Math.floor(iterations / 10));
  const samples: [number, number][] = [];
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const t0 = performance.now();
  h.enable();
  for (let i = 0; i < iterations; i++) {
    await step(i);
    if ((i + 1) % every === 0) {
      const r = rssMiB();
      samples.push([i + 1, r]);
      onSample?.(name, i + 1, r);
    }
  }
  h.disable();
  const seconds = (performance.now() - t0) / 1000;
  const beyond = (ns: number): number => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  const afterWarmUp = samples[0]![1];
  const end = samples[samples.length - 1]![1];
  return {
    iterations,
    seconds,
    msPerIteration: (seconds * 1000) / iterations,
    rss: { samples, every, afterWarmUp, end, growthPct: ((end - afterWarmUp) / afterWarmUp) * 100 },
    lag: { p50: beyond(h.percentile(50)), p99: beyond(h.percentile(99)), max: beyond(h.max), count: h.count },
  };
}

/**
 * The soak: `steps` generator training steps, then `forwards` encoder forwards, on the CPU.
 * Async; the models are disposed at the end.
 */
export async function soak(options: SoakOptions = {}): Promise<SoakResult> {
  const steps = options.steps ?? 10_000;
  const forwards = options.forwards ?? 1_000;
  const loadStart = loadavg();
  const rng = createRng(0);

  // (a) Stage 1: a few fixed batches, cycled, so that the JS side does no work between steps.
  const D = 1024;
  const N = 2;
  const C = 16;
  const batches = Array.from({ length: 4 }, () => {
    const features = new Float32Array(2 * N * C * D);
    for (let j = 0; j < features.length; j++) features[j] = rng.float();
    return { features, normal: N, anomalous: N, clips: C };
  });
  const g = MilGenerator.create({ featureDim: D, device: 'cpu', seed: 0 });
  let training: SoakPhase;
  try {
    training = await phase(
      'training',
      steps,
      (i) => g.trainStep(batches[i % batches.length]!, { k: 3, lambdaSparsity: 0.01 }),
      options.onSample,
    );
  } finally {
    g.dispose();
  }

  // (b) Stage-2 scoring: a small C3D, batches of 4 clips of 16 x 32 x 32.
  const e = SgaEncoder.create({ backbone: 'c3d', width: 0.125, inputSize: [16, 32, 32], device: 'cpu', seed: 0 });
  const inputs = Array.from({ length: 2 }, () => {
    const x = new Float32Array(4 * 3 * 16 * 32 * 32);
    for (let j = 0; j < x.length; j++) x[j] = rng.float() * 2 - 1;
    return x;
  });
  let scoring: SoakPhase;
  try {
    scoring = await phase('scoring', forwards, (i) => e.forward(inputs[i % inputs.length]!, 4), options.onSample);
  } finally {
    e.dispose();
  }
  return { training, scoring, loadStart, loadEnd: loadavg() };
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const steps = quick ? 1_000 : 10_000;
  const forwards = quick ? 100 : 1_000;
  const res = new Results('soak', 'Soak: resident set and event-loop lag over long native loops');
  const fmt = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  console.log(`load average at the start: ${fmt(loadavg())}; LibTorch threads: ${info().threads}`);
  const r = await soak({
    steps,
    forwards,
    onSample: (p, done, rss) => console.log(`  ${p} ${done}: ${rss.toFixed(1)} MiB`),
  });
  res.line(
    `(a) ${steps.toLocaleString('en')} stage-1 training steps: MilGenerator, featureDim 1024, hidden 512 and 32, ` +
      'batches of 2 normal + 2 anomalous videos x 16 clips, top-3 loss, Adagrad (4 fixed batches, cycled).',
  );
  res.line(
    `(b) ${forwards.toLocaleString('en')} SgaEncoder forwards: C3D of width 1/8 at 16 x 32 x 32, batches of 4 clips (eval mode).`,
  );
  res.line(`CPU, ${info().threads} LibTorch threads, LibTorch ${info().torchVersion}.`);
  res.line();
  for (const [name, p] of [
    ['training', r.training],
    ['scoring', r.scoring],
  ] as const) {
    res.line(
      `Resident set, ${name} (every ${p.rss.every.toLocaleString('en')} ${name === 'training' ? 'steps' : 'forwards'}):`,
    );
    res.line();
    res.table(
      [name === 'training' ? 'steps' : 'forwards', 'RSS'],
      p.rss.samples.map(([n, mib]) => [n.toLocaleString('en'), `${mib.toFixed(1)} MiB`]),
    );
    res.line();
  }
  res.table(
    [
      'phase',
      'time',
      'per iteration',
      'RSS after 10 %',
      'RSS at the end',
      'growth',
      'lag p50',
      'lag p99',
      'lag max',
      'lag samples',
    ],
    [
      ['training', r.training],
      ['scoring', r.scoring],
    ].map(([name, p]) => {
      const q = p as SoakPhase;
      return [
        name as string,
        `${q.seconds.toFixed(1)} s`,
        `${q.msPerIteration.toFixed(1)} ms`,
        `${q.rss.afterWarmUp.toFixed(1)} MiB`,
        `${q.rss.end.toFixed(1)} MiB`,
        `${q.rss.growthPct.toFixed(2)} %`,
        `${q.lag.p50.toFixed(2)} ms`,
        `${q.lag.p99.toFixed(2)} ms`,
        `${q.lag.max.toFixed(2)} ms`,
        String(q.lag.count),
      ];
    }),
  );
  res.line();
  res.line(
    'Growth is the RSS at the end against the RSS after the first tenth (target: under 5 %). Lag is the ' +
      `event-loop delay beyond monitorEventLoopDelay's ${RESOLUTION_MS} ms period (target: p99 under 50 ms).`,
  );
  const ok = [r.training, r.scoring].every((p) => p.rss.growthPct < 5 && p.lag.p99 < 50);
  res.line(
    `Targets ${ok ? 'met' : 'NOT met'}. Load average (1, 5, 15 min): ${fmt(r.loadStart)} at the start, ${fmt(r.loadEnd)} at the end.`,
  );
  if (quick) console.log('\n--quick: results file not written');
  else res.write();
  // LibTorch's thread pool would keep the process alive.
  process.exit(0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
