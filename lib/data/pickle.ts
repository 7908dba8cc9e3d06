// A small, strict unpickler for numpy object arrays saved with allow_pickle (np.save of a dict
// of arrays, as the MIST authors' pseudo-label files are). It knows the opcodes that pickle
// protocols 2–4 use for dicts, lists, tuples, strings, bytes, numbers and numpy arrays, and
// only the few globals that numpy's array reconstruction names. Anything else fails with
// ERR_MIST_FORMAT: a pickle can run arbitrary code in Python, and here it can only build data.
import { ErrorCode, MistError, withContext } from '../errors.js';
import { readFileAsync } from './files.js';
import { parseNpyHeader } from './npy.js';

/** A numpy array rebuilt from a pickle: numeric dtypes as typed arrays, 'O' as a JS array. */
export class NdArray {
  /** numpy's dtype string with byte order, e.g. '<f8', '|O', '|u1'. */
  dtype = '';
  shape: number[] = [];
  data: Float64Array | Float32Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array
    | Uint16Array | Uint32Array | BigUint64Array | unknown[] = [];
  /** False until pickle's BUILD has set the array's state. */
  built = false;
}

/** A numpy dtype as its pickle describes it: kind+size ('f8') and byte order. */
class DType {
  byteorder = '=';
  constructor(readonly str: string) {}
  get isObject(): boolean {
    return this.str === 'O4' || this.str === 'O8';
  }
  get full(): string {
    const order = this.isObject || this.str.endsWith('1') ? '|' : this.byteorder === '>' ? '>' : '<';
    return `${order}${this.isObject ? 'O' : this.str}`;
  }
}

class Global {
  constructor(readonly module: string, readonly name: string) {}
  get full(): string {
    return `${this.module}.${this.name}`;
  }
}

const MARK = Symbol('mark');
type Value = unknown;

const ALLOWED_GLOBALS = new Set([
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray._reconstruct',
  'numpy.ndarray',
  'numpy.dtype',
  // Protocol 2 has no bytes opcode: Python writes bytes as _codecs.encode(text, 'latin1').
  '_codecs.encode',
  '__builtin__.bytes',
  'builtins.bytes',
]);

const NUMERIC: Record<string, { size: number; make: (n: number) => NdArray['data']; read: (v: DataView, o: number, le: boolean) => number | bigint }> = {
  f8: { size: 8, make: (n) => new Float64Array(n), read: (v, o, le) => v.getFloat64(o, le) },
  f4: { size: 4, make: (n) => new Float32Array(n), read: (v, o, le) => v.getFloat32(o, le) },
  i1: { size: 1, make: (n) => new Int8Array(n), read: (v, o) => v.getInt8(o) },
  i2: { size: 2, make: (n) => new Int16Array(n), read: (v, o, le) => v.getInt16(o, le) },
  i4: { size: 4, make: (n) => new Int32Array(n), read: (v, o, le) => v.getInt32(o, le) },
  i8: { size: 8, make: (n) => new BigInt64Array(n), read: (v, o, le) => v.getBigInt64(o, le) },
  u1: { size: 1, make: (n) => new Uint8Array(n), read: (v, o) => v.getUint8(o) },
  b1: { size: 1, make: (n) => new Uint8Array(n), read: (v, o) => v.getUint8(o) },
  u2: { size: 2, make: (n) => new Uint16Array(n), read: (v, o, le) => v.getUint16(o, le) },
  u4: { size: 4, make: (n) => new Uint32Array(n), read: (v, o, le) => v.getUint32(o, le) },
  u8: { size: 8, make: (n) => new BigUint64Array(n), read: (v, o, le) => v.getBigUint64(o, le) },
};

function fail(message: string): never {
  throw new MistError(ErrorCode.FORMAT, message);
}

function shapeOf(v: Value, what: string): number[] {
  if (!Array.isArray(v) || !v.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
    fail(`pickle: ${what} is not a tuple of sizes`);
  }
  return v as number[];
}

function call(fn: Value, args: Value): Value {
  if (!(fn instanceof Global)) fail('pickle: REDUCE on something that is not an allowed global');
  if (!Array.isArray(args)) fail(`pickle: REDUCE of ${fn.full} without an argument tuple`);
  switch (fn.full) {
    case 'numpy.core.multiarray._reconstruct':
    case 'numpy._core.multiarray._reconstruct': {
      const cls = args[0];
      if (!(cls instanceof Global) || cls.full !== 'numpy.ndarray') fail('pickle: _reconstruct of something not numpy.ndarray');
      return new NdArray();
    }
    case 'numpy.dtype': {
      if (typeof args[0] !== 'string') fail('pickle: numpy.dtype without a type string');
      return new DType(args[0]);
    }
    case '_codecs.encode': {
      const [text, enc] = args;
      if (typeof text !== 'string' || enc !== 'latin1') fail("pickle: _codecs.encode other than (text, 'latin1')");
      const out = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c > 255) fail('pickle: latin1 text with a character above 255');
        out[i] = c;
      }
      return out;
    }
    case '__builtin__.bytes':
    case 'builtins.bytes':
      if (args.length !== 0) fail('pickle: bytes() with arguments');
      return new Uint8Array(0);
    default:
      return fail(`pickle: calling ${fn.full} is not allowed`);
  }
}

function build(target: Value, state: Value): void {
  if (target instanceof DType) {
    // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
    if (!Array.isArray(state) || typeof state[1] !== 'string') fail('pickle: malformed numpy.dtype state');
    if (state[2] != null || state[3] != null) fail('pickle: structured or sub-array dtypes are not supported');
    target.byteorder = state[1];
    return;
  }
  if (target instanceof NdArray) {
    if (!Array.isArray(state) || (state.length !== 5 && state.length !== 4)) fail('pickle: malformed ndarray state');
    // Version 1 states start with the version number; the older form has no version.
    const [shapeV, dtype, fortran, raw] = state.length === 5 ? state.slice(1) : state;
    const shape = shapeOf(shapeV, 'ndarray shape');
    if (!(dtype instanceof DType)) fail('pickle: ndarray state without a numpy.dtype');
    const size = shape.reduce((a, b) => a * b, 1);
    if (fortran === true && shape.filter((d) => d > 1).length > 1) fail('pickle: Fortran-order arrays are not supported');
    target.shape = shape;
    target.dtype = dtype.full;
    if (dtype.isObject) {
      if (!Array.isArray(raw) || raw.length !== size) fail('pickle: object array without a list of its items');
      target.data = raw;
    } else {
      const kind = NUMERIC[dtype.str];
      if (!kind) fail(`pickle: dtype ${dtype.full} is not supported`);
      if (!(raw instanceof Uint8Array) || raw.length !== size * kind.size) {
        fail(`pickle: ${dtype.full} array of ${size} items without ${size * kind.size} bytes of data`);
      }
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const data = kind.make(size);
      const le = dtype.byteorder !== '>';
      for (let i = 0; i < size; i++) (data as unknown as (number | bigint)[])[i] = kind.read(view, i * kind.size, le);
      target.data = data;
    }
    target.built = true;
    return;
  }
  fail('pickle: BUILD on an object that is not a numpy array or dtype');
}

/**
 * Unpickles `bytes` (protocols 2–4) into plain JS values: None → null, int → number (bigint
 * beyond 2^53), str → string, bytes → Uint8Array, list and tuple → array, dict → Map, numpy
 * arrays → NdArray. Sync. Throws ERR_MIST_FORMAT naming the opcode and offset for anything
 * outside that set (other opcodes, other globals, truncated data).
 */
export function unpickle(bytes: Uint8Array): Value {
  return unpickleFrom(bytes).value;
}

/** unpickle, and the offset just past STOP. */
function unpickleFrom(bytes: Uint8Array): { value: Value; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: Value[] = [];
  const memo = new Map<number, Value>();
  let pos = 0;
  const need = (n: number): number => {
    if (pos + n > bytes.length) fail(`pickle: truncated at offset ${pos}`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[need(1)]!;
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('pickle: length beyond 2^53');
    return Number(v);
  };
  const raw = (n: number) => bytes.slice(need(n), pos);
  const text = (n: number): string => {
    const at = need(n);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(at, pos));
    } catch (e) {
      throw new MistError(ErrorCode.FORMAT, `pickle: text at offset ${at} is not UTF-8`, { cause: e });
    }
  };
  const pop = (): Value => {
    if (stack.length === 0) fail(`pickle: stack underflow at offset ${pos - 1}`);
    return stack.pop();
  };
  const top = (): Value => {
    if (stack.length === 0) fail(`pickle: stack underflow at offset ${pos - 1}`);
    return stack[stack.length - 1];
  };
  const popMark = (): Value[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) fail(`pickle: no MARK before offset ${pos - 1}`);
    const items = stack.slice(i + 1);
    stack.length = i;
    return items;
  };
  const memoGet = (i: number): Value => {
    if (!memo.has(i)) fail(`pickle: memo ${i} read before it was written`);
    return memo.get(i);
  };
  const setItems = (dict: Value, items: Value[]): void => {
    if (!(dict instanceof Map)) fail('pickle: SETITEM(S) on something that is not a dict');
    if (items.length % 2 !== 0) fail('pickle: SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  };
  const append = (list: Value, items: Value[]): void => {
    if (!Array.isArray(list)) fail('pickle: APPEND(S) on something that is not a list');
    // One at a time: a spread of many items overflows the call stack.
    for (const item of items) list.push(item);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const p = u8();
        if (p < 2 || p > 4) fail(`pickle: protocol ${p} is not supported (2–4 are)`);
        break;
      }
      case 0x95: need(8); break; // FRAME: a length hint only
      case 0x2e: { // STOP
        if (stack.length !== 1) fail(`pickle: STOP with ${stack.length} values on the stack`);
        return { value: stack[0], end: pos };
      }
      case 0x28: stack.push(MARK); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: { // LONG1: little-endian two's complement
        const n = u8();
        const b = raw(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        if (n > 0 && b[n - 1]! >= 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8d: stack.push(text(u64())); break; // BINUNICODE8
      case 0x43: stack.push(raw(u8())); break; // SHORT_BINBYTES
      case 0x42: stack.push(raw(u32())); break; // BINBYTES
      case 0x8e: stack.push(raw(u64())); break; // BINBYTES8
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { const d = new Map(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x63: { // GLOBAL "module\nname\n"
        const end1 = bytes.indexOf(0x0a, pos);
        const end2 = end1 < 0 ? -1 : bytes.indexOf(0x0a, end1 + 1);
        if (end2 < 0) fail(`pickle: truncated GLOBAL at offset ${at}`);
        const module = text(end1 - pos);
        need(1);
        const name = text(end2 - pos);
        need(1);
        const g = new Global(module, name);
        if (!ALLOWED_GLOBALS.has(g.full)) fail(`pickle: global ${g.full} is not allowed (offset ${at})`);
        stack.push(g);
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('pickle: STACK_GLOBAL without two strings');
        const g = new Global(module, name);
        if (!ALLOWED_GLOBALS.has(g.full)) fail(`pickle: global ${g.full} is not allowed (offset ${at})`);
        stack.push(g);
        break;
      }
      case 0x52: { const args = pop(); const fn = pop(); stack.push(call(fn, args)); break; } // REDUCE
      case 0x62: { const state = pop(); build(top(), state); break; } // BUILD
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(memoGet(u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
      default:
        fail(`pickle: opcode 0x${op.toString(16).padStart(2, '0')} at offset ${at} is not supported`);
    }
  }
}

/**
 * Reads a .npy file that holds a pickled object array (np.save(..., allow_pickle=True)) and
 * returns the unpickled value: the NdArray of dtype '|O' itself, or, for a 0-d array (numpy's
 * `.item()` case, as np.save(dict) writes), the one object it holds. Async (reads the file).
 * Throws ERR_MIST_IO when the file cannot be read, ERR_MIST_FORMAT when it is not a pickled
 * object array, uses anything unpickle refuses, or has bytes after the pickle.
 */
export async function readPickledNpy(path: string): Promise<Value> {
  return decodePickledNpy(await readFileAsync(path, '.npy file'), path);
}

/** readPickledNpy on bytes already in memory. Sync. Same results and errors. */
export function decodePickledNpy(buf: Uint8Array, source = '<buffer>'): Value {
  const h = parseNpyHeader(buf, source);
  if (h.descr !== '|O') fail(`${source}: dtype ${h.descr} holds no pickle (only object arrays '|O' do)`);
  let value: Value;
  const data = buf.subarray(h.dataOffset);
  try {
    const r = unpickleFrom(data);
    value = r.value;
    // numpy writes nothing after the pickle: more bytes mean a damaged or altered file.
    if (r.end !== data.length) fail(`pickle: ${data.length - r.end} bytes after the pickle's STOP`);
  } catch (e) {
    throw withContext(e, source);
  }
  if (!(value instanceof NdArray) || !value.built) fail(`${source}: the pickle does not hold a numpy array`);
  if (value.shape.join(',') !== h.shape.join(',')) fail(`${source}: pickled array shape differs from the header`);
  if (value.shape.length === 0) return (value.data as unknown[])[0];
  return value;
}
