// The stage-1 MIL pseudo-label generator (native MLP) and the MIL ranking loss.
import { existsSync } from 'node:fs';

import { z } from 'zod';

import { DeviceSchema, resolveDevice } from '../device.js';
import { ErrorCode, MistError } from '../errors.js';
import { native, type NativeGenerator } from '../native.js';
import { parseOptions } from '../options.js';
import { DisposableModel } from './disposable-model.js';
import { loadingCheckpoint, verifyCheckpointZip } from './zip-check.js';
import type { GeneratorDescription, MilLossTerms, TrainStepResult } from '../types.js';

const PositiveInt = z.number().int().positive();

export const GeneratorOptionsSchema = z.strictObject({
  /** Feature size D: 1024 for I3D RGB, 4096 for C3D fc6, or any other. */
  featureDim: PositiveInt,
  /** The two hidden layers (paper: 512 and 32). */
  hidden: z.tuple([PositiveInt, PositiveInt]).default([512, 32]),
  dropout: z.number().min(0).lt(1).default(0.6),
  /** Seeds the Kaiming initialisation and every dropout mask of this model. */
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  /** Adagrad learning rate and weight decay, gradient-norm clip (spec: 0.01, 0.001, 10). */
  lr: z.number().positive().default(0.01),
  weightDecay: z.number().min(0).default(0.001),
  gradClip: z.number().positive().default(10),
  device: DeviceSchema.optional(),
});
export type GeneratorOptions = z.input<typeof GeneratorOptionsSchema>;

/** load(): the sizes come from the checkpoint; the rest as for create(). */
export const GeneratorLoadOptionsSchema = GeneratorOptionsSchema.omit({ featureDim: true, hidden: true });
export type GeneratorLoadOptions = z.input<typeof GeneratorLoadOptionsSchema>;

export const MilLossOptionsSchema = z
  .strictObject({
    /** Rows of normal videos (first) and anomalous videos (after them). */
    normal: PositiveInt,
    anomalous: PositiveInt,
    /** Scores per row: L * T sampled clips. */
    clips: PositiveInt,
    /** 'topk': bag score = mean of the k largest (released code); 'subbag': max sub-bag mean (paper). */
    lossVariant: z.enum(['topk', 'subbag']).default('topk'),
    k: PositiveInt.default(1),
    /** The number of sub-bags of T consecutive clips in a row ('subbag' variant). */
    L: PositiveInt.default(1),
    lambdaSparsity: z.number().min(0).default(0),
    lambdaSmoothness: z.number().min(0).default(0),
  })
  .refine((o) => o.k <= o.clips, { path: ['k'], message: 'must not exceed clips' })
  .refine((o) => o.lossVariant !== 'subbag' || o.clips % o.L === 0, {
    path: ['L'],
    message: "must divide clips (the 'subbag' variant)",
  });
export type MilLossOptions = z.input<typeof MilLossOptionsSchema>;

const ForwardOptionsSchema = z.strictObject({
  /** 'train' draws dropout masks from the model's seed; 'eval' does not. */
  mode: z.enum(['train', 'eval']).default('eval'),
});

/** Async: the MIL ranking loss of scores [normal + anomalous, clips] and its gradient. */
export async function milRankingLoss(
  scores: Float32Array,
  options: MilLossOptions,
): Promise<MilLossTerms & { grad: Float32Array }> {
  return native().milRankingLoss(scores, parseOptions(MilLossOptionsSchema, options, 'MIL loss options'));
}

/** One training batch: features [(normal + anomalous) * clips, D], normal rows first. */
export interface GeneratorBatch {
  features: Float32Array;
  normal: number;
  anomalous: number;
  clips: number;
}

/**
 * Linear(D,512) -> ReLU -> Dropout -> Linear(512,32) -> Dropout -> Linear(32,1) -> Sigmoid,
 * in LibTorch. Every method that computes or copies weights is asynchronous and runs off the
 * event loop; the synchronous ones (describe, the fields) never wait for it.
 */
export class MilGenerator extends DisposableModel {
  readonly featureDim: number;
  readonly device: string;

  private constructor(n: NativeGenerator) {
    super(n, 'MilGenerator');
    const d = n.describe();
    this.featureDim = d.featureDim;
    this.device = d.device;
  }

  get #native(): NativeGenerator {
    return this.handle<NativeGenerator>();
  }

  /** Sync: a freshly initialised generator (Kaiming-normal weights, zero biases); small, so built here. */
  static create(options: GeneratorOptions): MilGenerator {
    const o = parseOptions(GeneratorOptionsSchema, options, 'generator options');
    return new MilGenerator(native().Generator.create({ ...o, device: resolveDevice(o.device) }));
  }

  /**
   * Async: a generator saved with save() (or a PyTorch state dict with fc1, fc2, fc3), read
   * off the event loop; its sizes are the file's. ERR_MIST_IO if missing, ERR_MIST_WEIGHTS if
   * not a generator.
   */
  static async load(path: string, options: GeneratorLoadOptions = {}): Promise<MilGenerator> {
    const o = parseOptions(GeneratorLoadOptionsSchema, options, 'generator load options');
    if (!existsSync(path)) throw new MistError(ErrorCode.IO, `no such checkpoint: ${path}`);
    await verifyCheckpointZip(path);
    return new MilGenerator(
      await loadingCheckpoint(path, () =>
        native().Generator.createAsync({ ...o, checkpoint: path, device: resolveDevice(o.device) }),
      ),
    );
  }

  /**
   * Async: one anomaly score in (0, 1) per row of x ([rows, D], row-major), eval mode unless
   * mode is 'train'. x is copied when the call is made (the caller may reuse it at once); a row
   * holding NaN or an infinity is refused with ERR_MIST_ARG naming the row.
   * `dim`, when given, must be the model's feature size (ERR_MIST_SHAPE otherwise).
   */
  async forward(
    x: Float32Array,
    rows?: number,
    dim?: number,
    options: z.input<typeof ForwardOptionsSchema> = {},
  ): Promise<Float32Array> {
    if (dim !== undefined && dim !== this.featureDim) {
      throw new MistError(ErrorCode.SHAPE, `features have D = ${dim}; this generator takes D = ${this.featureDim}`);
    }
    const n = rows ?? x.length / this.featureDim;
    if (!Number.isInteger(n)) {
      throw new MistError(
        ErrorCode.SHAPE,
        `x has ${x.length} values, not a multiple of the feature size ${this.featureDim}`,
      );
    }
    return this.#native.forward(x, n, parseOptions(ForwardOptionsSchema, options, 'forward options'));
  }

  /**
   * Async: one Adagrad step on the MIL ranking loss; returns the loss terms and gradient norm.
   * The loss and the gradient norm are checked before the update: when either is not finite it
   * throws ERR_MIST_TORCH and the weights, the optimiser state, the step count and the dropout
   * stream stay as they were.
   */
  async trainStep(
    batch: GeneratorBatch,
    loss: Omit<MilLossOptions, 'normal' | 'anomalous' | 'clips'>,
  ): Promise<TrainStepResult> {
    const o = parseOptions(
      MilLossOptionsSchema,
      { ...loss, normal: batch.normal, anomalous: batch.anomalous, clips: batch.clips },
      'MIL loss options',
    );
    return this.#native.trainStep(batch.features, o);
  }

  /** Async: writes the weights as a PyTorch-readable dict of tensors (atomically). */
  async save(path: string): Promise<void> {
    return this.#native.save(path);
  }

  /** Async: keeps a copy of the weights and the step count in the model (the best so far, say). */
  async keepBest(): Promise<void> {
    return this.#native.keepBest();
  }

  /**
   * Async: the weights kept by keepBest() become the model's, with its step count and a fresh
   * optimiser state and dropout stream (as load() of saveBest()'s file gives). ERR_MIST_ARG
   * when none were kept.
   */
  async useBest(): Promise<void> {
    return this.#native.useBest();
  }

  /** Async: writes the weights kept by keepBest() as save() does (atomically). ERR_MIST_ARG when none were kept. */
  async saveBest(path: string): Promise<void> {
    return this.#native.saveBest(path);
  }

  /**
   * Async: a training checkpoint, written atomically: save()'s file (load() and PyTorch read it)
   * plus a `trainer` dict: the Adagrad state by parameter name (sum of squared gradients, step
   * count), the dropout stream's key and position, the weights kept by keepBest() and their
   * step count, and `meta` (any string of the caller's).
   */
  async saveTraining(path: string, meta: string): Promise<void> {
    return this.#native.saveTraining(path, meta);
  }

  /**
   * Async: restores weights, optimiser state, step count, dropout stream and kept best weights
   * from saveTraining()'s file and resolves to its `meta`. ERR_MIST_IO for a missing file,
   * ERR_MIST_WEIGHTS (nothing changed) for a file that is not a training checkpoint of a
   * generator of these sizes and this seed.
   */
  async restoreTraining(path: string): Promise<string> {
    if (!existsSync(path)) throw new MistError(ErrorCode.IO, `no such training checkpoint: ${path}`);
    await verifyCheckpointZip(path);
    return loadingCheckpoint(path, () => this.#native.restoreTraining(path));
  }

  /**
   * Async: the `meta` of saveTraining()'s file, read without restoring anything (to check it
   * first). ERR_MIST_IO for a missing file, ERR_MIST_WEIGHTS for one that is not a training checkpoint.
   */
  async trainingMeta(path: string): Promise<string> {
    if (!existsSync(path)) throw new MistError(ErrorCode.IO, `no such training checkpoint: ${path}`);
    await verifyCheckpointZip(path);
    return loadingCheckpoint(path, () => this.#native.trainingMeta(path));
  }

  /** Sync, never waits for a computation: sizes, device, steps taken, parameter count. */
  describe(): GeneratorDescription {
    return this.#native.describe();
  }

  /** Async (after any computation in flight): copies of the weights by PyTorch name (fc1.weight, ...). */
  async parameters(): Promise<Record<string, Float32Array>> {
    return this.#native.parameters();
  }
}
