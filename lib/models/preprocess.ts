// Clip pre-processing for the stage-2 encoders (spec: Stage 2, Pre-processing): decoded RGB
// frames to the float clips I3D and C3D take. clipTransform() draws one clip's random
// choices (multi-scale crop, flip, grayscale) from a seeded Rng and returns them as an
// explicit spec; preprocessClips() applies specs natively, off the event loop, as a pure
// function. So a seed reproduces a batch exactly whatever the thread count.
import { z } from 'zod';

import { ErrorCode, MistError } from '../errors.js';
import { native, type NativeClipSpec } from '../native.js';
import { parseOptions } from '../options.js';
import type { Rng } from '../rng.js';
import type { InputSize } from '../types.js';
import { DEFAULT_INPUT_SIZE, InputSizeSchema } from './encoder.js';

const Side = z.int().positive().max(16384);
const Size = z.tuple([Side, Side]).readonly();

/**
 * One clip's transform, applied in this order: bilinear resize of every frame to `resize`
 * (align_corners false, no antialias: torchvision's resize of a tensor), the crop box, a
 * bilinear resize of the crop to `outSize`, horizontal flip, channel order, grayscale, then
 * `(x - mean[c]) / scale` with `mean` in the output channel order.
 */
export const ClipSpecSchema = z
  .strictObject({
    /** [height, width] every frame is first resized to. */
    resize: Size,
    /** Box in the resized frame (default: all of it). */
    crop: z.strictObject({ y: z.int().min(0), x: z.int().min(0), h: Side, w: Side }).optional(),
    /** [height, width] of the output (default: the crop's). */
    outSize: Size.optional(),
    flip: z.boolean().default(false),
    /** ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B on all three channels (torchvision's RandomGrayscale). */
    grayscale: z.boolean().default(false),
    /** Output channel order; the frames are RGB. */
    order: z.enum(['rgb', 'bgr']).default('rgb'),
    mean: z.tuple([z.number(), z.number(), z.number()]).readonly().default([0, 0, 0]),
    scale: z.number().positive().max(1e30).default(1),
    /**
     * Round each resized image and the luma half to even and clamp to [0, 255], as a uint8
     * pipeline stores them (torchvision resizing a uint8 tensor); off: float throughout.
     */
    quantize: z.boolean().default(true),
  })
  .refine((s) => !s.crop || (s.crop.y + s.crop.h <= s.resize[0] && s.crop.x + s.crop.w <= s.resize[1]), {
    path: ['crop'],
    message: 'must lie inside the resized frame',
  })
  .transform((s): NativeClipSpec => {
    const crop = s.crop ?? { y: 0, x: 0, h: s.resize[0], w: s.resize[1] };
    return { ...s, crop, outSize: s.outSize ?? [crop.h, crop.w] };
  });
/** A ClipSpec as callers pass it (fields with defaults may be left out). */
export type ClipSpecInput = z.input<typeof ClipSpecSchema>;
/** A resolved spec: every field present (what clipTransform returns). */
export type ClipSpec = NativeClipSpec;

const Dim = z.int().positive();
const ShapeSchema = z.union([z.tuple([Dim, Dim, Dim, z.literal(3)]), z.tuple([Dim, Dim, Dim, Dim, z.literal(3)])]);

/** Pre-processed clips: [3, T, h, w] for one clip, [N, 3, T, h, w] for a batch. */
export interface PreprocessedClips {
  data: Float32Array;
  shape: number[];
}

/**
 * Async: turns uint8 RGB frames, `shape` [T, H, W, 3] (one clip) or [N, T, H, W, 3] (a
 * batch), into float32 clips [3, T, h, w] or [N, 3, T, h, w], on the libuv pool. `spec` is one
 * spec for every clip or one per clip (all with the same output size). The frames are copied
 * when the call is made (the caller may reuse them at once). Throws ERR_MIST_DTYPE (frames not a Uint8Array),
 * ERR_MIST_SHAPE (length and shape differ, spec count not N), ERR_MIST_ARG (a bad shape or spec).
 */
export async function preprocessClips(
  frames: Uint8Array,
  shape: readonly number[],
  spec: ClipSpecInput | readonly ClipSpecInput[],
): Promise<PreprocessedClips> {
  if (!(frames instanceof Uint8Array)) throw new MistError(ErrorCode.DTYPE, 'frames must be a Uint8Array');
  const s = parseOptions(ShapeSchema, shape, 'frames shape ([T, H, W, 3] or [N, T, H, W, 3])');
  const batch = s.length === 5;
  const dims = (batch ? s : [1, ...s]) as [number, number, number, number, 3];
  const count = dims.reduce((a, b) => a * b, 1);
  if (frames.length !== count) {
    throw new MistError(ErrorCode.SHAPE, `frames has ${frames.length} values; shape [${s.join(', ')}] needs ${count}`);
  }
  const n = dims[0];
  const specs = Array.isArray(spec)
    ? (spec as readonly ClipSpecInput[]).map((x, i) => parseOptions(ClipSpecSchema, x, `clip spec ${i}`))
    : Array.from({ length: n }, () => parseOptions(ClipSpecSchema, spec, 'clip spec'));
  if (specs.length !== n) {
    throw new MistError(ErrorCode.SHAPE, `one spec per clip: ${specs.length} specs for ${n} clips`);
  }
  const [h, w] = specs[0]!.outSize;
  if (specs.some((x) => x.outSize[0] !== h || x.outSize[1] !== w)) {
    throw new MistError(ErrorCode.ARG, 'every clip spec of a batch must have the same outSize');
  }
  const data = await native().preprocessClips(frames, dims, specs);
  return { data, shape: batch ? [n, 3, dims[1], h, w] : [3, dims[1], h, w] };
}

/** Each backbone's transform at its paper input side (I3D 224, C3D 112); other sides scale it. */
const BACKBONE = {
  i3d: { side: 224, resize: [256, 340], order: 'rgb', mean: [128, 128, 128], scale: 128, grayscale: 0 },
  // C3D's Sports-1M mean, in its B, G, R order.
  c3d: { side: 112, resize: [128, 171], order: 'bgr', mean: [90.25, 97.66, 101.41], scale: 1, grayscale: 0.1 },
} as const;

/** Options of clipTransform(). */
export const ClipTransformOptionsSchema = z.strictObject({
  /** Training draws the random choices; test time is deterministic (I3D whole frame, C3D centre crop). */
  train: z.boolean(),
  /** [frames, height, width] of the encoder's clips (default: the paper's for the backbone). */
  inputSize: InputSizeSchema.optional(),
  /**
   * Test-time resize [h, w]: I3D's whole-frame input (UCF-Crime 256 x 340, ShanghaiTech
   * 240 x 320), C3D's frame before its centre crop. Default: the backbone's, scaled to inputSize.
   */
  testSize: Size.optional(),
  /** Multi-scale crop: sides of floor(short side x scale), each drawn with equal chance. */
  scales: z.array(z.number().gt(0).max(1)).min(1).max(16).default([1, 0.8]),
  /** Height and width scale indices may differ by this much (0: square crops; TSN's default is 1). */
  maxDistort: z.int().min(0).max(16).default(0),
  /** 13 fixed crop offsets instead of the 4 corners and the centre (TSN's more_fix_crop). */
  moreFixCrop: z.boolean().default(false),
  flipProbability: z.number().min(0).max(1).default(0.5),
  /** Default: C3D 0.1, I3D 0. */
  grayscaleProbability: z.number().min(0).max(1).optional(),
  quantize: z.boolean().default(true),
});
/** Options of clipTransform(), as callers pass them. */
export type ClipTransformOptions = z.input<typeof ClipTransformOptionsSchema>;

/** Python's round(): half to even (torchvision's centre crop rounds its offsets so). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

/** The resize of `backbone` for an output of [h, w]: the paper's sizes scaled by h / 224 (or 112). */
function scaledResize(backbone: 'i3d' | 'c3d', h: number, w: number): [number, number] {
  const b = BACKBONE[backbone];
  return [Math.round((b.resize[0] * h) / b.side), Math.round((b.resize[1] * w) / b.side)];
}

/**
 * The candidate crop boxes of a multi-scale crop of a `resize` frame to `outSize` (TSN's
 * GroupMultiScaleCrop with fix_crop): sides floor(min(H, W) x scale), snapped to the output
 * side when within 3 pixels, every (height, width) pair whose scale indices differ by at most
 * maxDistort, at the fixed offsets of step (side difference) // 4: the 4 corners and the
 * centre (with moreFixCrop, 8 more). Sync. Returns the pairs in order, each with its offsets.
 */
export function multiScaleCropBoxes(
  resize: readonly [number, number],
  outSize: readonly [number, number],
  options: { scales: readonly number[]; maxDistort: number; moreFixCrop: boolean },
): { h: number; w: number; offsets: { y: number; x: number }[] }[] {
  const [H, W] = resize;
  const sides = options.scales.map((s) => Math.floor(Math.min(H, W) * s));
  const hs = sides.map((x) => (Math.abs(x - outSize[0]) < 3 ? outSize[0] : x));
  const ws = sides.map((x) => (Math.abs(x - outSize[1]) < 3 ? outSize[1] : x));
  const pairs: { h: number; w: number; offsets: { y: number; x: number }[] }[] = [];
  hs.forEach((h, i) =>
    ws.forEach((w, j) => {
      if (Math.abs(i - j) > options.maxDistort) return;
      const ys = Math.floor((H - h) / 4);
      const xs = Math.floor((W - w) / 4);
      // TSN's order: upper left, upper right, lower left, lower right, centre.
      const steps: [number, number][] = [
        [0, 0],
        [0, 4],
        [4, 0],
        [4, 4],
        [2, 2],
      ];
      if (options.moreFixCrop) {
        steps.push([2, 0], [2, 4], [4, 2], [0, 2], [1, 1], [1, 3], [3, 1], [3, 3]);
      }
      pairs.push({ h, w, offsets: steps.map(([a, b]) => ({ y: a * ys, x: b * xs })) });
    }),
  );
  return pairs;
}

const RngSchema = z.custom<Rng>((r) => typeof (r as Rng | undefined)?.int === 'function', 'must be an Rng');

/**
 * Sync: one clip's transform for `backbone` (spec: Stage 2, Pre-processing). Training: resize
 * to 256 x 340 (I3D) or 128 x 171 (C3D), scaled by the input side over 224 (112) and rounded,
 * multi-scale crop (multiScaleCropBoxes) resized to the input size, flip, C3D's grayscale;
 * draws from `rng` in this order: crop pair, offset, flip, grayscale (when its probability is
 * positive). Test time: I3D the whole frame resized to testSize, C3D resized then centre
 * crop (offsets rounded half to even). I3D is RGB, (x - 128) / 128; C3D BGR minus its mean.
 * Throws ERR_MIST_ARG for bad options, or training without an rng.
 */
export function clipTransform(backbone: 'i3d' | 'c3d', options: ClipTransformOptions, rng?: Rng): ClipSpec {
  const bb = parseOptions(z.enum(['i3d', 'c3d']), backbone, 'backbone');
  const o = parseOptions(ClipTransformOptionsSchema, options, 'clip transform options');
  const b = BACKBONE[bb];
  const [, h, w]: InputSize = o.inputSize ?? DEFAULT_INPUT_SIZE[bb];
  const common = { order: b.order, mean: b.mean, scale: b.scale, quantize: o.quantize } as const;
  if (!o.train) {
    const resize = o.testSize ?? scaledResize(bb, h, w);
    if (bb === 'i3d') return parseOptions(ClipSpecSchema, { ...common, resize }, 'clip spec');
    if (resize[0] < h || resize[1] < w) {
      throw new MistError(ErrorCode.ARG, `testSize [${resize.join(', ')}] is smaller than the crop [${h}, ${w}]`);
    }
    const crop = { y: roundHalfEven((resize[0] - h) / 2), x: roundHalfEven((resize[1] - w) / 2), h, w };
    return parseOptions(ClipSpecSchema, { ...common, resize, crop }, 'clip spec');
  }
  const r = parseOptions(RngSchema, rng, 'rng (needed when train is true)');
  const resize = scaledResize(bb, h, w);
  const pairs = multiScaleCropBoxes(resize, [h, w], o);
  const pair = pairs[r.int(0, pairs.length)]!;
  const at = pair.offsets[r.int(0, pair.offsets.length)]!;
  const flip = r.float() < o.flipProbability;
  const p = o.grayscaleProbability ?? b.grayscale;
  const grayscale = p > 0 && r.float() < p;
  return parseOptions(
    ClipSpecSchema,
    {
      ...common,
      resize,
      crop: { ...at, h: pair.h, w: pair.w },
      outSize: [h, w],
      flip,
      grayscale,
    },
    'clip spec',
  );
}
