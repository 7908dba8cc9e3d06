// The encoder a command runs, from its flags: --weights (a mist-vad checkpoint, which names its
// own backbone, or public weights loaded by name into the encoder built), --backbone, --width,
// --input-size, --device. Shared by every command that runs an encoder.
import type { Device } from '../device.js';
import { ErrorCode, MistError } from '../errors.js';
import { SgaEncoder } from '../models/encoder.js';
import type { InputSize } from '../types.js';

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
