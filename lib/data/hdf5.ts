// HDF5 feature stores as the MIST authors publish them: one dataset per video, named
// `<video>.npy`, holding [T, D] (or [T, crops, D]) float features. Read and written with
// h5wasm (the HDF5 C library compiled to WebAssembly) rather than a hand-written parser: HDF5
// has chunking, compression filters and several superblock versions that only the real
// library gets right.
import { accessSync, closeSync, constants, openSync, readSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCode, MistError, ioError } from '../errors.js';
import { fileSize } from './files.js';
import type { FeatureArray } from './types.js';

/** An open HDF5 feature store. Close it when done (the wasm heap holds the file handle). */
export interface FeatureStore {
  readonly path: string;
  /** Video names, the dataset paths without the `.npy` suffix, in file order. */
  names(): string[];
  /** Whether the store holds this video (name with or without `.npy`). */
  has(name: string): boolean;
  /** Reads one video's features as float32. Sync. Throws ERR_MIST_ARG, ERR_MIST_DTYPE, ERR_MIST_SHAPE. */
  read(name: string): FeatureArray;
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
 * ERR_MIST_IO for a missing or unreadable file and ERR_MIST_FORMAT for a non-HDF5 file.
 */
export async function openFeatureStore(path: string): Promise<FeatureStore> {
  const size = fileSize(path, 'read HDF5 store');
  // Checked here because h5wasm neither throws on a bad file (it returns a file id of -1)
  // nor stays quiet (the HDF5 error stack goes to stderr).
  if (!hasHdf5Signature(path, size)) throw new MistError(ErrorCode.FORMAT, `${path}: not an HDF5 file`);
  const h5wasm = await loadH5wasm();
  const file = new h5wasm.File(path, 'r');
  if ((file as unknown as { file_id: bigint }).file_id < 0n) {
    throw new MistError(ErrorCode.FORMAT, `${path}: HDF5 library could not open the file`);
  }
  const DatasetClass = h5wasm.Dataset;
  const GroupClass = h5wasm.Group;

  // Dataset paths, walking groups so that stores with one folder per split also work.
  const paths: string[] = [];
  const walk = (g: H5Group, prefix: string): void => {
    for (const k of g.keys()) {
      const e = g.get(k);
      if (e instanceof DatasetClass) paths.push(prefix + k);
      else if (e instanceof GroupClass) walk(e as unknown as H5Group, `${prefix}${k}/`);
    }
  };
  walk(file as unknown as H5Group, '');
  const byName = new Map<string, string>();
  for (const p of paths) byName.set(p.replace(/\.npy$/, ''), p);
  let closed = false;

  const resolve = (name: string): string => {
    if (closed) throw new MistError(ErrorCode.ARG, `${path}: feature store is closed`);
    const p = byName.get(name.replace(/\.npy$/, ''));
    if (p === undefined) throw new MistError(ErrorCode.ARG, `${path}: no dataset for video '${name}'`);
    return p;
  };

  return {
    path,
    names: () => [...byName.keys()],
    has: (name) => byName.has(name.replace(/\.npy$/, '')),
    describe(name) {
      const ds = file.get(resolve(name)) as unknown as H5Dataset;
      const kind = ds.metadata.type === 1 ? 'float' : ds.metadata.type === 0 ? 'int' : `class${ds.metadata.type}-`;
      return { shape: [...(ds.shape ?? [])], dtype: `${kind}${ds.metadata.size * 8}` };
    },
    read(name) {
      const p = resolve(name);
      const ds = file.get(p) as unknown as H5Dataset;
      const shape = ds.shape ?? [];
      // metadata.type: 0 = integer, 1 = float (H5T_class_t).
      if (ds.metadata.type !== 1 || (ds.metadata.size !== 4 && ds.metadata.size !== 8)) {
        const kind = ds.metadata.type === 0 ? `int${ds.metadata.size * 8}` : `HDF5 type class ${ds.metadata.type}`;
        throw new MistError(ErrorCode.DTYPE, `${path}:${p}: features must be float32 or float64, got ${kind}`);
      }
      if (shape.length !== 2 && shape.length !== 3) {
        throw new MistError(ErrorCode.SHAPE, `${path}:${p}: features must be [T, D] or [T, crops, D], got [${shape.join(', ')}]`);
      }
      const v = ds.value;
      const data = v instanceof Float32Array ? v : Float32Array.from(v as Float64Array);
      return { data, shape: [...shape] };
    },
    close() {
      if (!closed) file.close();
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
