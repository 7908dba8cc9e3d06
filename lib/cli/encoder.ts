// The encoder a command runs, from its flags: --weights (a mist-vad checkpoint, which names its
// own backbone, or public weights loaded by name into the encoder built), --backbone, --width,
// --input-size, --device. Shared by every command that runs an encoder.
import { z } from 'zod';

import { DeviceSchema, type Device } from '../device.js';
import { ErrorCode, MistError } from '../errors.js';
import { SgaEncoder, SgaEncoderOptionsSchema } from '../models/encoder.js';
import type { InputSize } from '../types.js';
import { listFlag, numberFlag, type FlagSpec, type FlagSpecs } from './args.js';

const side = (max: number) => z.int().positive().max(max);
const E = SgaEncoderOptionsSchema.shape;

/** The flags that say which encoder a command runs (parsed by the API's own schemas). */
export const ENCODER_FLAGS = {
  weights: {
    schema: z.string().min(1, { error: 'must be a path' }).optional(),
    arg: 'FILE',
    help: 'encoder weights: a mist-vad checkpoint, a released MIST one, the Kinetics I3D port, C3D Sports-1M',
  },
  backbone: {
    schema: E.backbone.optional(),
    arg: 'i3d|c3d',
    help: 'the encoder to build (default i3d; a mist-vad checkpoint names its own)',
  },
  width: {
    schema: numberFlag(E.width.unwrap()).optional(),
    arg: 'N',
    help: 'channel multiplier of the encoder built (default 1)',
  },
  'input-size': {
    // A mutable tuple of the API's bounds (listFlag gives an array).
    schema: listFlag(side(4096), 'three comma-separated integers T,H,W')
      .pipe(z.tuple([side(4096), side(4096), side(4096)]))
      .optional(),
    arg: 'T,H,W',
    help: "the encoder's clip size (default I3D 16,224,224, C3D 16,112,112)",
  },
} satisfies FlagSpecs;

/** --test-size H,W: the test-time resize, with the command's own help line. */
export function testSizeFlag(help: string) {
  return {
    schema: listFlag(side(8192), 'two comma-separated integers H,W')
      .pipe(z.tuple([side(8192), side(8192)]))
      .optional(),
    arg: 'H,W',
    help,
  } satisfies FlagSpec;
}

export const DEVICE_FLAG = {
  schema: DeviceSchema.optional(),
  arg: 'cpu|cuda|cuda:N',
  help: 'where to run (default: CUDA when available)',
} satisfies FlagSpec;

/** The encoder flags, as parseFlags returns them. */
export interface EncoderFlags {
  weights?: string | undefined;
  backbone?: 'i3d' | 'c3d' | undefined;
  width?: number | undefined;
  'input-size'?: InputSize | undefined;
  device?: Device | undefined;
}

/**
 * Async: the encoder the flags describe, with `what` (features, scores) named in the warning
 * printed when no --weights are given. Throws ERR_MIST_ARG (--weights of another backbone),
 * the loaders' errors.
 */
export async function encoderFromFlags(f: EncoderFlags, what: string): Promise<SgaEncoder> {
  const options = {
    ...(f.device ? { device: f.device } : {}),
    ...(f['input-size'] ? { inputSize: f['input-size'] } : {}),
  };
  const fresh = () => SgaEncoder.createAsync({ backbone: f.backbone ?? 'i3d', width: f.width ?? 1, ...options });
  if (!f.weights) {
    console.warn(`WARNING: no --weights: the ${what} come from randomly initialised weights`);
    return fresh();
  }
  try {
    const e = await SgaEncoder.load(f.weights, options);
    if (f.backbone && f.backbone !== e.backbone) {
      e.dispose();
      throw new MistError(
        ErrorCode.ARG,
        `--weights ${f.weights} is a ${e.backbone} encoder, not --backbone ${f.backbone}`,
      );
    }
    return e;
  } catch (e) {
    // Not one of our checkpoints: public weights, loaded by name into the encoder built.
    if (!(e instanceof MistError) || e.code !== ErrorCode.WEIGHTS) throw e;
  }
  const e = await fresh();
  const r = await e.loadStateDict(f.weights);
  if (r.missing.length > 0) {
    console.warn(
      `WARNING: ${r.missing.length} tensors are not in ${f.weights} and keep their initial values (${r.missing.slice(0, 3).join(', ')}, ...)`,
    );
  }
  return e;
}
