// Clip-feature readers: .npy ([T, D], 10-crop), Sultani's C3D text, per-crop files, the
// MIST authors' HDF5 stores, and our own format with its sidecar.
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { meanOverCrops, readC3dTxt, readCropFeatures, readFeatures, writeFeatures, writeNpy } from '../lib/index.js';
import { ROOT, expectCode, packageData, sharedData, tempDir, test } from './helpers.js';

const fx = (...p: string[]): string => join(ROOT, 'test', 'fixtures', ...p);

test('readFeatures: .npy [T, D] float64 becomes float32; [T, 10, D] keeps its crops', async () => {
  const a = await readFeatures(fx('td_f64_fortran.npy'));
  assert.ok(a.data instanceof Float32Array);
  assert.equal(a.shape, [5, 7]);
  assert.is(a.data[3 * 7 + 2], 32);
  const b = await readFeatures(fx('tkd_f32_fortran.npy'));
  assert.equal(b.shape, [4, 10, 3]);
  assert.is(b.data[(2 * 10 + 7) * 3 + 1], 2071);
  const m = meanOverCrops(b);
  assert.equal(m.shape, [4, 3]);
  assert.is(m.data[2 * 3 + 1], 2000 + 45 + 1); // mean over k of 10k is 45
});

test('readFeatures: integer arrays and 1-D arrays are refused', async () => {
  await expectCode(() => readFeatures(fx('td_int64.npy')), 'ERR_MIST_DTYPE');
  await expectCode(() => readFeatures(fx('mask_u1.npy')), 'ERR_MIST_DTYPE');
  const { dir, cleanup } = tempDir();
  try {
    writeNpy(join(dir, 'v.npy'), { data: new Float32Array(4), shape: [4] });
    await expectCode(() => readFeatures(join(dir, 'v.npy')), 'ERR_MIST_SHAPE');
  } finally {
    cleanup();
  }
});

test('readFeatures: unknown extension, directory, missing file, bad option', async () => {
  await expectCode(() => readFeatures(join(ROOT, 'package.json')), 'ERR_MIST_FORMAT');
  await expectCode(() => readFeatures(fx('crops')), 'ERR_MIST_ARG');
  await expectCode(() => readFeatures(fx('absent.npy')), 'ERR_MIST_IO');
  const e = await expectCode(() => readFeatures(fx('td_f32_c.npy'), { allcrops: true } as never), 'ERR_MIST_ARG');
  assert.match(e.message, /allcrops: unknown option/);
});

test("Sultani's real C3D text: 32 x 4096, L2-normalised rows", async () => {
  const f = await readFeatures(packageData('ucf-crime', 'c3d_32seg', 'Normal_Videos_006_x264.txt'));
  assert.equal(f.shape, [32, 4096]);
  for (let r = 0; r < 32; r++) {
    let n = 0;
    for (let d = 0; d < 4096; d++) n += f.data[r * 4096 + d]! ** 2;
    assert.ok(Math.abs(Math.sqrt(n) - 1) < 1e-3, `row ${r} norm ${Math.sqrt(n)}`);
  }
  const other = sharedData('ucf-crime', 'c3d_clip_salva-u', 'Arrest002_x264.txt');
  if (other) assert.equal(readC3dTxt(other).shape, [32, 4096]);
});

test('C3D text: ragged rows, non-numbers and empty files are ERR_MIST_FORMAT', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'ragged.txt'), '1 2 3\n4 5\n');
    const r = await expectCode(() => readC3dTxt(join(dir, 'ragged.txt')), 'ERR_MIST_FORMAT');
    assert.match(r.message, /ragged\.txt:2/);
    writeFileSync(join(dir, 'nan.txt'), '1 2 3\n4 x 6\n');
    await expectCode(() => readC3dTxt(join(dir, 'nan.txt')), 'ERR_MIST_FORMAT');
    writeFileSync(join(dir, 'empty.txt'), '\n\n');
    await expectCode(() => readC3dTxt(join(dir, 'empty.txt')), 'ERR_MIST_FORMAT');
    await expectCode(() => readC3dTxt(join(dir, 'absent.txt')), 'ERR_MIST_IO');
  } finally {
    cleanup();
  }
});

test('per-crop files <video>__<k>.npy stack into [T, K, D]', async () => {
  const a = readCropFeatures(fx('crops', 'vid.A__#1_label_A__3.npy'));
  assert.equal(a.shape, [6, 5, 4]);
  for (let t = 0; t < 6; t++)
    for (let k = 0; k < 5; k++)
      for (let d = 0; d < 4; d++) assert.is(a.data[(t * 5 + k) * 4 + d], 1000 * t + 10 * k + d);
  const b = await readFeatures(fx('crops', 'vid.A__#1_label_A__0.npy'), { allCrops: true });
  assert.equal(b.shape, [6, 5, 4]);
  const one = await readFeatures(fx('crops', 'vid.A__#1_label_A__2.npy'));
  assert.equal(one.shape, [6, 4]);
  assert.equal(readCropFeatures(fx('crops', 'vid.A__#1_label_A')).shape, [6, 5, 4]);
});

test('per-crop files: a missing crop index, unequal shapes, no files', async () => {
  const g = await expectCode(() => readCropFeatures(fx('crops', 'gappy__0.npy')), 'ERR_MIST_FORMAT');
  assert.match(g.message, /crop 2 is missing/);
  const { dir, cleanup } = tempDir();
  try {
    writeNpy(join(dir, 'v__0.npy'), { data: new Float32Array(6), shape: [2, 3] });
    writeNpy(join(dir, 'v__1.npy'), { data: new Float32Array(9), shape: [3, 3] });
    await expectCode(() => readCropFeatures(join(dir, 'v__0.npy')), 'ERR_MIST_SHAPE');
    await expectCode(() => readCropFeatures(join(dir, 'w__0.npy')), 'ERR_MIST_IO');
  } finally {
    cleanup();
  }
});

test('our format: writeFeatures then readFeatures keeps data and metadata', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const data = Float32Array.from({ length: 3 * 10 * 4 }, (_, i) => i / 7);
    const p = join(dir, 'Abuse028_x264.npy');
    writeFeatures(p, { data, shape: [3, 10, 4] }, { encoder: 'i3d', clipLength: 16, frames: 50, fps: 30, crops: 10 });
    const f = await readFeatures(p);
    assert.equal(f.shape, [3, 10, 4]);
    assert.equal([...f.data], [...data]);
    assert.equal(f.meta, { encoder: 'i3d', clipLength: 16, frames: 50, fps: 30, crops: 10 });
    // A sidecar that disagrees with its array is an error, not a silent mismatch.
    writeFeatures(p, { data: new Float32Array(8), shape: [2, 4] });
    writeFileSync(
      join(dir, 'Abuse028_x264.json'),
      JSON.stringify({ format: 'mist-vad.features', version: 1, shape: [9, 4] }),
    );
    await expectCode(() => readFeatures(p), 'ERR_MIST_SHAPE');
    writeFileSync(join(dir, 'Abuse028_x264.json'), '{not json');
    await expectCode(() => readFeatures(p), 'ERR_MIST_FORMAT');
  } finally {
    cleanup();
  }
});

test('writeFeatures refuses bad paths, arrays and metadata', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await expectCode(
      () => writeFeatures(join(dir, 'x.bin'), { data: new Float32Array(2), shape: [1, 2] }),
      'ERR_MIST_ARG',
    );
    await expectCode(
      () => writeFeatures(join(dir, 'x.npy'), { data: new Float32Array(2), shape: [2] }),
      'ERR_MIST_SHAPE',
    );
    await expectCode(
      () => writeFeatures(join(dir, 'x.npy'), { data: new Float32Array(2), shape: [2, 2] }),
      'ERR_MIST_SHAPE',
    );
    const e = await expectCode(
      () => writeFeatures(join(dir, 'x.npy'), { data: new Float32Array(2), shape: [1, 2] }, { clipLength: -1 }),
      'ERR_MIST_ARG',
    );
    assert.match(e.message, /clipLength/);
  } finally {
    cleanup();
  }
});

test.run();
