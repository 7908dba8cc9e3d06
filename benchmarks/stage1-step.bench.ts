// Benchmark: one MIST stage-1 training step at the ShanghaiTech preset (40 + 40 videos x 224
// sampled clips x 1024), mist-vad beside PyTorch on this machine. Each engine runs in its own
// process (so peak memory is its own) as a small server, and the two take turns step by step
// (the order alternating every round), so that load which comes and goes on a shared machine
// falls on both alike. Run: npm run bench:stage1 [-- STEPS]; writes benchmarks/results/stage1-step.md.
// Needs python3-torch for the PyTorch column (Debian: apt-get install -y python3-torch).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { engine, Results, stats } from './results.js';

const here = dirname(fileURLToPath(import.meta.url));
const steps = Number(process.argv[2] ?? 20);
const threads = Number(process.env.MIST_NUM_THREADS ?? 2);
// Debian's python3-torch lives under /usr/bin/python3 (a pyenv python3 on PATH may lack it).
const python = process.env.MIST_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

type Reply = { ready?: string; threads?: number; ms?: number; batchMs?: number; peakRssMiB?: number };

// The mist-vad side: this same file with --serve.
async function serve(): Promise<void> {
  const { MilGenerator, createBatchSampler, info } = await import('../lib/index.js');
  const { createRng } = await import('../lib/rng.js');
  const B = 40,
    L = 32,
    T = 7,
    dim = 1024;
  // 80 videos of 300 clips: sparse continuous sampling picks 224 clips from each.
  const rng = createRng(0);
  const video = (i: number) => {
    const data = new Float32Array(300 * dim);
    for (let j = 0; j < data.length; j++) data[j] = rng.float();
    return { name: `v${i}`, features: { data, shape: [300, dim] } };
  };
  const normal = Array.from({ length: B }, (_, i) => video(i));
  const anomalous = Array.from({ length: B }, (_, i) => video(B + i));
  const sampler = createBatchSampler(normal, anomalous, { batchSize: B, L, T, reuseBuffers: true }, rng);
  const g = MilGenerator.create({ featureDim: dim, device: 'cpu', seed: 0 });
  const say = (r: Reply) => process.stdout.write(`${JSON.stringify(r)}\n`);
  say({ ready: `mist-vad (LibTorch ${info().torchVersion})`, threads: info().threads });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() !== 'step') break;
    const t0 = performance.now();
    const batch = sampler.next();
    const t1 = performance.now();
    await g.trainStep(batch, { k: T, lambdaSparsity: 0.01 });
    say({ ms: performance.now() - t1, batchMs: t1 - t0 });
  }
  say({ peakRssMiB: process.resourceUsage().maxRSS / 1024 });
  // LibTorch's thread pool would keep the process alive: the parent is done with it.
  process.exit(0);
}

async function main(): Promise<void> {
  const res = new Results('stage1-step', 'Stage-1 training step, mist-vad beside PyTorch');
  const ours = engine<Reply>(threads, process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve']);
  const torch = engine<Reply>(threads, python, [join(here, 'stage1_step_pytorch.py'), String(threads)]);
  const [a, b] = [await ours.next(), await torch.next()];
  const engines = [
    { name: a.ready!, e: ours, ms: [] as number[], batch: [] as number[] },
    { name: b.ready!, e: torch, ms: [] as number[], batch: [] as number[] },
  ];
  for (const x of engines) for (let i = 0; i < 2; i++) await x.e.ask('step'); // warm-up
  for (let i = 0; i < steps; i++) {
    for (const x of i % 2 === 0 ? engines : [...engines].reverse()) {
      const r = await x.e.ask('step');
      x.ms.push(r.ms!);
      if (r.batchMs !== undefined) x.batch.push(r.batchMs);
    }
  }
  const rss = [await ours.ask('quit'), await torch.ask('quit')].map((r) => r.peakRssMiB!);
  const perRound = engines[1]!.ms.map((t, i) => t / engines[0]!.ms[i]!);
  res.line('Stage-1 training step, ShanghaiTech preset: 40 + 40 videos x 224 clips x 1024, top-7 loss, Adagrad;');
  res.line(`${threads} threads each, ${steps} steps of each engine after 2 warm-up steps, interleaved step by step.`);
  res.line();
  res.table(
    ['engine', 'step (median)', 'step (min)', 'peak RSS'],
    engines.map((x, i) => {
      const s = stats(x.ms);
      return [x.name, `${s.median.toFixed(0)} ms`, `${s.min.toFixed(0)} ms`, `${rss[i]!.toFixed(0)} MiB`];
    }),
  );
  res.line();
  const [o, t] = [stats(engines[0]!.ms), stats(engines[1]!.ms)];
  const r = stats(perRound);
  res.line(
    `speed-up over PyTorch: ${(t.median / o.median).toFixed(2)}x (medians), ${(t.min / o.min).toFixed(2)}x (minima); ` +
      `per round (PyTorch / mist-vad of adjacent steps): median ${r.median.toFixed(2)}x, lowest ${r.min.toFixed(2)}x`,
  );
  res.line(
    `mist-vad batch building (sampling 80 videos into the step's input, JS): ${stats(engines[0]!.batch).median.toFixed(0)} ms, not in the step time`,
  );
  res.write();
}

if (process.argv.includes('--serve')) await serve();
else await main();
