// NumPy .npy reader and writer (format versions 1.0, 2.0 and 3.0). The format is small and
// fully specified (numpy/lib/format.py), so it is read here rather than through a dependency.
// Arrays come back in C (row-major) order whatever order the file used, because every
// consumer in this package indexes rows as [t * D + d].
import { ErrorCode, MistError } from '../errors.js';
import { readFileOrThrow, writeFileOrThrow } from './files.js';

/** Element types readNpy understands. `float16` is widened to a Float32Array. */
export type NpyDtype =
  | 'float16'
  | 'float32'
  | 'float64'
  | 'bool'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64';

/** The typed arrays an .npy array can be held in. */
export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A decoded .npy array, always in C order; `fortranOrder` says how the file stored it. */
export interface NpyArray {
  data: NpyData;
  shape: number[];
  dtype: NpyDtype;
  fortranOrder: boolean;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

interface DtypeInfo {
  dtype: NpyDtype;
  size: number;
  make: (n: number) => NpyData;
}

const KINDS: Record<string, DtypeInfo> = {
  f2: { dtype: 'float16', size: 2, make: (n) => new Float32Array(n) },
  f4: { dtype: 'float32', size: 4, make: (n) => new Float32Array(n) },
  f8: { dtype: 'float64', size: 8, make: (n) => new Float64Array(n) },
  b1: { dtype: 'bool', size: 1, make: (n) => new Uint8Array(n) },
  i1: { dtype: 'int8', size: 1, make: (n) => new Int8Array(n) },
  u1: { dtype: 'uint8', size: 1, make: (n) => new Uint8Array(n) },
  i2: { dtype: 'int16', size: 2, make: (n) => new Int16Array(n) },
  u2: { dtype: 'uint16', size: 2, make: (n) => new Uint16Array(n) },
  i4: { dtype: 'int32', size: 4, make: (n) => new Int32Array(n) },
  u4: { dtype: 'uint32', size: 4, make: (n) => new Uint32Array(n) },
  i8: { dtype: 'int64', size: 8, make: (n) => new BigInt64Array(n) },
  u8: { dtype: 'uint64', size: 8, make: (n) => new BigUint64Array(n) },
};

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Product of a shape's dimensions (1 for a scalar). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Reorders a Fortran-order buffer into C order (any rank). */
function fortranToC<T extends NpyData>(src: T, shape: readonly number[], make: (n: number) => NpyData): T {
  const rank = shape.length;
  if (rank < 2) return src;
  const out = make(src.length) as T;
  // Fortran strides: the first axis varies fastest.
  const fstride = new Array<number>(rank);
  let s = 1;
  for (let k = 0; k < rank; k++) {
    fstride[k] = s;
    s *= shape[k] as number;
  }
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastStride = fstride[last] as number;
  const lastDim = shape[last] as number;
  let base = 0; // Fortran offset of idx with idx[last] = 0
  const n = src.length;
  for (let o = 0; o < n; o += lastDim) {
    for (let j = 0; j < lastDim; j++) (out as unknown as number[])[o + j] = (src as unknown as number[])[base + j * lastStride] as number;
    // Advance the C-order multi-index over all axes but the last.
    for (let k = last - 1; k >= 0; k--) {
      idx[k] = (idx[k] as number) + 1;
      base += fstride[k] as number;
      if ((idx[k] as number) < (shape[k] as number)) break;
      base -= (idx[k] as number) * (fstride[k] as number);
      idx[k] = 0;
    }
  }
  return out;
}

/** The header fields of a .npy file. */
export interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the data (or pickle) after the header. */
  dataOffset: number;
}

/**
 * Parses the header of a .npy file (format versions 1-3): the one header parser of the
 * package, used by parseNpy and by the pickle reader. Sync. `source` names the file in error
 * messages. Throws ERR_MIST_FORMAT when the magic, version or header dict is not what numpy
 * writes (a Python dict literal with exactly descr, fortran_order and shape; sizes safe
 * integers), ERR_MIST_DTYPE for a structured dtype.
 */
export function parseNpyHeader(bytes: Uint8Array, source = '<buffer>'): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new MistError(ErrorCode.FORMAT, `${source}: not an .npy file (bad magic string)`);
  }
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new MistError(ErrorCode.FORMAT, `${source}: truncated .npy header`);
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new MistError(ErrorCode.FORMAT, `${source}: unsupported .npy format version ${major}`);
  }
  const dataOffset = headerStart + headerLen;
  if (dataOffset > bytes.length) throw new MistError(ErrorCode.FORMAT, `${source}: truncated .npy header`);
  let header: string;
  try {
    header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(bytes.subarray(headerStart, dataOffset));
  } catch (e) {
    throw new MistError(ErrorCode.FORMAT, `${source}: .npy header is not UTF-8 text`, { cause: e });
  }
  const dict = parseHeaderDict(header, source);
  return { ...dict, dataOffset };
}

type HeaderValue = { kind: 'str'; value: string } | { kind: 'bool'; value: boolean } | { kind: 'tuple'; value: string[] };

/**
 * Parses the header dict numpy writes, `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`
 * padded with spaces and a newline: a Python literal with exactly these three keys (numpy's own
 * reader refuses any other set). Sync. Throws ERR_MIST_FORMAT naming what is wrong, ERR_MIST_DTYPE
 * for a structured dtype (a list as descr).
 */
function parseHeaderDict(header: string, source: string): Omit<NpyHeader, 'dataOffset'> {
  let i = 0;
  const bad = (): never => {
    if (!/['"]descr['"]/.test(header)) throw new MistError(ErrorCode.FORMAT, `${source}: .npy header has no descr`);
    const text = header.trim(); // MistError writes its control characters as escapes
    throw new MistError(
      ErrorCode.FORMAT,
      `${source}: malformed .npy header: ${text.length > 200 ? `${text.slice(0, 200)}...` : text}`,
    );
  };
  const ws = (): void => {
    while (i < header.length && ' \t\r\n'.includes(header[i] as string)) i++;
  };
  const str = (): string => {
    const q = header[i];
    if (q !== "'" && q !== '"') bad();
    const end = header.indexOf(q as string, i + 1);
    if (end < 0) bad();
    const v = header.slice(i + 1, end);
    if (v.includes('\\')) bad();
    i = end + 1;
    return v;
  };
  const value = (key: string): HeaderValue => {
    const ch = header[i];
    if (ch === "'" || ch === '"') return { kind: 'str', value: str() };
    if (header.startsWith('True', i)) {
      i += 4;
      return { kind: 'bool', value: true };
    }
    if (header.startsWith('False', i)) {
      i += 5;
      return { kind: 'bool', value: false };
    }
    if (ch === '(') {
      const close = header.indexOf(')', i);
      if (close < 0) bad();
      const raw = header.slice(i + 1, close);
      i = close + 1;
      const tokens = raw.split(',').map((t) => t.trim());
      if (tokens.length > 1 && tokens[tokens.length - 1] === '') tokens.pop(); // (3,) and (3, 4, )
      if (tokens.length === 1 && tokens[0] === '') tokens.pop(); // ()
      if (key === 'shape' && !tokens.every((t) => /^\d+L?$/.test(t) && Number.isSafeInteger(Number(t.replace(/L$/, ''))))) {
        throw new MistError(ErrorCode.FORMAT, `${source}: bad shape in header: (${raw})`);
      }
      return { kind: 'tuple', value: tokens.map((t) => t.replace(/L$/, '')) };
    }
    if (ch === '[' && key === 'descr') {
      throw new MistError(ErrorCode.DTYPE, `${source}: structured dtypes are not supported (need a plain numeric array)`);
    }
    return bad();
  };
  ws();
  if (header[i] !== '{') bad();
  i++;
  const entries = new Map<string, HeaderValue>();
  for (;;) {
    ws();
    if (header[i] === '}') break;
    const key = str();
    if (entries.has(key)) bad();
    ws();
    if (header[i] !== ':') bad();
    i++;
    ws();
    entries.set(key, value(key));
    ws();
    if (header[i] === ',') i++;
    else if (header[i] !== '}') bad();
  }
  i++;
  ws();
  if (i < header.length) bad(); // text after the dict
  // numpy's reader takes exactly these keys, and so does this one.
  if ([...entries.keys()].sort().join(',') !== 'descr,fortran_order,shape') bad();
  const descr = entries.get('descr') as HeaderValue;
  const fortran = entries.get('fortran_order') as HeaderValue;
  const shape = entries.get('shape') as HeaderValue;
  if (descr.kind !== 'str' || fortran.kind !== 'bool' || shape.kind !== 'tuple') bad();
  return { descr: descr.value as string, fortranOrder: fortran.value as boolean, shape: (shape.value as string[]).map(Number) };
}

/**
 * Decodes the bytes of an .npy file. Sync. `source` names the file in error messages.
 * Throws ERR_MIST_FORMAT for a malformed, truncated or over-long file (a header that is not
 * numpy's dict, a shape the data does not fill, bytes after the data) and ERR_MIST_DTYPE for
 * element types other than bool, integers and floats (object/pickled, string, complex,
 * structured). The payload carries no checksum: a changed byte inside the data is not seen.
 */
export function parseNpy(bytes: Uint8Array, source = '<buffer>'): NpyArray {
  const { descr, fortranOrder, shape, dataOffset: dataStart } = parseNpyHeader(bytes, source);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const order = descr[0] as string;
  const kind = descr.slice(1);
  const info = '<>|='.includes(order) ? KINDS[kind] : undefined;
  if (!info) {
    const what = descr.includes('O')
      ? 'object arrays (pickled Python objects) are not supported'
      : `dtype '${descr}' is not supported (need bool, integer or float)`;
    throw new MistError(ErrorCode.DTYPE, `${source}: ${what}`);
  }
  const n = shapeSize(shape);
  const nbytes = n * info.size;
  if (dataStart + nbytes > bytes.length) {
    throw new MistError(
      ErrorCode.FORMAT,
      `${source}: truncated .npy data (${bytes.length - dataStart} bytes, shape (${shape.join(', ')}) needs ${nbytes})`,
    );
  }
  if (dataStart + nbytes < bytes.length) {
    // numpy writes nothing after the data: extra bytes mean a damaged file or a wrong header.
    throw new MistError(
      ErrorCode.FORMAT,
      `${source}: ${bytes.length - dataStart - nbytes} bytes after the .npy data (shape (${shape.join(', ')}) needs ${nbytes})`,
    );
  }
  const big = order === '>'; // reversing the bytes of 1-byte elements changes nothing
  let data = info.make(n);
  if (info.dtype === 'float16') {
    const out = data as Float32Array;
    for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(dataStart + 2 * i, !big));
  } else {
    // Copy into a fresh, aligned buffer (the file's data offset need not be aligned).
    const raw = new Uint8Array(data.buffer, 0, nbytes);
    raw.set(bytes.subarray(dataStart, dataStart + nbytes));
    if (big) {
      for (let i = 0; i < nbytes; i += info.size) raw.subarray(i, i + info.size).reverse();
    }
  }
  if (fortranOrder) data = fortranToC(data, shape, info.make);
  return { data, shape, dtype: info.dtype, fortranOrder };
}

/**
 * Reads an .npy file into a C-order typed array. Sync. Throws ERR_MIST_IO (missing or
 * unreadable), ERR_MIST_FORMAT (malformed/truncated) or ERR_MIST_DTYPE (unsupported dtype).
 */
export function readNpy(path: string): NpyArray {
  return parseNpy(readFileOrThrow(path, '.npy file'), path);
}

function descrOf(data: NpyData): string {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Int8Array) return '|i1';
  if (data instanceof Uint8Array) return '|u1';
  if (data instanceof Int16Array) return '<i2';
  if (data instanceof Uint16Array) return '<u2';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof Uint32Array) return '<u4';
  if (data instanceof BigInt64Array) return '<i8';
  return '<u8';
}

/**
 * Encodes a C-order array as .npy (version 1.0, little-endian). Sync. Throws ERR_MIST_SHAPE
 * when the shape does not match the data length.
 */
export function encodeNpy(array: { data: NpyData; shape: readonly number[] }): Uint8Array {
  const { data, shape } = array;
  if (!shape.every((d) => Number.isInteger(d) && d >= 0) || shapeSize(shape) !== data.length) {
    throw new MistError(ErrorCode.SHAPE, `shape [${shape.join(', ')}] does not hold ${data.length} elements`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descrOf(data)}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // numpy pads the header with spaces so that the data starts on a 64-byte boundary.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10); // ASCII: the same bytes in latin1 and UTF-8
  // Typed arrays are little-endian on every platform Node supports here (x64, arm64).
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/**
 * Writes a C-order array to an .npy file. Sync. Throws ERR_MIST_SHAPE (shape/data mismatch)
 * or ERR_MIST_IO (cannot write).
 */
export function writeNpy(path: string, array: { data: NpyData; shape: readonly number[] }): void {
  writeFileOrThrow(path, encodeNpy(array));
}
