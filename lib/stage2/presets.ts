// Stage-2 hyper-parameters: the four dataset/backbone presets of the paper (docs/MIST.md,
// "Stage 2: SGA encoder", Loss and Training) and the options that select or override them.
import { z } from 'zod';

import { parseOptions } from '../options.js';

const posInt = (what: string) => z.int({ error: `must be ${what}` }).positive();
const nonNegInt = (what: string) => z.int({ error: `must be ${what}` }).nonnegative();
const posNum = (what: string) => z.number({ error: `must be ${what}` }).positive();
const nonNeg = (what: string) => z.number({ error: `must be ${what}` }).nonnegative();

/** The hyper-parameters of one stage-2 run, complete. */
export const EncoderHyperparametersSchema = z.strictObject({
  backbone: z.enum(['i3d', 'c3d'], { error: "must be 'i3d' or 'c3d'" }),
  epochs: posInt('a positive integer'),
  /** Videos of EACH class per step (10 + 10 for ShanghaiTech, 32 + 32 for UCF-Crime). */
  videosPerClass: posInt('a positive integer (videos of each class per step)'),
  /** Clips per video and step, one in each of this many equal segments. */
  clipsPerVideo: posInt('a positive integer (clips per video)'),
  /** Steps whose gradients make one update; the count runs across epochs. */
  accumulate: posInt('a positive integer (steps per update)'),
  /** Epochs with the whole backbone frozen (the SGA branch and head train). */
  freezeBackboneEpochs: nonNegInt('an integer ≥ 0 (epochs)'),
  /** Backbone BatchNorm weights and biases frozen for the whole run (running statistics still update). */
  freezeBatchNormAffine: z.boolean({ error: 'must be true or false' }),
  gradClip: nonNeg('a number ≥ 0 (0: no clipping)'),
  lr: posNum('a number > 0'),
  weightDecay: nonNeg('a number ≥ 0'),
  /** Warm-up: the learning rate is multiplied by (e + 0.5) / warmupEpochs for epochs e < warmupEpochs. */
  warmupEpochs: nonNegInt('an integer ≥ 0 (epochs)'),
  /** BCE class weights: w1 on the anomalous term, w0 on the normal term. */
  w1: posNum('a number > 0'),
  w0: posNum('a number > 0'),
  /** Dropout before the main head's Linear (for an encoder this run builds). */
  dropout: z.number({ error: 'must be a number in [0, 1)' }).min(0).lt(1),
});
/** The complete hyper-parameters of one stage-2 run. */
export type EncoderHyperparameters = z.infer<typeof EncoderHyperparametersSchema>;

const common = {
  epochs: 300,
  clipsPerVideo: 3,
  lr: 1e-4,
  weightDecay: 5e-4,
  warmupEpochs: 5,
  w1: 1,
  w0: 1,
  dropout: 0.8,
  freezeBatchNormAffine: false,
} as const;
const shanghaitech = { ...common, videosPerClass: 10, freezeBackboneEpochs: 30 } as const;
// The paper trains UCF-Crime with 16 + 16 videos per step; the released configuration 32 + 32.
const ucfCrime = { ...common, videosPerClass: 32, accumulate: 5, freezeBackboneEpochs: 60, gradClip: 20 } as const;

/** The paper's stage-2 presets, by name. */
export const ENCODER_PRESETS = {
  'shanghaitech-c3d': { ...shanghaitech, backbone: 'c3d', accumulate: 1, gradClip: 10 },
  'shanghaitech-i3d': {
    ...shanghaitech,
    backbone: 'i3d',
    accumulate: 3,
    gradClip: 20,
    w1: 0.8,
    w0: 0.65,
    freezeBatchNormAffine: true,
  },
  'ucf-crime-c3d': { ...ucfCrime, backbone: 'c3d' },
  'ucf-crime-i3d': { ...ucfCrime, backbone: 'i3d' },
} as const satisfies Record<string, EncoderHyperparameters>;

/** A stage-2 preset's name: `shanghaitech-c3d`, `shanghaitech-i3d`, `ucf-crime-c3d`, `ucf-crime-i3d`. */
export type EncoderPresetName = keyof typeof ENCODER_PRESETS;
/** The stage-2 preset names, in ENCODER_PRESETS' order. */
export const ENCODER_PRESET_NAMES = Object.keys(ENCODER_PRESETS) as [EncoderPresetName, ...EncoderPresetName[]];
const hyperKeys = Object.keys(EncoderHyperparametersSchema.shape) as (keyof EncoderHyperparameters)[];

/** A preset name plus overrides, or no preset and every hyper-parameter given. */
export const EncoderHyperparameterOptionsSchema = EncoderHyperparametersSchema.partial()
  .extend({
    preset: z.enum(ENCODER_PRESET_NAMES, { error: `must be one of ${ENCODER_PRESET_NAMES.join(', ')}` }).optional(),
  })
  .strict();
export type EncoderHyperparameterOptions = z.input<typeof EncoderHyperparameterOptionsSchema>;

/**
 * Merges overrides over their preset and validates the result. Sync. Throws ERR_MIST_ARG with
 * one line per bad or missing field.
 */
export function resolveEncoderHyperparameters(options: EncoderHyperparameterOptions): EncoderHyperparameters {
  const o = parseOptions(EncoderHyperparameterOptionsSchema, options, 'encoder training options');
  const base: Partial<EncoderHyperparameters> = o.preset ? ENCODER_PRESETS[o.preset] : {};
  const merged = Object.fromEntries(hyperKeys.map((k) => [k, o[k] ?? base[k]]));
  return parseOptions(EncoderHyperparametersSchema, merged, 'encoder training options');
}

/** The warm-up factor of epoch e (from 0): (e + 0.5) / warmupEpochs for e < warmupEpochs, else 1. */
export function warmupFactor(epoch: number, warmupEpochs: number): number {
  return epoch < warmupEpochs ? (epoch + 0.5) / warmupEpochs : 1;
}

/** What trains in epoch e: the backbone frozen for the first epochs, BatchNorm affine as the preset says. */
export function freezeRule(
  epoch: number,
  h: Pick<EncoderHyperparameters, 'freezeBackboneEpochs' | 'freezeBatchNormAffine'>,
): { blocks: 'all' | 'none'; batchNormAffine: boolean } {
  return { blocks: epoch < h.freezeBackboneEpochs ? 'all' : 'none', batchNormAffine: h.freezeBatchNormAffine };
}
