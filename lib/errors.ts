/** Stable error codes. Native errors carry the same codes (native/errors.h). */
export const ErrorCode = {
  /** A bad argument or option value. */
  ARG: 'ERR_MIST_ARG',
  /** A tensor or array of the wrong shape. */
  SHAPE: 'ERR_MIST_SHAPE',
  /** A tensor or array of the wrong element type. */
  DTYPE: 'ERR_MIST_DTYPE',
  /** A native object used after dispose(). */
  DISPOSED: 'ERR_MIST_DISPOSED',
  /** A file that is missing or cannot be read or written. */
  IO: 'ERR_MIST_IO',
  /** A file whose content is malformed. */
  FORMAT: 'ERR_MIST_FORMAT',
  /** A checkpoint or weights file that does not fit the model. */
  WEIGHTS: 'ERR_MIST_WEIGHTS',
  /** A device that does not exist or is not available. */
  DEVICE: 'ERR_MIST_DEVICE',
  /** A video that cannot be decoded. */
  VIDEO: 'ERR_MIST_VIDEO',
  /** A metric that is undefined for its input (for example one class only). */
  METRIC: 'ERR_MIST_METRIC',
  /** The operation was cancelled through its AbortSignal. */
  ABORTED: 'ERR_MIST_ABORTED',
  /** The native addon is missing or could not be loaded. */
  NATIVE: 'ERR_MIST_NATIVE',
  /** Any other LibTorch failure. */
  TORCH: 'ERR_MIST_TORCH',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The one error class the package throws; `code` is stable, the message is one line. */
export class MistError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MistError';
    this.code = code;
  }
}

/** Throws ERR_MIST_ABORTED when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MistError(ErrorCode.ABORTED, 'operation aborted');
}
