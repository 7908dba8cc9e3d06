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
import { mergeSorted } from '../lib/eval/metrics.js';
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

test('mergeSorted: the ascending merge of two ascending arrays, either one running out first', () => {
  const m = (a: number[], b: number[]): number[] => [...mergeSorted(Float64Array.from(a), Float64Array.from(b))];
  assert.equal(m([1, 3, 5], [2, 3, 4, 6, 7]), [1, 2, 3, 3, 4, 5, 6, 7]);
  assert.equal(m([4, 8, 9], [1, 2]), [1, 2, 4, 8, 9]);
  assert.equal(m([], [1, 2]), [1, 2]);
  assert.equal(m([1, 2], []), [1, 2]);
  // Float64Array.sort puts -0 before +0; the merge keeps that order (a's -0 comes first).
  const z = mergeSorted(Float64Array.from([-0]), Float64Array.from([0]));
  assert.ok(Object.is(z[0], -0) && Object.is(z[1], 0));
});

test('the messages of every refused input name the function', async () => {
  const msg = async (fn: () => unknown, code: string, message: string): Promise<void> => {
    assert.is((await expectCode(fn, code)).message, message);
  };
  await msg(() => thresholdCounts([0], [0.1, 0.2]), 'ERR_MIST_SHAPE', 'thresholdCounts: 1 labels but 2 scores');
  await msg(() => thresholdCounts([], []), 'ERR_MIST_METRIC', 'thresholdCounts: no frames');
  await msg(() => frameAuc([0, 1], [0.1]), 'ERR_MIST_SHAPE', 'frameAuc: 2 labels but 1 scores');
  await msg(() => frameAuc([0, 2], [0.1, 0.2]), 'ERR_MIST_ARG', 'frameAuc: labels must be 0 or 1, got 2 at frame 1');
  await msg(() => averagePrecision([0, 1], [NaN, 0.1]), 'ERR_MIST_ARG', 'averagePrecision: score at frame 0 is NaN');
  await msg(() => prAuc([1], []), 'ERR_MIST_SHAPE', 'prAuc: 1 labels but 0 scores');
  await msg(
    () => frameAuc([0, 0], [0.1, 0.2]),
    'ERR_MIST_METRIC',
    'AUC is undefined when all frames are normal (0): it needs both classes',
  );
  await msg(
    () => frameAuc([1, 1], [0.1, 0.2]),
    'ERR_MIST_METRIC',
    'AUC is undefined when all frames are anomalous (1): it needs both classes',
  );
  await msg(
    () => rocCurve([0, 0], [0.1, 0.2]),
    'ERR_MIST_METRIC',
    'the ROC curve is undefined when all frames are normal (0): it needs both classes',
  );
  await msg(
    () => rocCurve([1, 1], [0.1, 0.2]),
    'ERR_MIST_METRIC',
    'the ROC curve is undefined when all frames are anomalous (1): it needs both classes',
  );
  await msg(
    () => prCurve([0, 0], [0.1, 0.2]),
    'ERR_MIST_METRIC',
    'the precision-recall curve is undefined without anomalous (1) frames',
  );
  await msg(
    () => averagePrecision([0, 0], [0.1, 0.2]),
    'ERR_MIST_METRIC',
    'average precision is undefined without anomalous (1) frames',
  );
  await msg(() => prAuc([0, 0], [0.1, 0.2]), 'ERR_MIST_METRIC', 'PR-AUC is undefined without anomalous (1) frames');
  await msg(
    () => falseAlarmRate([0.1], { threshold: '0.5' as never }),
    'ERR_MIST_ARG',
    'falseAlarmRate: threshold must be a number (got 0.5)',
  );
  await msg(() => falseAlarmRate([]), 'ERR_MIST_METRIC', 'false alarm rate is undefined without normal-video frames');
  await msg(() => falseAlarmRate([0.1, NaN]), 'ERR_MIST_ARG', 'falseAlarmRate: score at frame 1 is NaN');
  await msg(() => scoreGap([0, 1], [0.1]), 'ERR_MIST_SHAPE', 'scoreGap: 2 labels but 1 scores');
  await msg(() => scoreGap([0, 1], [0.1, NaN]), 'ERR_MIST_ARG', 'scoreGap: score at frame 1 is NaN');
  await msg(() => scoreGap([0, 3], [0.1, 0.2]), 'ERR_MIST_ARG', 'scoreGap: labels must be 0 or 1, got 3 at frame 1');
  await msg(
    () => scoreGap([0, 0], [0.1, 0.2]),
    'ERR_MIST_METRIC',
    'score gap is undefined when all frames are normal (0)',
  );
  await msg(
    () => scoreGap([1, 1], [0.1, 0.2]),
    'ERR_MIST_METRIC',
    'score gap is undefined when all frames are anomalous (1)',
  );
});

test('drop_intermediate keeps a point where only the false positives change step, as scikit-learn does', () => {
  // (tp, fp) from the top: (1, 0) (1, 1) (1, 3): the second difference of fps is 1 at the
  // middle point, that of tps 0; scikit-learn keeps a point when either is non-zero.
  const roc = rocCurve([1, 0, 0, 0], [0.9, 0.8, 0.7, 0.7]);
  assert.equal([...roc.thresholds], [Infinity, 0.9, 0.8, 0.7]);
  assert.equal([...roc.fpr], [0, 0, 1 / 3, 1]);
  assert.equal([...roc.tpr], [0, 1, 1, 1]);
});

test.run();
