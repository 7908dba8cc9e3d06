// Benchmark: frame-level AUC over the real UCF-Crime test ground truth (290 videos,
// 1,109,824 frames, MIST convention) with random scores. Not part of `npm test`.
// Run: node --import tsx benchmarks/auc.bench.ts [repeats]
import { arch, cpus, platform, totalmem } from 'node:os';
import { createRng } from '../lib/rng.js';
import { averagePrecision, evaluate, frameAuc, loadUcfCrimeGroundTruth } from '../lib/index.js';

const repeats = Number(process.argv[2] ?? 7);
const gt = loadUcfCrimeGroundTruth();
const labels = new Uint8Array(gt.totalFrames);
let off = 0;
for (const v of gt.videos) {
  labels.set(v.labels, off);
  off += v.labels.length;
}
const rng = createRng(1);
// Worst case for sorting: a distinct random score on every frame.
const frameScores = Float32Array.from({ length: labels.length }, () => rng.float());
// The realistic case: one score per 16-frame clip, as evaluate() spreads them.
const clipScores = new Map(gt.videos.map((v) => [v.name, Float32Array.from({ length: v.labels.length / 16 }, () => rng.float())]));

function time(what: string, fn: () => number): void {
  const ms: number[] = [];
  let value = 0;
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    value = fn();
    ms.push(performance.now() - t);
  }
  const sorted = [...ms].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(`${what.padEnd(44)} median ${median.toFixed(1).padStart(7)} ms   first ${ms[0]!.toFixed(1).padStart(7)} ms   min ${sorted[0]!.toFixed(1).padStart(7)} ms   (value ${value.toFixed(6)})`);
}

const cpu = cpus();
console.log(`machine: ${cpu[0]?.model ?? 'unknown CPU'} x ${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()}-${arch()}, Node ${process.version}`);
console.log(`UCF-Crime test ground truth: ${gt.videos.length} videos, ${gt.totalFrames} frames, ${gt.anomalousFrames} anomalous; ${repeats} runs each`);
time('frameAuc, distinct score per frame', () => frameAuc(labels, frameScores));
time('averagePrecision, distinct score per frame', () => averagePrecision(labels, frameScores));
time('evaluate() all metrics + 13 per-class AUCs', () => evaluate({ scores: clipScores, groundTruth: gt }).auc);
