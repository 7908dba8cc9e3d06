// Benchmark: one MIST stage-1 training step at the ShanghaiTech preset (40 + 40 videos x 224
// sampled clips x 1024), mist-vad beside PyTorch on this machine, in one run, each engine in
// its own process (so peak memory is its own). Run: npm run bench:stage1 [-- STEPS]
// Needs python3-torch for the PyTorch column (Debian: apt-get install -y python3-torch).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const steps = Number(process.argv[2] ?? 10);
const threads = Number(process.env.MIST_NUM_THREADS ?? 2);
// Debian's python3-torch lives under /usr/bin/python3 (a pyenv python3 on PATH may lack it).
const python = process.env.MIST_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

interface Result { engine: string; medianMs: number; minMs: number; peakRssMiB: number; threads: number; batchMs?: number }

// The mist-vad side, run as a child of this same file with --child.
async function child(): Promise<void> {
  const { MilGenerator, createBatchSampler, info } = await import('../lib/index.js');
  const { createRng } = await import('../lib/rng.js');
  const B = 40, L = 32, T = 7, dim = 1024;
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
  const stepTimes: number[] = [];
  const batchTimes: number[] = [];
  for (let i = 0; i < steps + 2; i++) {
    const t0 = performance.now();
    const batch = sampler.next();
    const t1 = performance.now();
    await g.trainStep(batch, { k: T, lambdaSparsity: 0.01 });
    const t2 = performance.now();
    batchTimes.push(t1 - t0);
    stepTimes.push(t2 - t1);
  }
  const med = (a: number[]) => a.slice(2).sort((x, y) => x - y)[Math.floor((a.length - 2) / 2)]!;
  const r: Result = {
    engine: `mist-vad (LibTorch ${info().torchVersion})`,
    medianMs: med(stepTimes),
    minMs: Math.min(...stepTimes.slice(2)),
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    threads: info().threads,
    batchMs: med(batchTimes),
  };
  console.log(JSON.stringify(r));
}

function run(cmd: string, args: string[]): Result | string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, MIST_NUM_THREADS: String(threads) } });
  if (r.status !== 0) return (r.stderr || r.error?.message || 'failed').trim().split('\n').pop()!;
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Result;
}

if (process.argv.includes('--child')) {
  await child();
} else {
  const ours = run(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), String(steps), '--child']);
  const torch = run(python, [join(here, 'stage1_step_pytorch.py'), String(steps), String(threads)]);
  console.log(`stage-1 training step, ShanghaiTech preset: 40 + 40 videos x 224 clips x 1024, top-7 loss, Adagrad`);
  console.log(`machine: ${cpus()[0]?.model} x ${cpus().length}, ${threads} threads, median of ${steps} steps\n`);
  console.log('| engine | step (median) | step (min) | peak RSS |');
  console.log('| --- | --- | --- | --- |');
  for (const r of [ours, torch]) {
    if (typeof r === 'string') console.log(`| (failed: ${r}) | | | |`);
    else console.log(`| ${r.engine} | ${r.medianMs.toFixed(0)} ms | ${r.minMs.toFixed(0)} ms | ${r.peakRssMiB.toFixed(0)} MiB |`);
  }
  if (typeof ours !== 'string') console.log(`\nmist-vad batch building (sampling 80 videos into the step's input, JS): ${ours.batchMs!.toFixed(0)} ms`);
  if (typeof ours !== 'string' && typeof torch !== 'string') {
    console.log(`speed-up over PyTorch (median step): ${(torch.medianMs / ours.medianMs).toFixed(2)}x`);
  }
}
