// Stage 2: the SGA encoder (I3D or C3D with the self-guided attention branch and two heads),
// in LibTorch. Loads the public weights by name; scores clips off the event loop.
import { existsSync } from 'node:fs';

import { z } from 'zod';

import { DeviceSchema, resolveDevice } from '../device.js';
import { ErrorCode, MistError } from '../errors.js';
import {
  native,
  type NativeEncoderTrainOptions,
  type NativeSgaEncoder,
  type NativeSgaEncoderOptions,
  type OpTime,
} from '../native.js';
import { parseOptions } from '../options.js';
import { DisposableModel } from './disposable-model.js';
import {
  checkEncoderMemory,
  estimateEncoderMemory,
  type EncoderMemoryEstimate,
  type EncoderWork,
} from './footprint.js';
import { loadingCheckpoint, verifyCheckpointZip } from './zip-check.js';
import type {
  EncoderStepResult,
  InputSize,
  LoadReport,
  MacCount,
  ParameterCount,
  ParameterGroups,
  SgaEncoderDescription,
  SgaEncoderOutput,
  SgaEncoderTaps,
} from '../types.js';

const PositiveInt = z.number().int().positive();
/** [frames, height, width] of one clip. */
export const InputSizeSchema = z
  .tuple([PositiveInt.max(4096), PositiveInt.max(4096), PositiveInt.max(4096)])
  .readonly();

/** The paper's input sizes: I3D 16 x 224 x 224, C3D 16 x 112 x 112. */
export const DEFAULT_INPUT_SIZE: Record<'i3d' | 'c3d', InputSize> = { i3d: [16, 224, 224], c3d: [16, 112, 112] };

export const SgaEncoderOptionsSchema = z.strictObject({
  backbone: z.enum(['i3d', 'c3d']),
  /** [frames, height, width] the clips have (default: the paper's for the backbone). */
  inputSize: InputSizeSchema.optional(),
  /** Channel multiplier for every backbone layer (1 = the paper's; small values make tiny test models). */
  width: z.number().positive().max(16).default(1),
  /** K: the SGA branch has 2K detectors (spec: 8). */
  expandK: PositiveInt.max(1024).default(8),
  /** Dropout before the main head's Linear (spec: 0.8), train mode only. */
  dropout: z.number().min(0).lt(1).default(0.8),
  device: DeviceSchema.optional(),
  /**
   * Initial weights: `pytorch` (LibTorch's default, U(±1/sqrt(fan_in)) for weights and biases)
   * or `kaiming` (variance-preserving for ReLU: N(0, 2/fan_in) weights, zero biases). An
   * untrained encoder gives nearly constant clip features under the first (relative spread
   * under 1 % for a C3D-shaped one); the second keeps the input's signal through the depth.
   */
  init: z.enum(['pytorch', 'kaiming']).default('pytorch'),
  /** Seeds the initial weights and every dropout mask of this model. */
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  /** Evaluate through the folded copy (BatchNorm folded, fused 1x1 convolutions). */
  fold: z.boolean().default(true),
  /** Run the folded copy in oneDNN's blocked layout with prepacked weights (CPU; off: plain convolutions). */
  onednn: z.boolean().default(true),
});
export type SgaEncoderOptions = z.input<typeof SgaEncoderOptionsSchema>;

export const FreezeOptionsSchema = z.strictObject({
  /** Backbone blocks whose parameters stop training ('all', 'none' or names from `blocks`). */
  blocks: z.union([z.literal('all'), z.literal('none'), z.array(z.string())]).default('none'),
  /** Freeze every backbone BatchNorm weight and bias as well (running statistics still update). */
  batchNormAffine: z.boolean().default(false),
  /** Freeze the BatchNorm running statistics too (BatchNorm stays in eval mode while training). */
  batchNormStats: z.boolean().default(false),
});
export type FreezeOptions = z.input<typeof FreezeOptionsSchema>;

/** The optimiser and loss of stage-2 training (docs/MIST.md, Stage 2: Loss, Training). */
export const EncoderTrainOptionsSchema = z.strictObject({
  /** Adam's learning rate before the warm-up factor (spec: 1e-4). */
  lr: z.number().positive().default(1e-4),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  eps: z.number().positive().default(1e-8),
  /** L2 weight decay on conv / linear weights only; biases and BatchNorm take none (spec: 5e-4). */
  weightDecay: z.number().min(0).default(5e-4),
  /** Bound of the gradient's L2 norm (0: no clipping). */
  gradClip: z.number().min(0).default(20),
  /** Class weights of the BCE: w1 on the anomalous term, w0 on the normal one. */
  w1: z.number().positive().default(1),
  w0: z.number().positive().default(1),
  /** Weight of the guided head's loss beside the main head's (spec: 1). */
  guidedWeight: z.number().min(0).default(1),
  /** Calls whose gradients add up to one update; the count runs across epochs. */
  accumulate: z.int().positive().max(1_000_000).default(1),
});
export type EncoderTrainOptions = z.input<typeof EncoderTrainOptionsSchema>;

/**
 * Sync: the stage-2 loss of one head, `mean(−w1·y·log(p+1e-8) − w0·(1−y)·log(1−p+1e-8))` with
 * p = softmax(logits)[:, 1], and its gradient with respect to the logits [n, 2].
 */
export function classWeightedBce(
  logits: Float32Array,
  targets: Float32Array,
  weights: { w1?: number; w0?: number } = {},
): { loss: number; grad: Float32Array } {
  const n = targets.length;
  if (n === 0 || logits.length !== 2 * n) {
    throw new MistError(
      ErrorCode.SHAPE,
      `classWeightedBce: logits must be [n, 2] for ${n} targets (got ${logits.length} values)`,
    );
  }
  const w = parseOptions(EncoderTrainOptionsSchema.pick({ w1: true, w0: true }), weights, 'loss weights');
  return native().classWeightedBce(logits, targets, n, w.w1, w.w0);
}

/**
 * MIST's stage-2 encoder: I3D (Inception-v1 inflated) or C3D with the self-guided attention
 * branch, the main head and the guided head, in LibTorch. Computing methods (and those that
 * copy or change weights) are asynchronous and run off the event loop; a clips array is copied
 * when the call is made, so the caller may reuse it at once. Clips holding NaN or an infinity
 * are refused (ERR_MIST_ARG naming the clip). The synchronous ones never wait for a computation.
 */
export class SgaEncoder extends DisposableModel {
  readonly backbone: 'i3d' | 'c3d';
  readonly inputSize: InputSize;
  readonly featureDim: number;
  /** Backbone block names, in order (what freeze() takes). */
  readonly blocks: readonly string[];

  readonly #architecture: { backbone: 'i3d' | 'c3d'; width: number; expandK: number; device: string };

  private constructor(n: NativeSgaEncoder) {
    super(n, 'SgaEncoder');
    const d = n.describe();
    this.#architecture = { backbone: d.backbone, width: d.width, expandK: d.expandK, device: d.device };
    this.backbone = d.backbone;
    this.inputSize = d.inputSize;
    this.featureDim = d.featureDim;
    this.blocks = Object.freeze([...d.blocks]);
  }

  get #native(): NativeSgaEncoder {
    return this.handle<NativeSgaEncoder>();
  }

  // Parsed options; ERR_MIST_MEMORY before anything is built when the weights alone would not fit.
  static #options(options: SgaEncoderOptions): NativeSgaEncoderOptions {
    const o = parseOptions(SgaEncoderOptionsSchema, options, 'SGA encoder options');
    const n = { ...o, inputSize: o.inputSize ?? DEFAULT_INPUT_SIZE[o.backbone], device: resolveDevice(o.device) };
    checkEncoderMemory(n, 'inference', 0, n.inputSize, 'SgaEncoder: the encoder');
    return n;
  }

  /**
   * Sync: the memory this encoder's process holds at its peak while running `work` on `clips`
   * clips (CPU): runtime, parameters with their copies, and per clip (lib/models/footprint.ts).
   * forward(), taps(), profile() and trainStep() refuse a call whose estimate is above the memory limit
   * (MIST_MEMORY_LIMIT_MB, else the machine's RAM) with ERR_MIST_MEMORY, before allocating.
   */
  estimateMemory(work: EncoderWork, clips: number, inputSize?: InputSize): EncoderMemoryEstimate {
    return estimateEncoderMemory(this.#architecture, work, clips, this.#size(inputSize));
  }

  /** Sync: ERR_MIST_MEMORY when estimateMemory() is above the memory limit; `what` names the caller. */
  checkMemory(work: EncoderWork, clips: number, what: string, inputSize?: InputSize): EncoderMemoryEstimate {
    return checkEncoderMemory(this.#architecture, work, clips, this.#size(inputSize), what);
  }

  /**
   * Sync: a freshly initialised encoder (PyTorch's default initialisation, seeded), built on
   * the calling thread. For small models (tests, width < 1); a full-size I3D or C3D holds the
   * event loop about a second here: use createAsync() for those.
   */
  static create(options: SgaEncoderOptions): SgaEncoder {
    return new SgaEncoder(native().SgaEncoder.create(SgaEncoder.#options(options)));
  }

  /** Async: as create(), the model built off the event loop. Use it for full-size models. */
  static async createAsync(options: SgaEncoderOptions): Promise<SgaEncoder> {
    return new SgaEncoder(await native().SgaEncoder.createAsync(SgaEncoder.#options(options)));
  }

  /**
   * Async: an encoder saved with save(), rebuilt with its own configuration. ERR_MIST_IO when
   * the file is missing, ERR_MIST_WEIGHTS when it is not one of ours (use create() and
   * loadStateDict() for the public weights) or does not hold every tensor.
   */
  static async load(
    path: string,
    options: Omit<SgaEncoderOptions, 'backbone' | 'width' | 'expandK' | 'dropout'> = {},
  ): Promise<SgaEncoder> {
    if (!existsSync(path)) throw new MistError(ErrorCode.IO, `no such checkpoint: ${path}`);
    await verifyCheckpointZip(path);
    const config = await loadingCheckpoint(path, () => native().encoderCheckpointConfig(path));
    if (!config) {
      throw new MistError(
        ErrorCode.WEIGHTS,
        `${path} is not a mist-vad encoder checkpoint; use SgaEncoder.create() and loadStateDict() for other weights`,
      );
    }
    const encoder = await SgaEncoder.createAsync({ ...options, ...config });
    let report: LoadReport;
    try {
      report = await loadingCheckpoint(path, () => encoder.#native.loadStateDict(path)); // verified above
    } catch (e) {
      encoder.dispose();
      throw e;
    }
    if (report.missing.length > 0) {
      encoder.dispose();
      throw new MistError(
        ErrorCode.WEIGHTS,
        `${path} lacks ${report.missing.length} tensors (${report.missing[0]}, ...)`,
      );
    }
    return encoder;
  }

  #size(inputSize: InputSize | undefined): InputSize {
    return inputSize ? parseOptions(InputSizeSchema, inputSize, 'inputSize') : this.inputSize;
  }

  // The size and clip count of an inference call, checked against the memory limit.
  #inferenceBatch(
    clips: Float32Array,
    n: number | undefined,
    inputSize: InputSize | undefined,
    what: string,
  ): [InputSize, number] {
    const size = this.#size(inputSize);
    const count = this.#count(clips, n, size);
    checkEncoderMemory(this.#architecture, 'inference', count, size, what);
    return [size, count];
  }

  #count(clips: Float32Array, n: number | undefined, size: InputSize): number {
    const per = 3 * size[0] * size[1] * size[2];
    const count = n ?? clips.length / per;
    if (!Number.isInteger(count) || count < 1) {
      throw new MistError(
        ErrorCode.SHAPE,
        `clips has ${clips.length} values, not a positive multiple of 3 x ${size.join(' x ')} = ${per}`,
      );
    }
    return count;
  }

  /**
   * Async: scores a batch of clips [n, 3, T, H, W] (row-major; n defaults to what the length
   * implies; inputSize to the model's). Eval mode unless setTraining(true).
   */
  async forward(clips: Float32Array, n?: number, inputSize?: InputSize): Promise<SgaEncoderOutput> {
    const [size, count] = this.#inferenceBatch(clips, n, inputSize, 'forward');
    return this.#native.forward(clips, count, size);
  }

  /** Async: the two backbone feature maps (SGA input and main-branch input) of a batch of clips. */
  async taps(clips: Float32Array, n?: number, inputSize?: InputSize): Promise<SgaEncoderTaps> {
    const [size, count] = this.#inferenceBatch(clips, n, inputSize, 'taps');
    return this.#native.taps(clips, count, size);
  }

  /**
   * Async: one eval-mode forward through the folded copy with every op timed, in order: the
   * layer, the op (conv, pool, reorder between oneDNN's layout and the plain one, concat, pad,
   * heads), its wall time in ms and, for a convolution, its multiply-accumulates. For finding
   * where inference time goes (`npm run bench:profile`); ERR_MIST_ARG for an encoder made with
   * fold: false.
   */
  async profile(clips: Float32Array, n?: number, inputSize?: InputSize): Promise<OpTime[]> {
    const [size, count] = this.#inferenceBatch(clips, n, inputSize, 'profile');
    return this.#native.profile(clips, count, size);
  }

  /**
   * Async: loads tensors by name from a PyTorch zip checkpoint: the Kinetics I3D port's
   * model_rgb.pth, a C3D Sports-1M state dict, a released MIST checkpoint or one of ours.
   * Reports what it did not find and what it did not use; ERR_MIST_WEIGHTS (nothing loaded)
   * for a file that is not a state dict, is in the legacy format or has a mismatched shape.
   */
  async loadStateDict(path: string): Promise<LoadReport> {
    if (!existsSync(path)) throw new MistError(ErrorCode.IO, `no such weights file: ${path}`);
    await verifyCheckpointZip(path);
    return loadingCheckpoint(path, () => this.#native.loadStateDict(path));
  }

  /** Async: writes {model: state dict, mist: config} in PyTorch's zip format (atomically). */
  async save(path: string): Promise<void> {
    return this.#native.save(path);
  }

  /** Sync: train mode (BatchNorm batch statistics and dropout) or eval mode for later calls. */
  setTraining(on: boolean): void {
    this.#native.setTraining(on);
  }

  /**
   * Async (after any computation in flight, which it would change): which backbone parameters
   * train; resolves to the number of frozen parameters.
   */
  async freeze(options: FreezeOptions): Promise<number> {
    const o = parseOptions(FreezeOptionsSchema, options, 'freeze options');
    const blocks = o.blocks === 'all' ? [...this.blocks] : o.blocks === 'none' ? [] : o.blocks;
    const unknown = blocks.filter((b) => !this.blocks.includes(b));
    if (unknown.length > 0) {
      throw new MistError(
        ErrorCode.ARG,
        `invalid freeze options: blocks: unknown ${this.backbone} block ${unknown.map((b) => `'${b}'`).join(', ')}`,
      );
    }
    return this.#native.freeze({ blocks, batchNormAffine: o.batchNormAffine, batchNormStats: o.batchNormStats });
  }

  /** Sync: trainable parameter names with weight decay (weights) and without (biases, BatchNorm). */
  parameterGroups(): ParameterGroups {
    return this.#native.parameterGroups();
  }

  /** Sync: parameter counts, in total and by part. */
  parameterCount(): ParameterCount {
    return this.#native.parameterCount();
  }

  /** Sync: multiply-accumulates per clip of every convolution and Linear (FLOPs are twice this). */
  macsPerClip(inputSize?: InputSize): MacCount {
    return this.#native.macsPerClip(this.#size(inputSize));
  }

  /** Sync: configuration, tap shapes at the configured input size, size in bytes. */
  describe(): SgaEncoderDescription {
    return this.#native.describe();
  }

  /** Async: a fresh optimiser and accumulation counter for trainStep() (the previous ones are dropped). */
  async configureTraining(options: EncoderTrainOptions = {}): Promise<void> {
    const o: NativeEncoderTrainOptions = parseOptions(EncoderTrainOptionsSchema, options, 'encoder training options');
    return this.#native.configureTraining(o);
  }

  /**
   * Async: one training call on clips [n, 3, T, H, W] with soft targets [n] in [0, 1]: a
   * train-mode forward with autograd (batch statistics, dropout; frozen parameters get no
   * gradient), the class-weighted BCE of both heads, backward, and every `accumulate` calls
   * gradient clipping and an Adam update at lr × lrFactor (the warm-up factor). Clips holding
   * NaN or an infinity are refused (ERR_MIST_ARG naming the clip). The loss and the gradient
   * norm are checked before anything changes: when either is not finite it throws
   * ERR_MIST_TORCH naming the call and the update, and the weights, the BatchNorm statistics,
   * the Adam state, the accumulated gradients, the counters and the dropout generator stay as
   * they were.
   */
  async trainStep(
    clips: Float32Array,
    targets: Float32Array,
    options: { lrFactor?: number; inputSize?: InputSize } = {},
  ): Promise<EncoderStepResult> {
    const size = this.#size(options.inputSize);
    const n = this.#count(clips, targets.length, size);
    const factor = options.lrFactor ?? 1;
    if (!(factor >= 0 && Number.isFinite(factor))) {
      throw new MistError(ErrorCode.ARG, `trainStep: lrFactor must be a finite number >= 0 (got ${factor})`);
    }
    for (let i = 0; i < n; i++) {
      const t = targets[i]!;
      if (!(t >= 0 && t <= 1)) throw new MistError(ErrorCode.ARG, `trainStep: target ${i} is ${t}, not in [0, 1]`);
    }
    checkEncoderMemory(this.#architecture, 'training', n, size, 'trainStep');
    return this.#native.trainStep(clips, n, size, targets, factor);
  }

  /**
   * Async: a training checkpoint, written atomically: save()'s file (PyTorch reads it) plus the
   * optimiser state, the counters, gradients accumulated but not yet applied, the dropout
   * generator's state and `meta` (any JSON-serialisable value of the caller's).
   */
  async saveTraining(path: string, meta: unknown = null): Promise<void> {
    return this.#native.saveTraining(path, JSON.stringify(meta));
  }

  /**
   * Async: restores weights, statistics and training state from saveTraining()'s file (after
   * configureTraining()) and resolves to its `meta`. ERR_MIST_WEIGHTS (nothing changed) for a
   * file that is not a training checkpoint of this encoder.
   */
  async restoreTraining(path: string): Promise<unknown> {
    if (!existsSync(path)) throw new MistError(ErrorCode.IO, `no such training checkpoint: ${path}`);
    await verifyCheckpointZip(path);
    return JSON.parse(await loadingCheckpoint(path, () => this.#native.restoreTraining(path))) as unknown;
  }

  /** Async (after any computation in flight): copies of every parameter and buffer by PyTorch name. */
  async stateDict(): Promise<Record<string, Float32Array>> {
    return this.#native.stateDict();
  }
}
