// The public API of mist-vad: a curated list. Anything not named here is internal and may
// change without notice (the modules themselves are not part of the package's exports).

// ---- Runtime -----------------------------------------------------------------------------------
export { MistError, ErrorCode, type ErrorCodeValue } from './errors.js';
export {
  info,
  setNumThreads,
  cpuCache,
  releaseCpuCache,
  SLOW_BLAS_FIX,
  type AddonOrigin,
  type RuntimeInfo,
} from './info.js';
export type { CpuCacheStats } from './types.js';
export { DeviceSchema, resolveDevice, type Device } from './device.js';
export { ENVIRONMENT_VARIABLES, defaultThreadCount } from './config.js';

// ---- Data: file formats and readers ------------------------------------------------------------
export {
  readNpy,
  writeNpy,
  parseNpy,
  encodeNpy,
  shapeSize,
  type NpyArray,
  type NpyData,
  type NpyDtype,
} from './data/npy.js';
export {
  readFeatures,
  writeFeatures,
  readC3dTxt,
  readCropFeatures,
  toFeatureArray,
  meanOverCrops,
  FeatureMetaSchema,
  ReadFeaturesOptionsSchema,
  type Features,
  type FeatureMeta,
  type ReadFeaturesOptions,
} from './data/features.js';
export {
  featureDims,
  checkFinite,
  CropSchema,
  type FeatureArray,
  type VideoFeatures,
  type CropMode,
  type NonFiniteOptions,
} from './data/types.js';
export { openFeatureStore, writeFeatureStore, type FeatureStore, type FeatureStoreEntry } from './data/hdf5.js';
export {
  readUcfCrimeList,
  readShanghaiTechList,
  readRtfmList,
  writeRtfmList,
  uniqueVideoNames,
  videoName,
  type VideoEntry,
} from './data/lists.js';
export {
  openVideo,
  OpenVideoOptionsSchema,
  ClipOptionsSchema,
  type Clip,
  type ClipOptions,
  type OpenVideoOptions,
  type VideoInfo,
  type VideoReader,
  readFrames,
  probeImageSequence,
  outputFrameSize,
  ReadFramesOptionsSchema,
  type FrameBatch,
  type FrameSourceInfo,
  type ImageSequence,
  type ReadFramesOptions,
} from './data/video.js';
export {
  createFrameCache,
  openFrameSource,
  prefetch,
  FrameCacheOptionsSchema,
  FrameSourceOptionsSchema,
  type FrameCache,
  type FrameCacheStats,
  type FrameCacheOptions,
  type FrameSource,
  type FrameSourceOptions,
  type Producer,
} from './data/frame-cache.js';
export {
  readVideoManifest,
  writeVideoManifest,
  trainVideos,
  testVideos,
  maskIntervals,
  readUcfCrimeAnnotation,
  ucfCrimeVideoManifest,
  shanghaiTechVideoManifest,
  ManifestEntrySchema,
  UcfCrimeManifestOptionsSchema,
  ShanghaiTechManifestOptionsSchema,
  type VideoManifest,
  type ManifestVideo,
  type ManifestEntry,
  type WritableManifest,
  type FrameInterval,
  type UcfCrimeAnnotation,
  type UcfCrimeManifestOptions,
  type ShanghaiTechManifestOptions,
} from './data/manifest.js';
export {
  writePseudoLabels,
  readPseudoLabels,
  readOfficialPseudoLabels,
  PseudoLabelMetaSchema,
  OfficialPseudoLabelOptionsSchema,
  type PseudoLabelMeta,
  type PseudoLabelSet,
  type OfficialPseudoLabelOptions,
} from './data/pseudo-labels.js';

// ---- Evaluation: ground truth and metrics ------------------------------------------------------
export {
  frameAuc,
  rocCurve,
  prCurve,
  prAuc,
  averagePrecision,
  falseAlarmRate,
  scoreGap,
  thresholdCounts,
  type Labels,
  type Scores,
  type RocCurve,
  type PrCurve,
  type ThresholdCounts,
} from './eval/metrics.js';
export {
  segmentsToClips,
  segmentScoresToClips,
  segmentFeatures,
  clipScoresToFrames,
  type ClipRange,
} from './eval/segments.js';
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
  type GroundTruth,
  type VideoGroundTruth,
  type UcfCrimeGroundTruthOptions,
  type ShanghaiTechGroundTruthOptions,
  type XdViolenceGroundTruthOptions,
  type RtfmGroundTruthOptions,
  manifestGroundTruth,
  ManifestGroundTruthOptionsSchema,
  type ManifestGroundTruthOptions,
} from './eval/groundtruth.js';
export { evaluate, EvaluateOptionsSchema, type EvaluateOptions, type Evaluation } from './eval/evaluate.js';

// ---- Models ------------------------------------------------------------------------------------
export {
  MilGenerator,
  milRankingLoss,
  GeneratorOptionsSchema,
  GeneratorLoadOptionsSchema,
  MilLossOptionsSchema,
  type GeneratorOptions,
  type GeneratorLoadOptions,
  type GeneratorBatch,
  type MilLossOptions,
} from './models/generator.js';
export {
  SgaEncoder,
  SgaEncoderOptionsSchema,
  FreezeOptionsSchema,
  InputSizeSchema,
  DEFAULT_INPUT_SIZE,
  EncoderTrainOptionsSchema,
  classWeightedBce,
  type SgaEncoderOptions,
  type FreezeOptions,
  type EncoderTrainOptions,
} from './models/encoder.js';
export {
  estimateEncoderMemory,
  checkEncoderMemory,
  describeEstimate,
  type EncoderMemoryEstimate,
  type EncoderWork,
  type EncoderArchitectureLike,
} from './models/footprint.js';
export {
  preprocessClips,
  clipTransform,
  multiScaleCropBoxes,
  ClipSpecSchema,
  ClipTransformOptionsSchema,
  type ClipSpec,
  type ClipSpecInput,
  type ClipTransformOptions,
  type PreprocessedClips,
} from './models/preprocess.js';
// What the models return.
export type {
  GeneratorDescription,
  MilLossTerms,
  TrainStepResult,
  EncoderStepResult,
  InputSize,
  SgaEncoderOutput,
  SgaEncoderTaps,
  SgaEncoderDescription,
  EncoderArchitecture,
  LoadReport,
  ParameterGroups,
  ParameterCount,
  MacCount,
} from './types.js';

// ---- Stage 1: the pseudo-label generator -------------------------------------------------------
export {
  sparseContinuousSample,
  sparseContinuousIndices,
  sparseShiftCount,
  uniformSample,
  SparseSamplingOptionsSchema,
  type SparseSamplingOptions,
} from './stage1/sampling.js';
export {
  buildBatch,
  createBatchSampler,
  resumeBatchSampler,
  BuildBatchOptionsSchema,
  BatchSamplerOptionsSchema,
  type Batch,
  type BatchSampler,
  type BuildBatchOptions,
  type BatchSamplerOptions,
  type BatchSamplerState,
  type VideoCyclerState,
} from './stage1/batch.js';
export {
  PRESETS,
  PRESET_NAMES,
  GeneratorHyperparametersSchema,
  GeneratorTrainOptionsSchema,
  resolveGeneratorTrainOptions,
  type PresetName,
  type GeneratorHyperparameters,
  type GeneratorTrainOptions,
  type ParsedGeneratorTrainOptions,
  type ResolvedGeneratorTrainOptions,
} from './stage1/presets.js';
export { refinePseudoLabels, RefineOptionsSchema, type RefineOptions } from './stage1/refine.js';
export {
  scoreClips,
  generatePseudoLabels,
  ScoreClipsOptionsSchema,
  type ClipScorer,
  type ScoreClipsOptions,
  type GeneratePseudoLabelsOptions,
} from './stage1/scoring.js';
// Synthetic clip features with known anomalous clips: for trying the API without a dataset.
export {
  makeSyntheticFeatures,
  syntheticGroundTruth,
  SyntheticFeaturesOptionsSchema,
  type SyntheticFeaturesOptions,
  type SyntheticVideo,
} from './stage1/synthetic.js';
export {
  trainGenerator,
  evaluateGenerator,
  GeneratorResumeOptionsSchema,
  GENERATOR_TRAINING_CHECKPOINT,
  type GeneratorResumeOptions,
  type TrainGeneratorOptions,
  type TrainGeneratorResult,
  type GeneratorTestSet,
  type TrainProgress,
  type HistoryEntry,
} from './stage1/train.js';

// ---- Stage 2: fine-tuning the SGA encoder -----------------------------------------------------
export {
  sampleTrainingClips,
  windowTarget,
  createBalancedVideoPlan,
  TrainingClipOptionsSchema,
  BalancedVideoPlanOptionsSchema,
  type TrainingVideo,
  type TrainingClip,
  type TrainingClipOptions,
  type BalancedVideoPlan,
  type BalancedStep,
  type BalancedVideoPlanOptions,
} from './stage2/clips.js';
export {
  ENCODER_PRESETS,
  ENCODER_PRESET_NAMES,
  EncoderHyperparametersSchema,
  resolveEncoderHyperparameters,
  warmupFactor,
  freezeRule,
  type EncoderHyperparameters,
  type EncoderPresetName,
} from './stage2/presets.js';
export {
  finetuneEncoder,
  evaluateEncoder,
  FinetuneEncoderOptionsSchema,
  EncoderModelOptionsSchema,
  type FinetuneEncoderOptions,
  type FinetuneEncoderResult,
  type FinetuneProgress,
  type FinetuneHistoryEntry,
  type FinetuneVideo,
  type EncoderModelOptions,
  type EncoderTestSet,
} from './stage2/finetune.js';
export {
  extractFeatures,
  ExtractFeaturesOptionsSchema,
  cropViews,
  CropViewsOptionsSchema,
  CropCountSchema,
  type CropCount,
  type CropViewsOptions,
  type ExtractFeaturesOptions,
  type ExtractedVideo,
  type ExtractProgress,
  type ExtractVideo,
} from './selftrain/extract.js';
export {
  selfTrain,
  SelfTrainOptionsSchema,
  SelfTrainStage1OptionsSchema,
  SelfTrainStage2OptionsSchema,
  StartEncoderOptionsSchema,
  type SelfTrainOptions,
  type SelfTrainStage1Options,
  type SelfTrainStage2Options,
  type StartEncoderOptions,
  type SelfTrainTestSet,
  type SelfTrainProgress,
  type SelfTrainRound,
  type SelfTrainResult,
} from './selftrain/rounds.js';
export {
  extractFeatureFiles,
  ExtractFeatureFilesOptionsSchema,
  FeatureFileFormatSchema,
  type ExtractFeatureFilesOptions,
  type ExtractFilesProgress,
  type ExtractFilesSummary,
  type FeatureFileFormat,
} from './selftrain/extract-files.js';
export {
  makeSyntheticVideos,
  SyntheticVideosOptionsSchema,
  type SyntheticVideosOptions,
  type SyntheticVideoFile,
  type SyntheticManifest,
  type SyntheticManifestEntry,
} from './stage2/synthetic-videos.js';
export {
  runSyntheticMist,
  SyntheticMistOptionsSchema,
  type SyntheticMistOptions,
  type SyntheticMistResult,
} from './demo/synthetic-mist.js';
export {
  runDemo,
  demoTable,
  loadDemoFeatures,
  DemoOptionsSchema,
  type DemoOptions,
  type DemoProgress,
  type DemoResult,
  type DemoRow,
} from './demo/index.js';

// ---- Scoring: whole files and live streams -----------------------------------------------------
export {
  scoreVideo,
  ScoreVideoOptionsSchema,
  TailRuleSchema,
  type ScoreVideoOptions,
  type ScoreProgress,
  type TailRule,
  type VideoScores,
} from './score/video.js';
export {
  scoreStream,
  ScoreStreamOptionsSchema,
  type ScoreStream,
  type ScoreStreamOptions,
  type StreamClipScore,
  type StreamInfo,
  type StreamSource,
  type StreamStats,
} from './score/stream.js';

// ---- Reports: one self-contained HTML file, and the data it is rendered from ------------------
export { renderHtmlReport, writeHtmlReport, readReportData } from './report/html.js';
export { ReportDataSchema } from './report/schema.js';
export {
  evaluationEntry,
  evaluationFromResult,
  timelineEntry,
  trainingCurve,
  pseudoLabelEntry,
  attentionEntries,
  reportMachine,
  AttentionEntriesOptionsSchema,
  type AttentionEntriesOptions,
} from './report/build.js';
export type {
  ReportData,
  ReportEvaluation,
  ReportTimeline,
  ReportTrainingCurve,
  ReportPseudoLabels,
  ReportAttention,
} from './report/types.js';
