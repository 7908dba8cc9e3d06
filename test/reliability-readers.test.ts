// The bad-input matrix of the file readers, part 1: .npy, Sultani's C3D text, HDF5 stores,
// split and .list files, pseudo-label files and pickles. Every case must end in a coded
// MistError naming the file (test/reliability-helpers.ts: no other exception, no value, no
// hang). docs/RELIABILITY.md lists the cases.
import { closeSync, ftruncateSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import {
  openFeatureStore,
  readC3dTxt,
  readFeatures,
  readNpy,
  readOfficialPseudoLabels,
  readPseudoLabels,
  readRtfmList,
  readShanghaiTechList,
  readUcfCrimeList,
  writeFeatureStore,
  writeFeatures,
  writePseudoLabels,
} from '../lib/index.js';
import { readPickledNpy } from '../lib/data/pickle.js';
import { tempDir, test } from './helpers.js';
import { npyBytes, npyHeader, pickledLabelsNpy, refuses } from './reliability-helpers.js';

const { dir, cleanup } = tempDir('mist-reliability-');
test.after(cleanup);

let n = 0;
/** A fresh file of these bytes (or text) in the temporary folder. */
function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, `${++n}-${name}`);
  writeFileSync(p, content);
  return p;
}

const f32 = (...v: number[]): number[] => [...Buffer.from(new Float32Array(v).buffer)];
const f64 = (...v: number[]): number[] => [...Buffer.from(new Float64Array(v).buffer)];
const good = (): Uint8Array => npyBytes(npyHeader('<f4', '(2, 3)'), f32(1, 2, 3, 4, 5, 6));

// ---- .npy -----------------------------------------------------------------------------------

test('npy: a valid file reads, so that the cases below fail for their one defect', async () => {
  const p = file('ok.npy', good());
  assert.equal(readNpy(p).shape, [2, 3]);
  assert.equal((await readFeatures(p)).shape, [2, 3]);
});

test('npy: magic, header and shape lies', async () => {
  const g = good();
  const magic = g.slice();
  magic[1] = 0x4f;
  let p = file('magic.npy', magic);
  await refuses('readNpy', 'bad magic string', () => readNpy(p), 'ERR_MIST_FORMAT', p);
  p = file('cut-header.npy', g.subarray(0, 40));
  await refuses('readNpy', 'file cut inside the header', () => readNpy(p), 'ERR_MIST_FORMAT', p);
  p = file('not-dict.npy', npyBytes("descr: '<f4', fortran_order: False, shape: (2, 3)", f32(1, 2, 3, 4, 5, 6)));
  await refuses('readNpy', 'header not a dict', () => readNpy(p), 'ERR_MIST_FORMAT', p);
  p = file(
    'list-header.npy',
    npyBytes("['descr', '<f4', 'fortran_order', False, 'shape', (2, 3)]", f32(1, 2, 3, 4, 5, 6)),
  );
  await refuses('readNpy', 'header a list holding the right words', () => readNpy(p), 'ERR_MIST_FORMAT', p);
  p = file(
    'extra-key.npy',
    npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}`, f32(1, 2, 3, 4, 5, 6)),
  );
  await refuses('readNpy', 'header dict with an unknown key', () => readNpy(p), 'ERR_MIST_FORMAT', p);
  p = file('bigger.npy', npyBytes(npyHeader('<f4', '(4, 3)'), f32(1, 2, 3, 4, 5, 6)));
  await refuses('readNpy', 'shape (4, 3) larger than the 6 values stored', () => readNpy(p), 'ERR_MIST_FORMAT', p);
  p = file('negative.npy', npyBytes(npyHeader('<f4', '(-2, 3)'), f32(1, 2, 3, 4, 5, 6)));
  await refuses('readNpy', 'negative dimension', () => readNpy(p), 'ERR_MIST_FORMAT', p);
  p = file('huge-dim.npy', npyBytes(npyHeader('<f4', '(18446744073709551616, 3)'), f32(1, 2, 3, 4, 5, 6)));
  await refuses('readNpy', 'dimension 2^64 (not a safe integer)', () => readNpy(p), 'ERR_MIST_FORMAT', p);
  p = file('huge-size.npy', npyBytes(npyHeader('<f4', '(1099511627776, 1048576)'), f32(1, 2, 3, 4, 5, 6)));
  await refuses('readNpy', 'shape of 2^60 values in a 90-byte file', () => readNpy(p), 'ERR_MIST_FORMAT', p);
  p = file('hex-dim.npy', npyBytes(npyHeader('<f4', '(0x2, 3)'), f32(1, 2, 3, 4, 5, 6)));
  await refuses('readNpy', 'dimension written 0x2', () => readNpy(p), 'ERR_MIST_FORMAT', p);
  // Found by the fuzzer: the header quoted in the message kept its newline (not one line).
  p = file(
    'newline.npy',
    npyBytes("{'descr'\n: '<f4', 'fortran_order': False, 'shape': (2, 3), }\u0000", f32(1, 2, 3, 4, 5, 6)),
  );
  const nl = await refuses('readNpy', 'a header holding a newline and a NUL', () => readNpy(p), 'ERR_MIST_FORMAT', p);
  assert.match(nl.message, /'descr'\\n: '<f4'/);
  p = file('fortran.npy', npyBytes(npyHeader('<f4', '(2, 3)', "'yes'"), f32(1, 2, 3, 4, 5, 6)));
  await refuses('readNpy', "fortran_order 'yes' (not True/False)", () => readNpy(p), 'ERR_MIST_FORMAT', p);
});

test('npy: element types, truncation, trailing bytes', async () => {
  let p = file('complex.npy', npyBytes(npyHeader('<c8', '(1,)'), f32(1, 2)));
  await refuses('readNpy', "unsupported dtype '<c8'", () => readNpy(p), 'ERR_MIST_DTYPE', p);
  p = file('object.npy', npyBytes(npyHeader('|O', '()'), [0x80, 0x02, 0x4e, 0x2e]));
  await refuses('readNpy', 'object array (a pickle)', () => readNpy(p), 'ERR_MIST_DTYPE', p);
  p = file('int.npy', npyBytes(npyHeader('<i4', '(2, 1)'), [1, 0, 0, 0, 2, 0, 0, 0]));
  await refuses('readFeatures', 'int32 features', () => readFeatures(p), 'ERR_MIST_DTYPE', p);
  p = file('rank1.npy', npyBytes(npyHeader('<f4', '(2,)'), f32(1, 2)));
  await refuses('readFeatures', 'rank-1 features', () => readFeatures(p), 'ERR_MIST_SHAPE', p);
  const g = good();
  p = file('cut.npy', g.subarray(0, g.length - 5));
  await refuses('readNpy', 'data cut 5 bytes short', () => readNpy(p), 'ERR_MIST_FORMAT', p);
  p = file('trailing.npy', Buffer.concat([g, Buffer.from('garbage')]));
  await refuses('readNpy', '7 bytes after the data', () => readNpy(p), 'ERR_MIST_FORMAT', p);
});

test('npy: NaN and infinities in features are reported, with the row and element; allowNonFinite accepts them', async () => {
  const nan = file('nan.npy', npyBytes(npyHeader('<f4', '(2, 3)'), f32(1, 2, 3, 4, NaN, 6)));
  const e = await refuses('readFeatures', 'NaN in a float32 payload', () => readFeatures(nan), 'ERR_MIST_FORMAT', nan);
  assert.match(e.message, /NaN at row 1, element 1/);
  const f = await readFeatures(nan, { allowNonFinite: true });
  assert.ok(Number.isNaN(f.data[4]));
  const inf = file('inf.npy', npyBytes(npyHeader('<f8', '(1, 2)'), f64(-Infinity, 1)));
  const i = await refuses(
    'readFeatures',
    '-Infinity in a float64 payload',
    () => readFeatures(inf),
    'ERR_MIST_FORMAT',
    inf,
  );
  assert.match(i.message, /-Infinity at row 0, element 0/);
  const big = file('overflow.npy', npyBytes(npyHeader('<f8', '(1, 2)'), f64(1, 1e39)));
  const o = await refuses(
    'readFeatures',
    'float64 1e39 (beyond float32)',
    () => readFeatures(big),
    'ERR_MIST_FORMAT',
    big,
  );
  assert.match(o.message, /1e\+39 overflows float32/);
  const crops = file('crops.npy', npyBytes(npyHeader('<f4', '(1, 2, 2)'), f32(0, 0, 0, Infinity)));
  const c = await refuses(
    'readFeatures',
    'Infinity in [T, crops, D]',
    () => readFeatures(crops),
    'ERR_MIST_FORMAT',
    crops,
  );
  assert.match(c.message, /row 0, crop 1, element 1/);
});

test('npy: a file too large to read whole is refused up front with its size (ERR_MIST_MEMORY)', async () => {
  const p = join(dir, 'sparse-3GiB.npy');
  writeFileSync(p, good());
  const fd = openSync(p, 'r+');
  ftruncateSync(fd, 3 * 2 ** 30); // sparse: takes no disk space
  closeSync(fd);
  const e = await refuses('readNpy', 'a 3 GiB file', () => readNpy(p), 'ERR_MIST_MEMORY', p);
  assert.match(e.message, /3\.0 GiB/);
});

// ---- Sultani's C3D text ---------------------------------------------------------------------

test('C3D .txt: columns, numbers, empty, non-finite', async () => {
  const cases: [string, string, RegExp][] = [
    ['rows of 3 and 2 values', '1 2 3\n4 5\n', /:2: 2 values, the first row has 3/],
    ['a word among the numbers', '1 2 3\n4 five 6\n', /:2: not a number: "five"/],
    ['empty file', '', /no feature rows/],
    ['only blank lines', '\n  \n\n', /no feature rows/],
    ['nan', '1 2 3\n4 nan 6\n', /:2: non-finite value nan at column 2/],
    ['NaN', 'NaN 2 3\n', /:1: non-finite value NaN at column 1/],
    ['1e400 (beyond float64)', '1 1e400 3\n', /:1: non-finite value 1e400 at column 2/],
    ['1e39 (beyond float32)', '1 1e39 3\n', /:1: 1e39 overflows float32 at column 2/],
    ['-inf', '-inf 1 2\n', /non-finite value -inf/],
    ['hexadecimal 0x10', '0x10 1 2\n', /not a number: "0x10"/],
    ['a leading comma (an empty field)', ',1,2\n', /not a number: ""/],
  ];
  for (const [input, text, message] of cases) {
    const p = file('c3d.txt', text);
    const e = await refuses('readC3dTxt', input, () => readC3dTxt(p), 'ERR_MIST_FORMAT', p);
    assert.match(e.message, message, input);
  }
  const p = file('nan-ok.txt', '1 nan\n-inf 2\n');
  const ok = readC3dTxt(p, { allowNonFinite: true });
  assert.ok(Number.isNaN(ok.data[1]) && ok.data[2] === -Infinity);
  assert.equal((await readFeatures(p, { allowNonFinite: true })).shape, [2, 2]);
});

// ---- HDF5 feature stores --------------------------------------------------------------------

test('HDF5: not HDF5, truncated, dataset missing, wrong rank, integers, NaN, a huge declared shape', async () => {
  const store = join(dir, 'store.h5');
  await writeFeatureStore(store, [
    { name: 'a', features: { data: Float32Array.from({ length: 64 }, (_, i) => i), shape: [16, 4] } },
    { name: 'b', features: { data: new Float32Array(4000), shape: [1000, 4] } },
  ]);
  const s = await openFeatureStore(store);
  assert.equal(s.read('a').shape, [16, 4]);
  s.close();
  let p = file('text.h5', 'this is not an HDF5 file at all, just text\n'.repeat(20));
  await refuses('openFeatureStore', 'a text file', () => openFeatureStore(p), 'ERR_MIST_FORMAT', p);
  const bytes = readFileSync(store);
  p = file('cut.h5', bytes.subarray(0, Math.floor(bytes.length / 2)));
  const cut = await refuses(
    'openFeatureStore',
    'cut to half its size',
    () => openFeatureStore(p),
    'ERR_MIST_FORMAT',
    p,
  );
  assert.match(cut.message, /truncated file/); // HDF5's own check, in the message
  p = file('cut-sig.h5', bytes.subarray(0, 8));
  await refuses('openFeatureStore', 'only the 8-byte signature', () => openFeatureStore(p), 'ERR_MIST_FORMAT', p);
  const open = await openFeatureStore(store);
  try {
    await refuses('FeatureStore.read', 'a video the store lacks', () => open.read('nope'), 'ERR_MIST_ARG', store);
  } finally {
    open.close();
  }
  await refuses('readFeatures', 'HDF5 without options.key', () => readFeatures(store), 'ERR_MIST_ARG', store);
  // Wrong rank, integers, NaN, and a chunked dataset resized to 2^34 rows (a 180 KB file).
  const h5wasm = (await import('h5wasm/node')).default;
  await h5wasm.ready;
  const odd = join(dir, 'odd.h5');
  const f = new h5wasm.File(odd, 'w');
  f.create_dataset({ name: 'rank1.npy', data: new Float32Array(8), shape: [8], dtype: '<f' });
  f.create_dataset({ name: 'ints.npy', data: new Int32Array(8), shape: [2, 4], dtype: '<i' });
  f.create_dataset({ name: 'nan.npy', data: Float32Array.from([0, 1, NaN, 3]), shape: [2, 2], dtype: '<f' });
  const huge = f.create_dataset({
    name: 'huge.npy',
    data: new Float32Array(4),
    shape: [1, 4],
    maxshape: [null, 4],
    chunks: [1, 4],
    dtype: '<f',
  });
  huge.resize([2 ** 34, 4]);
  f.close();
  const o = await openFeatureStore(odd);
  try {
    await refuses('FeatureStore.read', 'a rank-1 dataset', () => o.read('rank1'), 'ERR_MIST_SHAPE', odd);
    await refuses('FeatureStore.read', 'an int32 dataset', () => o.read('ints'), 'ERR_MIST_DTYPE', odd);
    const e = await refuses('FeatureStore.read', 'NaN in a dataset', () => o.read('nan'), 'ERR_MIST_FORMAT', odd);
    assert.match(e.message, /nan\.npy: non-finite value NaN at row 1, element 0/);
    assert.ok(Number.isNaN(o.read('nan', { allowNonFinite: true }).data[2]));
    const m = await refuses(
      'FeatureStore.read',
      'a declared shape of 2^34 x 4 (256 GiB)',
      () => o.read('huge'),
      'ERR_MIST_MEMORY',
      odd,
    );
    assert.match(m.message, /256\.0 GiB/);
  } finally {
    o.close();
  }
  await refuses(
    'readFeatures',
    'NaN in an HDF5 dataset',
    () => readFeatures(odd, { key: 'nan' }),
    'ERR_MIST_FORMAT',
    odd,
  );
});

// ---- Split and list files -------------------------------------------------------------------

test('lists: UCF-Crime, ShanghaiTech and RTFM lists with bad lines', async () => {
  let p = file('Anomaly_Train.txt', 'Abuse/Abuse001_x264.mp4\nnot-a-path\n');
  const u = await refuses('readUcfCrimeList', 'a line without Class/', () => readUcfCrimeList(p), 'ERR_MIST_FORMAT', p);
  assert.match(u.message, /:2: /);
  p = file('Anomaly_Test.txt', 'Abuse/.mp4\n');
  await refuses('readUcfCrimeList', 'a line with no video name', () => readUcfCrimeList(p), 'ERR_MIST_FORMAT', p);
  p = file('SH_Train_new.txt', '01_0014,1\n01_0015,2\n');
  await refuses('readShanghaiTechList', 'label 2', () => readShanghaiTechList(p), 'ERR_MIST_FORMAT', p);
  p = file('SH_Test_NEW.txt', '01_0014,1,120\n01_0015,0,12x\n');
  await refuses('readShanghaiTechList', 'frame count 12x', () => readShanghaiTechList(p), 'ERR_MIST_FORMAT', p);
  p = file('SH_Test_NEW.txt', '01_0014,1,\n');
  await refuses('readShanghaiTechList', 'an empty frame count', () => readShanghaiTechList(p), 'ERR_MIST_FORMAT', p);
  p = file('SH_Test_NEW.txt', '01_0014,1,1e3\n');
  await refuses('readShanghaiTechList', 'frame count 1e3', () => readShanghaiTechList(p), 'ERR_MIST_FORMAT', p);
  p = file('SH_Train.txt', '01_0014\n01_0015,1\n');
  await refuses(
    'readShanghaiTechList',
    'lines of different forms',
    () => readShanghaiTechList(p),
    'ERR_MIST_FORMAT',
    p,
  );
  p = file('SH_Train.txt', ',1\n');
  await refuses('readShanghaiTechList', 'no video name', () => readShanghaiTechList(p), 'ERR_MIST_FORMAT', p);
  p = file('binary.list', Uint8Array.from([0x2f, 0x61, 0xff, 0xfe, 0x0a, 0x00, 0x01]));
  await refuses('readRtfmList', 'bytes that are not UTF-8', () => readRtfmList(p), 'ERR_MIST_FORMAT', p);
  p = file('nul.list', '/data/a.npy\n/data/b\u0000c.npy\n');
  const z = await refuses('readRtfmList', 'a NUL byte inside a line', () => readRtfmList(p), 'ERR_MIST_FORMAT', p);
  assert.match(z.message, /:2: /);
  p = file('empty-name.list', '/data/features/\n');
  await refuses('readRtfmList', 'a path that names no file', () => readRtfmList(p), 'ERR_MIST_FORMAT', p);
  p = join(dir, 'absent.list');
  await refuses('readRtfmList', 'a missing file', () => readRtfmList(p), 'ERR_MIST_IO', p);
});

// ---- Pseudo-label files ---------------------------------------------------------------------

test('pseudo labels: NaN, values outside [0, 1], wrong format tag, and the official .npy', async () => {
  const ok = join(dir, 'pl.json');
  await writePseudoLabels(ok, new Map([['v', [0, 0.5, 1]]]), { dataset: 'x', featureKind: 'i3d' });
  const text = readFileSync(ok, 'utf8');
  assert.equal([...(await readPseudoLabels(ok)).labels.get('v')!], [0, 0.5, 1]);
  const cases: [string, string, RegExp][] = [
    ['NaN (not JSON)', text.replace('[0,0.5,1]', '[0,NaN,1]'), /not JSON/],
    ['a label of 1.5', text.replace('[0,0.5,1]', '[0,1.5,1]'), /videos\.v\.1: must hold values in \[0, 1\]/],
    ['a label of -0.1', text.replace('[0,0.5,1]', '[-0.1,0.5,1]'), /videos\.v\.0: must hold values in \[0, 1\]/],
    ['a label of 1e400 (Infinity)', text.replace('[0,0.5,1]', '[0,1e400,1]'), /videos\.v\.1: must hold numbers only/],
    ['a label that is a string', text.replace('[0,0.5,1]', '[0,"0.5",1]'), /videos\.v\.1: must hold numbers only/],
    [
      'format tag of another program',
      text.replace('mist-vad-pseudo-labels', 'other-labels'),
      /format: must be "mist-vad-pseudo-labels"/,
    ],
    ['version 2', text.replace('"version":1', '"version":2'), /version: must be 1/],
    ['cut in the middle', text.slice(0, Math.floor(text.length / 2)), /not JSON/],
  ];
  for (const [input, t, message] of cases) {
    const p = file('pl.json', t);
    const e = await refuses('readPseudoLabels', input, () => readPseudoLabels(p), 'ERR_MIST_FORMAT', p);
    assert.match(e.message, message, input);
  }
  const official = file('SHT_I3D_PLs.npy', pickledLabelsNpy(new Map([['01_0014.npy', [0, 0.5, 1]]])));
  assert.equal([...(await readOfficialPseudoLabels(official)).labels.get('01_0014')!], [0, 0.5, 1]);
  let p = file('SHT_I3D_PLs.npy', pickledLabelsNpy(new Map([['01_0014.npy', [0, 2, 1]]])));
  const r = await refuses(
    'readOfficialPseudoLabels',
    'a label of 2',
    () => readOfficialPseudoLabels(p),
    'ERR_MIST_FORMAT',
    p,
  );
  assert.match(r.message, /01_0014\.npy: label 1 is 2, not a number in \[0, 1\]/);
  p = file('SHT_I3D_PLs.npy', pickledLabelsNpy(new Map([['01_0014.npy', [0, NaN]]])));
  await refuses('readOfficialPseudoLabels', 'a NaN label', () => readOfficialPseudoLabels(p), 'ERR_MIST_FORMAT', p);
  p = file('SHT_I3D_PLs.npy', good());
  await refuses(
    'readOfficialPseudoLabels',
    'a float array, no pickle',
    () => readOfficialPseudoLabels(p),
    'ERR_MIST_FORMAT',
    p,
  );
});

// ---- Pickles --------------------------------------------------------------------------------

test('pickle: truncated, foreign globals, bad UTF-8, a huge APPENDS, trailing bytes', async () => {
  const valid = pickledLabelsNpy(new Map([['a', [0.5]]]));
  const wrap = (pickle: number[] | Uint8Array): Uint8Array => npyBytes(npyHeader('|O', '()'), pickle);
  const bytes = (s: string): number[] => [...Buffer.from(s, 'latin1')];
  let p = file('cut.npy', valid.subarray(0, valid.length - 20));
  await refuses('readPickledNpy', 'cut 20 bytes short', () => readPickledNpy(p), 'ERR_MIST_FORMAT', p);
  p = file('system.npy', wrap(bytes('\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.')));
  await refuses('readPickledNpy', 'GLOBAL os.system', () => readPickledNpy(p), 'ERR_MIST_FORMAT', p);
  // Found by the fuzzer: a global's name with a newline went into the message as it was.
  p = file('global-nl.npy', wrap(bytes('\x80\x02X\x01\x00\x00\x00\nX\x01\x00\x00\x00a\x93.')));
  await refuses('readPickledNpy', 'a global named "\\n.a"', () => readPickledNpy(p), 'ERR_MIST_FORMAT', p);
  p = file('utf8.npy', wrap(bytes('\x80\x02X\x02\x00\x00\x00\xff\xfe.')));
  const u = await refuses('readPickledNpy', 'text that is not UTF-8', () => readPickledNpy(p), 'ERR_MIST_FORMAT', p);
  assert.match(u.message, /not UTF-8/);
  // 300 000 items appended at once: a spread into push() overflowed the call stack.
  const many = [0x80, 0x02, 0x5d, 0x28, ...new Array<number>(300_000).fill(0x4e), 0x65, 0x2e];
  p = file('appends.npy', wrap(many));
  await refuses('readPickledNpy', '300 000 items in one APPENDS', () => readPickledNpy(p), 'ERR_MIST_FORMAT', p);
  p = file('trailing.npy', Buffer.concat([valid, Buffer.from('xyz')]));
  const t = await refuses('readPickledNpy', '3 bytes after STOP', () => readPickledNpy(p), 'ERR_MIST_FORMAT', p);
  assert.match(t.message, /3 bytes after the pickle's STOP/);
  p = file('empty.npy', wrap([]));
  await refuses('readPickledNpy', 'an empty pickle', () => readPickledNpy(p), 'ERR_MIST_FORMAT', p);
});

test('features sidecar: a sidecar that disagrees with the .npy', async () => {
  const p = join(dir, 'side.npy');
  writeFeatures(p, { data: new Float32Array(6), shape: [2, 3] });
  const side = p.replace(/\.npy$/, '.json');
  writeFileSync(side, readFileSync(side, 'utf8').replace('"shape": [\n    2,', '"shape": [\n    3,'));
  await refuses('readFeatures', 'sidecar shape differs from the .npy', () => readFeatures(p), 'ERR_MIST_SHAPE', side);
  writeFileSync(side, '{"format": "mist-vad.features", "version": 1, ');
  await refuses('readFeatures', 'sidecar cut short (not JSON)', () => readFeatures(p), 'ERR_MIST_FORMAT', side);
});

test.run();
