// .npy reading and writing: C and Fortran order, both float widths, other element types,
// and every malformed input the reader must name clearly.
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy, writeNpy, parseNpy, encodeNpy } from '../lib/index.js';
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

test.run();
