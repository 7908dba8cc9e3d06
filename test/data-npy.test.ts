// .npy reading and writing: C and Fortran order, both float widths, other element types,
// and every malformed input the reader must name clearly.
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy, writeNpy, parseNpy, encodeNpy, type NpyData } from '../lib/index.js';
import { parseNpyHeader } from '../lib/data/npy.js';
import { ROOT, expectCode, sharedData, tempDir, test } from './helpers.js';

const fx = (name: string): string => join(ROOT, 'test', 'fixtures', name);

// The fixtures hold 10*t + d at [t, d] and 1000*t + 10*k + d at [t, k, d]
// (test/reference/make_fixtures.py, written by numpy).
function checkTd(data: ArrayLike<number | bigint>, T: number, D: number): void {
  for (let t = 0; t < T; t++)
    for (let d = 0; d < D; d++) assert.is(Number(data[t * D + d]), 10 * t + d, `[${t}, ${d}]`);
}
function checkTkd(data: ArrayLike<number>, T: number, K: number, D: number): void {
  for (let t = 0; t < T; t++)
    for (let k = 0; k < K; k++) for (let d = 0; d < D; d++) assert.is(data[(t * K + k) * D + d], 1000 * t + 10 * k + d);
}

test('float32 C order [T, D]', () => {
  const a = readNpy(fx('td_f32_c.npy'));
  assert.is(a.dtype, 'float32');
  assert.ok(a.data instanceof Float32Array);
  assert.equal(a.shape, [5, 7]);
  assert.is(a.fortranOrder, false);
  checkTd(a.data, 5, 7);
});

test('float64 Fortran order [T, D] comes back in C order', () => {
  const a = readNpy(fx('td_f64_fortran.npy'));
  assert.is(a.dtype, 'float64');
  assert.ok(a.data instanceof Float64Array);
  assert.is(a.fortranOrder, true);
  assert.equal(a.shape, [5, 7]);
  checkTd(a.data, 5, 7);
});

test('10-crop [T, 10, D] in Fortran (float32) and C (float64) order', () => {
  const f = readNpy(fx('tkd_f32_fortran.npy'));
  assert.equal(f.shape, [4, 10, 3]);
  assert.is(f.fortranOrder, true);
  checkTkd(f.data as Float32Array, 4, 10, 3);
  const c = readNpy(fx('tkd_f64_c.npy'));
  checkTkd(c.data as Float64Array, 4, 10, 3);
});

test('big-endian float32, float16, int64 and uint8 masks', () => {
  const be = readNpy(fx('td_f32_bigendian.npy'));
  assert.is(be.dtype, 'float32');
  checkTd(be.data, 3, 4);
  const h = readNpy(fx('td_f16.npy'));
  assert.is(h.dtype, 'float16');
  assert.ok(h.data instanceof Float32Array);
  checkTd(h.data, 3, 4);
  const i = readNpy(fx('td_int64.npy'));
  assert.is(i.dtype, 'int64');
  assert.ok(i.data instanceof BigInt64Array);
  checkTd(i.data, 3, 4);
  const m = readNpy(fx('mask_u1.npy'));
  assert.is(m.dtype, 'uint8');
  assert.equal([...m.data], [0, 0, 1, 1, 0]);
});

test('real files: I3D 10-crop features and a float64 ground truth', () => {
  const p = sharedData('shanghaitech', 'sample_clip_magazzu', '01_002_i3d.npy');
  if (p) {
    const a = readNpy(p);
    assert.equal(a.shape, [30, 10, 2048]);
    assert.is(a.dtype, 'float32');
  }
  const g = sharedData('shanghaitech', 'rtfm_lists', 'gt-sh.npy');
  if (g) {
    const a = readNpy(g);
    assert.equal(a.shape, [142912]);
    assert.is(a.dtype, 'float64');
  }
});

test('unsupported element types give ERR_MIST_DTYPE', async () => {
  const c = await expectCode(() => readNpy(fx('complex.npy')), 'ERR_MIST_DTYPE');
  assert.match(c.message, /c8/);
  const o = await expectCode(() => readNpy(fx('object.npy')), 'ERR_MIST_DTYPE');
  assert.match(o.message, /object arrays/);
  await expectCode(() => readNpy(fx('strings.npy')), 'ERR_MIST_DTYPE');
});

test('missing, truncated and non-npy files', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await expectCode(() => readNpy(join(dir, 'nope.npy')), 'ERR_MIST_IO');
    await expectCode(() => readNpy(dir), 'ERR_MIST_IO');
    const bytes = readFileSync(fx('td_f32_c.npy'));
    writeFileSync(join(dir, 'cut.npy'), bytes.subarray(0, bytes.length - 5));
    const e = await expectCode(() => readNpy(join(dir, 'cut.npy')), 'ERR_MIST_FORMAT');
    assert.match(e.message, /truncated/);
    writeFileSync(join(dir, 'head.npy'), bytes.subarray(0, 40));
    await expectCode(() => readNpy(join(dir, 'head.npy')), 'ERR_MIST_FORMAT');
    writeFileSync(join(dir, 'text.npy'), 'hello world, not numpy');
    await expectCode(() => readNpy(join(dir, 'text.npy')), 'ERR_MIST_FORMAT');
  } finally {
    cleanup();
  }
});

test('writeNpy round trip, and numpy-compatible header alignment', () => {
  const { dir, cleanup } = tempDir();
  try {
    const data = Float32Array.from({ length: 24 }, (_, i) => i * 0.5);
    writeNpy(join(dir, 'a.npy'), { data, shape: [2, 3, 4] });
    const a = readNpy(join(dir, 'a.npy'));
    assert.equal(a.shape, [2, 3, 4]);
    assert.equal([...a.data], [...data]);
    const bytes = encodeNpy({ data: new Uint8Array([1, 0, 1]), shape: [3] });
    const headerLen = bytes[8]! + 256 * bytes[9]!;
    assert.is((10 + headerLen) % 64, 0);
    assert.equal([...parseNpy(bytes).data], [1, 0, 1]);
    assert.equal(parseNpy(encodeNpy({ data: new Float64Array([7]), shape: [] })).shape, []);
  } finally {
    cleanup();
  }
});

test('writeNpy refuses a shape that does not match the data', async () => {
  await expectCode(() => encodeNpy({ data: new Float32Array(5), shape: [2, 3] }), 'ERR_MIST_SHAPE');
  await expectCode(() => writeNpy('/nonexistent-dir/x.npy', { data: new Float32Array(1), shape: [1] }), 'ERR_MIST_IO');
});

/**
 * An .npy file written byte by byte: magic, version, header length (2 bytes in version 1, 4
 * in 2 and 3), the header text in `encoding`, then the data bytes.
 */
function npyFile(header: string, data: number[] = [], version = 1, encoding: 'latin1' | 'utf8' = 'latin1'): Uint8Array {
  const h = Buffer.from(header, encoding);
  const at = version === 1 ? 10 : 12;
  const out = Buffer.alloc(at + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  if (version === 1) out.writeUInt16LE(h.length, 8);
  else out.writeUInt32LE(h.length, 8);
  h.copy(out, at);
  out.set(data, at + h.length);
  return new Uint8Array(out);
}
const hdr = (descr: string, shape: string, fortran = false): string =>
  `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shape}, }\n`;

test('bool and every integer type, either byte order, from hand-written bytes', () => {
  const cases: [string, string, number[], string, unknown, (number | bigint)[]][] = [
    ['|b1', '(3,)', [1, 0, 1], 'bool', Uint8Array, [1, 0, 1]],
    ['|i1', '(2,)', [0xff, 0x7f], 'int8', Int8Array, [-1, 127]],
    ['>u1', '(1,)', [200], 'uint8', Uint8Array, [200]],
    ['<i2', '(2,)', [0xfe, 0xff, 0x2c, 0x01], 'int16', Int16Array, [-2, 300]],
    ['>i2', '(2,)', [0xff, 0xfe, 0x01, 0x2c], 'int16', Int16Array, [-2, 300]],
    ['=i2', '(1,)', [0x2c, 0x01], 'int16', Int16Array, [300]],
    ['<u2', '(1,)', [0xff, 0xff], 'uint16', Uint16Array, [65535]],
    ['<i4', '(1,)', [0xfe, 0xff, 0xff, 0xff], 'int32', Int32Array, [-2]],
    ['>i4', '(1,)', [0, 0, 1, 0], 'int32', Int32Array, [256]],
    ['<u4', '(1,)', [0xff, 0xff, 0xff, 0xff], 'uint32', Uint32Array, [4294967295]],
    ['<u8', '(1,)', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 'uint64', BigUint64Array, [2n ** 64n - 1n]],
    ['>u8', '(1,)', [0, 0, 0, 0, 0, 0, 0, 1], 'uint64', BigUint64Array, [1n]],
  ];
  for (const [descr, shape, bytes, dtype, cls, values] of cases) {
    const a = parseNpy(npyFile(hdr(descr, shape), bytes));
    assert.is(a.dtype, dtype, descr);
    assert.ok(a.data instanceof (cls as new () => unknown), `${descr}: ${a.data.constructor.name}`);
    assert.equal([...a.data], values, descr);
  }
});

test('float16: normal, subnormal, signed, infinite and NaN values', () => {
  // Bit patterns: 1, -2, the smallest subnormal 2^-24, the largest negative subnormal
  // -1023 * 2^-24, +Inf, -Inf, NaN, the largest finite 65504.
  const bits = [0x3c00, 0xc000, 0x0001, 0x83ff, 0x7c00, 0xfc00, 0x7e00, 0x7bff];
  const a = parseNpy(npyFile(hdr('<f2', '(8,)'), [...Buffer.from(Uint16Array.from(bits).buffer)]));
  assert.is(a.dtype, 'float16');
  const want = [1, -2, 2 ** -24, -1023 * 2 ** -24, Infinity, -Infinity, NaN, 65504];
  want.forEach((w, i) => assert.ok(Object.is(a.data[i], w), `${bits[i]!.toString(16)}: ${String(a.data[i])}`));
  assert.equal([...parseNpy(npyFile(hdr('>f2', '(1,)'), [0x3c, 0x00])).data], [1]);
});

test('Fortran order of a scalar, a vector and an int64 matrix', () => {
  const scalar = parseNpy(npyFile(hdr('<f8', '()', true), [...Buffer.from(new Float64Array([2.5]).buffer)]));
  assert.equal(scalar.shape, []);
  assert.equal([...scalar.data], [2.5]);
  const vector = parseNpy(npyFile(hdr('<i2', '(3,)', true), [1, 0, 2, 0, 3, 0]));
  assert.equal([...vector.data], [1, 2, 3]);
  // a[r][c] = 10r + c, shape (2, 3), stored column by column: 0, 10, 1, 11, 2, 12.
  const f = BigInt64Array.from([0n, 10n, 1n, 11n, 2n, 12n]);
  const m = parseNpy(npyFile(hdr('<i8', '(2, 3)', true), [...Buffer.from(f.buffer)]));
  assert.is(m.fortranOrder, true);
  assert.equal([...m.data], [0n, 1n, 2n, 10n, 11n, 12n]);
  // Empty Fortran arrays, with the zero first or last.
  for (const shape of ['(2, 0)', '(0, 3)']) {
    const e = parseNpy(npyFile(hdr('<i8', shape, true)));
    assert.equal([e.shape, e.data.length], [shape === '(2, 0)' ? [2, 0] : [0, 3], 0]);
  }
});

test('header versions 2 and 3, spacing, quotes, Python 2 longs and empty arrays', () => {
  const f32 = (...v: number[]): number[] => [...Buffer.from(new Float32Array(v).buffer)];
  assert.equal([...parseNpy(npyFile(hdr('<f4', '(2,)'), f32(1.5, -3), 2)).data], [1.5, -3]);
  assert.equal([...parseNpy(npyFile(hdr('<f4', '(2,)'), f32(1.5, -3), 3, 'utf8')).data], [1.5, -3]);
  const tight = parseNpy(npyFile(`{"descr":"<f4","fortran_order":False,"shape":(1,2)}`, f32(4, 5)));
  assert.equal(tight.shape, [1, 2]);
  assert.equal([...tight.data], [4, 5]);
  const loose = parseNpy(npyFile(`{'descr' :  '<f4' , 'fortran_order' :  False , 'shape' :  (2 , ) }`, f32(6, 7)));
  assert.equal(loose.shape, [2]);
  assert.equal([...loose.data], [6, 7]);
  assert.equal(parseNpy(npyFile(hdr('<f4', '(2L, 1L)'), f32(8, 9))).shape, [2, 1]);
  const empty = parseNpy(npyFile(hdr('<f4', '(0,)')));
  assert.equal(empty.shape, [0]);
  assert.is(empty.data.length, 0);
});

test('the message of each malformed header', async () => {
  const format = async (bytes: Uint8Array, message: string): Promise<void> => {
    const e = await expectCode(() => parseNpy(bytes), 'ERR_MIST_FORMAT');
    assert.is(e.message, message);
  };
  const good = npyFile(hdr('<f4', '(1,)'), [0, 0, 0x80, 0x3f]);
  assert.equal([...parseNpy(good).data], [1]);
  const bad = good.slice();
  bad[3] = 0x44; // \x93NUDPY
  await format(bad, '<buffer>: not an .npy file (bad magic string)');
  await format(good.subarray(0, 8), '<buffer>: not an .npy file (bad magic string)');
  await format(npyFile(''), '<buffer>: .npy header has no descr'); // exactly 10 bytes
  await format(npyFile('', [], 2), '<buffer>: .npy header has no descr'); // exactly 12 bytes
  await format(npyFile('', [], 2).subarray(0, 11), '<buffer>: truncated .npy header');
  await format(npyFile(hdr('<f4', '(1,)'), [], 4), '<buffer>: unsupported .npy format version 4');
  const long = good.slice(0, 30);
  await format(long, '<buffer>: truncated .npy header');
  await format(npyFile("{'fortran_order': False, 'shape': (1,), }\n"), '<buffer>: .npy header has no descr');
  await format(
    npyFile("{'descr': '<f4', 'shape': (1,), }  \n"),
    "<buffer>: malformed .npy header: {'descr': '<f4', 'shape': (1,), }",
  );
  await format(
    npyFile("{'descr': '<f4', 'fortran_order': False, }\n"),
    "<buffer>: malformed .npy header: {'descr': '<f4', 'fortran_order': False, }",
  );
  // The header is latin1 in versions 1 and 2, UTF-8 in version 3.
  await format(
    npyFile("{'descr': '<u1', 'é': 1}", [], 1, 'latin1'),
    "<buffer>: malformed .npy header: {'descr': '<u1', 'é': 1}",
  );
  await format(
    npyFile("{'descr': '<u1', 'é': 1}", [], 2, 'latin1'),
    "<buffer>: malformed .npy header: {'descr': '<u1', 'é': 1}",
  );
  await format(
    npyFile("{'descr': '<u1', 'é': 1}", [], 3, 'utf8'),
    "<buffer>: malformed .npy header: {'descr': '<u1', 'é': 1}",
  );
  await format(npyFile(hdr('<f4', '(-1,)')), '<buffer>: bad shape in header: (-1,)');
  await format(npyFile(hdr('<f4', '(2.5,)')), '<buffer>: bad shape in header: (2.5,)');
  await format(npyFile(hdr('<f4', '(1L2,)')), '<buffer>: bad shape in header: (1L2,)');
  for (const structured of [
    "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
    '{"descr":[("a", "<f4")], "fortran_order": False, "shape": (1,), }',
    "{'descr' : [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
  ]) {
    const e = await expectCode(() => parseNpy(npyFile(structured)), 'ERR_MIST_DTYPE');
    assert.is(e.message, '<buffer>: structured dtypes are not supported (need a plain numeric array)');
  }
  const h = await expectCode(() => parseNpyHeader(bad), 'ERR_MIST_FORMAT');
  assert.is(h.message, '<buffer>: not an .npy file (bad magic string)');
  const bytes = readFileSync(fx('td_f32_c.npy'));
  const cut = await expectCode(() => parseNpy(bytes.subarray(0, bytes.length - 5), 'cut.npy'), 'ERR_MIST_FORMAT');
  assert.is(cut.message, 'cut.npy: truncated .npy data (135 bytes, shape (5, 7) needs 140)');
  const io = await expectCode(() => readNpy('/nonexistent-dir/x.npy'), 'ERR_MIST_IO');
  assert.match(io.message, /^cannot read \.npy file \/nonexistent-dir\/x\.npy: /);
});

test('encodeNpy writes the bytes numpy writes, for every element type', async () => {
  // test/fixtures was written by numpy's np.save.
  const mask = encodeNpy({ data: new Uint8Array([0, 0, 1, 1, 0]), shape: [5] });
  assert.equal([...mask], [...readFileSync(fx('mask_u1.npy'))]);
  const td = Float32Array.from({ length: 35 }, (_, i) => 10 * Math.floor(i / 7) + (i % 7));
  assert.equal([...encodeNpy({ data: td, shape: [5, 7] })], [...readFileSync(fx('td_f32_c.npy'))]);
  const cases: [NpyData, string, string][] = [
    [new Float64Array([-0.5]), '<f8', 'float64'],
    [new Int8Array([-3]), '|i1', 'int8'],
    [new Uint8Array([250]), '|u1', 'uint8'],
    [new Int16Array([-300]), '<i2', 'int16'],
    [new Uint16Array([60000]), '<u2', 'uint16'],
    [new Int32Array([-70000]), '<i4', 'int32'],
    [new Uint32Array([4000000000]), '<u4', 'uint32'],
    [new BigInt64Array([-5n]), '<i8', 'int64'],
    [new BigUint64Array([2n ** 63n]), '<u8', 'uint64'],
  ];
  for (const [data, descr, dtype] of cases) {
    const bytes = encodeNpy({ data, shape: [1] });
    const text = Buffer.from(bytes.subarray(10, 10 + bytes[8]! + 256 * bytes[9]!)).toString('latin1');
    assert.is(text.trimEnd(), `{'descr': '${descr}', 'fortran_order': False, 'shape': (1,), }`);
    const back = parseNpy(bytes);
    assert.is(back.dtype, dtype);
    assert.equal([...back.data], [...data]);
  }
  assert.equal(parseNpy(encodeNpy({ data: new Float32Array(0), shape: [0] })).shape, [0]);
  for (const shape of [
    [-1, -2],
    [0.5, 4],
  ])
    await expectCode(() => encodeNpy({ data: new Float32Array(2), shape }), 'ERR_MIST_SHAPE');
  const e = await expectCode(() => encodeNpy({ data: new Float32Array(5), shape: [2, 3] }), 'ERR_MIST_SHAPE');
  assert.is(e.message, 'shape [2, 3] does not hold 5 elements');
});

test.run();
