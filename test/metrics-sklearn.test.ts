// Metrics against scikit-learn. The reference values come from
// test/reference/sklearn_metrics.py (scikit-learn 1.2.1), stored in sklearn-metrics.json:
// this test never runs Python. Random scores are drawn from the same mulberry32 stream in
// both languages (lib/rng.ts, ported in the script).
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '../lib/rng.js';
import {
  averagePrecision,
  evaluate,
  frameAuc,
  loadShanghaiTechGroundTruth,
  loadUcfCrimeGroundTruth,
  loadXdViolenceGroundTruth,
  prAuc,
  prCurve,
  rocCurve,
  type GroundTruth,
} from '../lib/index.js';
import { ROOT, sharedData, test } from './helpers.js';

interface Case {
  labels?: number[];
  scores?: number[];
  seed?: number;
  n?: number;
  auc: number;
  ap: number;
  prAuc: number;
  far?: number;
  scoreGap?: number;
  frames?: number;
  anomalousFrames?: number;
  videos?: number;
  perClassAuc?: Record<string, number>;
  roc?: { fpr: number[]; tpr: number[]; thresholds: number[] };
  pr?: { precision: number[]; recall: number[]; thresholds: number[] };
}
const ref = JSON.parse(readFileSync(join(ROOT, 'test', 'reference', 'sklearn-metrics.json'), 'utf8')) as {
  sklearn: string;
  cases: Record<string, Case>;
};

function near(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs scikit-learn ${b} (diff ${Math.abs(a - b)})`);
}
function nearAll(a: ArrayLike<number>, b: number[], what: string): void {
  assert.is(a.length, b.length, `${what} length`);
  for (let i = 0; i < b.length; i++) near(a[i]!, b[i]!, 1e-12, `${what}[${i}]`);
}

function checkMetrics(name: string, l: ArrayLike<number>, s: ArrayLike<number>, c: Case): void {
  near(frameAuc(l, s), c.auc, 1e-12, `${name} auc`);
  near(averagePrecision(l, s), c.ap, 1e-12, `${name} ap`);
  near(prAuc(l, s), c.prAuc, 1e-12, `${name} prAuc`);
  if (c.roc) {
    const r = rocCurve(l, s);
    nearAll(r.fpr, c.roc.fpr, `${name} fpr`);
    nearAll(r.tpr, c.roc.tpr, `${name} tpr`);
    nearAll(r.thresholds.subarray(1), c.roc.thresholds, `${name} roc thresholds`);
  }
  if (c.pr) {
    const p = prCurve(l, s);
    nearAll(p.precision, c.pr.precision, `${name} precision`);
    nearAll(p.recall, c.pr.recall, `${name} recall`);
    nearAll(p.thresholds, c.pr.thresholds, `${name} pr thresholds`);
  }
}

test('hand-sized cases (ties, all-equal, perfect, reversed, collinear): values and curves', () => {
  for (const name of ['sklearn-doc', 'ties', 'all-equal', 'perfect', 'reversed', 'staircase', 'collinear']) {
    const c = ref.cases[name]!;
    checkMetrics(name, c.labels!, c.scores!, c);
  }
});

test('20,000 frames on a 50-value grid (heavy ties), with curves', () => {
  const c = ref.cases['grid-ties']!;
  const r = createRng(c.seed!);
  const l = new Uint8Array(c.n!);
  const s = new Float64Array(c.n!);
  for (let i = 0; i < c.n!; i++) {
    l[i] = r.float() < 0.3 ? 1 : 0;
    s[i] = Math.floor(r.float() * 50) / 50;
  }
  checkMetrics('grid-ties', l, s, c);
});

test('5,000 frames, float32 scores, 10 % positive', () => {
  const c = ref.cases['float32']!;
  const r = createRng(c.seed!);
  const l = new Uint8Array(c.n!);
  const s = new Float32Array(c.n!);
  for (let i = 0; i < c.n!; i++) {
    l[i] = r.float() < 0.1 ? 1 : 0;
    s[i] = r.float();
  }
  checkMetrics('float32', l, s, c);
});

/** One float32 score per 16-frame clip, drawn in ground-truth video order. */
function randomClipScores(gt: GroundTruth, seed: number): Map<string, Float32Array> {
  const r = createRng(seed);
  const m = new Map<string, Float32Array>();
  for (const v of gt.videos)
    m.set(
      v.name,
      Float32Array.from({ length: Math.floor(v.labels.length / 16) }, () => r.float()),
    );
  return m;
}

function checkEvaluate(name: string, gt: GroundTruth): void {
  const c = ref.cases[name]!;
  const t0 = performance.now();
  const e = evaluate({ scores: randomClipScores(gt, c.seed!), groundTruth: gt });
  const ms = performance.now() - t0;
  assert.is(e.videos, c.videos);
  assert.is(e.frames, c.frames);
  assert.is(e.anomalousFrames, c.anomalousFrames);
  near(e.auc, c.auc, 1e-12, `${name} auc`);
  near(e.ap, c.ap, 1e-12, `${name} ap`);
  near(e.prAuc, c.prAuc, 1e-12, `${name} prAuc`);
  near(e.far!, c.far!, 1e-12, `${name} far`);
  near(e.scoreGap, c.scoreGap!, 1e-9, `${name} scoreGap`);
  if (c.perClassAuc) {
    assert.equal(Object.keys(e.perClassAuc ?? {}), Object.keys(c.perClassAuc));
    for (const [k, v] of Object.entries(c.perClassAuc)) near(e.perClassAuc![k]!, v, 1e-12, `${name} ${k}`);
  }
  console.log(
    `# ${name}: ${c.frames} frames, AUC ${e.auc.toFixed(6)} = scikit-learn ${c.auc.toFixed(6)}; evaluate() ${ms.toFixed(0)} ms`,
  );
}

test(`UCF-Crime test set, 1,109,824 frames, both conventions (scikit-learn ${ref.sklearn})`, () => {
  checkEvaluate('ucf-crime-mist', loadUcfCrimeGroundTruth());
  checkEvaluate('ucf-crime-inclusive', loadUcfCrimeGroundTruth({ convention: 'inclusive' }));
});

test('ShanghaiTech test set', () => {
  const masks = sharedData('shanghaitech', 'test_frame_mask');
  if (masks) checkEvaluate('shanghaitech', loadShanghaiTechGroundTruth({ masks }));
});

test('XD-Violence test set, 2,330,384 frames', () => {
  const labelsDir = sharedData('xd-violence', 'pel4vad_xd-gt');
  if (labelsDir) checkEvaluate('xd-violence', loadXdViolenceGroundTruth({ labelsDir }));
});

test.run();
