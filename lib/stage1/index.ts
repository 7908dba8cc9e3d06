// Stage 1 of MIST: sparse continuous sampling, balanced MIL batches, presets, pseudo labels.
export {
  sparseContinuousSample,
  sparseContinuousIndices,
  sparseShiftCount,
  uniformSample,
  SparseSamplingOptionsSchema,
  type SparseSamplingOptions,
} from './sampling.js';
export {
  buildBatch,
  createBatchSampler,
  VideoCycler,
  BuildBatchOptionsSchema,
  BatchSamplerOptionsSchema,
  type Batch,
  type BatchSampler,
  type BuildBatchOptions,
  type BatchSamplerOptions,
} from './batch.js';
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
} from './presets.js';
export {
  refinePseudoLabels,
  writePseudoLabels,
  readPseudoLabels,
  readOfficialPseudoLabels,
  RefineOptionsSchema,
  PseudoLabelMetaSchema,
  OfficialPseudoLabelOptionsSchema,
  type RefineOptions,
  type PseudoLabelMeta,
  type PseudoLabelSet,
  type OfficialPseudoLabelOptions,
} from './pseudo-labels.js';
export { unpickle, parseNpyHeader, readPickledNpy, decodePickledNpy, NdArray, type NpyHeader } from './pickle.js';
export {
  scoreClips,
  generatePseudoLabels,
  ScoreClipsOptionsSchema,
  type ClipScorer,
  type ScoreClipsOptions,
  type GeneratePseudoLabelsOptions,
} from './scoring.js';
export {
  makeSyntheticFeatures,
  syntheticGroundTruth,
  SyntheticFeaturesOptionsSchema,
  type SyntheticFeaturesOptions,
  type SyntheticVideo,
} from './synthetic.js';
// FeatureArray is lib/data's type (re-exported there); parseOptions stays internal.
export { featureDims, CropSchema, type VideoFeatures, type CropMode } from './types.js';
export {
  trainGenerator,
  evaluateGenerator,
  type TrainGeneratorOptions,
  type TrainGeneratorResult,
  type GeneratorTestSet,
  type TrainProgress,
  type HistoryEntry,
} from './train.js';
