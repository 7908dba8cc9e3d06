// A growing file as a Readable: the bytes written so far, then, at the end of the file, more as
// they are appended, like `tail -f`. scoreStream pipes it into ffmpeg's stdin rather than
// using ffmpeg's own `-follow 1` file option: ffmpeg 5.1 must then also be told the file is
// not seekable (its duration probe otherwise waits for an end that never comes), and it cannot
// be stopped cleanly there (the first SIGINT is not seen inside the waiting read, the second
// interrupts the output as well), so the frames still in the decoder were lost. Ending this
// stream instead closes ffmpeg's input: it decodes every frame and exits normally.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

import { ErrorCode, ioError, MistError } from '../errors.js';

export interface FollowFileOptions {
  /** Wait between looks at a file that has not grown (ms). */
  pollMs: number;
  /** End when the file has not grown for this long (ms); undefined: never (until destroyed). */
  idleMs?: number | undefined;
}

const CHUNK = 1 << 16;

class FollowReadable extends Readable {
  readonly #path: string;
  readonly #o: FollowFileOptions;
  #fh: FileHandle | undefined;
  #pos = 0;
  #lastGrowth = performance.now();
  #reading = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;

  constructor(path: string, o: FollowFileOptions) {
    super({ highWaterMark: CHUNK });
    this.#path = path;
    this.#o = o;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.#path, 'r').then(
      (fh) => {
        this.#fh = fh;
        callback();
      },
      (e: unknown) => callback(ioError(e, 'follow', this.#path)),
    );
  }

  override _read(): void {
    if (this.#reading) return;
    this.#reading = true;
    void this.#pump().finally(() => {
      this.#reading = false;
    });
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        if (this.destroyed || !this.#fh) return;
        const buf = Buffer.allocUnsafe(CHUNK);
        const { bytesRead } = await this.#fh.read(buf, 0, CHUNK, this.#pos);
        if (this.destroyed) return;
        if (bytesRead > 0) {
          this.#pos += bytesRead;
          this.#lastGrowth = performance.now();
          // One chunk per _read call: the next comes when the consumer wants more.
          this.push(buf.subarray(0, bytesRead));
          return;
        }
        const size = (await stat(this.#path)).size;
        if (size < this.#pos) {
          throw new MistError(
            ErrorCode.IO,
            `cannot follow ${this.#path}: the file shrank to ${size} bytes after ${this.#pos} were read`,
          );
        }
        if (this.#o.idleMs !== undefined && performance.now() - this.#lastGrowth >= this.#o.idleMs) {
          this.push(null);
          return;
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#timer = setTimeout(resolve, this.#o.pollMs);
        });
      }
    } catch (e) {
      this.destroy(e instanceof MistError ? e : ioError(e, 'follow', this.#path));
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    this.#wake?.();
    const fh = this.#fh;
    this.#fh = undefined;
    if (!fh) {
      callback(error);
      return;
    }
    fh.close().then(
      () => callback(error),
      () => callback(error),
    );
  }
}

/**
 * Sync: a Readable of the file at `path` that waits at its end for it to grow (looking every
 * pollMs), and ends once it has not grown for idleMs (never when idleMs is undefined: destroy
 * it to stop). Errors with ERR_MIST_IO when the file cannot be opened or read, or shrinks.
 */
export function followFile(path: string, options: FollowFileOptions): Readable {
  return new FollowReadable(path, options);
}
