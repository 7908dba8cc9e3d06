// HDF5 feature stores as the MIST authors publish them: one dataset per video, named
// `<video>.npy`, holding [T, D] (or [T, crops, D]) float features. Read with h5wasm (the HDF5
// C library compiled to WebAssembly) rather than a hand-written parser: HDF5 has chunking,
// compression filters and several superblock versions that only the real library gets right.
import { closeSync, openSync, readSync } from 'node:fs';
import { ErrorCode, MistError } from '../errors.js';
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
  close(): void;
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
  const h5wasm = (await import('h5wasm/node')).default;
  await h5wasm.ready;
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
