// Memory is estimated before it is taken: a size read from a file (a shape, a frame count, a
// frame size) is checked here before the array is allocated, so that a damaged or hostile file
// gets ERR_MIST_MEMORY with the estimate instead of a RangeError or the kernel's OOM killer.
import { constants as bufferConstants } from 'node:buffer';
import { totalmem } from 'node:os';

import { memoryLimitMb } from './config.js';
import { ErrorCode, MistError } from './errors.js';

/** The most elements one typed array holds in V8 (2^32 on 64-bit Node 20). */
export const MAX_TYPED_ARRAY_LENGTH = bufferConstants.MAX_LENGTH;

/** The most bytes fs.readFile reads into one buffer (2 GiB - 1, Node's kIoMaxLength). */
export const MAX_READ_FILE_BYTES = 2 ** 31 - 1;

/** Bytes as people read them: `512 B`, `3.2 MiB`, `12.0 GiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${bytes} B`;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === units.length - 1 && v >= 1024) return `${bytes.toExponential(2)} B`;
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/**
 * The memory one allocation (or one encoder call, lib/models/footprint.ts) may take:
 * MIST_MEMORY_LIMIT_MB when set (a cap below the machine's, or a container's limit), else the
 * machine's RAM (os.totalmem()).
 */
export function memoryLimit(): number {
  const mb = memoryLimitMb();
  return mb === undefined ? totalmem() : mb * 2 ** 20;
}

/** Where memoryLimit() comes from, for messages: `MIST_MEMORY_LIMIT_MB=512` or this machine's memory. */
export function memoryLimitSource(): string {
  const mb = memoryLimitMb();
  return mb === undefined ? "this machine's memory; MIST_MEMORY_LIMIT_MB sets a cap" : `MIST_MEMORY_LIMIT_MB=${mb}`;
}

/**
 * Throws ERR_MIST_MEMORY when an array of `elements` elements of `bytesPerElement` bytes cannot
 * be allocated: more elements than a typed array holds, more bytes than the machine has, or a
 * count that is not a finite non-negative number. `what` says what was about to be allocated and
 * for which file (`frames of x.mp4`). Sync. Returns the byte count.
 */
export function checkAllocation(elements: number, bytesPerElement: number, what: string): number {
  const bytes = elements * bytesPerElement;
  if (!Number.isFinite(bytes) || !(elements >= 0)) {
    throw new MistError(ErrorCode.MEMORY, `${what}: cannot allocate ${String(elements)} elements`);
  }
  if (elements > MAX_TYPED_ARRAY_LENGTH) {
    throw new MistError(
      ErrorCode.MEMORY,
      `${what} would need ${elements} elements (${formatBytes(bytes)}), more than one array holds (${MAX_TYPED_ARRAY_LENGTH})`,
    );
  }
  const limit = memoryLimit();
  if (bytes > limit) {
    throw new MistError(
      ErrorCode.MEMORY,
      `${what} would need ${formatBytes(bytes)}, more than the ${formatBytes(limit)} limit (${memoryLimitSource()})`,
    );
  }
  return bytes;
}
