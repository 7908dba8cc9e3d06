// Stage-1 hyper-parameters: the four dataset/feature presets of the paper and the training
// options that select or override them. The values come from the spec (docs/MIST.md, "Stage 1").
import { z } from 'zod';
import { DeviceSchema } from '../device.js';
import { parseOptions } from '../options.js';
import { CropSchema } from '../data/types.js';

// zod 4 gives a schema's own error to every check chained on it.
const posInt = (what: string) => z.int({ error: `must be ${what}` }).positive();
const posNum = (what: string) => z.number({ error: `must be ${what}` }).positive();
const nonNeg = (what: string) => z.number({ error: `must be ${what}` }).nonnegative();

/** The hyper-parameters of one stage-1 run, complete. */
export const GeneratorHyperparametersSchema = z.strictObject({
  /** Sub-bags per video (the paper's L). */
  L: posInt('a positive integer (sub-bags per video)'),
  /** Consecutive clips per sub-bag (the paper's T). */
  T: posInt('a positive integer (clips per sub-bag)'),
  /** Scores averaged into the bag score by the top-k loss. */
  k: posInt('a positive integer (top-k clips of a bag)'),
  lambdaSparsity: nonNeg('a number ≥ 0'),
  lambdaSmoothness: nonNeg('a number ≥ 0'),
  /** Videos of EACH class per step (40 normal + 40 anomalous). */
  batchSize: posInt('a positive integer (videos of each class per step)'),
  lr: posNum('a number > 0'),
  weightDecay: nonNeg('a number ≥ 0'),
  gradClip: posNum('a number > 0 (gradient-norm clip)'),
  steps: posInt('a positive integer'),
  evalEvery: posInt('a positive integer (steps between evaluations)'),
  featureDim: posInt('a positive integer (feature length D)'),
  l2Normalize: z.boolean({ error: 'must be true or false' }),
  dropout: z.number({ error: 'must be a number in [0, 1)' }).min(0).lt(1),
});
/** The complete hyper-parameters of one stage-1 run. */
export type GeneratorHyperparameters = z.infer<typeof GeneratorHyperparametersSchema>;

const common = {
  lambdaSparsity: 0.01,
  lambdaSmoothness: 0,
  batchSize: 40,
  lr: 0.01,
  weightDecay: 0.001,
  gradClip: 10,
  evalEvery: 10,
  dropout: 0.6,
} as const;

// UCF-Crime has no released stage-1 recipe. 15,000 steps of 80 videos show the generator 1.2 M
// videos, the same as Sultani et al.'s 20,000 iterations of 60, and about 740 passes over the
// 810 anomalous training videos; ShanghaiTech's 3,000 steps are its authors' value.
const UCF_STEPS = 15000;

/** The paper's stage-1 presets, by name. */
export const PRESETS = {
  'shanghaitech-i3d': { ...common, L: 32, T: 7, k: 7, steps: 3000, featureDim: 1024, l2Normalize: false },
  'shanghaitech-c3d': { ...common, L: 32, T: 7, k: 7, steps: 3000, featureDim: 4096, l2Normalize: true },
  'ucf-crime-i3d': { ...common, L: 32, T: 4, k: 4, steps: UCF_STEPS, featureDim: 1024, l2Normalize: false },
  'ucf-crime-c3d': { ...common, L: 32, T: 3, k: 3, steps: UCF_STEPS, featureDim: 4096, l2Normalize: true },
} as const satisfies Record<string, GeneratorHyperparameters>;

/** A stage-1 preset's name: `shanghaitech-i3d`, `shanghaitech-c3d`, `ucf-crime-i3d`, `ucf-crime-c3d`. */
export type PresetName = keyof typeof PRESETS;
/** The stage-1 preset names, in PRESETS' order. */
export const PRESET_NAMES = Object.keys(PRESETS) as [PresetName, ...PresetName[]];

const hyperKeys = Object.keys(GeneratorHyperparametersSchema.shape) as (keyof GeneratorHyperparameters)[];

/**
 * Options of one generator training run: a preset name plus any hyper-parameter given at top
 * level as an override, or no preset and every hyper-parameter given.
 */
export const GeneratorTrainOptionsSchema = GeneratorHyperparametersSchema.partial()
  .extend({
    preset: z.enum(PRESET_NAMES, { error: `must be one of ${PRESET_NAMES.join(', ')}` }).optional(),
    /** 'topk': bag = mean of the k largest clip scores; 'subbag': the paper's max sub-bag mean. */
    lossVariant: z.enum(['topk', 'subbag'], { error: "must be 'topk' or 'subbag'" }).default('topk'),
    seed: z
      .int({ error: 'must be an integer in [0, 2^32)' })
      .min(0)
      .max(2 ** 32 - 1)
      .default(0),
    device: DeviceSchema.optional(),
    /** 'mean' averages the crops of [N, C, D] features; an integer takes that crop. */
    crop: CropSchema,
    /** Where to write the trained weights; none keeps them in memory only. */
    checkpoint: z.string({ error: 'must be a non-empty path' }).min(1).optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.preset !== undefined) return;
    for (const key of hyperKeys) {
      if (o[key] === undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'is required when no preset is given' });
      }
    }
  });

/** What callers pass: every field optional that has a default or comes from the preset. */
export type GeneratorTrainOptions = z.input<typeof GeneratorTrainOptionsSchema>;
/** The options after validation and defaults, before the preset is merged in. */
export type ParsedGeneratorTrainOptions = z.output<typeof GeneratorTrainOptionsSchema>;
/** Complete options: every hyper-parameter resolved from the preset and the overrides. */
export type ResolvedGeneratorTrainOptions = GeneratorHyperparameters &
  Omit<ParsedGeneratorTrainOptions, keyof GeneratorHyperparameters>;

/**
 * Validates training options and merges them over their preset. Sync. Returns complete
 * options. Throws ERR_MIST_ARG with one line per bad field (unknown keys included), and
 * when k exceeds the L·T clips of a bag.
 */
export function resolveGeneratorTrainOptions(options: GeneratorTrainOptions): ResolvedGeneratorTrainOptions {
  const o = parseOptions(GeneratorTrainOptionsSchema, options, 'generator training options');
  const base: Partial<GeneratorHyperparameters> = o.preset ? PRESETS[o.preset] : {};
  const merged: Record<string, unknown> = { ...o };
  for (const key of hyperKeys) merged[key] = o[key] ?? base[key];
  const hyper = parseOptions(
    GeneratorHyperparametersSchema.refine((h) => h.k <= h.L * h.T, {
      path: ['k'],
      message: 'must not exceed L·T (the clips of one bag)',
    }),
    Object.fromEntries(hyperKeys.map((key) => [key, merged[key]])),
    'generator training options',
  );
  return { ...(merged as ParsedGeneratorTrainOptions), ...hyper };
}
