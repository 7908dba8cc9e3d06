// Clip pre-processing (lib/models/preprocess.ts over native/preprocess.cc): resizes against
// PyTorch's bilinear interpolation (test/reference/make_preprocess_reference.py), every other
// step against values computed by hand, the random choices for a seed and their frequencies,
// and the error codes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { native, type NativeClipSpec } from '../lib/native.js';
import {
  clipTransform,
  multiScaleCropBoxes,
  preprocessClips,
  type ClipSpec,
  type ClipSpecInput,
} from '../lib/models/preprocess.js';
import { createRng } from '../lib/rng.js';
import { ROOT, expectCode, test } from './helpers.js';

/** The pixel formula of make_preprocess_reference.py. */
const pixel = (t: number, i: number, j: number, c: number): number =>
  (3 * i * i + 7 * j + 50 * c + 13 * t + 5 * i * j) % 256;

/** uint8 [T, H, W, 3] with value(t, i, j, c). */
function frames(T: number, H: number, W: number, value = pixel): Uint8Array {
  const out = new Uint8Array(T * H * W * 3);
  for (let t = 0; t < T; t++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) for (let c = 0; c < 3; c++) out[((t * H + i) * W + j) * 3 + c] = value(t, i, j, c);
  return out;
}

/** Element (c, t, i, j) of a [3, T, h, w] output. */
const at = (d: Float32Array, T: number, h: number, w: number, c: number, t: number, i: number, j: number): number =>
  d[((c * T + t) * h + i) * w + j]!;

const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

interface ReferenceCase {
  name: string;
  frames: [number, number, number];
  spec: NativeClipSpec;
  shape: number[];
  values: number[];
}
const reference = JSON.parse(readFileSync(join(ROOT, 'test/reference/preprocess/reference.json'), 'utf8')) as {
  cases: ReferenceCase[];
};

test('resize, crop, flip, grayscale and normalisation equal PyTorch step by step (6 cases)', async () => {
  assert.is(reference.cases.length, 6);
  let worst = 0;
  for (const c of reference.cases) {
    const [T, H, W] = c.frames;
    const r = await preprocessClips(frames(T, H, W), [T, H, W, 3], c.spec);
    assert.equal(r.shape, c.shape, c.name);
    assert.is(r.data.length, c.values.length, c.name);
    // With quantize, a sum that lands within a rounding error of .5 may round either way on
    // another LibTorch build (its kernels sum in another order): one quantum, at 1 % of values.
    let offByOne = 0;
    for (let k = 0; k < c.values.length; k++) {
      const d = Math.abs(r.data[k]! - c.values[k]!);
      if (c.spec.quantize && d > 1e-4 && Math.abs(d - 1 / c.spec.scale) <= 1e-4) {
        offByOne++;
        continue;
      }
      worst = Math.max(worst, d);
      assert.ok(d <= 1e-4, `${c.name} [${k}]: ${r.data[k]} vs ${c.values[k]}`);
    }
    assert.ok(offByOne <= c.values.length / 100, `${c.name}: ${offByOne} values one quantum off`);
  }
  // The reference holds float32 values to 9 digits: the same kernels agree to the last bit.
  assert.ok(worst <= 1e-4, `max abs difference ${worst}`);
});

test('quantize rounds the resized image to integers; off, the same resize stays fractional', async () => {
  const [float, quantized] = [reference.cases[0]!, reference.cases[2]!];
  const r = await preprocessClips(frames(1, 5, 6), [1, 5, 6, 3], quantized.spec);
  assert.ok(r.data.every((v) => Number.isInteger(v) && v >= 0 && v <= 255));
  assert.ok(
    float.values.some((v) => !Number.isInteger(v)),
    'the float case has fractional values',
  );
  // Rounding moves no value by more than one half.
  for (let k = 0; k < r.data.length; k++) assert.ok(Math.abs(r.data[k]! - float.values[k]!) <= 0.5 + 1e-4);
});

test('a batch equals its clips one by one, each clip by its own spec', async () => {
  const c = reference.cases[3]!;
  const [T, H, W] = c.frames;
  const one = frames(T, H, W);
  const specs: ClipSpecInput[] = [
    c.spec,
    { ...c.spec, flip: false, crop: { y: 0, x: 0, h: 14, w: 14 } },
    { ...c.spec, order: 'bgr', grayscale: true, crop: { y: 3, x: 7, h: 11, w: 11 } },
  ];
  const batch = new Uint8Array(3 * one.length);
  for (let i = 0; i < 3; i++) batch.set(one, i * one.length);
  const r = await preprocessClips(batch, [3, T, H, W, 3], specs);
  assert.equal(r.shape, [3, 3, T, 6, 6]);
  const per = 3 * T * 36;
  for (let i = 0; i < 3; i++) {
    const alone = await preprocessClips(one, [T, H, W, 3], specs[i]!);
    assert.equal(Array.from(r.data.subarray(i * per, (i + 1) * per)), Array.from(alone.data), `clip ${i}`);
  }
  assert.equal(Array.from(r.data.subarray(0, per)), c.values.map(Math.fround), 'clip 0 is the reference case');
});

test('multi-scale crop boxes: scales 1 and 0.8 of the short side at the 4 corners and the centre (by hand)', () => {
  const o = { scales: [1, 0.8], maxDistort: 0, moreFixCrop: false };
  const box = (ys: number[], xs: number[]) => ys.map((y, k) => ({ y, x: xs[k]! }));
  // I3D 256 x 340 -> 224: sides 256 and floor(204.8) = 204; steps (340 - 256) // 4 = 21, (256 - 256) // 4 = 0;
  // (340 - 204) // 4 = 34, (256 - 204) // 4 = 13.
  assert.equal(multiScaleCropBoxes([256, 340], [224, 224], o), [
    { h: 256, w: 256, offsets: box([0, 0, 0, 0, 0], [0, 84, 0, 84, 42]) },
    { h: 204, w: 204, offsets: box([0, 0, 52, 52, 26], [0, 136, 0, 136, 68]) },
  ]);
  // C3D 128 x 171 -> 112: sides 128 and floor(102.4) = 102; steps 10, 0; 17, 6.
  assert.equal(multiScaleCropBoxes([128, 171], [112, 112], o), [
    { h: 128, w: 128, offsets: box([0, 0, 0, 0, 0], [0, 40, 0, 40, 20]) },
    { h: 102, w: 102, offsets: box([0, 0, 24, 24, 12], [0, 68, 0, 68, 34]) },
  ]);
  // A side within 3 pixels of the output snaps to it (TSN): 113 * 0.8 = 90.4 -> 90; 113 -> 112.
  assert.equal(
    multiScaleCropBoxes([113, 150], [112, 112], o).map((p) => p.h),
    [112, 90],
  );
  // maxDistort 1 adds the two non-square pairs; moreFixCrop gives 13 offsets.
  const wide = multiScaleCropBoxes([256, 340], [224, 224], { ...o, maxDistort: 1, moreFixCrop: true });
  assert.equal(
    wide.map((p) => [p.h, p.w]),
    [
      [256, 256],
      [256, 204],
      [204, 256],
      [204, 204],
    ],
  );
  assert.ok(wide.every((p) => p.offsets.length === 13));
});

/** The 10 boxes of the 32 x 32 configuration (resize 37 x 49), by hand: sides 37 and floor(29.6) = 29. */
const SMALL_BOXES = [
  // side 37: steps (49 - 37) // 4 = 3, 0
  { y: 0, x: 0, h: 37, w: 37 },
  { y: 0, x: 12, h: 37, w: 37 },
  { y: 0, x: 0, h: 37, w: 37 },
  { y: 0, x: 12, h: 37, w: 37 },
  { y: 0, x: 6, h: 37, w: 37 },
  // side 29 (|29 - 32| = 3: no snap): steps (49 - 29) // 4 = 5, (37 - 29) // 4 = 2
  { y: 0, x: 0, h: 29, w: 29 },
  { y: 0, x: 20, h: 29, w: 29 },
  { y: 8, x: 0, h: 29, w: 29 },
  { y: 8, x: 20, h: 29, w: 29 },
  { y: 4, x: 10, h: 29, w: 29 },
];

test('the crop takes the pixels of each of the 5 offsets at both scales', async () => {
  const drawn = multiScaleCropBoxes([37, 49], [32, 32], { scales: [1, 0.8], maxDistort: 0, moreFixCrop: false });
  assert.equal(
    drawn.flatMap((p) => p.offsets.map((o) => ({ ...o, h: p.h, w: p.w }))),
    SMALL_BOXES,
  );
  // R = row, G = column, B = 10 t: each output pixel names the source pixel it came from.
  const src = frames(2, 37, 49, (t, i, j, c) => [i, j, 10 * t][c]!);
  for (const crop of SMALL_BOXES) {
    // The frame already has the resize size and the output the crop size: no interpolation.
    const r = await preprocessClips(src, [2, 37, 49, 3], { resize: [37, 49], crop });
    assert.equal(r.shape, [3, 2, crop.h, crop.w]);
    for (const [a, b] of [
      [0, 0],
      [0, crop.w - 1],
      [crop.h - 1, 0],
      [crop.h - 1, crop.w - 1],
      [5, 7],
    ] as const) {
      assert.is(at(r.data, 2, crop.h, crop.w, 0, 1, a, b), crop.y + a, `row of ${JSON.stringify(crop)}`);
      assert.is(at(r.data, 2, crop.h, crop.w, 1, 1, a, b), crop.x + b, `column of ${JSON.stringify(crop)}`);
      assert.is(at(r.data, 2, crop.h, crop.w, 2, 1, a, b), 10);
    }
  }
});

test('flip mirrors every row: output (i, j) is input (i, W - 1 - j)', async () => {
  const r = await preprocessClips(frames(2, 3, 5), [2, 3, 5, 3], { resize: [3, 5], flip: true });
  for (let c = 0; c < 3; c++)
    for (let t = 0; t < 2; t++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 5; j++) assert.is(at(r.data, 2, 3, 5, c, t, i, j), pixel(t, i, 4 - j, c));
});

test('grayscale: 0.299 R + 0.587 G + 0.114 B on all three channels, rounded with quantize (by hand)', async () => {
  // (200, 100, 50): 59.8 + 58.7 + 5.7 = 124.2; (10, 20, 30): 2.99 + 11.74 + 3.42 = 18.15.
  const src = frames(1, 1, 2, (_t, _i, j, c) => (j === 0 ? [200, 100, 50] : [10, 20, 30])[c]!);
  for (const [quantize, want] of [
    [true, [124, 18]],
    [false, [124.2, 18.15]],
  ] as const) {
    for (const order of ['rgb', 'bgr'] as const) {
      const r = await preprocessClips(src, [1, 1, 2, 3], { resize: [1, 2], grayscale: true, quantize, order });
      for (let c = 0; c < 3; c++) {
        close(at(r.data, 1, 1, 2, c, 0, 0, 0), want[0], 1e-4, `${order} channel ${c}`);
        close(at(r.data, 1, 1, 2, c, 0, 0, 1), want[1], 1e-4, `${order} channel ${c}`);
      }
    }
  }
  // C3D subtracts its B, G, R mean from the luma: 124 - (90.25, 97.66, 101.41).
  const spec = { ...clipTransform('c3d', { train: false, inputSize: [1, 1, 2], testSize: [1, 2] }), grayscale: true };
  const r = await preprocessClips(src, [1, 1, 2, 3], spec);
  [33.75, 26.34, 22.59].forEach((v, c) => close(at(r.data, 1, 1, 2, c, 0, 0, 0), v, 1e-4, `channel ${c}`));
});

test('BGR order with the C3D mean, and I3D (x - 128) / 128 (by hand)', async () => {
  const src = frames(1, 1, 2, (_t, _i, j, c) => (j === 0 ? [10, 20, 30] : [0, 128, 255])[c]!);
  const c3d = clipTransform('c3d', { train: false, inputSize: [1, 1, 2], testSize: [1, 2] });
  assert.is(c3d.order, 'bgr');
  const r = await preprocessClips(src, [1, 1, 2, 3], c3d);
  // (B, G, R) = (30, 20, 10) minus (90.25, 97.66, 101.41); no scaling.
  [-60.25, -77.66, -91.41].forEach((v, c) => close(at(r.data, 1, 1, 2, c, 0, 0, 0), v, 1e-4, `c3d channel ${c}`));
  [255 - 90.25, 128 - 97.66, 0 - 101.41].forEach((v, c) => close(at(r.data, 1, 1, 2, c, 0, 0, 1), v, 1e-4, 'c3d'));
  const i3d = clipTransform('i3d', { train: false, testSize: [1, 2] });
  const q = await preprocessClips(src, [1, 1, 2, 3], i3d);
  // RGB: (0, 128, 255) -> (-1, 0, 0.9921875); (10, 20, 30) -> (-0.921875, -0.84375, -0.765625).
  [-1, 0, 0.9921875].forEach((v, c) => assert.is(at(q.data, 1, 1, 2, c, 0, 0, 1), v));
  [-0.921875, -0.84375, -0.765625].forEach((v, c) => assert.is(at(q.data, 1, 1, 2, c, 0, 0, 0), v));
});

test('test-time specs: C3D 128 x 171 and centre crop 112, I3D the whole frame resized', () => {
  const fixed = { flip: false, grayscale: false, quantize: true };
  assert.equal(clipTransform('c3d', { train: false }), {
    ...fixed,
    resize: [128, 171],
    // (128 - 112) / 2 = 8; (171 - 112) / 2 = 29.5 rounds half to even: 30.
    crop: { y: 8, x: 30, h: 112, w: 112 },
    outSize: [112, 112],
    order: 'bgr',
    mean: [90.25, 97.66, 101.41],
    scale: 1,
  } satisfies ClipSpec);
  assert.equal(clipTransform('i3d', { train: false }), {
    ...fixed,
    resize: [256, 340],
    crop: { y: 0, x: 0, h: 256, w: 340 },
    outSize: [256, 340],
    order: 'rgb',
    mean: [128, 128, 128],
    scale: 128,
  } satisfies ClipSpec);
  const sht = clipTransform('i3d', { train: false, testSize: [240, 320] });
  assert.equal([sht.resize, sht.outSize, sht.crop], [[240, 320], [240, 320], { y: 0, x: 0, h: 240, w: 320 }]);
});

test('small configurations scale the sizes: a 32 x 32 input resizes to 37 x 49', () => {
  const rng = createRng(3);
  for (const backbone of ['i3d', 'c3d'] as const) {
    // I3D: round(32 * 256 / 224) = round(36.57), round(32 * 340 / 224) = round(48.57);
    // C3D: round(32 * 128 / 112) = round(36.57), round(32 * 171 / 112) = round(48.86).
    const s = clipTransform(backbone, { train: true, inputSize: [16, 32, 32] }, rng);
    assert.equal(
      [s.resize, s.outSize],
      [
        [37, 49],
        [32, 32],
      ],
    );
    assert.ok(
      SMALL_BOXES.some((b) => JSON.stringify(b) === JSON.stringify(s.crop)),
      JSON.stringify(s.crop),
    );
  }
  // C3D test time: centre crop (37 - 32) / 2 = 2.5 -> 2, (49 - 32) / 2 = 8.5 -> 8 (half to even).
  assert.equal(clipTransform('c3d', { train: false, inputSize: [16, 32, 32] }).crop, { y: 2, x: 8, h: 32, w: 32 });
});

test('the random choices are a function of the seed', async () => {
  const draw = (seed: number, backbone: 'i3d' | 'c3d') => {
    const rng = createRng(seed);
    return Array.from({ length: 50 }, () => clipTransform(backbone, { train: true }, rng));
  };
  for (const backbone of ['i3d', 'c3d'] as const) {
    assert.equal(draw(7, backbone), draw(7, backbone));
    assert.not.equal(draw(7, backbone), draw(8, backbone));
  }
  // And the native side is a pure function of frames and spec.
  const spec = clipTransform('i3d', { train: true, inputSize: [2, 32, 32] }, createRng(1));
  const src = frames(2, 40, 52);
  const a = await preprocessClips(src, [2, 40, 52, 3], spec);
  const b = await preprocessClips(src, [2, 40, 52, 3], spec);
  assert.equal(Array.from(a.data), Array.from(b.data));
});

test('frequencies over 4000 draws: flip 0.5, C3D grayscale 0.1, I3D none, each box 1/10', () => {
  const n = 4000;
  for (const backbone of ['i3d', 'c3d'] as const) {
    const rng = createRng(11);
    let flips = 0;
    let grays = 0;
    const boxes = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const s = clipTransform(backbone, { train: true, inputSize: [16, 32, 32] }, rng);
      flips += s.flip ? 1 : 0;
      grays += s.grayscale ? 1 : 0;
      const k = JSON.stringify(s.crop);
      boxes.set(k, (boxes.get(k) ?? 0) + 1);
    }
    // Bounds of about 5 standard deviations.
    assert.ok(Math.abs(flips / n - 0.5) < 0.04, `${backbone} flip ${flips / n}`);
    if (backbone === 'i3d') assert.is(grays, 0);
    else assert.ok(Math.abs(grays / n - 0.1) < 0.025, `c3d grayscale ${grays / n}`);
    // The 29-pixel boxes are 5 distinct ones, each 1/10 of the draws.
    for (const b of SMALL_BOXES.slice(5)) {
      const f = (boxes.get(JSON.stringify(b)) ?? 0) / n;
      assert.ok(Math.abs(f - 0.1) < 0.025, `${backbone} ${JSON.stringify(b)}: ${f}`);
    }
    assert.is([...boxes.keys()].length, 3 + 5, 'side 37 has 3 distinct boxes');
  }
});

test('the work runs off the event loop: timers fire while a batch is processed', async () => {
  const specs = Array.from({ length: 4 }, (_, i) => clipTransform('i3d', { train: true }, createRng(i)));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const p = preprocessClips(new Uint8Array(4 * 16 * 240 * 320 * 3), [4, 16, 240, 320, 3], specs);
  assert.instance(p, Promise);
  const r = await p;
  clearInterval(timer);
  assert.equal(r.shape, [4, 3, 16, 224, 224]);
  assert.ok(ticks > 0, 'no timer ran while the clips were processed');
});

test('errors: ERR_MIST_DTYPE, ERR_MIST_SHAPE and ERR_MIST_ARG from the API', async () => {
  const spec = { resize: [4, 5] as const };
  const ok = frames(1, 4, 5);
  await expectCode(
    () => preprocessClips(new Float32Array(60) as unknown as Uint8Array, [1, 4, 5, 3], spec),
    'ERR_MIST_DTYPE',
  );
  await expectCode(() => preprocessClips(ok.subarray(1), [1, 4, 5, 3], spec), 'ERR_MIST_SHAPE');
  await expectCode(() => preprocessClips(ok, [1, 4, 5, 4], spec), 'ERR_MIST_ARG');
  await expectCode(() => preprocessClips(ok, [1, 4, 5], spec), 'ERR_MIST_ARG');
  await expectCode(() => preprocessClips(ok, [1, 1, 4, 5, 3], [spec, spec]), 'ERR_MIST_SHAPE');
  const outside = await expectCode(
    () => preprocessClips(ok, [1, 4, 5, 3], { resize: [4, 5], crop: { y: 1, x: 0, h: 4, w: 5 } }),
    'ERR_MIST_ARG',
  );
  assert.match(outside.message, 'crop');
  await expectCode(() => preprocessClips(ok, [1, 4, 5, 3], { ...spec, flip: 'yes' } as never), 'ERR_MIST_ARG');
  await expectCode(() => preprocessClips(ok, [1, 4, 5, 3], { ...spec, filp: true } as never), 'ERR_MIST_ARG');
  await expectCode(
    () => preprocessClips(frames(2, 4, 5), [2, 1, 4, 5, 3], [spec, { resize: [4, 5], outSize: [2, 2] }]),
    'ERR_MIST_ARG',
  );
  assert.throws(() => clipTransform('i3d', { train: true }), /rng/);
  await expectCode(() => clipTransform('i3d', { train: true }), 'ERR_MIST_ARG');
  await expectCode(() => clipTransform('x3d' as never, { train: false }), 'ERR_MIST_ARG');
  await expectCode(() => clipTransform('c3d', { train: false, testSize: [100, 171] }), 'ERR_MIST_ARG');
  await expectCode(() => clipTransform('c3d', { train: false, scale: [1] } as never), 'ERR_MIST_ARG');
});

test('errors: the native side checks what protects memory on its own', async () => {
  const spec: NativeClipSpec = clipTransform('i3d', { train: false, inputSize: [1, 4, 5], testSize: [4, 5] });
  const raw = native().preprocessClips;
  const ok = frames(1, 4, 5);
  await expectCode(() => raw(new Float32Array(60) as unknown as Uint8Array, [1, 1, 4, 5, 3], [spec]), 'ERR_MIST_DTYPE');
  await expectCode(() => raw(ok, [1, 1, 4, 6, 3], [spec]), 'ERR_MIST_SHAPE');
  await expectCode(() => raw(ok, [1, 4, 5, 3] as never, [spec]), 'ERR_MIST_SHAPE');
  await expectCode(() => raw(ok, [1, 1, 4, 5, 3], [spec, spec]), 'ERR_MIST_SHAPE');
  await expectCode(() => raw(ok, [1, 1, 4, 5, 3], [{ ...spec, crop: { y: 0, x: 1, h: 4, w: 5 } }]), 'ERR_MIST_SHAPE');
  await expectCode(() => raw(ok, [1, 1, 4, 5, 3], [{ ...spec, crop: { y: -1, x: 0, h: 4, w: 5 } }]), 'ERR_MIST_SHAPE');
  await expectCode(() => raw(ok, [1, 1, 4, 5, 3], [{ ...spec, resize: [0, 5] }]), 'ERR_MIST_SHAPE');
  await expectCode(() => raw(ok, [1, 1, 4, 5, 3], [{ ...spec, outSize: [100000, 5] }]), 'ERR_MIST_SHAPE');
  const two = frames(2, 4, 5);
  await expectCode(() => raw(two, [2, 1, 4, 5, 3], [spec, { ...spec, outSize: [2, 2] }]), 'ERR_MIST_SHAPE');
  const { quantize: _q, ...noQuantize } = spec;
  await expectCode(() => raw(ok, [1, 1, 4, 5, 3], [noQuantize as NativeClipSpec]), 'ERR_MIST_ARG');
  await expectCode(() => raw(ok, [1, 1, 4, 5, 3], [{ ...spec, order: 'bgra' as 'bgr' }]), 'ERR_MIST_ARG');
  // And a valid call still works after the failures.
  assert.is((await raw(ok, [1, 1, 4, 5, 3], [spec])).length, 60);
});

test.run();
