// File system access for every reader and writer: one place where an fs failure becomes
// ERR_MIST_IO (through ioError), so each message says what was being done, to which path,
// and why, in the same words.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';

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

let counter = 0;

/** A temporary name beside `path`, unique to this write (process, call and random bits). */
function temporaryName(path: string): string {
  return `${path}.${process.pid}.${++counter}.${randomBytes(4).toString('hex')}.tmp`;
}

/**
 * Writes a file whole, atomically: a temporary beside it (created exclusively, never shared
 * with another writer), fsync, rename; the temporary is removed on every failure. Sync.
 * Throws ERR_MIST_IO (`cannot write <path>: ... (ERRNO)`).
 */
export function writeFileOrThrow(path: string, data: string | Uint8Array): void {
  const tmp = temporaryName(path);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw ioError(e, 'write', path);
  }
}

/**
 * Writes a file through a temporary name beside it (created exclusively, unique to this
 * write), fsync and a rename, so a reader (or a crash) never sees half a file and two writers
 * of one path never fail each other: the last rename wins, whole. The temporary is removed on
 * failure. Async. Throws ERR_MIST_IO.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = temporaryName(path);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw ioError(e, 'write', path);
  }
}
