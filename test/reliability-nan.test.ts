// No inference path turns a NaN or an infinity into a finite score. ReLU and max-pooling swallow
// NaN (an untrained C3D or I3D scores a clip holding one like any other; a generator scores a
// row holding +Infinity 0.5), so the encoder, the generator and scoreClips refuse non-finite
// input up front with ERR_MIST_ARG naming the clip or row, and evaluate() refuses NaN scores
// naming the video.
import * as assert from 'uvu/assert';

import { evaluate, type GroundTruth } from '../lib/index.js';
import { SgaEncoder } from '../lib/models/encoder.js';
import { MilGenerator } from '../lib/models/generator.js';
import { preprocessClips } from '../lib/models/preprocess.js';
import { scoreClips } from '../lib/stage1/scoring.js';
import { expectCode, test } from './helpers.js';

const SIZE: [number, number, number] = [16, 32, 32];
const CLIP = 3 * SIZE[0] * SIZE[1] * SIZE[2];
const BAD = [NaN, Infinity, -Infinity];

const clips = (n: number): Float32Array => Float32Array.from({ length: n * CLIP }, (_, i) => Math.sin(i * 0.37));

for (const backbone of ['c3d', 'i3d'] as const) {
  test(`SgaEncoder (${backbone}) forward and taps refuse a clip holding NaN or an infinity, naming it`, async () => {
    const model = SgaEncoder.create({ backbone, width: 1 / 8, inputSize: SIZE });
    const good = await model.forward(clips(3));
    for (const bad of BAD) {
      const x = clips(3);
      x[2 * CLIP + 1234] = bad;
      const e = await expectCode(() => model.forward(x), 'ERR_MIST_ARG');
      assert.match(e.message, `clip 2 holds ${bad}`);
      assert.match(e.message, 'value 1234');
      await expectCode(() => model.taps(x), 'ERR_MIST_ARG');
    }
    // The model is unharmed: the same clips give the same scores.
    assert.equal(Array.from((await model.forward(clips(3))).score), Array.from(good.score));
    model.dispose();
  });
}

test('SgaEncoder.trainStep refuses a clip holding NaN or an infinity before it moves any statistic', async () => {
  const model = SgaEncoder.create({ backbone: 'c3d', width: 1 / 8, inputSize: SIZE });
  await model.configureTraining({});
  const before = await model.stateDict();
  for (const bad of BAD) {
    const x = clips(2);
    x[CLIP + 99] = bad;
    const e = await expectCode(() => model.trainStep(x, Float32Array.from([0, 1])), 'ERR_MIST_ARG');
    assert.match(e.message, `clip 1 holds ${bad}`);
  }
  const after = await model.stateDict();
  for (const k of Object.keys(before)) assert.equal(Array.from(after[k]!), Array.from(before[k]!), k);
  model.dispose();
});

const D = 16;
const rows = (n: number): Float32Array => Float32Array.from({ length: n * D }, (_, i) => Math.cos(i * 0.71));

test('MilGenerator.forward refuses a row holding NaN or an infinity, naming it', async () => {
  const g = MilGenerator.create({ featureDim: D, hidden: [8, 4] });
  for (const bad of BAD) {
    const x = rows(8);
    x[5 * D + 3] = bad;
    for (const mode of ['eval', 'train'] as const) {
      const e = await expectCode(() => g.forward(x, 8, D, { mode }), 'ERR_MIST_ARG');
      assert.match(e.message, `row 5 holds ${bad}`);
    }
  }
  const y = await g.forward(rows(8));
  assert.ok(y.every(Number.isFinite));
  g.dispose();
});

test('scoreClips refuses a NaN or an infinity, naming the clip of the video (not of the chunk)', async () => {
  const g = MilGenerator.create({ featureDim: D, hidden: [8, 4] });
  for (const bad of BAD) {
    const data = rows(30);
    data[23 * D + 7] = bad;
    for (const options of [{ chunk: 10 }, { chunk: 10, l2Normalize: true }]) {
      const e = await expectCode(() => scoreClips(g, { data, shape: [30, D] }, options), 'ERR_MIST_ARG');
      // l2Normalize turns an infinity into NaN (Infinity / Infinity).
      assert.match(e.message, options.l2Normalize ? 'clip 23 holds' : `clip 23 holds ${bad}`);
    }
    // Crops [N, C, D]: the crop mean holds it too.
    const crops = Float32Array.from({ length: 30 * 2 * D }, (_, i) => Math.cos(i));
    crops[(17 * 2 + 1) * D] = bad;
    const e = await expectCode(() => scoreClips(g, { data: crops, shape: [30, 2, D] }, { chunk: 10 }), 'ERR_MIST_ARG');
    assert.match(e.message, 'clip 17 holds');
  }
  g.dispose();
});

test('preprocessClips takes uint8 frames only, and no NaN in its spec', async () => {
  const spec = { resize: [8, 8] as [number, number] };
  await expectCode(
    () => preprocessClips(new Float32Array(16 * 8 * 8 * 3).fill(NaN) as unknown as Uint8Array, [16, 8, 8, 3], spec),
    'ERR_MIST_DTYPE',
  );
  const frames = new Uint8Array(16 * 8 * 8 * 3).fill(7);
  await expectCode(() => preprocessClips(frames, [16, 8, 8, 3], { ...spec, mean: [NaN, 0, 0] }), 'ERR_MIST_ARG');
  await expectCode(() => preprocessClips(frames, [16, 8, 8, 3], { ...spec, mean: [Infinity, 0, 0] }), 'ERR_MIST_ARG');
  await expectCode(() => preprocessClips(frames, [16, 8, 8, 3], { ...spec, scale: NaN }), 'ERR_MIST_ARG');
  const out = await preprocessClips(frames, [16, 8, 8, 3], spec);
  assert.ok(out.data.every(Number.isFinite));
});

const tiny: GroundTruth = {
  dataset: 'ucf-crime',
  videos: [
    {
      name: 'a',
      className: 'Abuse',
      anomalous: true,
      sourceFrames: 50,
      frames: 48,
      labels: Uint8Array.from({ length: 48 }, (_, i) => (i >= 16 && i < 32 ? 1 : 0)),
    },
    { name: 'n', className: 'Normal', anomalous: false, sourceFrames: 32, frames: 32, labels: new Uint8Array(32) },
  ],
  totalFrames: 80,
  anomalousFrames: 16,
  anomalousVideos: 1,
};

test('evaluate refuses NaN scores in every layout, naming the video and the score', () => {
  for (const scoreLayout of ['clips', 'segments', 'frames'] as const) {
    const len = scoreLayout === 'clips' ? 3 : scoreLayout === 'segments' ? 32 : 48;
    const a = Float32Array.from({ length: len }, (_, i) => i / len);
    a[1] = NaN;
    const scores = new Map<string, ArrayLike<number>>([
      ['a', a],
      ['n', new Float32Array(scoreLayout === 'clips' ? 2 : scoreLayout === 'segments' ? 32 : 32).fill(0.1)],
    ]);
    let err: (Error & { code?: string }) | undefined;
    try {
      evaluate({ scores, groundTruth: tiny, scoreLayout });
    } catch (e) {
      err = e as Error & { code?: string };
    }
    assert.is(err?.code, 'ERR_MIST_ARG', `${scoreLayout}: ${String(err)}`);
    assert.match(err!.message, 'a: score 1 is NaN');
  }
});

test.run();
