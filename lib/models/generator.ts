// The stage-1 MIL pseudo-label generator (native MLP) and the MIL ranking loss.
import { existsSync } from 'node:fs';

import { z } from 'zod';

import { DeviceSchema, resolveDevice } from '../device.js';
import { ErrorCode, MistError } from '../errors.js';
import { native, type NativeGenerator, type NativeGeneratorDescription, type NativeLossTerms } from '../native.js';
import { parseOptions } from '../options.js';

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
  clip: z.number().positive().default(10),
  device: DeviceSchema.optional(),
});
export type GeneratorOptions = z.input<typeof GeneratorOptionsSchema>;

export const MilLossOptionsSchema = z.strictObject({
  /** Rows of normal videos (first) and anomalous videos (after them). */
  normal: PositiveInt,
  anomalous: PositiveInt,
  /** Scores per row: L * T sampled clips. */
  clips: PositiveInt,
  /** 'topk': bag score = mean of the k largest (released code); 'subbag': max sub-bag mean (paper). */
  variant: z.enum(['topk', 'subbag']).default('topk'),
  k: PositiveInt.default(1),
  /** L, the number of sub-bags of T consecutive clips in a row ('subbag' variant). */
  subBags: PositiveInt.default(1),
  lambdaSparsity: z.number().min(0).default(0),
  lambdaSmoothness: z.number().min(0).default(0),
});
export type MilLossOptions = z.input<typeof MilLossOptionsSchema>;
export type MilLossTerms = NativeLossTerms;

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
 * in LibTorch. Every method that computes is asynchronous and runs off the event loop.
 */
export class MilGenerator {
  #native: NativeGenerator | undefined;
  readonly featureDim: number;
  readonly device: string;

  private constructor(n: NativeGenerator) {
    this.#native = n;
    const d = n.describe();
    this.featureDim = d.dim;
    this.device = d.device;
  }

  /** Sync: a freshly initialised generator (Kaiming-normal weights, zero biases). */
  static create(options: GeneratorOptions): MilGenerator {
    const o = parseOptions(GeneratorOptionsSchema, options, 'generator options');
    return new MilGenerator(
      new (native().Generator)({
        dim: o.featureDim,
        hidden1: o.hidden[0],
        hidden2: o.hidden[1],
        dropout: o.dropout,
        seed: o.seed,
        lr: o.lr,
        weightDecay: o.weightDecay,
        clip: o.clip,
        device: resolveDevice(o.device),
      }),
    );
  }

  /** Sync: a generator saved with save(); ERR_MIST_IO if missing, ERR_MIST_WEIGHTS if not one. */
  static load(path: string, options: { device?: string; seed?: number } = {}): MilGenerator {
    if (!existsSync(path)) throw new MistError(ErrorCode.IO, `no such checkpoint: ${path}`);
    return new MilGenerator(
      new (native().Generator)({ checkpoint: path, device: resolveDevice(options.device), seed: options.seed ?? 0 }),
    );
  }

  #get(): NativeGenerator {
    if (!this.#native) throw new MistError(ErrorCode.DISPOSED, 'this MilGenerator was disposed');
    return this.#native;
  }

  /**
   * Async: one anomaly score in (0, 1) per row of x ([rows, D], row-major), eval mode unless
   * mode is 'train'. x is read in place: do not modify it before the promise settles.
   * `dim`, when given, must be the model's feature size (ERR_MIST_SHAPE otherwise).
   */
  forward(x: Float32Array, rows?: number, dim?: number, options: { mode?: 'train' | 'eval' } = {}): Promise<Float32Array> {
    if (dim !== undefined && dim !== this.featureDim) {
      return Promise.reject(new MistError(ErrorCode.SHAPE, `features have D = ${dim}; this generator takes D = ${this.featureDim}`));
    }
    const n = rows ?? x.length / this.featureDim;
    if (!Number.isInteger(n)) {
      return Promise.reject(
        new MistError(ErrorCode.SHAPE, `x has ${x.length} values, not a multiple of the feature size ${this.featureDim}`),
      );
    }
    try {
      return this.#get().forward(x, n, options);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Async: one Adagrad step on the MIL ranking loss; returns the loss terms and gradient norm. */
  trainStep(batch: GeneratorBatch, loss: Omit<MilLossOptions, 'normal' | 'anomalous' | 'clips'>) {
    const o = parseOptions(
      MilLossOptionsSchema,
      { ...loss, normal: batch.normal, anomalous: batch.anomalous, clips: batch.clips },
      'MIL loss options',
    );
    return this.#get().trainStep(batch.features, o);
  }

  /** Async: writes the weights as a PyTorch-readable dict of tensors (atomically). */
  save(path: string): Promise<void> {
    return this.#get().save(path);
  }

  /** Sync: sizes, device, steps taken, parameter count. */
  describe(): NativeGeneratorDescription {
    return this.#get().describe();
  }

  /** Sync: copies of the weights by PyTorch name (fc1.weight, ...). */
  parameters(): Record<string, Float32Array> {
    return this.#get().parameters();
  }

  /** Frees the native model; later calls throw ERR_MIST_DISPOSED. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = undefined;
  }
}
