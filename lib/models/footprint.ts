// Memory is estimated before it is taken, for the encoder too: what a forward or a training step
// of n clips will hold is known from the layer table before anything is allocated, so a width,
// an input size or a batch size the machine cannot hold gets ERR_MIST_MEMORY with the estimate,
// not the kernel's OOM killer. The counts come from the native layer walk (encoderFootprint);
// the constants below turn them into bytes and were fitted to peak RSS measured on the CPU
// build (`npm run bench:memory` measures them again and prints estimate beside measurement).
import { ErrorCode, MistError } from '../errors.js';
import { formatBytes, memoryLimit, memoryLimitSource } from '../memory.js';
import { native } from '../native.js';
import type { InputSize } from '../types.js';

/** What the estimate needs of an encoder: its architecture. */
export interface EncoderArchitectureLike {
  backbone: 'i3d' | 'c3d';
  width: number;
  expandK: number;
}

export type EncoderWork = 'inference' | 'training';

/** An estimate of the memory a process running one encoder call holds at its peak, in bytes. */
export interface EncoderMemoryEstimate {
  work: EncoderWork;
  clips: number;
  inputSize: InputSize;
  /** The whole: runtime + parameters + clips x perClip. */
  bytes: number;
  /** LibTorch, oneDNN and OpenBLAS once loaded and running (threads, their buffers). */
  runtime: number;
  /** Weights with their copies: the folded evaluation copy, and for training gradients and Adam's two moments. */
  parameters: number;
  /** One clip's input (float32) and the activations it makes (and keeps for backward when training). */
  perClip: number;
}

/** Peak RSS of the runtime itself: measured 175-180 MiB with a tiny encoder on 2 cores. */
const RUNTIME_BYTES = 184 * 2 ** 20;

/**
 * Parameter copies held at the peak (4 bytes each). Inference: the weights, the folded copy,
 * oneDNN's prepacked weights and transient reorders; training adds gradients and Adam's two
 * moments. Fitted to measured peaks (I3D 16x224², C3D 16x112², widths 0.25 and 1).
 */
const PARAMETER_COPIES: Record<EncoderWork, Record<'i3d' | 'c3d', number>> = {
  inference: { i3d: 4.5, c3d: 3.3 },
  training: { i3d: 7, c3d: 6 },
};

/**
 * Activations per clip as a multiple of the layer walk's `peak` (inference) or of `saved +
 * peak` (training). I3D's evaluation copy runs in oneDNN's blocked layout, with a plain copy
 * of each Inception block's branches before they are concatenated: about twice the walk's peak.
 */
const ACTIVATION_FACTOR: Record<EncoderWork, Record<'i3d' | 'c3d', number>> = {
  inference: { i3d: 2.1, c3d: 1 },
  training: { i3d: 1, c3d: 1 },
};

/**
 * Sync: the memory an encoder of this architecture holds at its peak while running `work` on
 * `clips` clips of `inputSize` on the CPU. ERR_MIST_SHAPE for an input too small for the backbone.
 */
export function estimateEncoderMemory(
  architecture: EncoderArchitectureLike,
  work: EncoderWork,
  clips: number,
  inputSize: InputSize,
): EncoderMemoryEstimate {
  if (!(Number.isInteger(clips) && clips >= 0)) {
    throw new MistError(ErrorCode.ARG, `estimateEncoderMemory: clips must be an integer >= 0 (got ${clips})`);
  }
  const { backbone, width, expandK } = architecture;
  const f = native().encoderFootprint({ backbone, width, expandK }, [...inputSize]);
  const activations = work === 'training' ? f.saved + f.peak : f.peak;
  const perClip = 4 * (f.input + ACTIVATION_FACTOR[work][backbone] * activations);
  const parameters = 4 * f.parameters * PARAMETER_COPIES[work][backbone];
  return {
    work,
    clips,
    inputSize,
    bytes: RUNTIME_BYTES + parameters + clips * perClip,
    runtime: RUNTIME_BYTES,
    parameters,
    perClip,
  };
}

/** The estimate in words: `about 3.1 GiB (parameters 0.5 GiB, 8 clips x 330.0 MiB, runtime 184.0 MiB)`. */
export function describeEstimate(e: EncoderMemoryEstimate): string {
  return (
    `about ${formatBytes(e.bytes)} (parameters ${formatBytes(e.parameters)}, ` +
    (e.clips > 0 ? `${e.clips} clip${e.clips === 1 ? '' : 's'} x ${formatBytes(e.perClip)}, ` : '') +
    `runtime ${formatBytes(e.runtime)})`
  );
}

/**
 * Sync: throws ERR_MIST_MEMORY, with the estimate and the limit, when `work` on `clips` clips
 * would need more than the memory limit (memoryLimit(): MIST_MEMORY_LIMIT_MB, else the
 * machine's RAM). `what` names the call (`finetuneEncoder: a training step`). Devices other
 * than the CPU hold activations in their own memory and are not checked here.
 */
export function checkEncoderMemory(
  architecture: EncoderArchitectureLike & { device?: string },
  work: EncoderWork,
  clips: number,
  inputSize: InputSize,
  what: string,
): EncoderMemoryEstimate {
  const e = estimateEncoderMemory(architecture, work, clips, inputSize);
  if (architecture.device !== undefined && architecture.device !== 'cpu') return e;
  const limit = memoryLimit();
  if (e.bytes > limit) {
    const name = `MIST-${architecture.backbone.toUpperCase()} (width ${architecture.width})`;
    throw new MistError(
      ErrorCode.MEMORY,
      `${what}${clips > 0 ? ` of ${clips} clip${clips === 1 ? '' : 's'}` : ''} at ${inputSize.join('x')} on ${name} would need ` +
        `${describeEstimate(e)}, more than the ${formatBytes(limit)} limit (${memoryLimitSource()}); ` +
        `use fewer clips per call, a smaller input size or width`,
    );
  }
  return e;
}
