// Helpers of the bad-input matrix (test/reliability-*.test.ts): each case must end in a coded
// MistError whose message names the file, within a time limit. A synchronous reader that hangs
// cannot be interrupted from its own thread, so a watchdog thread kills the process after
// printing which case hung (the test file then fails, as a crash does).
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

import * as assert from 'uvu/assert';

import { MistError } from '../lib/errors.js';

const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const state = new Int32Array(workerData.shared, 0, 3);
const name = new Uint8Array(workerData.shared, 12);
for (;;) {
  const seq = Atomics.load(state, 0);
  if (seq === 0) { Atomics.wait(state, 0, 0); continue; }
  const limit = Atomics.load(state, 1);
  if (Atomics.wait(state, 0, seq, limit) === 'timed-out' && Atomics.load(state, 0) === seq) {
    const what = Buffer.from(name.subarray(0, Atomics.load(state, 2))).toString('utf8');
    writeSync(2, '\\n# HUNG: ' + what + ' ran past ' + limit + ' ms; killing the test process\\n');
    process.kill(process.pid, 'SIGKILL');
  }
}`;

let state: Int32Array | undefined;
let nameBytes: Uint8Array | undefined;
let seq = 0;

function arm(limitMs: number, what: string): void {
  if (!state) {
    const shared = new SharedArrayBuffer(12 + 1024);
    state = new Int32Array(shared, 0, 3);
    nameBytes = new Uint8Array(shared, 12);
    new Worker(WATCHDOG, { eval: true, workerData: { shared } }).unref();
  }
  const { written } = new TextEncoder().encodeInto(what, nameBytes!);
  Atomics.store(state, 2, written);
  Atomics.store(state, 1, limitMs);
  Atomics.store(state, 0, ++seq);
  Atomics.notify(state, 0);
}

function disarm(): void {
  if (!state) return;
  Atomics.store(state, 0, 0);
  Atomics.notify(state, 0);
}

/** One row of the matrix, kept for MIST_MATRIX_PRINT=1 (the docs' table is made from it). */
export interface MatrixRow {
  reader: string;
  input: string;
  code: string;
  message: string;
}
const rows: MatrixRow[] = [];
// MIST_MATRIX_SOFT=1 records a failed case and goes on (to list every case a build fails).
const soft = process.env.MIST_MATRIX_SOFT === '1';
const failures: string[] = [];
process.on('exit', () => {
  if (process.env.MIST_MATRIX_PRINT === '1') writeSync(1, `\n# MATRIX ${JSON.stringify(rows)}\n`);
  if (soft) writeSync(1, `\n# MATRIX-FAILURES ${JSON.stringify(failures)}\n`);
});

/**
 * Runs `fn` (sync or async) on a bad input and asserts that it throws a MistError with `code`
 * whose message contains `file`, within `limitMs` (default 10 s): not another exception type,
 * not a returned value, not a hang. Returns the error.
 */
export async function refuses(
  reader: string,
  input: string,
  fn: () => unknown,
  code: string,
  file: string,
  limitMs = 10_000,
): Promise<MistError> {
  if (soft) {
    try {
      return await refusesStrict(reader, input, fn, code, file, limitMs);
    } catch (e) {
      failures.push((e as Error).message.split('\n')[0]!);
      return new MistError(code, '');
    }
  }
  return refusesStrict(reader, input, fn, code, file, limitMs);
}

async function refusesStrict(
  reader: string,
  input: string,
  fn: () => unknown,
  code: string,
  file: string,
  limitMs: number,
): Promise<MistError> {
  const what = `${reader}: ${input}`;
  arm(limitMs, what);
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${limitMs} ms`)), limitMs);
    });
    let value: unknown;
    try {
      value = await Promise.race([Promise.resolve().then(fn), timeout]);
    } catch (e) {
      if (!(e instanceof MistError)) {
        throw new Error(
          `${what}: threw ${(e as Error)?.constructor?.name ?? typeof e}, not a MistError: ${String((e as Error)?.message ?? e)}`,
          { cause: e },
        );
      }
      assert.is(e.code, code, `${what}: code ${e.code} (${e.message})`);
      assert.ok(e.message.includes(file), `${what}: the message names the file ${file}: ${e.message}`);
      assert.not.match(e.message, /\n/, `${what}: one line`);
      assert.ok(Date.now() - t0 < limitMs, `${what}: answered in time`);
      rows.push({ reader, input, code: e.code, message: e.message });
      return e;
    }
    if (value && typeof (value as { dispose?: unknown }).dispose === 'function')
      (value as { dispose(): void }).dispose();
    throw new Error(`${what}: returned a value instead of refusing the input`);
  } finally {
    clearTimeout(timer);
    disarm();
  }
}

// ---- Small valid files to break --------------------------------------------------------------

/** An .npy file of `descr` and a raw header dict text, with `payload` bytes after it (version 1). */
export function npyBytes(header: string, payload: ArrayLike<number> = []): Uint8Array {
  let h = header;
  const total = 10 + h.length + 1;
  h += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + h.length + payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  out[8] = h.length & 0xff;
  out[9] = h.length >> 8;
  out.set(Buffer.from(h, 'latin1'), 10);
  out.set(Array.from(payload), 10 + h.length);
  return out;
}

/** The header dict numpy writes for a plain array. */
export function npyHeader(descr: string, shape: string, fortran = 'False'): string {
  return `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
}

/**
 * A .npy holding a pickled dict of video name → float64 array, in the layout of the MIST
 * authors' pseudo-label files (a 0-d object array; protocol 2, the opcodes numpy's pickles use),
 * as readOfficialPseudoLabels reads it.
 */
export function pickledLabelsNpy(labels: ReadonlyMap<string, ArrayLike<number>>): Uint8Array {
  const b: number[] = [];
  const ascii = (s: string): void => {
    for (const c of Buffer.from(s, 'utf8')) b.push(c);
  };
  const u32 = (n: number): void => {
    b.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  };
  const str = (s: string): void => {
    const bytes = Buffer.from(s, 'utf8');
    b.push(0x58); // BINUNICODE
    u32(bytes.length);
    for (const c of bytes) b.push(c);
  };
  const int = (n: number): void => {
    b.push(0x4a); // BININT
    u32(n);
  };
  const dtype = (kind: string, order: string): void => {
    ascii('cnumpy\ndtype\n');
    str(kind);
    b.push(0x89, 0x88, 0x87, 0x52); // (kind, False, True) REDUCE
    b.push(0x28); // MARK: the dtype's state
    int(3);
    str(order);
    b.push(0x4e, 0x4e, 0x4e); // None, None, None
    int(-1);
    int(-1);
    int(0);
    b.push(0x74, 0x62); // TUPLE BUILD
  };
  const array = (shape: number[], body: () => void, kind: string, order: string): void => {
    ascii('cnumpy.core.multiarray\n_reconstruct\n');
    ascii('cnumpy\nndarray\n');
    int(0);
    b.push(0x85); // (0,)
    b.push(0x43, 1, 0x62); // b'b'
    b.push(0x87, 0x52); // TUPLE3 REDUCE
    b.push(0x28); // MARK: the array's state (version, shape, dtype, fortran, data)
    int(1);
    b.push(0x28);
    for (const d of shape) int(d);
    b.push(0x74);
    dtype(kind, order);
    b.push(0x89);
    body();
    b.push(0x74, 0x62);
  };
  b.push(0x80, 0x02);
  array(
    [],
    () => {
      b.push(0x5d, 0x28); // [ MARK
      b.push(0x7d, 0x28); // { MARK
      for (const [name, values] of labels) {
        str(name);
        array(
          [values.length],
          () => {
            const data = Buffer.from(Float64Array.from(values).buffer);
            b.push(0x42); // BINBYTES
            u32(data.length);
            for (const c of data) b.push(c);
          },
          'f8',
          '<',
        );
      }
      b.push(0x75); // SETITEMS
      b.push(0x65); // APPENDS
    },
    'O8',
    '|',
  );
  b.push(0x2e); // STOP
  return npyBytes(npyHeader('|O', '()'), b);
}
