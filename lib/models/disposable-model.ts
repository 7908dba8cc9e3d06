// What every model class shares: the native handle, ERR_MIST_DISPOSED after dispose(), and
// `using` support. The handle's type stays inside each model (no native type in the .d.ts).
import { ErrorCode, MistError } from '../errors.js';

export abstract class DisposableModel {
  #handle: { dispose(): void } | undefined;
  readonly #kind: string;

  protected constructor(handle: { dispose(): void }, kind: string) {
    this.#handle = handle;
    this.#kind = kind;
  }

  /** The live native handle, as the subclass types it. Sync; throws ERR_MIST_DISPOSED after dispose(). */
  protected handle<N>(): N {
    if (!this.#handle) throw new MistError(ErrorCode.DISPOSED, `this ${this.#kind} was disposed`);
    return this.#handle as N;
  }

  /** Sync: frees the native model (work in flight finishes first); later calls throw ERR_MIST_DISPOSED. */
  dispose(): void {
    this.#handle?.dispose();
    this.#handle = undefined;
  }

  /** Sync: dispose(), so that `using model = ...` frees it at the end of the scope. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
