// Frame-level metrics, defined exactly as scikit-learn defines them (roc_curve + auc,
// precision_recall_curve, average_precision_score), because that is how every paper in this
// field computes its numbers. Ties: all frames with the same score form one threshold.
//
// Speed: the scores of positive and of negative frames are copied into two Float64Arrays and
// sorted with the engine's native numeric sort; one merge pass from the top then visits each
// distinct score once. No per-frame objects, no comparator callbacks.
import { ErrorCode, MistError } from '../errors.js';
import { checkAllocation } from '../memory.js';

/** Per-frame labels (0 normal, 1 anomalous) in any numeric array. */
export type Labels = ArrayLike<number>;
/** Per-frame scores in any numeric array. */
export type Scores = ArrayLike<number>;

/** Counts at each distinct threshold, highest score first (scikit-learn's _binary_clf_curve). */
export interface ThresholdCounts {
  /** Distinct scores, descending. */
  thresholds: Float64Array;
  /** Positives with score >= threshold. */
  tps: Float64Array;
  /** Negatives with score >= threshold. */
  fps: Float64Array;
  positives: number;
  negatives: number;
}

/** Scores of positive and of negative frames, each sorted ascending. Internal. */
export interface Split {
  pos: Float64Array;
  neg: Float64Array;
}

/** Merges two ascending arrays into one ascending array. Sync. Internal. */
export function mergeSorted(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length)
    out[k++] = (a[i] as number) <= (b[j] as number) ? (a[i++] as number) : (b[j++] as number);
  while (i < a.length) out[k++] = a[i++] as number;
  while (j < b.length) out[k++] = b[j++] as number;
  return out;
}

/**
 * Checks an input's length before anything loops over it or allocates for it: a non-negative
 * safe integer (an array-like object can claim any `length`), and copies of that many float64
 * values must fit in memory. Sync. Throws ERR_MIST_ARG or ERR_MIST_MEMORY. Internal.
 */
export function checkLength(n: unknown, what: string, name: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new MistError(ErrorCode.ARG, `${what}: ${name} must be an array (its length is ${String(n)})`);
  }
  checkAllocation(n, 8, `${what}: a copy of ${n} scores`);
  return n;
}

/** Checks and splits labels/scores into sorted positive and negative scores. Sync. Internal. */
export function split(labels: Labels, scores: Scores, what: string): Split {
  const n = checkLength(labels?.length, what, 'labels');
  checkLength(scores?.length, what, 'scores');
  if (scores.length !== n) {
    throw new MistError(ErrorCode.SHAPE, `${what}: ${n} labels but ${scores.length} scores`);
  }
  if (n === 0) throw new MistError(ErrorCode.METRIC, `${what}: no frames`);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l === 1) p++;
    else if (l !== 0)
      throw new MistError(ErrorCode.ARG, `${what}: labels must be 0 or 1, got ${String(l)} at frame ${i}`);
  }
  const pos = new Float64Array(p);
  const neg = new Float64Array(n - p);
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i] as number;
    // NaN would sort last and silently break every threshold; refuse it.
    if (s !== s) throw new MistError(ErrorCode.ARG, `${what}: score at frame ${i} is NaN`);
    // A hole or a string would become NaN (or a number) in the copy without a word.
    if (typeof s !== 'number')
      throw new MistError(ErrorCode.ARG, `${what}: score at frame ${i} is not a number (${String(s)})`);
    if (labels[i] === 1) pos[a++] = s;
    else neg[b++] = s;
  }
  pos.sort();
  neg.sort();
  return { pos, neg };
}

function needBoth(positives: number, negatives: number, what: string): void {
  if (positives === 0 || negatives === 0) {
    const only = positives === 0 ? 'normal (0)' : 'anomalous (1)';
    throw new MistError(ErrorCode.METRIC, `${what} is undefined when all frames are ${only}: it needs both classes`);
  }
}

/**
 * Walks the distinct scores from the highest down, calling visit(score, tp, fp) with the
 * cumulative counts after all frames of that score are taken.
 */
function walk(s: Split, visit: (score: number, tp: number, fp: number) => void): void {
  const { pos, neg } = s;
  let i = pos.length - 1;
  let j = neg.length - 1;
  let tp = 0;
  let fp = 0;
  while (i >= 0 || j >= 0) {
    const a = i >= 0 ? (pos[i] as number) : -Infinity;
    const b = j >= 0 ? (neg[j] as number) : -Infinity;
    const v = a > b ? a : b;
    // === treats -0 and +0 as one score, as numpy's diff does.
    while (i >= 0 && pos[i] === v) {
      tp++;
      i--;
    }
    while (j >= 0 && neg[j] === v) {
      fp++;
      j--;
    }
    visit(v, tp, fp);
  }
}

/**
 * Counts of positives and negatives at or above each distinct score, highest first. Sync.
 * Throws ERR_MIST_SHAPE (length mismatch), ERR_MIST_ARG (label not 0/1, NaN score) or
 * ERR_MIST_METRIC (no frames).
 */
export function thresholdCounts(labels: Labels, scores: Scores): ThresholdCounts {
  return countsOf(labels, scores, 'thresholdCounts');
}

/** thresholdCounts, its errors naming `what` (the function the caller called). */
function countsOf(labels: Labels, scores: Scores, what: string): ThresholdCounts {
  const s = split(labels, scores, what);
  const cap = s.pos.length + s.neg.length;
  const thresholds = new Float64Array(cap);
  const tps = new Float64Array(cap);
  const fps = new Float64Array(cap);
  let k = 0;
  walk(s, (v, tp, fp) => {
    thresholds[k] = v;
    tps[k] = tp;
    fps[k] = fp;
    k++;
  });
  return {
    thresholds: thresholds.slice(0, k),
    tps: tps.slice(0, k),
    fps: fps.slice(0, k),
    positives: s.pos.length,
    negatives: s.neg.length,
  };
}

/**
 * Area under the frame-level ROC curve, equal to scikit-learn's `auc(*roc_curve(y, s)[:2])`.
 * Sync. Throws ERR_MIST_METRIC when only one class is present (scikit-learn would give NaN),
 * ERR_MIST_SHAPE for a length mismatch, ERR_MIST_ARG for a label not 0/1 or a NaN score.
 */
export function frameAuc(labels: Labels, scores: Scores): number {
  return aucOf(split(labels, scores, 'frameAuc'));
}

/** frameAuc on an already split input. Internal. */
export function aucOf(s: Split): number {
  needBoth(s.pos.length, s.neg.length, 'AUC');
  // Twice the trapezoid area in integer counts (exact below 2^53), divided once at the end.
  let area = 0;
  let pTp = 0;
  let pFp = 0;
  walk(s, (_v, tp, fp) => {
    area += (fp - pFp) * (tp + pTp);
    pTp = tp;
    pFp = fp;
  });
  return area / (2 * s.pos.length * s.neg.length);
}

/** A ROC curve: parallel arrays, starting at (0, 0) with threshold +Infinity. */
export interface RocCurve {
  fpr: Float64Array;
  tpr: Float64Array;
  thresholds: Float64Array;
}

/**
 * ROC curve points as scikit-learn's `roc_curve` (drop_intermediate=True by default: points
 * on a straight segment are dropped). The first threshold is +Infinity (scikit-learn ≥ 1.3;
 * older versions used max + 1). Sync. Throws as frameAuc.
 */
export function rocCurve(labels: Labels, scores: Scores, options?: { dropIntermediate?: boolean }): RocCurve {
  const c = countsOf(labels, scores, 'rocCurve');
  needBoth(c.positives, c.negatives, 'the ROC curve');
  let keep: number[] | undefined;
  const m = c.thresholds.length;
  if ((options?.dropIntermediate ?? true) && m > 2) {
    keep = [0];
    for (let k = 1; k < m - 1; k++) {
      // Same test as scikit-learn: keep a point unless both second differences are zero.
      const d2f = (c.fps[k + 1] as number) - 2 * (c.fps[k] as number) + (c.fps[k - 1] as number);
      const d2t = (c.tps[k + 1] as number) - 2 * (c.tps[k] as number) + (c.tps[k - 1] as number);
      if (d2f !== 0 || d2t !== 0) keep.push(k);
    }
    keep.push(m - 1);
  }
  const idx = keep ?? Array.from({ length: m }, (_, k) => k);
  const fpr = new Float64Array(idx.length + 1);
  const tpr = new Float64Array(idx.length + 1);
  const thresholds = new Float64Array(idx.length + 1);
  thresholds[0] = Infinity;
  idx.forEach((k, r) => {
    fpr[r + 1] = (c.fps[k] as number) / c.negatives;
    tpr[r + 1] = (c.tps[k] as number) / c.positives;
    thresholds[r + 1] = c.thresholds[k] as number;
  });
  return { fpr, tpr, thresholds };
}

/** A precision–recall curve in scikit-learn's order: thresholds ascending, then (1, 0). */
export interface PrCurve {
  precision: Float64Array;
  recall: Float64Array;
  thresholds: Float64Array;
}

/**
 * Precision–recall curve as scikit-learn's `precision_recall_curve` (≥ 1.1: all thresholds,
 * recall decreasing, ending with precision 1 at recall 0). Sync. Throws ERR_MIST_METRIC when
 * there is no anomalous frame, and as frameAuc otherwise.
 */
export function prCurve(labels: Labels, scores: Scores): PrCurve {
  const c = countsOf(labels, scores, 'prCurve');
  if (c.positives === 0)
    throw new MistError(ErrorCode.METRIC, 'the precision-recall curve is undefined without anomalous (1) frames');
  const m = c.thresholds.length;
  const precision = new Float64Array(m + 1);
  const recall = new Float64Array(m + 1);
  const thresholds = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const r = m - 1 - k;
    const tp = c.tps[k] as number;
    precision[r] = tp / (tp + (c.fps[k] as number));
    recall[r] = tp / c.positives;
    thresholds[r] = c.thresholds[k] as number;
  }
  precision[m] = 1;
  recall[m] = 0;
  return { precision, recall, thresholds };
}

/**
 * Average precision as scikit-learn's `average_precision_score`: the step sum
 * Σ (R_k − R_{k−1}) · P_k over thresholds, no interpolation. Sync. Throws ERR_MIST_METRIC
 * when there is no anomalous frame (scikit-learn would warn and return a meaningless value),
 * and as frameAuc otherwise.
 */
export function averagePrecision(labels: Labels, scores: Scores): number {
  return apOf(split(labels, scores, 'averagePrecision'));
}

/**
 * Visits every point of the precision–recall curve from the highest threshold down with its
 * counts (tp, fp) and the number of anomalous frames P. Throws ERR_MIST_METRIC, naming `what`,
 * when there is no anomalous frame.
 */
function walkPr(s: Split, what: string, visit: (tp: number, fp: number, P: number) => void): void {
  if (s.pos.length === 0) throw new MistError(ErrorCode.METRIC, `${what} is undefined without anomalous (1) frames`);
  const P = s.pos.length;
  walk(s, (_v, tp, fp) => visit(tp, fp, P));
}

/** averagePrecision on an already split input. Internal. */
export function apOf(s: Split): number {
  let sum = 0;
  let pTp = 0;
  walkPr(s, 'average precision', (tp, fp, P) => {
    sum += ((tp - pTp) / P) * (tp / (tp + fp)); // 0 where tp did not change (tp + fp >= 1)
    pTp = tp;
  });
  return sum;
}

/**
 * Area under the precision–recall curve by the trapezoid rule, as scikit-learn's
 * `auc(recall, precision)` on `precision_recall_curve` (MIST's "PR-AUC"); differs from
 * averagePrecision, which uses steps. Sync. Throws as averagePrecision.
 */
export function prAuc(labels: Labels, scores: Scores): number {
  return prAucOf(split(labels, scores, 'prAuc'));
}

/** prAuc on an already split input. Internal. */
export function prAucOf(s: Split): number {
  let area = 0;
  let pR = 0;
  let pP = 1; // the curve starts at recall 0, precision 1
  walkPr(s, 'PR-AUC', (tp, fp, P) => {
    const r = tp / P;
    const p = tp / (tp + fp);
    area += ((r - pR) * (p + pP)) / 2;
    pR = r;
    pP = p;
  });
  return area;
}

/**
 * False alarm rate: the share of the given frames (pass the frames of *normal* videos) whose
 * score is above `threshold` (default 0.5, strict >). Sync. Throws ERR_MIST_METRIC for no
 * frames, ERR_MIST_ARG for a NaN score or threshold.
 */
export function falseAlarmRate(normalScores: Scores, options?: { threshold?: number }): number {
  const t = options?.threshold ?? 0.5;
  if (typeof t !== 'number' || Number.isNaN(t))
    throw new MistError(ErrorCode.ARG, `falseAlarmRate: threshold must be a number (got ${String(t)})`);
  const n = checkLength(normalScores?.length, 'falseAlarmRate', 'scores');
  if (n === 0) throw new MistError(ErrorCode.METRIC, 'false alarm rate is undefined without normal-video frames');
  let c = 0;
  for (let i = 0; i < n; i++) {
    const s = normalScores[i] as number;
    if (s !== s) throw new MistError(ErrorCode.ARG, `falseAlarmRate: score at frame ${i} is NaN`);
    // A hole (undefined > t is false) would count as no alarm without a word.
    if (typeof s !== 'number') {
      throw new MistError(ErrorCode.ARG, `falseAlarmRate: score at frame ${i} is not a number (${String(s)})`);
    }
    if (s > t) c++;
  }
  return c / n;
}

/**
 * Score gap: mean score of anomalous frames minus mean score of normal frames. Sync. Throws
 * ERR_MIST_METRIC when only one class is present or a mean is not a number (infinite scores of
 * both signs), ERR_MIST_SHAPE / ERR_MIST_ARG as frameAuc.
 */
export function scoreGap(labels: Labels, scores: Scores): number {
  const n = checkLength(labels?.length, 'scoreGap', 'labels');
  checkLength(scores?.length, 'scoreGap', 'scores');
  if (scores.length !== n) throw new MistError(ErrorCode.SHAPE, `scoreGap: ${n} labels but ${scores.length} scores`);
  if (n === 0) throw new MistError(ErrorCode.METRIC, 'scoreGap: no frames');
  let sp = 0;
  let sn = 0;
  let np = 0;
  let nn = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i] as number;
    if (s !== s) throw new MistError(ErrorCode.ARG, `scoreGap: score at frame ${i} is NaN`);
    if (typeof s !== 'number')
      throw new MistError(ErrorCode.ARG, `scoreGap: score at frame ${i} is not a number (${String(s)})`);
    const l = labels[i];
    if (l === 1) {
      sp += s;
      np++;
    } else if (l === 0) {
      sn += s;
      nn++;
    } else throw new MistError(ErrorCode.ARG, `scoreGap: labels must be 0 or 1, got ${String(l)} at frame ${i}`);
  }
  if (np === 0 || nn === 0) {
    throw new MistError(
      ErrorCode.METRIC,
      `score gap is undefined when all frames are ${np === 0 ? 'normal (0)' : 'anomalous (1)'}`,
    );
  }
  const gap = sp / np - sn / nn;
  // Infinite scores in both classes (or of both signs in one) leave no mean to subtract.
  if (gap !== gap) {
    throw new MistError(
      ErrorCode.METRIC,
      `score gap is undefined: the mean anomalous score is ${sp / np} and the mean normal score ${sn / nn}`,
    );
  }
  return gap;
}
