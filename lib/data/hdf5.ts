// HDF5 feature stores as the MIST authors publish them: one dataset per video, named
// `<video>.npy`, holding [T, D] (or [T, crops, D]) float features. Read and written with
// h5wasm (the HDF5 C library compiled to WebAssembly) rather than a hand-written parser: HDF5
// has chunking, compression filters and several superblock versions that only the real
// library gets right.
import fs, { accessSync, closeSync, constants, openSync, readSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCode, MistError, ioError } from '../errors.js';
import { checkAllocation, formatBytes } from '../memory.js';
import { fileSize } from './files.js';
import { checkFinite, type FeatureArray, type NonFiniteOptions } from './types.js';

/** An open HDF5 feature store. Close it when done (the wasm heap holds the file handle). */
export interface FeatureStore {
  readonly path: string;
  /** Video names, the dataset paths without the `.npy` suffix, in file order. */
  names(): string[];
  /** Whether the store holds this video (name with or without `.npy`). */
  has(name: string): boolean;
  /**
   * Reads one video's features as float32. Sync. Throws ERR_MIST_ARG (no such video),
   * ERR_MIST_DTYPE, ERR_MIST_SHAPE, ERR_MIST_MEMORY (a declared shape too large to read),
   * ERR_MIST_FORMAT (the HDF5 library failed to read it; a NaN or infinity unless
   * `allowNonFinite`).
   */
  read(name: string, options?: NonFiniteOptions): FeatureArray;
  /** One video's dataset shape and element type, without reading it. Sync. Throws ERR_MIST_ARG. */
  describe(name: string): { shape: number[]; dtype: string };
  close(): void;
}

async function loadH5wasm() {
  const h5wasm = (await import('h5wasm/node')).default;
  await h5wasm.ready;
  return h5wasm;
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

// The superblock sits at offset 0, 512, 1024, 2048, ... (HDF5 file format spec, "user block").
function hasHdf5Signature(path: string, size: number): boolean {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(8);
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      if (readSync(fd, buf, 0, 8, off) === 8 && SIGNATURE.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/**
 * The most bytes one dataset read may take: h5wasm's WebAssembly heap is at most 2 GiB and holds
 * the library's buffers beside the data, so half of it.
 */
const WASM_READ_LIMIT = 2 ** 30;

/**
 * Runs an h5wasm call with the HDF5 error stack (which the library prints to stderr rather than
 * throwing) captured instead of printed. Returns the value and the last line of that stack
 * that says what went wrong ('' when the library reported nothing). A JavaScript exception of
 * the call (h5wasm's own checks, a WebAssembly trap) is rethrown as ERR_MIST_FORMAT for `what`.
 */
function quietly<T>(what: string, fn: () => T): { value: T; diag: string } {
  // h5wasm's file system (NODERAWFS) writes fd 2 with fs.writeSync: those writes are kept.
  const write = fs.writeSync;
  let captured = '';
  fs.writeSync = ((fd: number, buffer: string | NodeJS.ArrayBufferView, ...rest: unknown[]): number => {
    if (fd !== 2) return (write as (...a: unknown[]) => number)(fd, buffer, ...rest);
    if (typeof buffer === 'string') {
      captured += buffer;
      return Buffer.byteLength(buffer);
    }
    const [offset = 0, length = buffer.byteLength - (offset as number)] = rest as [number?, number?];
    captured += Buffer.from(buffer.buffer, buffer.byteOffset + offset, length).toString('utf8');
    return length;
  }) as typeof fs.writeSync;
  let value: T;
  try {
    value = fn();
  } catch (e) {
    if (e instanceof MistError) throw e;
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 200);
    throw new MistError(ErrorCode.FORMAT, `${what}: the HDF5 library failed (${diagLine(captured) || why})`, { cause: e });
  } finally {
    fs.writeSync = write;
  }
  return { value, diag: diagLine(captured) };
}

/** The most telling line of an HDF5 error stack: the innermost frame's text after its function. */
function diagLine(stack: string): string {
  const frames = stack.split('\n').filter((l) => /^\s*#\d+:/.test(l));
  const last = frames[frames.length - 1];
  if (last === undefined) return stack.trim() === '' ? '' : (stack.trim().split('\n')[0] ?? '').slice(0, 200);
  const m = /\(\):\s*(.*)$/.exec(last);
  return (m ? (m[1] as string) : last.trim()).slice(0, 200);
}

interface H5Dataset {
  shape: number[] | null;
  metadata: { type: number; size: number };
  value: unknown;
}
interface H5Group {
  keys(): string[];
  get(name: string): unknown;
}

/**
 * Opens an HDF5 feature store read-only. Async (loads the h5wasm module once). Throws
 * ERR_MIST_IO for a missing or unreadable file and ERR_MIST_FORMAT for a non-HDF5 file or
 * one the HDF5 library cannot open or list (truncated, damaged metadata), with the library's
 * own reason. The library's error stack is kept off stderr.
 */
export async function openFeatureStore(path: string): Promise<FeatureStore> {
  const size = fileSize(path, 'read HDF5 store');
  // Checked here because h5wasm neither throws on a bad file (it returns a file id of -1)
  // nor stays quiet (the HDF5 error stack goes to stderr).
  if (!hasHdf5Signature(path, size)) throw new MistError(ErrorCode.FORMAT, `${path}: not an HDF5 file`);
  const h5wasm = await loadH5wasm();
  const opened = quietly(path, () => new h5wasm.File(path, 'r'));
  const file = opened.value;
  if ((file as unknown as { file_id: bigint }).file_id < 0n) {
    const why = opened.diag ? ` (${opened.diag})` : '';
    throw new MistError(ErrorCode.FORMAT, `${path}: HDF5 library could not open the file${why}`);
  }
  const DatasetClass = h5wasm.Dataset;
  const GroupClass = h5wasm.Group;

  // Dataset paths, walking groups so that stores with one folder per split also work. A
  // damaged file can list a group in itself: the depth is bounded.
  const paths: string[] = [];
  const walk = (g: H5Group, prefix: string, depth: number): void => {
    if (depth > 32) throw new MistError(ErrorCode.FORMAT, `${path}: groups nested deeper than 32 levels (${prefix})`);
    const keys = quietly(path, () => g.keys());
    if (keys.diag) throw new MistError(ErrorCode.FORMAT, `${path}: cannot list group /${prefix} (${keys.diag})`);
    for (const k of keys.value) {
      const e = quietly(path, () => g.get(k));
      if (e.diag) throw new MistError(ErrorCode.FORMAT, `${path}: cannot open /${prefix}${k} (${e.diag})`);
      if (e.value instanceof DatasetClass) paths.push(prefix + k);
      else if (e.value instanceof GroupClass) walk(e.value as unknown as H5Group, `${prefix}${k}/`, depth + 1);
    }
  };
  try {
    walk(file as unknown as H5Group, '', 0);
  } catch (e) {
    quietly(path, () => file.close());
    throw e;
  }
  const byName = new Map<string, string>();
  for (const p of paths) byName.set(p.replace(/\.npy$/, ''), p);
  let closed = false;

  const resolve = (name: string): string => {
    if (closed) throw new MistError(ErrorCode.ARG, `${path}: feature store is closed`);
    const p = byName.get(name.replace(/\.npy$/, ''));
    if (p === undefined) throw new MistError(ErrorCode.ARG, `${path}: no dataset for video '${name}'`);
    return p;
  };

  /** A dataset's shape and type, checked to be numbers HDF5 could have written. */
  const open = (p: string): { ds: H5Dataset; shape: number[] } => {
    const where = `${path}:${p}`;
    const got = quietly(where, () => {
      const ds = file.get(p) as unknown as H5Dataset;
      return { ds, shape: ds?.shape, metadata: ds?.metadata };
    });
    const { ds, shape, metadata } = got.value;
    if (got.diag || !ds || !metadata) {
      throw new MistError(ErrorCode.FORMAT, `${where}: cannot open the dataset${got.diag ? ` (${got.diag})` : ''}`);
    }
    const dims = shape ?? [];
    if (!Array.isArray(dims) || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new MistError(ErrorCode.FORMAT, `${where}: the dataset's shape is not a list of sizes`);
    }
    return { ds, shape: [...dims] };
  };

  return {
    path,
    names: () => [...byName.keys()],
    has: (name) => byName.has(name.replace(/\.npy$/, '')),
    describe(name) {
      const { ds, shape } = open(resolve(name));
      const kind = ds.metadata.type === 1 ? 'float' : ds.metadata.type === 0 ? 'int' : `class${ds.metadata.type}-`;
      return { shape, dtype: `${kind}${ds.metadata.size * 8}` };
    },
    read(name, options = {}) {
      const p = resolve(name);
      const where = `${path}:${p}`;
      const { ds, shape } = open(p);
      // metadata.type: 0 = integer, 1 = float (H5T_class_t).
      if (ds.metadata.type !== 1 || (ds.metadata.size !== 4 && ds.metadata.size !== 8)) {
        const kind = ds.metadata.type === 0 ? `int${ds.metadata.size * 8}` : `HDF5 type class ${ds.metadata.type}`;
        throw new MistError(ErrorCode.DTYPE, `${where}: features must be float32 or float64, got ${kind}`);
      }
      if (shape.length !== 2 && shape.length !== 3) {
        throw new MistError(ErrorCode.SHAPE, `${where}: features must be [T, D] or [T, crops, D], got [${shape.join(', ')}]`);
      }
      // The shape comes from the file: estimate before HDF5 allocates it (a float64 store is
      // copied to float32 too).
      const n = shape.reduce((a, b) => a * b, 1);
      const bytes = checkAllocation(n, ds.metadata.size + (ds.metadata.size === 8 ? 4 : 0), `reading ${where} [${shape.join(', ')}]`);
      if (n * ds.metadata.size > WASM_READ_LIMIT) {
        throw new MistError(
          ErrorCode.MEMORY,
          `reading ${where} [${shape.join(', ')}] would need ${formatBytes(bytes)}; the HDF5 reader (WebAssembly, 2 GiB heap) reads at most ${formatBytes(WASM_READ_LIMIT)} at once`,
        );
      }
      const got = quietly(where, () => ds.value);
      const v = got.value;
      // h5wasm hands back a buffer even when HDF5's read failed: the error stack says it did.
      if (got.diag || !(v instanceof Float32Array || v instanceof Float64Array) || v.length !== n) {
        throw new MistError(ErrorCode.FORMAT, `${where}: cannot read the dataset${got.diag ? ` (${got.diag})` : ''}`);
      }
      const data = v instanceof Float32Array ? v : Float32Array.from(v);
      checkFinite(data, shape, where, options.allowNonFinite === true, v instanceof Float64Array ? v : undefined);
      return { data, shape };
    },
    close() {
      if (!closed) quietly(path, () => file.close());
      closed = true;
    },
  };
}

/** One video of a store being written: its name (the dataset is `<name>.npy`) and features. */
export interface FeatureStoreEntry {
  name: string;
  features: FeatureArray;
}

let tmpCounter = 0;

/**
 * Writes an HDF5 feature store: one float32 dataset `<name>.npy` per entry ([T, D] or
 * [T, crops, D]), contiguous, readable by openFeatureStore and h5py. The entries are taken one
 * at a time (a generator can read each from disk), into a temporary file beside `path` that
 * replaces it by a rename, so a reader or a crash never sees half a store. Async. Returns the
 * number of datasets. Throws ERR_MIST_ARG (a name with a slash, two entries of one name),
 * ERR_MIST_DTYPE / ERR_MIST_SHAPE (features not float32 [T, D] or [T, K, D]), ERR_MIST_IO.
 */
export async function writeFeatureStore(
  path: string,
  entries: Iterable<FeatureStoreEntry> | AsyncIterable<FeatureStoreEntry>,
): Promise<number> {
  const h5wasm = await loadH5wasm();
  const tmp = `${path}.${process.pid}.${++tmpCounter}.tmp`;
  // h5wasm gives a file id of -1 (and HDF5's error stack on stderr) for a folder it cannot
  // write in: a missing or read-only folder is reported first, in the package's words.
  try {
    accessSync(dirname(tmp), constants.W_OK);
  } catch (e) {
    throw ioError(e, 'write HDF5 store', path);
  }
  const file = new h5wasm.File(tmp, 'w');
  if ((file as unknown as { file_id: bigint }).file_id < 0n) {
    throw new MistError(ErrorCode.IO, `cannot write HDF5 store ${path}: the HDF5 library could not create ${tmp}`);
  }
  let open = true;
  try {
    const seen = new Set<string>();
    for await (const { name, features } of entries) {
      if (name.includes('/') || name.length === 0) {
        throw new MistError(ErrorCode.ARG, `${path}: video name ${JSON.stringify(name)} cannot name a dataset`);
      }
      if (seen.has(name)) throw new MistError(ErrorCode.ARG, `${path}: two entries are named ${name}`);
      seen.add(name);
      if (!(features.data instanceof Float32Array)) {
        throw new MistError(ErrorCode.DTYPE, `${path}:${name}: features must be a Float32Array`);
      }
      const s = features.shape;
      if ((s.length !== 2 && s.length !== 3) || s.some((d) => !Number.isInteger(d) || d < 1)) {
        throw new MistError(ErrorCode.SHAPE, `${path}:${name}: features must be [T, D] or [T, crops, D], got [${s.join(', ')}]`);
      }
      if (s.reduce((a, b) => a * b, 1) !== features.data.length) {
        throw new MistError(ErrorCode.SHAPE, `${path}:${name}: shape [${s.join(', ')}] does not hold ${features.data.length} values`);
      }
      file.create_dataset({ name: `${name}.npy`, data: features.data, shape: [...s], dtype: '<f' });
    }
    file.flush();
    file.close();
    open = false;
    await rename(tmp, path);
    return seen.size;
  } catch (e) {
    if (open) file.close();
    await rm(tmp, { force: true }).catch(() => undefined);
    if (e instanceof MistError) throw e;
    throw ioError(e, 'write HDF5 store', path);
  }
}
