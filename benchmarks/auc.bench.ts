// Benchmark: frame-level AUC over the real UCF-Crime test ground truth (290 videos,
// 1,109,824 frames, MIST convention) with random scores. Not part of `npm test`.
// Run: npm run bench:auc [-- repeats]; writes benchmarks/results/auc.md.
import { averagePrecision, evaluate, frameAuc, loadUcfCrimeGroundTruth } from '../lib/index.js';
import { createRng } from '../lib/rng.js';
import { Results, stats } from './results.js';

const res = new Results('auc', 'Frame-level metrics over the UCF-Crime test ground truth');

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
const clipScores = new Map(
  gt.videos.map((v) => [v.name, Float32Array.from({ length: v.labels.length / 16 }, () => rng.float())]),
);

const rows: string[][] = [];
function time(what: string, fn: () => number): void {
  const ms: number[] = [];
  let value = 0;
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    value = fn();
    ms.push(performance.now() - t);
  }
  const s = stats(ms);
  rows.push([what, `${s.median.toFixed(1)} ms`, `${ms[0]!.toFixed(1)} ms`, `${s.min.toFixed(1)} ms`, value.toFixed(6)]);
}

time('frameAuc, distinct score per frame', () => frameAuc(labels, frameScores));
time('averagePrecision, distinct score per frame', () => averagePrecision(labels, frameScores));
time('evaluate() all metrics + 13 per-class AUCs', () => evaluate({ scores: clipScores, groundTruth: gt }).auc);
res.line(
  `UCF-Crime test ground truth: ${gt.videos.length} videos, ${gt.totalFrames} frames, ${gt.anomalousFrames} anomalous; ${repeats} runs each`,
);
res.line();
res.table(['what', 'median', 'first', 'min', 'value'], rows);
res.write();
