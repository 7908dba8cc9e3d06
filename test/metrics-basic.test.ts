// Metrics on cases small enough to work out by hand, and every input they must refuse.
import * as assert from 'uvu/assert';
import {
  averagePrecision,
  falseAlarmRate,
  frameAuc,
  prAuc,
  prCurve,
  rocCurve,
  scoreGap,
  thresholdCounts,
} from '../lib/index.js';
import { expectCode, test } from './helpers.js';

const close = (a: number, b: number, msg?: string): void =>
  assert.ok(Math.abs(a - b) < 1e-12, `${msg ?? ''} ${a} vs ${b}`);

// labels 0 1 0 1 1 0, scores .5 .5 .2 .9 .5 .9. Thresholds high to low (P = N = 3):
//   0.9: one positive, one negative  -> (tp, fp) = (1, 1)
//   0.5: two positives, one negative -> (3, 2)
//   0.2: one negative                -> (3, 3)
// ROC (fpr, tpr): (0,0) (1/3,1/3) (2/3,1) (1,1); trapezoids 1/18 + 4/18 + 6/18 = 11/18.
// AP = Σ ΔR·P = (1/3)(1/2) + (2/3)(3/5) = 17/30.
// PR-AUC: (R, P) = (0,1) (1/3,1/2) (1,3/5) (1,1/2); (1/3)(3/2)/2 + (2/3)(11/10)/2 = 37/60.
const tiesL = [0, 1, 0, 1, 1, 0];
const tiesS = [0.5, 0.5, 0.2, 0.9, 0.5, 0.9];

test('ties collapse into one threshold each', () => {
  close(frameAuc(tiesL, tiesS), 11 / 18, 'auc');
  close(averagePrecision(tiesL, tiesS), 17 / 30, 'ap');
  close(prAuc(tiesL, tiesS), 37 / 60, 'prAuc');
  const c = thresholdCounts(tiesL, tiesS);
  assert.equal([...c.thresholds], [0.9, 0.5, 0.2]);
  assert.equal([...c.tps], [1, 3, 3]);
  assert.equal([...c.fps], [1, 2, 3]);
  const roc = rocCurve(tiesL, tiesS);
  assert.equal([...roc.fpr], [0, 1 / 3, 2 / 3, 1]);
  assert.equal([...roc.tpr], [0, 1 / 3, 1, 1]);
  assert.equal([...roc.thresholds], [Infinity, 0.9, 0.5, 0.2]);
  const pr = prCurve(tiesL, tiesS);
  assert.equal([...pr.recall], [1, 1, 1 / 3, 0]);
  assert.equal([...pr.precision], [0.5, 0.6, 0.5, 1]);
  assert.equal([...pr.thresholds], [0.2, 0.5, 0.9]);
});

test('all scores equal: AUC 1/2, AP = share of positives, PR-AUC (1 + p)/2', () => {
  const l = [0, 1, 0, 1, 1];
  const s = [0.3, 0.3, 0.3, 0.3, 0.3];
  close(frameAuc(l, s), 0.5);
  close(averagePrecision(l, s), 0.6);
  close(prAuc(l, s), 0.8);
  assert.equal([...rocCurve(l, s).fpr], [0, 1]);
});

test('perfect and reversed rankings; typed arrays of either width', () => {
  close(frameAuc(new Uint8Array([0, 0, 1, 1]), new Float32Array([0.1, 0.2, 0.8, 0.9])), 1);
  close(frameAuc(new Float64Array([1, 1, 0, 0]), new Float64Array([0.1, 0.2, 0.8, 0.9])), 0);
  close(averagePrecision([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), 1);
  // Reversed: the positives come last; AP = (1/2)(1/3) + (1/2)(2/4) = 5/12.
  close(averagePrecision([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]), 5 / 12);
  // -0 and +0 are one score, as in numpy.
  close(frameAuc([0, 1], [-0, 0]), 0.5);
});

test('drop_intermediate removes collinear ROC points, as scikit-learn does', () => {
  // (tp, fp) from the top: (1,0) (2,0) (3,0) (3,1) (3,2) (3,3): the points at scores 5, 3
  // and 2 lie on straight segments and go.
  const l = [1, 1, 1, 0, 0, 0];
  const s = [6, 5, 4, 3, 2, 1];
  assert.is(rocCurve(l, s, { dropIntermediate: false }).fpr.length, 7);
  const roc = rocCurve(l, s);
  assert.equal([...roc.thresholds], [Infinity, 6, 4, 1]);
  assert.equal([...roc.fpr], [0, 0, 0, 1]);
  assert.equal([...roc.tpr], [0, 1 / 3, 1, 1]);
  // A staircase keeps every point.
  const stair = rocCurve([1, 0, 1, 0, 1, 0, 1, 0], [8, 7, 6, 5, 4, 3, 2, 1]);
  assert.is(stair.fpr.length, 9);
  close(frameAuc([1, 0, 1, 0, 1, 0, 1, 0], [8, 7, 6, 5, 4, 3, 2, 1]), 0.625);
});

test('one class only is a clear ERR_MIST_METRIC, never NaN', async () => {
  const e = await expectCode(() => frameAuc([0, 0, 0], [0.1, 0.2, 0.3]), 'ERR_MIST_METRIC');
  assert.match(e.message, /both classes/);
  await expectCode(() => frameAuc([1, 1], [0.1, 0.2]), 'ERR_MIST_METRIC');
  await expectCode(() => rocCurve([1, 1], [0.1, 0.2]), 'ERR_MIST_METRIC');
  await expectCode(() => averagePrecision([0, 0], [0.1, 0.2]), 'ERR_MIST_METRIC');
  await expectCode(() => prAuc([0, 0], [0.1, 0.2]), 'ERR_MIST_METRIC');
  await expectCode(() => prCurve([0, 0], [0.1, 0.2]), 'ERR_MIST_METRIC');
  await expectCode(() => scoreGap([1, 1], [0.1, 0.2]), 'ERR_MIST_METRIC');
  await expectCode(() => frameAuc([], []), 'ERR_MIST_METRIC');
  // With positives only, AP is defined (every threshold has precision 1).
  close(averagePrecision([1, 1], [0.1, 0.2]), 1);
});

test('bad inputs: length mismatch, labels other than 0/1, NaN scores', async () => {
  await expectCode(() => frameAuc([0, 1], [0.1]), 'ERR_MIST_SHAPE');
  await expectCode(() => scoreGap([0, 1], [0.1]), 'ERR_MIST_SHAPE');
  const l = await expectCode(() => frameAuc([0, 2], [0.1, 0.2]), 'ERR_MIST_ARG');
  assert.match(l.message, /0 or 1/);
  await expectCode(() => scoreGap([0, -1], [0.1, 0.2]), 'ERR_MIST_ARG');
  const n = await expectCode(() => frameAuc([0, 1], [0.1, NaN]), 'ERR_MIST_ARG');
  assert.match(n.message, /NaN/);
  await expectCode(() => averagePrecision([0, 1], [NaN, 0.1]), 'ERR_MIST_ARG');
  await expectCode(() => falseAlarmRate([NaN]), 'ERR_MIST_ARG');
  await expectCode(() => scoreGap([0, 1], [NaN, 0.1]), 'ERR_MIST_ARG');
});

test('false alarm rate: strict > threshold, configurable; score gap', async () => {
  close(falseAlarmRate([0.1, 0.5, 0.6, 0.9]), 0.5); // 0.5 itself is not an alarm
  close(falseAlarmRate([0.1, 0.5, 0.6, 0.9], { threshold: 0.05 }), 1);
  close(falseAlarmRate([0.1, 0.5, 0.6, 0.9], { threshold: 0.9 }), 0);
  await expectCode(() => falseAlarmRate([]), 'ERR_MIST_METRIC');
  await expectCode(() => falseAlarmRate([0.1], { threshold: NaN }), 'ERR_MIST_ARG');
  // Anomalous frames average 0.8, normal ones 0.2.
  close(scoreGap([1, 0, 1, 0], [0.7, 0.1, 0.9, 0.3]), 0.6);
});

test.run();
