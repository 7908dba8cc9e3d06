import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { readOfficialPseudoLabels, readPseudoLabels, writePseudoLabels } from '../lib/index.js';
import { type NdArray, decodePickledNpy, readPickledNpy, unpickle } from '../lib/data/pickle.js';
import { ROOT, expectCode, sharedData, tempDir, test } from './helpers.js';

test('our file: write then read gives the same float32 labels, names and meta', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const labels = new Map<string, Float32Array | number[]>([
      ['01_0014', Float32Array.from([0, 0.1, 1 / 3, 1, 1e-8, 0.123456789])],
      ['odd "name"\\ é', [0.5]],
      ['empty', []],
      ['big', Float32Array.from({ length: 2000 }, (_, i) => Math.sin(i) ** 2)],
    ]);
    const path = join(dir, 'pl.json');
    await writePseudoLabels(path, labels, { dataset: 'shanghaitech', featureKind: 'i3d', source: 'test' });
    const back = await readPseudoLabels(path);
    assert.equal([...back.labels.keys()], [...labels.keys()]);
    for (const [name, v] of labels) {
      const got = back.labels.get(name)!;
      assert.instance(got, Float32Array);
      // Exact: the file holds the shortest text that reads back as the same float32.
      assert.equal(
        Array.from(got),
        Array.from(v, (x) => Math.fround(x)),
        name,
      );
    }
    assert.is(back.meta.dataset, 'shanghaitech');
    assert.is(back.meta.featureKind, 'i3d');
    assert.is(back.meta.source, 'test');
    assert.is(back.meta.clipFrames, 16);
    assert.ok(Math.abs(Date.parse(back.meta.created!) - Date.now()) < 60_000, 'created is now');
    // Readable as plain JSON by anyone, with short numbers.
    const json = JSON.parse(readFileSync(path, 'utf8'));
    assert.is(json.format, 'mist-vad-pseudo-labels');
    assert.is(json.version, 1);
    assert.equal(json.videos['01_0014'].slice(0, 3), [0, 0.1, 0.33333334]);
  } finally {
    cleanup();
  }
});

test('our file: bad input and bad files fail with coded errors', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'pl.json');
    await expectCode(
      () => writePseudoLabels(path, new Map([['a', [0, NaN]]]), { dataset: 'x', featureKind: 'i3d' }),
      'ERR_MIST_ARG',
    );
    await expectCode(() => writePseudoLabels(path, new Map(), { dataset: '', featureKind: 'i3d' }), 'ERR_MIST_ARG');
    await expectCode(
      () => writePseudoLabels(join(dir, 'no/such/dir.json'), new Map(), { dataset: 'x', featureKind: 'i3d' }),
      'ERR_MIST_IO',
    );
    await expectCode(() => readPseudoLabels(join(dir, 'missing.json')), 'ERR_MIST_IO');
    writeFileSync(path, '{not json');
    await expectCode(() => readPseudoLabels(path), 'ERR_MIST_FORMAT');
    writeFileSync(
      path,
      JSON.stringify({ format: 'other', version: 1, meta: { dataset: 'x', featureKind: 'y' }, videos: {} }),
    );
    const e = await expectCode(() => readPseudoLabels(path), 'ERR_MIST_FORMAT');
    assert.match(e.message, /format: must be "mist-vad-pseudo-labels"/);
    writeFileSync(
      path,
      JSON.stringify({
        format: 'mist-vad-pseudo-labels',
        version: 1,
        meta: { dataset: 'x', featureKind: 'y' },
        videos: { a: [0, 'x'] },
      }),
    );
    const e2 = await expectCode(() => readPseudoLabels(path), 'ERR_MIST_FORMAT');
    assert.match(e2.message, /videos\.a\.1: must hold numbers only/);
  } finally {
    cleanup();
  }
});

test('unpickler: protocols 2, 3 and 4 of the same numpy dict (fixtures made by numpy)', () => {
  for (const p of [2, 3, 4]) {
    const d = decodePickledNpy(readFileSync(join(ROOT, 'test', 'reference', `pickle-p${p}.npy`))) as Map<
      string,
      unknown
    >;
    assert.instance(d, Map);
    assert.equal([...d.keys()], ['a.npy', 'b', 'empty', 'big', 'be', 'mat', 'list', 'text'], `protocol ${p}`);
    const a = d.get('a.npy') as NdArray;
    assert.is(a.dtype, '<f8');
    assert.equal(a.shape, [3]);
    assert.equal(Array.from(a.data as Float64Array), [0.1, 0.25, -3.5]);
    const b = d.get('b') as NdArray;
    assert.instance(b.data, Float32Array);
    assert.equal(Array.from(b.data as Float32Array), [1.5, 2.5]);
    assert.equal((d.get('empty') as NdArray).shape, [0]);
    assert.equal(Array.from((d.get('big') as NdArray).data as BigInt64Array), [1n, -2n, 70000n, 2n ** 40n]);
    const be = d.get('be') as NdArray;
    assert.is(be.dtype, '>f8');
    assert.equal(Array.from(be.data as Float64Array), [1, -2]);
    const mat = d.get('mat') as NdArray;
    assert.equal(mat.shape, [2, 3]);
    assert.equal(Array.from(mat.data as Float32Array), [0, 1, 2, 3, 4, 5]);
    assert.equal(d.get('list'), [1, 2 ** 31, -(2n ** 70n)]);
    assert.is(d.get('text'), 'héllo');
  }
});

test('unpickler: refuses what it does not know, with ERR_MIST_FORMAT', async () => {
  const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  // GLOBAL os.system: a pickle that would run a command in Python.
  const evil = await expectCode(
    () => unpickle(bytes('\x80\x03cos\nsystem\nX\x02\x00\x00\x00ls\x85R.')),
    'ERR_MIST_FORMAT',
  );
  assert.match(evil.message, /global os\.system is not allowed/);
  const op = await expectCode(() => unpickle(bytes('\x80\x03I1\n.')), 'ERR_MIST_FORMAT');
  assert.match(op.message, /opcode 0x49 at offset 2/);
  await expectCode(() => unpickle(bytes('\x80\x05N.')), 'ERR_MIST_FORMAT');
  await expectCode(() => unpickle(bytes('\x80\x03X\x09\x00\x00\x00abc')), 'ERR_MIST_FORMAT');
  await expectCode(() => unpickle(bytes('\x80\x03NN.')), 'ERR_MIST_FORMAT');
  // A plain float .npy holds no pickle.
  const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }";
  const npy = bytes(`\x93NUMPY\x01\x00${String.fromCharCode(header.length + 1)}\x00${header}\n\0\0\0\0\0\0\0\0`);
  await expectCode(() => decodePickledNpy(npy), 'ERR_MIST_FORMAT');
  await expectCode(() => readPickledNpy(join(ROOT, 'no-such-file.npy')), 'ERR_MIST_IO');
});

type Reference = {
  files: Record<
    string,
    {
      count: number;
      keys: string[];
      lengths: number[];
      dtypes: string[];
      samples: Record<string, { first: number[]; last: number; sum: number; min: number; max: number }>;
    }
  >;
};

test("MIST authors' pseudo-label files: 238 train videos, lengths and values as numpy reads them", async () => {
  const ref = JSON.parse(
    readFileSync(join(ROOT, 'test', 'reference', 'official-pl-reference.json'), 'utf8'),
  ) as Reference;
  const trainList = sharedData('shanghaitech', 'mist_official', 'SH_Train_new.txt');
  if (!trainList) return;
  const train = readFileSync(trainList, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.split(',')[0]!.trim());
  assert.is(train.length, 238);
  for (const [file, r] of Object.entries(ref.files)) {
    const path = sharedData('shanghaitech', 'mist_official', file);
    if (!path) return;
    const set = await readOfficialPseudoLabels(path);
    assert.is(set.labels.size, 238, file);
    assert.is(set.meta.dataset, 'shanghaitech');
    assert.is(set.meta.featureKind, file.includes('I3D') ? 'i3d' : 'c3d');
    // Same names as the train split (the file's keys carry a '.npy' suffix), in file order.
    assert.equal([...set.labels.keys()].sort(), [...train].sort(), `${file}: names`);
    assert.equal(
      [...set.labels.keys()],
      r.keys.map((k) => k.replace(/\.npy$/, '')),
      `${file}: order`,
    );
    assert.equal(
      [...set.labels.values()].map((v) => v.length),
      r.lengths,
      `${file}: lengths`,
    );
    // Exact float64 values through the raw reader; labels are their float32 roundings.
    const raw = (await readPickledNpy(path)) as Map<string, NdArray>;
    assert.equal(r.dtypes, ['float64']);
    for (const [key, s] of Object.entries(r.samples)) {
      const a = raw.get(key)!;
      assert.is(a.dtype, '<f8');
      const v = a.data as Float64Array;
      assert.equal(Array.from(v.subarray(0, 3)), s.first, `${file} ${key}: first`);
      assert.is(v[v.length - 1], s.last, `${file} ${key}: last`);
      assert.ok(
        Math.abs(v.reduce((x, y) => x + y, 0) - s.sum) < 1e-9 * Math.max(1, Math.abs(s.sum)),
        `${file} ${key}: sum`,
      );
      assert.is(Math.min(...v), s.min);
      assert.is(Math.max(...v), s.max);
      const f = set.labels.get(key.replace(/\.npy$/, ''))!;
      assert.equal(
        Array.from(f),
        Array.from(v, (x) => Math.fround(x)),
        `${file} ${key}: float32`,
      );
    }
  }
});

test.run();
