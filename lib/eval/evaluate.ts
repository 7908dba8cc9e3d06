// One call that scores a model the way the papers report it: per-video clip scores are
// spread over frames, all test videos are concatenated (micro average), and every metric is
// computed on the same frames.
import { z } from 'zod';
import { ErrorCode, MistError } from '../errors.js';
import { videoName } from '../data/lists.js';
import { parseOptions } from '../options.js';
import type { GroundTruth, VideoGroundTruth } from './groundtruth.js';
import {
  aucOf,
  apOf,
  falseAlarmRate,
  mergeSorted,
  prAucOf,
  prCurve,
  rocCurve,
  scoreGap,
  split,
  type PrCurve,
  type RocCurve,
} from './metrics.js';
import { clipScoresToFrames, segmentScoresToClips } from './segments.js';

const isGroundTruth = (v: unknown): v is GroundTruth =>
  typeof v === 'object' && v !== null && Array.isArray((v as GroundTruth).videos);
const isScoreArray = (v: unknown): boolean =>
  Array.isArray(v)
    ? v.every((x) => typeof x === 'number')
    : ArrayBuffer.isView(v) &&
      !(v instanceof DataView) &&
      !(v instanceof BigInt64Array) &&
      !(v instanceof BigUint64Array);

/** Options of evaluate(). */
export const EvaluateOptionsSchema = z.strictObject({
  /** Scores per video name (without extension): one per clip by default. */
  scores: z.custom<Map<string, ArrayLike<number>>>(
    (v) => v instanceof Map && [...v.values()].every(isScoreArray),
    'must be a Map from video name to an array (or typed array) of numbers',
  ),
  groundTruth: z.custom<GroundTruth>(isGroundTruth, 'must be a ground truth from a load*GroundTruth() function'),
  /**
   * `clips`: one score per 16-frame clip. `segments`: Sultani's 32 segment scores per video,
   * spread as his evaluator does. `frames`: one score per frame.
   */
  scoreLayout: z.enum(['clips', 'segments', 'frames']).default('clips'),
  clipLength: z.int().positive().default(16),
  /** When clip scores cover fewer frames than labelled: fail, or repeat the last score. */
  fill: z.enum(['error', 'last']).default('error'),
  /** A ground-truth video without scores: fail, or leave it out of every metric. */
  onMissing: z.enum(['error', 'skip']).default('error'),
  /** Score above which a frame of a normal video is a false alarm. */
  farThreshold: z.number().default(0.5),
  /** Include the ROC and precision–recall curve points of the same frames (for plotting). */
  curve: z.boolean().default(false),
});
export type EvaluateOptions = z.input<typeof EvaluateOptionsSchema>;

/** Everything evaluate() measures. */
export interface Evaluation {
  /** Frame-level ROC AUC over all videos concatenated. */
  auc: number;
  /** Average precision (scikit-learn's average_precision_score). */
  ap: number;
  /** Trapezoid area under the precision–recall curve (MIST's PR-AUC). */
  prAuc: number;
  /** False alarm rate on normal videos' frames; undefined when no normal video was scored. */
  far: number | undefined;
  /** Mean anomalous-frame score minus mean normal-frame score. */
  scoreGap: number;
  /** AUC of each anomaly class against all normal videos (UCF-Crime: ground truths with classes). */
  perClassAuc?: Record<string, number>;
  /** Frames scored, of which anomalous. */
  frames: number;
  anomalousFrames: number;
  /** Videos scored. */
  videos: number;
  /** With `curve: true`: the ROC curve (rocCurve) of the concatenated frames. */
  roc?: RocCurve;
  /** With `curve: true`: the precision–recall curve (prCurve) of the same frames. */
  pr?: PrCurve;
}

function frameScoresOf(
  v: VideoGroundTruth,
  raw: ArrayLike<number>,
  o: z.output<typeof EvaluateOptionsSchema>,
): Float32Array {
  const n = v.labels.length;
  // A NaN score would sort last and silently break every threshold; name the video and score.
  // Only the scores the labelled frames use are checked: the frames past the last whole clip
  // are unscored (NaN) in what scoreVideo and `mist score` write, and carry no label.
  const used =
    o.scoreLayout === 'frames'
      ? Math.min(raw.length, n)
      : o.scoreLayout === 'segments'
        ? raw.length
        : Math.min(raw.length, Math.ceil(n / o.clipLength));
  for (let i = 0; i < used; i++) {
    const s = raw[i]!;
    if (s !== s) throw new MistError(ErrorCode.ARG, `evaluate: ${v.name}: score ${i} is NaN`);
  }
  if (o.scoreLayout === 'frames') {
    if (raw.length < n)
      throw new MistError(ErrorCode.SHAPE, `${v.name}: ${raw.length} frame scores for ${n} labelled frames`);
    return Float32Array.from({ length: n }, (_, i) => raw[i] as number);
  }
  if (o.scoreLayout === 'segments') {
    const clips = segmentScoresToClips(raw, v.sourceFrames, { clipLength: o.clipLength });
    return clipScoresToFrames(clips, n, { clipLength: o.clipLength, fill: 'last' });
  }
  try {
    return clipScoresToFrames(raw, n, { clipLength: o.clipLength, fill: o.fill });
  } catch (e) {
    if (e instanceof MistError)
      throw new MistError(e.code, `${v.name}: ${e.message} (fill: 'last' repeats the last score)`);
    throw e;
  }
}

/**
 * Scores per-video scores against a ground truth: AUC, AP, PR-AUC, FAR, score gap and, for
 * ground truths with classes, per-class AUC. Sync. Throws ERR_MIST_ARG (bad options, missing
 * video scores, a NaN score, named by video and index), ERR_MIST_SHAPE (too few scores for a
 * video) or ERR_MIST_METRIC (the scored frames hold one class only).
 */
export function evaluate(options: EvaluateOptions): Evaluation {
  const o = parseOptions(EvaluateOptionsSchema, options, 'evaluate options');
  const byName = new Map<string, ArrayLike<number>>();
  for (const [k, v] of o.scores) byName.set(videoName(k), v);

  const picked: { v: VideoGroundTruth; s: Float32Array }[] = [];
  const missing: string[] = [];
  for (const v of o.groundTruth.videos) {
    const raw = o.scores.get(v.name) ?? byName.get(v.name);
    if (raw === undefined) {
      missing.push(v.name);
      continue;
    }
    picked.push({ v, s: frameScoresOf(v, raw, o) });
  }
  if (missing.length > 0 && o.onMissing === 'error') {
    const list = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, ... (${missing.length} in all)` : '');
    throw new MistError(ErrorCode.ARG, `evaluate: no scores for ${list}; pass onMissing: 'skip' to evaluate a subset`);
  }
  if (picked.length === 0) throw new MistError(ErrorCode.ARG, 'evaluate: no ground-truth video has scores');

  let total = 0;
  let normalTotal = 0;
  for (const { v } of picked) {
    total += v.labels.length;
    if (!v.anomalous) normalTotal += v.labels.length;
  }
  const labels = new Uint8Array(total);
  const scores = new Float32Array(total);
  const normalScores = new Float32Array(normalTotal);
  let off = 0;
  let nOff = 0;
  for (const { v, s } of picked) {
    labels.set(v.labels, off);
    scores.set(s, off);
    off += s.length;
    if (!v.anomalous) {
      normalScores.set(s, nOff);
      nOff += s.length;
    }
  }
  let anomalousFrames = 0;
  for (let i = 0; i < total; i++) anomalousFrames += labels[i] as number;

  // One sort serves AUC, AP and PR-AUC.
  const all = split(labels, scores, 'evaluate');
  const result: Evaluation = {
    auc: aucOf(all),
    ap: apOf(all),
    prAuc: prAucOf(all),
    far: normalTotal > 0 ? falseAlarmRate(normalScores, { threshold: o.farThreshold }) : undefined,
    scoreGap: scoreGap(labels, scores),
    frames: total,
    anomalousFrames,
    videos: picked.length,
  };

  // Per class: that class's videos (all their frames) against all normal videos' frames.
  // The normal frames are sorted once and merged into each class's negatives.
  if (normalTotal > 0 && picked.every(({ v }) => v.className !== undefined)) {
    const normalSorted = Float64Array.from(normalScores).sort();
    const classes = [...new Set(picked.filter(({ v }) => v.anomalous).map(({ v }) => v.className as string))].sort();
    const perClass: Record<string, number> = {};
    for (const c of classes) {
      const members = picked.filter(({ v }) => v.className === c);
      const n = members.reduce((a, { v }) => a + v.labels.length, 0);
      const l = new Uint8Array(n);
      const s = new Float32Array(n);
      let k = 0;
      for (const { v, s: vs } of members) {
        l.set(v.labels, k);
        s.set(vs, k);
        k += vs.length;
      }
      const part = split(l, s, `evaluate (${c})`);
      if (part.pos.length === 0) continue;
      perClass[c] = aucOf({ pos: part.pos, neg: mergeSorted(part.neg, normalSorted) });
    }
    result.perClassAuc = perClass;
  }
  if (o.curve) {
    result.roc = rocCurve(labels, scores);
    result.pr = prCurve(labels, scores);
  }
  return result;
}
