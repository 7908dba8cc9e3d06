// File system access for every reader and writer: one place where an fs failure becomes
// ERR_MIST_IO (through ioError), so each message says what was being done, to which path,
// and why, in the same words.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';

import { ErrorCode, MistError, ioError } from '../errors.js';
import { MAX_READ_FILE_BYTES, checkAllocation, formatBytes } from '../memory.js';

/**
 * Refuses, before reading, a file too large to read whole: ERR_MIST_MEMORY with its size. A
 * path that cannot be stat'ed passes (the read reports it as ERR_MIST_IO). Sync.
 */
function checkReadable(path: string, what: string): void {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) return;
    size = st.size;
  } catch {
    return;
  }
  if (size > MAX_READ_FILE_BYTES) {
    throw new MistError(
      ErrorCode.MEMORY,
      `cannot read ${what} ${path}: it holds ${formatBytes(size)}, more than the ${formatBytes(MAX_READ_FILE_BYTES)} one read can take`,
    );
  }
  checkAllocation(size, 1, `reading ${what} ${path}`);
}

/**
 * Reads a file whole. Sync. Throws ERR_MIST_IO (`cannot read <what> <path>: ...`), or
 * ERR_MIST_MEMORY for a file too large to hold (its size in the message).
 */
export function readFileOrThrow(path: string, what = 'file'): Buffer {
  checkReadable(path, what);
  try {
    return readFileSync(path);
  } catch (e) {
    throw ioError(e, `read ${what}`, path);
  }
}

/** Reads a file whole. Async. Throws ERR_MIST_IO or ERR_MIST_MEMORY (as readFileOrThrow). */
export async function readFileAsync(path: string, what = 'file'): Promise<Buffer> {
  checkReadable(path, what);
  try {
    return await readFile(path);
  } catch (e) {
    throw ioError(e, `read ${what}`, path);
  }
}

/** The names in a folder. Sync. Throws ERR_MIST_IO (`cannot list <dir>: ...`). */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    throw ioError(e, 'list', dir);
  }
}

/** The size of a regular file. Sync. Throws ERR_MIST_IO when it is missing or not a file. */
export function fileSize(path: string, action: string): number {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw ioError(e, action, path);
  }
  if (!st.isFile()) throw new MistError(ErrorCode.IO, `cannot ${action} ${path}: not a file`);
  return st.size;
}

/** Writes a file whole. Sync. Throws ERR_MIST_IO (`cannot write <path>: ...`). */
export function writeFileOrThrow(path: string, data: string | Uint8Array): void {
  try {
    writeFileSync(path, data);
  } catch (e) {
    throw ioError(e, 'write', path);
  }
}

let counter = 0;

/**
 * Writes a file through a temporary name beside it and a rename, so a reader (or a crash)
 * never sees half a file; the temporary is removed on failure. Async. Throws ERR_MIST_IO.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${++counter}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw ioError(e, 'write', path);
  }
}
