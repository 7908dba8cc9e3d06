// What the native calls return, by the names of the public API: the runtime's facts (info(),
// cpuCache()) and the models' results. lib/native.ts types the addon with these same
// interfaces, so a result crosses from C++ to the caller without a second shape; being a leaf,
// this file lets both import them without a circle.

/** [frames, height, width] of one clip. */
export type InputSize = readonly [number, number, number];

/** The terms of the MIL ranking loss: total, ranking hinge, and the unweighted regularisers. */
export interface MilLossTerms {
  loss: number;
  rank: number;
  sparsity: number;
  smoothness: number;
}

/** One generator training step: the loss terms, the gradient norm before clipping, the step count. */
export interface TrainStepResult extends MilLossTerms {
  gradNorm: number;
  step: number;
}

/** What one stage-2 training call did (SgaEncoder.trainStep). */
export interface EncoderStepResult {
  /** main + guidedWeight * guided, before the 1/accumulate scaling of the backward pass. */
  loss: number;
  mainLoss: number;
  guidedLoss: number;
  /** The gradient norm before clipping, on calls that updated the weights; -1 otherwise. */
  gradNorm: number;
  /** The learning rate of this update (after the warm-up factor). */
  lr: number;
  /** This call completed an accumulation and updated the weights. */
  stepped: boolean;
  /** Calls and weight updates so far; they run on across epochs and resumes. */
  micro: number;
  steps: number;
}

/** A generator's sizes, device, steps taken and parameter count. */
export interface GeneratorDescription {
  featureDim: number;
  hidden: [number, number];
  dropout: number;
  device: string;
  steps: number;
  parameterCount: number;
  /** Weights and Adagrad state. */
  sizeBytes: number;
}

/** Per clip: the anomaly score, the guided head's probabilities, the attention map, the feature. */
export interface SgaEncoderOutput {
  /** softmax(main head)[anomalous], one per clip. */
  score: Float32Array;
  /** The guided head's softmax, [n, 2] (normal, anomalous). */
  guided: Float32Array;
  /** The attention map A, [n, T', H', W'] (I3D at 224²: [n, 1, 7, 7]). */
  attention: Float32Array;
  attentionShape: number[];
  /** GAP of the attended main feature map, [n, D] (D = 1024 for I3D, 512 for C3D). */
  feature: Float32Array;
  featureDim: number;
}

/** The two backbone feature maps, as [n, C, T, H, W]. */
export interface SgaEncoderTaps {
  sga: Float32Array;
  sgaShape: number[];
  main: Float32Array;
  mainShape: number[];
}

/** What loadStateDict() did: names not found, names not used, classifier layers ignored. */
export interface LoadReport {
  missing: string[];
  unexpected: string[];
  ignored: string[];
  loaded: number;
  layout: 'mist-vad' | 'mist' | 'state-dict' | 'backbone';
}

/** Trainable parameter names with weight decay (weights) and without (biases, BatchNorm), and frozen ones. */
export interface ParameterGroups {
  decay: string[];
  noDecay: string[];
  frozen: string[];
  decayCount: number;
  noDecayCount: number;
  frozenCount: number;
}

/** Parameter counts of an encoder, in total and by part. */
export interface ParameterCount {
  total: number;
  trainable: number;
  backbone: number;
  sgaBranch: number;
  head: number;
}

/** Multiply-accumulates per clip (FLOPs are twice this). */
export interface MacCount {
  total: number;
  backbone: number;
  sgaBranch: number;
  head: number;
  inputSize: InputSize;
}

/** The architecture an encoder checkpoint records. */
export interface EncoderArchitecture {
  backbone: 'i3d' | 'c3d';
  width: number;
  expandK: number;
  dropout: number;
}

/** An encoder's configuration, tap shapes at its input size, and size in bytes. */
export interface SgaEncoderDescription extends EncoderArchitecture {
  inputSize: InputSize;
  device: string;
  training: boolean;
  fold: boolean;
  onednn: boolean;
  blocks: string[];
  sgaShape: number[];
  mainShape: number[];
  attentionShape: number[];
  featureDim: number;
  sizeBytes: number;
}

/**
 * Which binary of the addon this process loaded, and why: a local build (build/Release wins
 * over prebuilds/), or the prebuild of the variant ('cpu-torch1.13', 'cuda12-torch2.5') that
 * fits the LibTorch found (scripts/libtorch-variant.cjs).
 */
export interface AddonOrigin {
  kind: 'build' | 'prebuild';
  file: string;
  /** The LibTorch flavour it was built for; null when its build record does not say. */
  variant: string | null;
  /** Why it was chosen: the LibTorch found and where, MIST_PREBUILD_VARIANT, or the local build. */
  reason: string;
}

/** What info() reports about LibTorch in this process, plus a warning when its BLAS is slow. */
export interface RuntimeInfo {
  /** The binary loaded and why. */
  addon: AddonOrigin;
  torchVersion: string;
  torchBuiltAgainst: string;
  torchSource: string;
  torchDir: string;
  cudaBuild: boolean;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  defaultDevice: 'cpu' | 'cuda';
  /** Intra-op threads configured. */
  threads: number;
  /** Distinct threads a parallel region really ran on. */
  threadsObserved: number;
  interopThreads: number;
  openmp: boolean;
  mkldnn: boolean;
  blas: { kind: 'openblas' | 'mkl' | 'reference' | 'unknown'; libraries: string[] };
  parallelInfo: string;
  buildConfig: string;
  /** Set when the loaded BLAS is the reference one (about 50x slower here than OpenBLAS). */
  blasWarning?: string;
}

/** The caching allocator of large CPU tensors (native/allocator.cc). */
export interface CpuCacheStats {
  enabled: boolean;
  cachedBytes: number;
  limitBytes: number;
  hits: number;
  misses: number;
}
