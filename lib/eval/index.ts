// Ground truth and metrics exactly as the benchmarks define them.
export {
  frameAuc,
  rocCurve,
  prCurve,
  prAuc,
  averagePrecision,
  falseAlarmRate,
  scoreGap,
  thresholdCounts,
} from './metrics.js';
export type { Labels, Scores, RocCurve, PrCurve, ThresholdCounts } from './metrics.js';
export { segmentsToClips, segmentScoresToClips, segmentFeatures, clipScoresToFrames } from './segments.js';
export type { ClipRange } from './segments.js';
export {
  loadUcfCrimeGroundTruth,
  loadShanghaiTechGroundTruth,
  loadXdViolenceGroundTruth,
  loadRtfmGroundTruth,
  readFrameCounts,
  packageDataPath,
  UcfCrimeGroundTruthOptionsSchema,
  ShanghaiTechGroundTruthOptionsSchema,
  XdViolenceGroundTruthOptionsSchema,
  RtfmGroundTruthOptionsSchema,
} from './groundtruth.js';
export type {
  GroundTruth,
  VideoGroundTruth,
  UcfCrimeGroundTruthOptions,
  ShanghaiTechGroundTruthOptions,
  XdViolenceGroundTruthOptions,
  RtfmGroundTruthOptions,
} from './groundtruth.js';
export { evaluate, EvaluateOptionsSchema } from './evaluate.js';
export type { EvaluateOptions, Evaluation } from './evaluate.js';
