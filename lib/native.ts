// The typed view of the native addon. Nothing else imports the raw binding.
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { defaultThreadCount } from './config.js';
import { ErrorCode, MistError } from './errors.js';

/** What info() reports about LibTorch in this process. */
export interface NativeInfo {
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
}

/** Options shared by the MIL ranking loss and a generator training step. */
export interface NativeMilLossOptions {
  normal: number;
  anomalous: number;
  clips: number;
  variant?: 'topk' | 'subbag';
  k?: number;
  subBags?: number;
  lambdaSparsity?: number;
  lambdaSmoothness?: number;
}

export interface NativeLossTerms {
  loss: number;
  rank: number;
  sparsity: number;
  smoothness: number;
}

export interface NativeGeneratorOptions {
  dim?: number;
  hidden1?: number;
  hidden2?: number;
  dropout?: number;
  seed?: number;
  lr?: number;
  weightDecay?: number;
  clip?: number;
  device?: string;
  checkpoint?: string;
}

export interface NativeGeneratorDescription {
  dim: number;
  hidden1: number;
  hidden2: number;
  dropout: number;
  device: string;
  steps: number;
  parameterCount: number;
  sizeBytes: number;
}

export interface NativeGenerator {
  forward(x: Float32Array, rows: number, options?: { mode?: 'train' | 'eval' }): Promise<Float32Array>;
  trainStep(features: Float32Array, options: NativeMilLossOptions): Promise<NativeLossTerms & { gradNorm: number; step: number }>;
  save(path: string): Promise<void>;
  describe(): NativeGeneratorDescription;
  parameters(): Record<string, Float32Array>;
  dispose(): void;
}

export interface NativeAddon {
  info(): NativeInfo;
  setNumThreads(n: number): void;
  milRankingLoss(scores: Float32Array, options: NativeMilLossOptions): Promise<NativeLossTerms & { grad: Float32Array }>;
  Generator: new (options: NativeGeneratorOptions) => NativeGenerator;
  cpuCache(): CpuCacheStats;
  releaseCpuCache(): void;
}

/** The caching allocator of large CPU tensors (native/allocator.cc). */
export interface CpuCacheStats {
  enabled: boolean;
  cachedBytes: number;
  limitBytes: number;
  hits: number;
  misses: number;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let addon: NativeAddon | undefined;

/** Loads the addon once (prebuilds/ or build/Release) and applies the thread count. */
export function native(): NativeAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  try {
    const load = require('node-gyp-build') as (dir: string) => NativeAddon;
    addon = load(ROOT);
  } catch (e) {
    throw new MistError(
      ErrorCode.NATIVE,
      `the mist-vad native addon could not be loaded (${(e as Error).message.split('\n')[0]}); ` +
        'run `npm rebuild mist-vad` on a machine with LibTorch (apt-get install -y libtorch-dev libopenblas0-pthread)',
      { cause: e },
    );
  }
  addon.setNumThreads(defaultThreadCount());
  return addon;
}

// ---- Stage 2: SGA encoder (native/encoder_binding.cc) ----------------------------------------

/** [frames, height, width] of the clips a model takes. */
export type NativeInputSize = readonly [number, number, number];

export interface NativeSgaEncoderOptions {
  backbone?: 'i3d' | 'c3d';
  width?: number;
  expandK?: number;
  dropout?: number;
  inputSize?: NativeInputSize;
  device?: string;
  seed?: number;
  fold?: boolean;
  onednn?: boolean;
}

export interface NativeSgaOutput {
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

export interface NativeSgaTaps {
  sga: Float32Array;
  sgaShape: number[];
  main: Float32Array;
  mainShape: number[];
}

export interface NativeLoadReport {
  missing: string[];
  unexpected: string[];
  ignored: string[];
  loaded: number;
  layout: 'mist-vad' | 'mist' | 'state-dict' | 'backbone';
}

export interface NativeParameterGroups {
  decay: string[];
  noDecay: string[];
  frozen: string[];
  decayCount: number;
  noDecayCount: number;
  frozenCount: number;
}

export interface NativeParameterCount {
  total: number;
  trainable: number;
  backbone: number;
  sgaBranch: number;
  head: number;
}

export interface NativeMacs {
  total: number;
  backbone: number;
  sgaBranch: number;
  head: number;
  inputSize: NativeInputSize;
}

export interface NativeSgaEncoderDescription {
  backbone: 'i3d' | 'c3d';
  width: number;
  expandK: number;
  dropout: number;
  inputSize: NativeInputSize;
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

export interface NativeSgaEncoder {
  forward(clips: Float32Array, n: number, inputSize?: NativeInputSize): Promise<NativeSgaOutput>;
  taps(clips: Float32Array, n: number, inputSize?: NativeInputSize): Promise<NativeSgaTaps>;
  loadStateDict(path: string): Promise<NativeLoadReport>;
  save(path: string): Promise<void>;
  setTraining(on: boolean): void;
  freeze(options: { blocks?: string[]; batchNormAffine?: boolean; batchNormStats?: boolean }): number;
  parameterGroups(): NativeParameterGroups;
  parameterCount(): NativeParameterCount;
  macsPerClip(inputSize?: NativeInputSize): NativeMacs;
  describe(): NativeSgaEncoderDescription;
  stateDict(): Record<string, Float32Array>;
  dispose(): void;
}

export interface NativeEncoderCheckpointConfig {
  backbone: 'i3d' | 'c3d';
  width: number;
  expandK: number;
  dropout: number;
}

// Declaration merging: these members join NativeAddon above.
export interface NativeAddon {
  SgaEncoder: new (options: NativeSgaEncoderOptions) => NativeSgaEncoder;
  encoderCheckpointConfig(path: string): Promise<NativeEncoderCheckpointConfig | null>;
}
