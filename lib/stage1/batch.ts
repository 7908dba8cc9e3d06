// Balanced MIL batches: B normal and B anomalous videos per step, each reduced to L·T clip
// features by sparse continuous sampling, stacked as one [2B, L·T, D] float32 block, the
// plain data the native generator's training step receives.
import { z } from 'zod';
import { ErrorCode, MistError } from '../errors.js';
import { createRng, type Rng } from '../rng.js';
import { parseOptions } from '../options.js';
import { sparseContinuousSample } from './sampling.js';
import {
  type CropMode,
  CropSchema,
  type VideoFeatures,
  checkCrop,
  copyClipFeature,
  featureDims,
} from '../data/types.js';

// zod 4 gives a schema's own error to every check chained on it.
const posInt = (what: string) => z.int({ error: `must be ${what}` }).positive();

/** Options of buildBatch: sampling (L sub-bags of T clips), crop handling, L2 normalisation. */
export const BuildBatchOptionsSchema = z.strictObject({
  L: posInt('a positive integer (sub-bags per video)'),
  T: posInt('a positive integer (clips per sub-bag)'),
  /** Divide each clip feature by its L2 norm (the authors' advice for C3D). */
  l2Normalize: z.boolean({ error: 'must be true or false' }).default(false),
  /** For [N, C, D] features: 'mean' averages the C crops, an integer k takes crop k. */
  crop: CropSchema,
});
export type BuildBatchOptions = z.input<typeof BuildBatchOptionsSchema>;

/** Options of a batch sampler: buildBatch's plus the number of videos of each class per step. */
export const BatchSamplerOptionsSchema = BuildBatchOptionsSchema.extend({
  batchSize: posInt('a positive integer (videos of each class per step)'),
  /**
   * Alternate between two preallocated feature buffers instead of allocating one per step.
   * Fresh memory is the main cost of a step (page faults: ~300 ms for the 73 MB of an I3D
   * batch on a small VM, ~6 ms when reused), but a batch is then overwritten by the second
   * next() after it: fine for a loop that trains on one batch while the next is built.
   */
  reuseBuffers: z.boolean({ error: 'must be true or false' }).default(false),
});
export type BatchSamplerOptions = z.input<typeof BatchSamplerOptionsSchema>;

/** One training step's input: rows are videos (normal first), columns sampled clips. */
export interface Batch {
  /** Row-major [normal + anomalous, clips, dim]. */
  features: Float32Array;
  normal: number;
  anomalous: number;
  /** L·T sampled clips per video. */
  clips: number;
  dim: number;
  /** Video names in row order: normal rows, then anomalous rows. */
  names: string[];
}

/**
 * Checks the two classes of a batch before any work: neither is empty, every feature array is
 * well formed, all share one feature length D, and the crop asked for exists. Sync. Returns
 * each video's dims (normal videos first) and D. Throws ERR_MIST_ARG or ERR_MIST_SHAPE.
 */
function checkClasses(
  normalVideos: readonly VideoFeatures[],
  anomalousVideos: readonly VideoFeatures[],
  crop: CropMode,
): { dims: ReturnType<typeof featureDims>[]; dim: number } {
  if (normalVideos.length === 0 || anomalousVideos.length === 0) {
    throw new MistError(ErrorCode.ARG, 'a batch needs at least one normal and one anomalous video');
  }
  const videos = [...normalVideos, ...anomalousVideos];
  const dims = videos.map((v) => featureDims(v.features, v.name));
  const dim = dims[0]!.dim;
  dims.forEach((d, i) => {
    if (d.dim !== dim) {
      throw new MistError(
        ErrorCode.SHAPE,
        `${videos[i]!.name}: feature length ${d.dim} differs from ${videos[0]!.name}'s ${dim}`,
      );
    }
    checkCrop(crop, d.crops, videos[i]!.name);
  });
  return { dims, dim };
}

/**
 * Stacks exactly the given videos into one batch: sparse continuous sampling of each (one
 * rng draw per video, normal videos first), crop handling, optional L2 normalisation. Sync.
 * Returns the Batch; memory is 4·(rows·L·T·D) bytes (73 MB for 40+40 I3D videos, 294 MB for
 * C3D), written into `out` when given (every value is overwritten). Throws ERR_MIST_ARG for
 * bad options or an empty class, ERR_MIST_SHAPE when videos disagree on D, a feature array
 * is malformed or `out` has the wrong length.
 */
export function buildBatch(
  normalVideos: readonly VideoFeatures[],
  anomalousVideos: readonly VideoFeatures[],
  options: BuildBatchOptions,
  rng: Rng,
  out?: Float32Array,
): Batch {
  const o = parseOptions(BuildBatchOptionsSchema, options, 'batch options');
  const videos = [...normalVideos, ...anomalousVideos];
  const { dims, dim } = checkClasses(normalVideos, anomalousVideos, o.crop);
  const clips = o.L * o.T;
  const size = videos.length * clips * dim;
  if (out !== undefined && out.length !== size) {
    throw new MistError(ErrorCode.SHAPE, `output buffer has ${out.length} values, the batch needs ${size}`);
  }
  const features = out ?? new Float32Array(size);
  videos.forEach((v, row) => {
    const d = dims[row]!;
    const idx = sparseContinuousSample(d.clips, { L: o.L, T: o.T }, rng);
    for (let c = 0; c < clips; c++) {
      copyClipFeature(v.features, d, idx[c]!, o.crop as CropMode, o.l2Normalize, features, (row * clips + c) * dim);
    }
  });
  return {
    features,
    normal: normalVideos.length,
    anomalous: anomalousVideos.length,
    clips,
    dim,
    names: videos.map((v) => v.name),
  };
}

/** Where a VideoCycler stands: its current order (indices into its items), position and epochs. */
export interface VideoCyclerState {
  order: number[];
  pos: number;
  epochs: number;
}

/**
 * An epoch loader over one class: shuffles the items, hands them out in order, reshuffles
 * when all were used, so every item is seen once per epoch however the batch size divides
 * the class. A batch that spans an epoch boundary may repeat an item (when the class is small).
 */
export class VideoCycler<T> {
  private order: T[] = [];
  private pos = 0;
  /** Completed passes over the items. */
  epochs = 0;

  /** With `from` (a state() of a cycler over the same items) it continues there, drawing nothing. */
  constructor(
    private readonly items: readonly T[],
    private readonly rng: Rng,
    from?: VideoCyclerState,
  ) {
    // Never empty: createBatchSampler checks both classes first.
    if (from) this.restore(from);
    else this.reshuffle();
  }

  private reshuffle(): void {
    this.order = this.rng.shuffle([...this.items]);
    this.pos = 0;
  }

  private restore(from: VideoCyclerState): void {
    const n = this.items.length;
    const seen = new Uint8Array(n);
    const ok =
      Array.isArray(from.order) &&
      from.order.length === n &&
      from.order.every((i) => Number.isInteger(i) && i >= 0 && i < n && seen[i] === 0 && (seen[i] = 1)) &&
      Number.isInteger(from.pos) &&
      from.pos >= 0 &&
      from.pos <= n &&
      Number.isInteger(from.epochs) &&
      from.epochs >= 0;
    if (!ok) throw new MistError(ErrorCode.ARG, `not the state of a cycler over these ${n} videos`);
    this.order = from.order.map((i) => this.items[i]!);
    this.pos = from.pos;
    this.epochs = from.epochs;
  }

  /** The next `count` items. Sync. */
  take(count: number): T[] {
    const out: T[] = [];
    while (out.length < count) {
      if (this.pos === this.order.length) {
        this.epochs++;
        this.reshuffle();
      }
      out.push(this.order[this.pos++]!);
    }
    return out;
  }

  /** Where it stands, as plain data (JSON). Sync. */
  state(): VideoCyclerState {
    const index = new Map<T, number>();
    this.items.forEach((v, i) => index.set(v, i));
    return { order: this.order.map((v) => index.get(v)!), pos: this.pos, epochs: this.epochs };
  }
}

/** Where a BatchSampler stands: its rng's state, the steps drawn and each class's cycler. */
export interface BatchSamplerState {
  rng: number;
  step: number;
  normal: VideoCyclerState;
  anomalous: VideoCyclerState;
}

/** Draws balanced batches step after step; see createBatchSampler. */
export interface BatchSampler {
  /** The next step's batch. Sync. */
  next(): Batch;
  /** Completed epochs of each class so far. */
  readonly epochs: { normal: number; anomalous: number };
  /**
   * Where it stands, as plain data (JSON): resumeBatchSampler() continues from it with the same
   * batches. The rng's state is part of it, so the sampler must be the rng's only user. Sync.
   */
  state(): BatchSamplerState;
}

/**
 * A stateful source of balanced batches: each class is shuffled and cycled like an epoch
 * loader (every video is used once per epoch), batchSize videos of each class per step, then
 * buildBatch (into two alternating buffers with reuseBuffers). Sync. Throws ERR_MIST_ARG for bad options or an empty class, and checks every
 * video's feature shape and D up front (ERR_MIST_SHAPE) rather than failing mid-training.
 */
export function createBatchSampler(
  normalVideos: readonly VideoFeatures[],
  anomalousVideos: readonly VideoFeatures[],
  options: BatchSamplerOptions,
  rng: Rng,
): BatchSampler {
  return makeSampler(normalVideos, anomalousVideos, options, rng);
}

/**
 * The sampler that state() described, over the same videos (in the same order) and options:
 * it draws the batches the original would have drawn next. Sync. Throws what
 * createBatchSampler throws, and ERR_MIST_ARG for a state that does not fit these videos.
 */
export function resumeBatchSampler(
  normalVideos: readonly VideoFeatures[],
  anomalousVideos: readonly VideoFeatures[],
  options: BatchSamplerOptions,
  state: BatchSamplerState,
): BatchSampler {
  if (!Number.isInteger(state?.rng) || state.rng < 0 || state.rng >= 2 ** 32 || !Number.isInteger(state.step)) {
    throw new MistError(ErrorCode.ARG, 'not the state of a batch sampler');
  }
  return makeSampler(normalVideos, anomalousVideos, options, createRng(state.rng), state);
}

function makeSampler(
  normalVideos: readonly VideoFeatures[],
  anomalousVideos: readonly VideoFeatures[],
  options: BatchSamplerOptions,
  rng: Rng,
  from?: BatchSamplerState,
): BatchSampler {
  const o = parseOptions(BatchSamplerOptionsSchema, options, 'batch options');
  const { dim } = checkClasses(normalVideos, anomalousVideos, o.crop);
  const normal = new VideoCycler(normalVideos, rng, from?.normal);
  const anomalous = new VideoCycler(anomalousVideos, rng, from?.anomalous);
  const { batchSize, reuseBuffers, ...batchOptions } = o;
  const buffers: Float32Array[] = [];
  let step = from?.step ?? 0;
  return {
    next: () => {
      let out: Float32Array | undefined;
      if (reuseBuffers) {
        const i = step % 2;
        out = buffers[i] ??= new Float32Array(2 * batchSize * o.L * o.T * dim);
      }
      step++;
      return buildBatch(normal.take(batchSize), anomalous.take(batchSize), batchOptions, rng, out);
    },
    get epochs() {
      return { normal: normal.epochs, anomalous: anomalous.epochs };
    },
    state: () => ({ rng: rng.state(), step, normal: normal.state(), anomalous: anomalous.state() }),
  };
}
