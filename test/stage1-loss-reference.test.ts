// Checks the test-only float64 reference of the MIL ranking loss (test/reference/mil-loss.ts)
// by hand and by finite differences, so the native loss can later be compared with it.
import * as assert from 'uvu/assert';
import { createRng } from '../lib/rng.js';
import { type MilLossOptions, milLossReference } from './reference/mil-loss.js';
import { test } from './helpers.js';

const near = (a: number, b: number, what: string, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
const nearAll = (a: ArrayLike<number>, b: number[], what: string) => {
  assert.is(a.length, b.length, what);
  b.forEach((x, i) => near(a[i]!, x, `${what}[${i}]`, 1e-9));
};

// 2 normal + 2 anomalous rows, 4 clips = 2 sub-bags of 2, k = 2, λ1 = 0.01, λ2 = 0.1.
const tiny = Float64Array.from([
  0.1,
  0.5,
  0.2,
  0.3, // n0
  0.0,
  0.0,
  0.4,
  0.2, // n1
  0.9,
  0.1,
  0.8,
  0.3, // a0
  0.2,
  0.6,
  0.6,
  0.1, // a1
]);
const tinyOpts = (variant: 'topk' | 'subbag'): MilLossOptions => ({
  normal: 2,
  anomalous: 2,
  clips: 4,
  k: 2,
  subBags: 2,
  lambdaSparsity: 0.01,
  lambdaSmoothness: 0.1,
  variant,
});

// Sparsity: mean(a0, a1) = 3.6 / 8 = 0.45, x 0.01 = 0.0045.
// Smoothness: a0 diffs 0.8, -0.7, 0.5 -> 0.64 + 0.49 + 0.25 = 1.38; a1 diffs -0.4, 0, 0.5 ->
//   0.16 + 0 + 0.25 = 0.41; (1.38 + 0.41) / 6 = 0.2983333, x 0.1 = 0.02983333.
// Their gradients: sparsity 0.01 / 8 = 0.00125 on every anomalous clip; smoothness
//   2·0.1/6 = 1/30 times (d[t] - d[t-1]) on clip t: a0 -> [0.8, -1.5, 1.2, -0.5] / 30,
//   a1 -> [-0.4, 0.4, 0.5, -0.5] / 30.
const SPARSE = 0.0045;
const SMOOTH = 1.79 / 6 / 10;
const regA0 = [0.8, -1.5, 1.2, -0.5].map((x) => x / 30 + 0.00125);
const regA1 = [-0.4, 0.4, 0.5, -0.5].map((x) => x / 30 + 0.00125);

test('hand-computed tiny case, top-k variant', () => {
  // Top-2 means: n0 (0.5 + 0.3)/2 = 0.4, n1 (0.4 + 0.2)/2 = 0.3, a0 (0.9 + 0.8)/2 = 0.85,
  // a1 (0.6 + 0.6)/2 = 0.6. Hinges 1 - a + n: 0.55, 0.8, 0.45, 0.7 -> sum 2.5, / B² = 0.625.
  // All four hinges active: each bag is in 2 pairs of weight 1/4 -> ±0.5 on the bag score,
  // ±0.25 on each of its top-2 clips.
  const r = milLossReference(tiny, tinyOpts('topk'));
  near(r.rank, 0.625, 'rank');
  near(r.sparsity, SPARSE, 'sparsity');
  near(r.smoothness, SMOOTH, 'smoothness');
  near(r.loss, 0.625 + SPARSE + SMOOTH, 'loss');
  nearAll(r.grad.subarray(0, 4), [0, 0.25, 0, 0.25], 'n0');
  nearAll(r.grad.subarray(4, 8), [0, 0, 0.25, 0.25], 'n1');
  nearAll(
    r.grad.subarray(8, 12),
    [-0.25, 0, -0.25, 0].map((x, i) => x + regA0[i]!),
    'a0',
  );
  nearAll(
    r.grad.subarray(12, 16),
    [0, -0.25, -0.25, 0].map((x, i) => x + regA1[i]!),
    'a1',
  );
});

test("hand-computed tiny case, the paper's sub-bag variant", () => {
  // Sub-bag means (pairs of clips): n0 0.3 | 0.25 -> 0.3 (bag 0); n1 0 | 0.3 -> 0.3 (bag 1);
  // a0 0.5 | 0.55 -> 0.55 (bag 1); a1 0.4 | 0.35 -> 0.4 (bag 0).
  // Hinges: 1 - 0.55 + 0.3 = 0.75, 1 - 0.4 + 0.3 = 0.9, twice each -> 3.3 / 4 = 0.825.
  // Gradient ±0.5 on a bag score -> ±0.25 on each clip of its best sub-bag.
  const r = milLossReference(tiny, tinyOpts('subbag'));
  near(r.rank, 0.825, 'rank');
  near(r.loss, 0.825 + SPARSE + SMOOTH, 'loss');
  nearAll(r.grad.subarray(0, 4), [0.25, 0.25, 0, 0], 'n0');
  nearAll(r.grad.subarray(4, 8), [0, 0, 0.25, 0.25], 'n1');
  nearAll(
    r.grad.subarray(8, 12),
    [0, 0, -0.25, -0.25].map((x, i) => x + regA0[i]!),
    'a0',
  );
  nearAll(
    r.grad.subarray(12, 16),
    [-0.25, -0.25, 0, 0].map((x, i) => x + regA1[i]!),
    'a1',
  );
});

test('an inactive hinge contributes nothing', () => {
  // 1 normal (0.2), 1 anomalous (1.5), 1 clip: hinge 1 - 1.5 + 0.2 = -0.3 -> rank 0; only the
  // sparsity term remains: 0.01 · 1.5, gradient 0.01 on the anomalous clip.
  const r = milLossReference(Float64Array.from([0.2, 1.5]), {
    normal: 1,
    anomalous: 1,
    clips: 1,
    k: 1,
    subBags: 1,
    lambdaSparsity: 0.01,
    lambdaSmoothness: 1,
    variant: 'topk',
  });
  near(r.rank, 0, 'rank');
  near(r.smoothness, 0, 'smoothness');
  near(r.loss, 0.015, 'loss');
  nearAll(r.grad, [0, 0.01], 'grad');
});

/** Bag scores, and the smallest distance of the loss from a kink (ties, hinges at 0). */
function kinks(scores: Float64Array, o: MilLossOptions): { margin: number; inactive: number } {
  let m = Infinity;
  const rows = o.normal + o.anomalous;
  const s: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from(scores.subarray(r * o.clips, (r + 1) * o.clips));
    if (o.variant === 'topk') {
      const sorted = row.sort((a, b) => b - a);
      m = Math.min(m, sorted[o.k - 1]! - sorted[o.k]!);
      s.push(sorted.slice(0, o.k).reduce((a, b) => a + b) / o.k);
    } else {
      const T = o.clips / o.subBags;
      const means = Array.from(
        { length: o.subBags },
        (_, b) => row.slice(b * T, (b + 1) * T).reduce((a, c) => a + c) / T,
      );
      means.sort((a, b) => b - a);
      m = Math.min(m, means[0]! - means[1]!);
      s.push(means[0]!);
    }
  }
  let inactive = 0;
  for (let i = 0; i < o.normal; i++) {
    for (let j = 0; j < o.anomalous; j++) {
      const hinge = 1 - s[o.normal + j]! + s[i]!;
      m = Math.min(m, Math.abs(hinge));
      if (hinge < 0) inactive++;
    }
  }
  return { margin: m, inactive };
}

test('analytic gradient matches central finite differences (both variants, active and inactive hinges)', () => {
  const h = 1e-6;
  let inactiveSeen = 0;
  for (const variant of ['topk', 'subbag'] as const) {
    for (const spread of [1, 3]) {
      const o: MilLossOptions = {
        normal: 3,
        anomalous: 4,
        clips: 12,
        k: 3,
        subBags: 4,
        lambdaSparsity: 0.01,
        lambdaSmoothness: 0.5,
        variant,
      };
      // spread 3 puts anomalous scores in [0, 3): some pairs then clear the margin (hinge < 0).
      let scores: Float64Array;
      let seed = 100 * spread;
      do {
        const rng = createRng(seed++);
        scores = Float64Array.from({ length: 7 * 12 }, (_, i) => rng.float() * (i >= 36 ? spread : 1));
      } while (kinks(scores, o).margin < 1e-3);
      const r = milLossReference(scores, o);
      inactiveSeen += kinks(scores, o).inactive;
      for (let i = 0; i < scores.length; i++) {
        const plus = Float64Array.from(scores);
        const minus = Float64Array.from(scores);
        plus[i]! += h;
        minus[i]! -= h;
        const fd = (milLossReference(plus, o).loss - milLossReference(minus, o).loss) / (2 * h);
        near(r.grad[i]!, fd, `${variant} spread ${spread} d/dy[${i}]`, 1e-7);
      }
    }
  }
  // The spread-3 draws must really include pairs past the margin, or that branch went untested.
  assert.ok(inactiveSeen > 0, 'some hinges inactive');
});

test('rank term equals the mean hinge over all normal/anomalous pairs (B² pairs)', () => {
  // Independent recomputation with bag scores taken by sorting, on random data.
  const rng = createRng(5);
  const o: MilLossOptions = {
    normal: 5,
    anomalous: 5,
    clips: 8,
    k: 3,
    subBags: 2,
    lambdaSparsity: 0,
    lambdaSmoothness: 0,
    variant: 'topk',
  };
  const y = Float64Array.from({ length: 80 }, () => rng.float());
  const bag = (r: number) =>
    Array.from(y.subarray(r * 8, r * 8 + 8))
      .sort((a, b) => b - a)
      .slice(0, 3)
      .reduce((a, b) => a + b) / 3;
  let sum = 0;
  for (let i = 0; i < 5; i++) for (let j = 5; j < 10; j++) sum += Math.max(0, 1 - bag(j) + bag(i));
  near(milLossReference(y, o).loss, sum / 25, 'loss');
});

test.run();
