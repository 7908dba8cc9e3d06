// The one loop that runs an encoder over the whole clips of a frame source: batches of clips
// are read (one ffmpeg run per batch), pre-processed natively once per view (a view is one
// ClipSpec: the test-time transform, or one of the crops of a multi-crop layout), and scored,
// the next batch decoding while the encoder runs on the current one. Feature extraction,
// scoring of files and stage 2's evaluation all go through it.
import type { FrameSource } from '../data/frame-cache.js';
import { prefetch } from '../data/frame-cache.js';
import { ErrorCode, MistError } from '../errors.js';
import type { SgaEncoder } from '../models/encoder.js';
import { preprocessClips, type ClipSpec } from '../models/preprocess.js';

export interface EncodeClipsOptions {
  /** One spec per view; every clip goes through each (same outSize for all). */
  views: readonly ClipSpec[];
  /** Clips per encoder call (each call holds batchSize x views clips). */
  batchSize: number;
  /** Batches decoded ahead of the encoder. */
  prefetch: number;
  /** Keep the attention maps. */
  attention?: boolean;
  signal?: AbortSignal | undefined;
  /** Called after each batch with the clips done so far. */
  onBatch?: (clipsDone: number) => void;
}

/** Clip-major results: clip c, view v at [c * views + v]. */
export interface EncodedClips {
  clips: number;
  views: number;
  featureDim: number;
  /** [clips, views, featureDim]. */
  features: Float32Array;
  /** [clips, views]. */
  scores: Float32Array;
  /** [clips, views, ...attentionShape] when asked for. */
  attention?: Float32Array;
  /** One map's shape [T', H', W']. */
  attentionShape?: number[];
}

/**
 * Async: clips [0, clips) of `source` (clip c is frames 16c .. 16c + 15, T = the encoder's
 * clip length) through the encoder in eval mode, once per view. The caller sets eval mode.
 * Throws ERR_MIST_ARG (no view, clips past the end), the decoder's and the encoder's errors,
 * ERR_MIST_ABORTED.
 */
export async function encodeClips(
  source: FrameSource,
  clips: number,
  encoder: SgaEncoder,
  o: EncodeClipsOptions,
): Promise<EncodedClips> {
  const [T] = encoder.inputSize;
  const V = o.views.length;
  if (V < 1) throw new MistError(ErrorCode.ARG, 'encodeClips needs at least one view');
  if (clips * T > source.frames) {
    throw new MistError(
      ErrorCode.ARG,
      `${clips} clips of ${T} frames need ${clips * T} frames; the source has ${source.frames}`,
    );
  }
  const D = encoder.featureDim;
  const features = new Float32Array(clips * V * D);
  const scores = new Float32Array(clips * V);
  let attention: Float32Array | undefined;
  let attentionShape: number[] | undefined;
  const batches = Math.ceil(clips / o.batchSize);
  const produce = async (b: number, signal: AbortSignal) => {
    if (b >= batches) return undefined;
    const first = b * o.batchSize;
    const n = Math.min(o.batchSize, clips - first);
    const frames = await source.read(first * T, n * T, { signal });
    const [, H, W] = frames.shape;
    const x: Float32Array[] = [];
    for (const spec of o.views) x.push((await preprocessClips(frames.data, [n, T, H, W, 3], spec)).data);
    const [h, w] = o.views[0]!.outSize;
    return { first, n, x, size: [T, h, w] as [number, number, number] };
  };
  for await (const batch of prefetch(produce, o.prefetch, { signal: o.signal })) {
    const { first, n } = batch;
    // One call for all views: [view][clip] order in, scattered to clip-major out.
    const input = batch.x.length === 1 ? batch.x[0]! : concat(batch.x);
    const r = await encoder.forward(input, n * V, batch.size);
    for (let v = 0; v < V; v++) {
      for (let i = 0; i < n; i++) {
        const src = v * n + i;
        const dst = (first + i) * V + v;
        features.set(r.feature.subarray(src * D, (src + 1) * D), dst * D);
        scores[dst] = r.score[src]!;
      }
    }
    if (o.attention) {
      const shape = r.attentionShape.slice(1);
      const A = shape.reduce((a, b) => a * b, 1);
      if (!attention) {
        attention = new Float32Array(clips * V * A);
        attentionShape = shape;
      }
      for (let v = 0; v < V; v++) {
        for (let i = 0; i < n; i++) {
          const src = v * n + i;
          attention.set(r.attention.subarray(src * A, (src + 1) * A), ((first + i) * V + v) * A);
        }
      }
    }
    o.onBatch?.(first + n);
  }
  return {
    clips,
    views: V,
    featureDim: D,
    features,
    scores,
    ...(attention ? { attention, attentionShape: attentionShape! } : {}),
  };
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
