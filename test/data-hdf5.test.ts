// HDF5 feature stores as the MIST authors publish them (one dataset per video, key
// '<video>.npy'), read with h5wasm. In its own file because loading h5wasm's 4 MB module
// through tsx's loader takes several seconds (plain node loads it in about 0.5 s).
import * as assert from 'uvu/assert';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFeatureStore, readFeatures } from '../lib/index.js';
import { ROOT, expectCode, tempDir, test } from './helpers.js';

const fx = (...p: string[]): string => join(ROOT, 'test', 'fixtures', ...p);

/** The C-order values of an array of `shape` whose element [i, j(, l)] is f(i, j(, l)). */
function expected(shape: number[], f: (i: number, j: number, l?: number) => number): number[] {
  const out: number[] = [];
  const [n0, n1, n2 = 1] = shape as [number, number, number?];
  for (let i = 0; i < n0; i++)
    for (let j = 0; j < n1; j++) for (let l = 0; l < n2; l++) out.push(shape.length === 3 ? f(i, j, l) : f(i, j));
  return out;
}

test('HDF5 store as the MIST authors publish it (written by h5py)', async () => {
  const store = await openFeatureStore(fx('mist_store.h5'));
  try {
    assert.equal(store.names(), ['01_0014', '01_002', 'Normal_Videos_006_x264', 'labels']);
    assert.ok(store.has('01_0014.npy') && store.has('01_0014'));
    const a = store.read('01_0014');
    assert.equal(a.shape, [6, 8]);
    assert.is(a.data[5 * 8 + 7], 57);
    const b = store.read('01_002.npy'); // gzip-compressed, chunked, 10 crops
    assert.equal(b.shape, [4, 10, 3]);
    assert.is(b.data[(3 * 10 + 9) * 3 + 2], 3092);
    const c = store.read('Normal_Videos_006_x264');
    assert.ok(c.data instanceof Float32Array);
    assert.is(c.data[2 * 5 + 4], 24);
    // Element by element against the formulas the fixture was written from (a transposing
    // or crop-swapping reader fails here; the spot checks above would not all notice).
    assert.equal(
      Array.from(a.data),
      expected([6, 8], (t, d) => 10 * t + d),
    );
    assert.equal(
      Array.from(b.data),
      expected([4, 10, 3], (t, k, d) => 1000 * t + 10 * k + d!),
    );
    assert.equal(
      Array.from(c.data),
      expected([3, 5], (t, d) => 10 * t + d),
    );
    await expectCode(() => store.read('labels'), 'ERR_MIST_DTYPE');
    await expectCode(() => store.read('nope'), 'ERR_MIST_ARG');
  } finally {
    store.close();
  }
  const viaRead = await readFeatures(fx('mist_store.h5'), { key: '01_002' });
  assert.equal(viaRead.shape, [4, 10, 3]);
  await expectCode(() => readFeatures(fx('mist_store.h5')), 'ERR_MIST_ARG');
});

test('HDF5 store: missing file, and a file that is not HDF5', async () => {
  await expectCode(() => openFeatureStore(fx('absent.h5')), 'ERR_MIST_IO');
  const { dir, cleanup } = tempDir();
  try {
    copyFileSync(fx('td_f32_c.npy'), join(dir, 'fake.h5'));
    await expectCode(() => openFeatureStore(join(dir, 'fake.h5')), 'ERR_MIST_FORMAT');
  } finally {
    cleanup();
  }
});

test.run();
