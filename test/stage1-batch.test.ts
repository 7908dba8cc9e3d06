import * as assert from 'uvu/assert';
import { createRng } from '../lib/rng.js';
import { buildBatch, createBatchSampler, sparseContinuousSample, type VideoFeatures } from '../lib/index.js';
import { expectCode, test } from './helpers.js';

// Feature value that says where it came from: video v, clip c, crop k, dimension d.
const code = (v: number, c: number, k: number, d: number) => 10000 * v + 100 * c + 10 * k + d;

function video(v: number, n: number, dim: number, crops = 0): VideoFeatures {
  const k = Math.max(crops, 1);
  const data = new Float32Array(n * k * dim);
  for (let c = 0; c < n; c++)
    for (let j = 0; j < k; j++) for (let d = 0; d < dim; d++) data[(c * k + j) * dim + d] = code(v, c, j, d);
  return { name: `v${v}`, features: { data, shape: crops ? [n, crops, dim] : [n, dim] } };
}

test('layout: [normal rows, anomalous rows] x [L*T sampled clips] x D, row-major', () => {
  const D = 3;
  const normal = [video(1, 40, D), video(2, 9, D)];
  const anomalous = [video(3, 25, D), video(4, 3, D), video(5, 100, D)];
  const opts = { L: 4, T: 3 };
  const batch = buildBatch(normal, anomalous, opts, createRng(11));
  assert.is(batch.normal, 2);
  assert.is(batch.anomalous, 3);
  assert.is(batch.clips, 12);
  assert.is(batch.dim, D);
  assert.equal(batch.names, ['v1', 'v2', 'v3', 'v4', 'v5']);
  assert.is(batch.features.length, 5 * 12 * D);
  // buildBatch draws one shift per video, normal first: replay the same draws.
  const rng = createRng(11);
  [...normal, ...anomalous].forEach((vid, row) => {
    const v = Number(vid.name.slice(1));
    const idx = sparseContinuousSample(vid.features.shape[0]!, opts, rng);
    for (let j = 0; j < 12; j++) {
      for (let d = 0; d < D; d++) {
        assert.is(batch.features[(row * 12 + j) * D + d], code(v, idx[j]!, 0, d), `row ${row} clip ${j} dim ${d}`);
      }
    }
  });
});

test('10-crop features: mean over crops by default, or crop k', () => {
  const D = 2;
  const n = [video(1, 10, D, 10)];
  const a = [video(2, 10, D, 10)];
  const mean = buildBatch(n, a, { L: 2, T: 2 }, createRng(0));
  const crop3 = buildBatch(n, a, { L: 2, T: 2, crop: 3 }, createRng(0));
  for (let row = 0; row < 2; row++) {
    for (let j = 0; j < 4; j++) {
      for (let d = 0; d < D; d++) {
        const i = (row * 4 + j) * D + d;
        // Same clips (same seed): the mean of 10k + ... over k = 0..9 adds 45, crop 3 adds 30.
        assert.is(mean.features[i]! - crop3.features[i]!, 15);
        assert.is((crop3.features[i]! - d - 30) % 100, 0);
      }
    }
  }
  assert.is(mean.dim, D);
  assert.throws(
    () => buildBatch(n, a, { L: 2, T: 2, crop: 10 }, createRng(0)),
    /crop 10 requested but the features have 10 crop/,
  );
});

test('l2Normalize: every sampled clip vector has unit length; the direction is kept', () => {
  const n = [video(1, 20, 5)];
  const a = [video(2, 20, 5)];
  const raw = buildBatch(n, a, { L: 3, T: 2 }, createRng(4));
  const unit = buildBatch(n, a, { L: 3, T: 2, l2Normalize: true }, createRng(4));
  for (let r = 0; r < raw.features.length / 5; r++) {
    const x = raw.features.subarray(r * 5, r * 5 + 5);
    const u = unit.features.subarray(r * 5, r * 5 + 5);
    const norm = Math.hypot(...x);
    assert.ok(Math.abs(Math.hypot(...u) - 1) < 1e-6);
    for (let d = 0; d < 5; d++) assert.ok(Math.abs(u[d]! - x[d]! / norm) < 1e-6);
  }
  // A zero vector stays zero instead of becoming NaN.
  const zero: VideoFeatures = { name: 'z', features: { data: new Float32Array(10), shape: [2, 5] } };
  const z = buildBatch([zero], [zero], { L: 1, T: 1, l2Normalize: true }, createRng(0));
  assert.ok(z.features.every((v) => v === 0));
});

test('sampler: each class is shuffled and cycled like an epoch loader', () => {
  const normal = Array.from({ length: 5 }, (_, i) => video(i, 8, 2));
  const anomalous = Array.from({ length: 3 }, (_, i) => video(10 + i, 8, 2));
  const sampler = createBatchSampler(normal, anomalous, { batchSize: 2, L: 2, T: 2 }, createRng(1));
  const nSeen: string[] = [];
  const aSeen: string[] = [];
  for (let step = 0; step < 5; step++) {
    const b = sampler.next();
    assert.is(b.normal, 2);
    assert.is(b.anomalous, 2);
    nSeen.push(...b.names.slice(0, 2));
    aSeen.push(...b.names.slice(2));
  }
  // 10 normal picks = 2 epochs of 5: each half is a permutation of all normal videos.
  const names = (vs: VideoFeatures[]) => vs.map((v) => v.name).sort();
  assert.equal(nSeen.slice(0, 5).sort(), names(normal));
  assert.equal(nSeen.slice(5, 10).sort(), names(normal));
  // 10 anomalous picks: epochs of 3.
  for (let e = 0; e < 3; e++) assert.equal(aSeen.slice(3 * e, 3 * e + 3).sort(), names(anomalous));
  assert.equal(sampler.epochs, { normal: 1, anomalous: 3 });
  // Not the input order every epoch (the shuffle does something).
  const again = createBatchSampler(normal, anomalous, { batchSize: 5, L: 1, T: 1 }, createRng(1));
  const orders = new Set(Array.from({ length: 6 }, () => again.next().names.slice(0, 5).join()));
  assert.ok(orders.size > 1);
});

test('reuseBuffers: two alternating buffers, same contents as fresh ones', () => {
  const normal = Array.from({ length: 4 }, (_, i) => video(i, 12, 3));
  const anomalous = Array.from({ length: 4 }, (_, i) => video(10 + i, 12, 3));
  const opts = { batchSize: 2, L: 3, T: 2 };
  const fresh = createBatchSampler(normal, anomalous, opts, createRng(2));
  const reused = createBatchSampler(normal, anomalous, { ...opts, reuseBuffers: true }, createRng(2));
  const got = Array.from({ length: 3 }, () => {
    const f = fresh.next();
    const r = reused.next();
    assert.equal(Array.from(r.features), Array.from(f.features));
    assert.equal(r.names, f.names);
    return r.features;
  });
  assert.is(got[0], got[2]);
  assert.is.not(got[0], got[1]);
  // Without reuseBuffers (the default) every batch has its own memory: a batch stays as it
  // was while later ones are built.
  const plain = createBatchSampler(normal, anomalous, opts, createRng(2));
  const first = plain.next();
  const copy = Array.from(first.features);
  const later = [plain.next(), plain.next()];
  assert.ok(later.every((b) => b.features !== first.features));
  assert.equal(Array.from(first.features), copy);
  const out = new Float32Array(5);
  assert.throws(() => buildBatch(normal, anomalous, { L: 1, T: 1 }, createRng(0), out), /output buffer has 5 values/);
});

test('bad input: codes and one message per bad field', async () => {
  const good = [video(1, 5, 3)];
  const wide = [video(2, 5, 4)];
  await expectCode(() => buildBatch([], good, { L: 1, T: 1 }, createRng(0)), 'ERR_MIST_ARG');
  await expectCode(() => buildBatch(good, wide, { L: 1, T: 1 }, createRng(0)), 'ERR_MIST_SHAPE');
  const bad: VideoFeatures = { name: 'bad', features: { data: new Float32Array(7), shape: [2, 4] } };
  const e = await expectCode(() => buildBatch(good, [bad], { L: 1, T: 1 }, createRng(0)), 'ERR_MIST_SHAPE');
  assert.match(e.message, /bad: data has 7 values but shape \[2, 4\] needs 8/);
  await expectCode(
    () =>
      buildBatch(
        good,
        [{ name: 'r1', features: { data: new Float32Array(3), shape: [3] } }],
        { L: 1, T: 1 },
        createRng(0),
      ),
    'ERR_MIST_SHAPE',
  );
  const o = await expectCode(
    () => createBatchSampler(good, good, { batchSize: 0, L: 1.5, T: 1, extra: 1 } as never, createRng(0)),
    'ERR_MIST_ARG',
  );
  assert.match(o.message, /L: must be a positive integer/);
  assert.match(o.message, /batchSize: must be a positive integer/);
  assert.match(o.message, /extra: unknown option/);
  await expectCode(() => createBatchSampler(good, wide, { batchSize: 1, L: 1, T: 1 }, createRng(0)), 'ERR_MIST_SHAPE');
});

test('each bad input is named with what was expected, in both entry points', async () => {
  const good = [video(1, 5, 3)];
  const wide = [video(2, 5, 4)];
  const sampler = (n: VideoFeatures[], a: VideoFeatures[], o: Record<string, unknown>) =>
    createBatchSampler(n, a, { batchSize: 1, L: 1, T: 1, ...o } as never, createRng(0));
  const batch = (n: VideoFeatures[], a: VideoFeatures[], o: Record<string, unknown>) =>
    buildBatch(n, a, { L: 1, T: 1, ...o } as never, createRng(0));
  const empty = /^a batch needs at least one normal and one anomalous video$/;
  const cases: [() => unknown, string, RegExp][] = [
    [() => batch([], good, {}), 'ERR_MIST_ARG', empty],
    [() => batch(good, [], {}), 'ERR_MIST_ARG', empty],
    [() => sampler([], good, {}), 'ERR_MIST_ARG', empty],
    [() => sampler(good, [], {}), 'ERR_MIST_ARG', empty],
    [() => batch(good, wide, {}), 'ERR_MIST_SHAPE', /^v2: feature length 4 differs from v1's 3$/],
    [() => sampler(good, wide, {}), 'ERR_MIST_SHAPE', /^v2: feature length 4 differs from v1's 3$/],
    [
      () => batch(good, good, { L: 'x' }),
      'ERR_MIST_ARG',
      /^invalid batch options: L: must be a positive integer \(sub-bags per video\) \(got "x"\)$/,
    ],
    [
      () => batch(good, good, { T: 0 }),
      'ERR_MIST_ARG',
      /^invalid batch options: T: must be a positive integer \(clips per sub-bag\) \(got 0\)$/,
    ],
    [
      () => batch(good, good, { l2Normalize: 'yes' }),
      'ERR_MIST_ARG',
      /^invalid batch options: l2Normalize: must be true or false \(got "yes"\)$/,
    ],
    [
      () => sampler(good, good, { batchSize: 'all' }),
      'ERR_MIST_ARG',
      /^invalid batch options: batchSize: must be a positive integer \(videos of each class per step\) \(got "all"\)$/,
    ],
    [
      () => sampler(good, good, { reuseBuffers: 1 }),
      'ERR_MIST_ARG',
      /^invalid batch options: reuseBuffers: must be true or false \(got 1\)$/,
    ],
  ];
  for (const [fn, code, re] of cases) {
    const e = await expectCode(fn, code);
    assert.match(e.message, re);
  }
});

test.run();
