// The typed view of the native addon. Nothing else imports the raw binding, and every native
// call goes through guard() below: a native failure arrives as a MistError with its stable
// code, the native message, the JS call-site stack, and the native error as `cause`.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import variants from '../scripts/libtorch-variant.cjs';
import { cpuCacheMb, defaultThreadCount } from './config.js';
import { ErrorCode, MistError } from './errors.js';
import type {
  AddonOrigin,
  EncoderArchitecture,
  EncoderStepResult,
  GeneratorDescription,
  InputSize,
  LoadReport,
  MacCount,
  MilLossTerms,
  ParameterCount,
  ParameterGroups,
  SgaEncoderDescription,
  SgaEncoderOutput,
  SgaEncoderTaps,
  TrainStepResult,
  CpuCacheStats,
  RuntimeInfo,
} from './types.js';

/** MilLossOptions after zod: every field present (native/mil_loss.h reads them all). */
export interface NativeMilLossOptions {
  normal: number;
  anomalous: number;
  clips: number;
  lossVariant: 'topk' | 'subbag';
  k: number;
  L: number;
  lambdaSparsity: number;
  lambdaSmoothness: number;
}

/** What both ways of building a generator take (native/generator.h GeneratorConfig). */
interface NativeGeneratorTraining {
  dropout: number;
  seed: number;
  lr: number;
  weightDecay: number;
  gradClip: number;
  device: string;
}

/** A fresh generator, or one read from a checkpoint (whose sizes win). */
export type NativeGeneratorOptions =
  | (NativeGeneratorTraining & { featureDim: number; hidden: readonly [number, number] })
  | (NativeGeneratorTraining & { checkpoint: string });

export interface NativeGenerator {
  forward(x: Float32Array, rows: number, options: { mode: 'train' | 'eval' }): Promise<Float32Array>;
  trainStep(features: Float32Array, options: NativeMilLossOptions): Promise<TrainStepResult>;
  save(path: string): Promise<void>;
  describe(): GeneratorDescription;
  parameters(): Promise<Record<string, Float32Array>>;
  keepBest(): Promise<void>;
  useBest(): Promise<void>;
  saveBest(path: string): Promise<void>;
  saveTraining(path: string, meta: string): Promise<void>;
  restoreTraining(path: string): Promise<string>;
  trainingMeta(path: string): Promise<string>;
  dispose(): void;
}

/** One op of a profiled forward (native/encoder.h OpTime). */
export interface OpTime {
  layer: string;
  op: 'conv' | 'pool' | 'reorder' | 'concat' | 'pad' | 'heads';
  ms: number;
  macs: number;
}

/** SgaEncoderOptions after zod: every field present (native/encoder.h EncoderConfig). */
export interface NativeSgaEncoderOptions {
  backbone: 'i3d' | 'c3d';
  width: number;
  expandK: number;
  dropout: number;
  inputSize: InputSize;
  device: string;
  seed: number;
  init: 'pytorch' | 'kaiming';
  fold: boolean;
  onednn: boolean;
}

export interface NativeSgaEncoder {
  forward(clips: Float32Array, n: number, inputSize: InputSize): Promise<SgaEncoderOutput>;
  taps(clips: Float32Array, n: number, inputSize: InputSize): Promise<SgaEncoderTaps>;
  profile(clips: Float32Array, n: number, inputSize: InputSize): Promise<OpTime[]>;
  loadStateDict(path: string): Promise<LoadReport>;
  save(path: string): Promise<void>;
  setTraining(on: boolean): void;
  freeze(options: { blocks: string[]; batchNormAffine: boolean; batchNormStats: boolean }): Promise<number>;
  parameterGroups(): ParameterGroups;
  parameterCount(): ParameterCount;
  macsPerClip(inputSize: InputSize): MacCount;
  describe(): SgaEncoderDescription;
  stateDict(): Promise<Record<string, Float32Array>>;
  configureTraining(options: NativeEncoderTrainOptions): Promise<void>;
  trainStep(
    clips: Float32Array,
    n: number,
    inputSize: InputSize,
    targets: Float32Array,
    lrFactor: number,
  ): Promise<EncoderStepResult>;
  saveTraining(path: string, meta: string): Promise<void>;
  restoreTraining(path: string): Promise<string>;
  trainingMeta(path: string): Promise<string>;
  dispose(): void;
}

/** EncoderTrainOptions after zod: every field present (native/encoder_train.h EncoderTrainConfig). */
export interface NativeEncoderTrainOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  gradClip: number;
  w1: number;
  w0: number;
  guidedWeight: number;
  accumulate: number;
}

/** A native model class: build on the calling thread, or on the libuv pool. */
export interface NativeClass<O, T> {
  /** Sync: `new Class(options)`; fine for small models. */
  create(options: O): T;
  /** Async: the model is built off the event loop. */
  createAsync(options: O): Promise<T>;
}

export interface NativeAddon {
  info(): Omit<RuntimeInfo, 'blasWarning' | 'addon'>;
  setNumThreads(n: number): void;
  /** Installs the large-tensor cache with this bound (first call wins; 0: none). */
  installCpuCache(limitBytes: number): void;
  cpuCache(): CpuCacheStats;
  releaseCpuCache(): void;
  milRankingLoss(scores: Float32Array, options: NativeMilLossOptions): Promise<MilLossTerms & { grad: Float32Array }>;
  Generator: NativeClass<NativeGeneratorOptions, NativeGenerator>;
  SgaEncoder: NativeClass<NativeSgaEncoderOptions, NativeSgaEncoder>;
  encoderCheckpointConfig(path: string): Promise<EncoderArchitecture | null>;
  /** Float32 element counts from the layer table (nothing built); the last four per clip. */
  encoderFootprint(
    architecture: { backbone: 'i3d' | 'c3d'; width: number; expandK: number },
    inputSize: number[],
  ): { parameters: number; input: number; sum: number; saved: number; peak: number };
  classWeightedBce(
    logits: Float32Array,
    targets: Float32Array,
    n: number,
    w1: number,
    w0: number,
  ): {
    loss: number;
    grad: Float32Array;
  };
}

// ---- Clip pre-processing (native/preprocess.h) ----------------------------------------------

/** One clip's transform after zod (lib/models/preprocess.ts): every field present. */
export interface NativeClipSpec {
  resize: readonly [number, number];
  crop: { y: number; x: number; h: number; w: number };
  outSize: readonly [number, number];
  flip: boolean;
  grayscale: boolean;
  order: 'rgb' | 'bgr';
  mean: readonly [number, number, number];
  scale: number;
  quantize: boolean;
}

// Declared beside its types (merged into NativeAddon above), so this section stands alone.
export interface NativeAddon {
  /** Async: uint8 RGB [N, T, H, W, 3] -> float32 [N, 3, T, outH, outW], clip i by specs[i]. */
  preprocessClips(
    frames: Uint8Array,
    shape: readonly [number, number, number, number, number],
    specs: readonly NativeClipSpec[],
  ): Promise<Float32Array>;
}

// ---- One error class -------------------------------------------------------------------------

const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/**
 * A native error as a MistError: its code when it has one of ours (else ERR_MIST_TORCH), its
 * message, `cause` the native error. `site` (a captured stack) replaces the frames when the
 * error comes back through a promise, which has no JS frames of its own.
 */
function fromNative(e: unknown, site: { stack?: string }): MistError {
  if (e instanceof MistError) return e;
  const { code, message } = (e ?? {}) as { code?: unknown; message?: unknown };
  const err = new MistError(
    typeof code === 'string' && CODES.has(code) ? code : ErrorCode.TORCH,
    typeof message === 'string' ? message : String(e),
    { cause: e },
  );
  const frames = site.stack ?? '';
  err.stack = `${err.name}: ${err.message}${frames.slice(frames.indexOf('\n'))}`;
  return err;
}

type Fn = (this: unknown, ...args: never[]) => unknown;

/** `f`, with its failures (thrown, or a rejected promise) as MistErrors naming the caller. */
function guard<F extends Fn>(f: F): F {
  const guarded = function (this: unknown, ...args: never[]): unknown {
    const site: { stack?: string } = {};
    let r: unknown;
    try {
      r = f.apply(this, args);
    } catch (e) {
      Error.captureStackTrace(site, guarded);
      throw fromNative(e, site);
    }
    if (!(r instanceof Promise)) return r;
    // Captured now: when the promise settles only the event loop is on the stack.
    Error.captureStackTrace(site, guarded);
    return r.catch((e: unknown) => {
      throw fromNative(e, site);
    });
  };
  return guarded as F;
}

const RAW = Symbol('native');
const instanceMethods = new WeakMap<object, object>();

/** A native instance behind guarded methods (one guarded prototype per native class). */
function guardInstance<T extends object>(raw: T): T {
  const proto = Object.getPrototypeOf(raw) as Record<string, unknown>;
  let methods = instanceMethods.get(proto);
  if (!methods) {
    const m: Record<string, Fn> = {};
    for (const name of Object.getOwnPropertyNames(proto)) {
      const f = proto[name];
      if (name === 'constructor' || typeof f !== 'function') continue;
      m[name] = guard(function (this: unknown, ...args: never[]) {
        return (f as Fn).apply((this as { [RAW]: object })[RAW], args);
      });
    }
    methods = m;
    instanceMethods.set(proto, methods);
  }
  return Object.create(methods, { [RAW]: { value: raw } }) as T;
}

type RawClass = (new (options: unknown) => object) & { createAsync(options: unknown): Promise<object> };

function guardClass(Raw: RawClass): NativeClass<unknown, object> {
  return {
    create: guard((options: unknown) => guardInstance(new Raw(options))),
    createAsync: guard((options: unknown) => Raw.createAsync(options).then(guardInstance)),
  };
}

/** Every export of the addon guarded: classes (capitalised) as NativeClass, functions as they are. */
function guardAddon(raw: Record<string, unknown>): NativeAddon {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value !== 'function') continue;
    out[name] = /^[A-Z]/.test(name) ? guardClass(value as RawClass) : guard(value as Fn);
  }
  return out as unknown as NativeAddon;
}

// ---- Loading ---------------------------------------------------------------------------------

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let addon: NativeAddon | undefined;
let origin: AddonOrigin | undefined;

/**
 * Loads the addon once and applies MIST_CPU_CACHE_MB and the thread count. Sync. Which binary:
 * MIST_ADDON_PATH when set (an absolute path to a mist_vad.node: a build kept in another folder,
 * such as scripts/asan.sh's build-asan/Release/mist_vad.node), else a local build (build/Release) when present and PREBUILDS_ONLY is unset, else the prebuild of
 * the variant that fits the LibTorch found (scripts/libtorch-variant.cjs, shared with the install
 * hook). Throws ERR_MIST_NATIVE saying what was found and what the prebuilds offer.
 */
export function native(): NativeAddon {
  if (addon) return addon;
  try {
    const loaded = variants.loadAddon(ROOT);
    addon = guardAddon(loaded.addon);
    origin = loaded.origin;
  } catch (e) {
    throw new MistError(
      ErrorCode.NATIVE,
      `the mist-vad native addon could not be loaded (${(e as Error).message.split('\n')[0]}); ` +
        'run `npm rebuild mist-vad` on a machine with LibTorch (apt-get install -y libtorch-dev libopenblas0-pthread)',
      { cause: e },
    );
  }
  addon.installCpuCache(cpuCacheMb() * 2 ** 20);
  addon.setNumThreads(defaultThreadCount());
  return addon;
}

/** Sync: which binary native() loaded and why (loading it first). Throws as native(). */
export function addonOrigin(): AddonOrigin {
  native();
  return origin!;
}
