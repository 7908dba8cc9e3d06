// Clip features and scores from an SGA encoder: every non-overlapping 16-frame clip of each
// video through the test-time transform (docs/MIST.md, Stage 2, Pre-processing; Evaluation),
// so that stage 1 can run on the features of any encoder, fine-tuned or not, and stage 2 can
// evaluate itself. The clips go through the encoder by encodeClips (lib/score/encode.ts).
//
// Multi-crop layouts follow the recipe the community's I3D features were made with (RTFM and
// the features stage-1 papers train on): every frame resized so that its short side is 256
// (aspect ratio kept, the long side int(256 x long / short), as torchvision's Resize(256)
// computes it), then 224 x 224 crops. Five crops are torchvision's five_crop order: top left,
// top right, bottom left, bottom right, centre (offset round((side - 224) / 2), half to even).
// Ten crops add the same five taken from the horizontally flipped frame (TenCrop's order);
// each is the mirrored box of the original frame, flipped: the flipped image's top left is
// the original top right, and its centre starts at W - 224 - round((W - 224) / 2), one pixel
// right of the original centre when W - 224 is odd (UCF-Crime's 341-wide frames). C3D uses
// its own 128 x 171 resize (aspect not kept) and 112 x 112 crops. An encoder built at another
// input side scales these sizes by side / 224 (C3D: / 112), rounded, as clipTransform does.
import { z } from 'zod';

import { videoName } from '../data/lists.js';
import { openFrameSource, type FrameCache, type FrameSource } from '../data/frame-cache.js';
import { ErrorCode, MistError, throwIfAborted } from '../errors.js';
import { DEFAULT_INPUT_SIZE, InputSizeSchema, type SgaEncoder } from '../models/encoder.js';
import { ClipSpecSchema, clipTransform, type ClipSpec } from '../models/preprocess.js';
import { parseOptions } from '../options.js';
import { encodeClips, type EncodedClips } from '../score/encode.js';

/** A video to extract: a path (named as manifests name it, videoName()) or a name and path. */
export type ExtractVideo = string | { name: string; path: string };

/** Views per clip: the test-time transform (1), five crops, or ten (five and their mirrors). */
export const CropCountSchema = z.union([z.literal(1), z.literal(5), z.literal(10)], {
  error: 'must be 1, 5 or 10',
});
/** Views per clip: 1, 5 or 10. */
export type CropCount = z.output<typeof CropCountSchema>;

const TestSizeSchema = z.tuple([z.int().positive().max(8192), z.int().positive().max(8192)]).readonly();

/** Options of cropViews(). */
export const CropViewsOptionsSchema = z.strictObject({
  crops: CropCountSchema.default(1),
  /** [frames, height, width] of the encoder's clips (default: the paper's for the backbone). */
  inputSize: InputSizeSchema.optional(),
  /**
   * One view: clipTransform's test-time resize. Five or ten: the [h, w] every frame is resized
   * to before cropping, instead of the short side 256 (C3D 128 x 171), scaled.
   */
  testSize: TestSizeSchema.optional(),
  /** Round each resized frame as a uint8 pipeline stores it (torchvision on uint8 tensors). */
  quantize: z.boolean().default(true),
});
/** Options of cropViews(), as callers pass them. */
export type CropViewsOptions = z.input<typeof CropViewsOptionsSchema>;

/** Python's round(): half to even (torchvision rounds its centre-crop offsets so). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  if (v - f !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Sync: the views of one clip for a `frame` of width x height (the decoded size): one
 * (clipTransform's test-time transform), five or ten crop specs in torchvision's TenCrop order
 * (see the module comment for the geometry). Throws ERR_MIST_ARG (bad options, a crop larger
 * than the resized frame).
 */
export function cropViews(
  backbone: 'i3d' | 'c3d',
  frame: { width: number; height: number },
  options: CropViewsOptions = {},
): ClipSpec[] {
  const o = parseOptions(CropViewsOptionsSchema, options, 'crop options');
  const base = clipTransform(backbone, {
    train: false,
    quantize: o.quantize,
    ...(o.inputSize ? { inputSize: o.inputSize } : {}),
    ...(o.testSize && o.crops === 1 ? { testSize: o.testSize } : {}),
  });
  if (o.crops === 1) return [base];
  const [, h, w] = o.inputSize ?? DEFAULT_INPUT_SIZE[backbone];
  let resize: readonly [number, number];
  if (o.testSize) resize = o.testSize;
  else if (backbone === 'c3d')
    resize = base.resize; // 128 x 171, scaled (clipTransform's)
  else {
    const short = Math.round((256 * h) / 224);
    const { width: W, height: H } = frame;
    // torchvision's _compute_resized_output_size: int(short * long / short_side).
    resize = H <= W ? [short, Math.floor((short * W) / H)] : [Math.floor((short * H) / W), short];
  }
  const [RH, RW] = resize;
  if (RH < h || RW < w) {
    throw new MistError(ErrorCode.ARG, `crops of ${h} x ${w} do not fit the resized frame ${RH} x ${RW}`);
  }
  const cy = roundHalfEven((RH - h) / 2);
  const cx = roundHalfEven((RW - w) / 2);
  // five_crop's boxes, [y, x]: top left, top right, bottom left, bottom right, centre.
  const five: [number, number][] = [
    [0, 0],
    [0, RW - w],
    [RH - h, 0],
    [RH - h, RW - w],
    [cy, cx],
  ];
  const spec = (y: number, x: number, flip: boolean): ClipSpec =>
    parseOptions(
      ClipSpecSchema,
      {
        resize,
        crop: { y, x, h, w },
        flip,
        order: base.order,
        mean: base.mean,
        scale: base.scale,
        quantize: o.quantize,
      },
      'crop spec',
    );
  const views = five.map(([y, x]) => spec(y, x, false));
  // five_crop of the flipped frame: box x' there is box RW - w - x' here, mirrored.
  if (o.crops === 10) views.push(...five.map(([y, x]) => spec(y, RW - w - x, true)));
  return views;
}

/** Options of extractFeatures(). */
export const ExtractFeaturesOptionsSchema = z.strictObject({
  /** Views per clip: 1 (features [clips, D]), 5 or 10 crops (features [clips, crops, D]). */
  crops: CropCountSchema.default(1),
  /** Clips per encoder call (each call holds batchSize x crops clips). Default: 8, 2 for 5 crops, 1 for 10. */
  batchSize: z.int().positive().max(4096).optional(),
  /**
   * Test-time resize [h, w] (I3D: the whole frame, UCF-Crime 256 x 340, ShanghaiTech
   * 240 x 320; C3D: before its centre crop). Default: the backbone's, scaled to the encoder's
   * input size. With 5 or 10 crops: the resize before cropping (see cropViews).
   */
  testSize: TestSizeSchema.optional(),
  /** Batches decoded ahead of the encoder. */
  prefetch: z.int().positive().max(64).default(1),
  cache: z.custom<FrameCache>((v) => typeof v === 'object' && v !== null && 'get' in v).optional(),
  signal: z.instanceof(AbortSignal).optional(),
  /** Called after each video. */
  onProgress: z.custom<(p: ExtractProgress) => void>((v) => typeof v === 'function').optional(),
});
/** Options of extractFeatures(), as callers pass them. */
export type ExtractFeaturesOptions = z.input<typeof ExtractFeaturesOptionsSchema>;

/** What extractFeatures() reports after each video. */
export interface ExtractProgress {
  video: string;
  done: number;
  videos: number;
  clips: number;
  elapsedMs: number;
}

/**
 * One video's clip features and anomaly scores, row-major: features [clips, featureDim] for
 * one view, [clips, crops, featureDim] for five or ten; scores [clips] or [clips, crops].
 */
export interface ExtractedVideo {
  name: string;
  path: string;
  frames: number;
  clips: number;
  /** Views per clip (1, 5 or 10). */
  crops: number;
  featureDim: number;
  features: Float32Array;
  scores: Float32Array;
}

/** Sync: the clips-per-call default, about eight clip forwards per call whatever the crop count. */
export function defaultBatchSize(crops: number): number {
  return Math.max(1, Math.round(8 / crops));
}

/** Names every video (a path by videoName()) and rejects two of one name. Sync. Throws ERR_MIST_ARG. */
export function namedVideos(videos: readonly ExtractVideo[]): { name: string; path: string }[] {
  const list = videos.map((v) =>
    typeof v === 'string' ? { name: videoName(v.replace(/[\\/]+$/, '')), path: v } : { name: v.name, path: v.path },
  );
  const seen = new Set<string>();
  for (const v of list) {
    if (seen.has(v.name)) throw new MistError(ErrorCode.ARG, `two videos are named ${v.name}`);
    seen.add(v.name);
  }
  return list;
}

/** What encodeVideo needs beyond the source: the resolved extraction options. */
export interface EncodeVideoOptions {
  crops: CropCount;
  batchSize: number;
  prefetch: number;
  testSize?: readonly [number, number] | undefined;
  signal?: AbortSignal | undefined;
  onBatch?: (clipsDone: number) => void;
}

/** Whole clips of a source, floor(frames / T). Sync. Throws ERR_MIST_ARG when there is none. */
export function wholeClips(source: FrameSource, T: number, path: string): number {
  const clips = Math.floor(source.frames / T);
  if (clips < 1) throw new MistError(ErrorCode.ARG, `${path}: ${source.frames} frames, fewer than one ${T}-frame clip`);
  return clips;
}

/**
 * Async: every whole clip of an open source through the encoder (eval mode set by the
 * caller), once per view of its crop layout. Returns encodeClips' clip-major result. Throws
 * as encodeClips and cropViews do.
 */
export async function encodeVideo(
  source: FrameSource,
  clips: number,
  encoder: SgaEncoder,
  o: EncodeVideoOptions,
): Promise<EncodedClips> {
  const views = cropViews(encoder.backbone, source, {
    crops: o.crops,
    inputSize: encoder.inputSize,
    ...(o.testSize ? { testSize: o.testSize } : {}),
  });
  return encodeClips(source, clips, encoder, {
    views,
    batchSize: o.batchSize,
    prefetch: o.prefetch,
    signal: o.signal,
    ...(o.onBatch ? { onBatch: o.onBatch } : {}),
  });
}

/**
 * Scores every whole 16-frame clip of each video (frames past 16·floor(N/16) are not scored,
 * as the evaluation protocol says) through the encoder in eval mode and the test-time
 * transform, or five or ten crops of it (`crops`). Async. Returns one entry per video, in
 * order. Throws ERR_MIST_ARG (bad options, a video shorter than one clip, two videos of one
 * name), the decoder's errors (ERR_MIST_IO, ERR_MIST_VIDEO), ERR_MIST_ABORTED.
 */
export async function extractFeatures(
  videos: readonly ExtractVideo[],
  encoder: SgaEncoder,
  options: ExtractFeaturesOptions = {},
): Promise<ExtractedVideo[]> {
  const o = parseOptions(ExtractFeaturesOptionsSchema, options, 'feature extraction options');
  const list = namedVideos(videos);
  const [T] = encoder.inputSize;
  const batchSize = o.batchSize ?? defaultBatchSize(o.crops);
  encoder.checkMemory('inference', batchSize * o.crops, 'extractFeatures: an encoder call');
  encoder.setTraining(false);
  const out: ExtractedVideo[] = [];
  const t0 = performance.now();
  for (const v of list) {
    throwIfAborted(o.signal);
    const source = await openFrameSource(v.path, { order: 'rgb', signal: o.signal, cache: o.cache });
    const clips = wholeClips(source, T, v.path);
    const r = await encodeVideo(source, clips, encoder, {
      crops: o.crops,
      batchSize,
      prefetch: o.prefetch,
      testSize: o.testSize,
      signal: o.signal,
    });
    out.push({
      name: v.name,
      path: v.path,
      frames: source.frames,
      clips,
      crops: o.crops,
      featureDim: r.featureDim,
      features: r.features,
      scores: r.scores,
    });
    o.onProgress?.({ video: v.name, done: out.length, videos: list.length, clips, elapsedMs: performance.now() - t0 });
  }
  return out;
}
