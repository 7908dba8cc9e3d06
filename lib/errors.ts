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
  /** An allocation that would exceed the memory available (native out-of-memory included). */
  MEMORY: 'ERR_MIST_MEMORY',
  /** Any other LibTorch failure. */
  TORCH: 'ERR_MIST_TORCH',
} as const;

/** One of the ErrorCode strings (`ERR_MIST_ARG`, ...). */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

const CONTROL_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

/**
 * A message on one line: control characters (which a damaged file quoted in a message can hold)
 * written as escapes, `\n` or `\x00`.
 */
function oneLine(message: string): string {
  return message.replace(CONTROL, (c) => CONTROL_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The one error class the package throws; `code` is stable, the message is one line. */
export class MistError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(oneLine(message), options);
    this.name = 'MistError';
    this.code = code;
  }
}

/** Throws ERR_MIST_ABORTED when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MistError(ErrorCode.ABORTED, 'operation aborted');
}

// errno codes a user meets, in plain words.
const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EEXIST: 'already exists',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'name too long',
};

/**
 * The one way a failed file operation becomes an error: ERR_MIST_IO with
 * `cannot <action> <path>: <why> (<errno>)`, the fs error kept as `cause`. Sync.
 */
export function ioError(e: unknown, action: string, path: string): MistError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const words = code ? ERRNO_WORDS[code] : undefined;
  const why = words ? `${words} (${code})` : (code ?? (e instanceof Error ? e.message : String(e)));
  return new MistError(ErrorCode.IO, `cannot ${action} ${path}: ${why}`, { cause: e });
}

/**
 * Adds context (which file, which video) in front of a MistError's message and keeps its
 * code; any other error passes through unchanged. Native failures are MistErrors too
 * (lib/native.ts wraps them), so they get the same context. Sync.
 */
export function withContext(e: unknown, context: string): unknown {
  if (e instanceof MistError) return new MistError(e.code, `${context}: ${e.message}`, { cause: e });
  return e;
}
