// evaluate(): per-video scores against a ground truth, its score layouts and its errors.
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import {
  clipScoresToFrames,
  evaluate,
  frameAuc,
  loadUcfCrimeGroundTruth,
  segmentScoresToClips,
  type GroundTruth,
} from '../lib/index.js';
import { expectCode, packageData, test } from './helpers.js';

const gt = loadUcfCrimeGroundTruth();

/** A small ground truth: one anomalous video (frames 16-31 anomalous) and one normal. */
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

test('hand case: clip scores, all metrics, per-class AUC, ROC points', () => {
  const e = evaluate({
    scores: new Map<string, ArrayLike<number>>([
      ['a.mp4', [0.2, 0.9, 0.6]], // names are matched without extension
      ['n', new Float32Array([0.1, 0.7])],
    ]),
    groundTruth: tiny,
    curve: true,
  });
  // Frames: anomalous 16 x 0.9; normal 16 x {0.2, 0.6, 0.1, 0.7}. Every anomalous frame
  // outranks every normal one: AUC = AP = 1. FAR: 16 of the 32 normal-video frames > 0.5.
  assert.is(e.auc, 1);
  assert.is(e.ap, 1);
  assert.is(e.prAuc, 1);
  assert.is(e.far, 0.5);
  assert.ok(Math.abs(e.scoreGap - (0.9 - (0.2 + 0.6 + 0.1 + 0.7) / 4)) < 1e-6);
  assert.equal(e.perClassAuc, { Abuse: 1 });
  assert.equal([e.frames, e.anomalousFrames, e.videos], [80, 16, 2]);
  assert.equal([...e.roc!.tpr], [0, 1, 1]);
  const far = evaluate({
    scores: new Map([
      ['a', [0.2, 0.9, 0.6]],
      ['n', [0.1, 0.7]],
    ]),
    groundTruth: tiny,
    farThreshold: 0.75,
  });
  assert.is(far.far, 0);
});

test('layouts: frame scores, and Sultani segments on the 12 packaged C3D videos', () => {
  const frames = evaluate({
    scores: new Map([
      ['a', Float32Array.from({ length: 50 }, (_, i) => (i >= 16 && i < 32 ? 1 : 0))],
      ['n', new Float32Array(32)],
    ]),
    groundTruth: tiny,
    scoreLayout: 'frames',
  });
  assert.is(frames.auc, 1);

  const names = readdirSync(packageData('ucf-crime', 'c3d_32seg')).map((f) => f.replace(/\.txt$/, ''));
  assert.is(names.length, 12);
  const scores = new Map(
    names.map((n, k) => [n, Float32Array.from({ length: 32 }, (_, i) => ((i * 7 + k * 3) % 11) / 10)]),
  );
  const e = evaluate({ scores, groundTruth: gt, scoreLayout: 'segments', onMissing: 'skip' });
  assert.is(e.videos, 12);
  // The same by hand: segments -> clips -> frames, concatenated in ground-truth order.
  const picked = gt.videos.filter((v) => scores.has(v.name));
  const labels = picked.flatMap((v) => [...v.labels]);
  const s = picked.flatMap((v) => [
    ...clipScoresToFrames(segmentScoresToClips(scores.get(v.name)!, v.sourceFrames), v.frames, { fill: 'last' }),
  ]);
  assert.is(e.frames, labels.length);
  assert.is(e.auc, frameAuc(labels, s));
  assert.ok(e.perClassAuc && Object.keys(e.perClassAuc).length > 0);
});

test('missing videos: an error naming them, or skipped on request', async () => {
  const e = await expectCode(
    () => evaluate({ scores: new Map([['a', [0.1, 0.2, 0.3]]]), groundTruth: tiny }),
    'ERR_MIST_ARG',
  );
  assert.match(e.message, /no scores for n/);
  assert.match(e.message, /onMissing/);
  // Skipping the normal video leaves no normal frames: FAR is undefined, not NaN.
  const r = evaluate({ scores: new Map([['a', [0.1, 0.9, 0.3]]]), groundTruth: tiny, onMissing: 'skip' });
  assert.is(r.far, undefined);
  assert.is(r.perClassAuc, undefined);
  assert.is(r.auc, 1);
  await expectCode(
    () => evaluate({ scores: new Map([['x', [1]]]), groundTruth: tiny, onMissing: 'skip' }),
    'ERR_MIST_ARG',
  );
});

test('too few clip scores: ERR_MIST_SHAPE naming the video, or filled with the last score', async () => {
  const e = await expectCode(
    () =>
      evaluate({
        scores: new Map([
          ['a', [0.2, 0.9]],
          ['n', [0.1, 0.7]],
        ]),
        groundTruth: tiny,
      }),
    'ERR_MIST_SHAPE',
  );
  assert.match(e.message, /^a: /);
  const r = evaluate({
    scores: new Map([
      ['a', [0.2, 0.9]],
      ['n', [0.1, 0.7]],
    ]),
    groundTruth: tiny,
    fill: 'last',
  });
  assert.is(r.frames, 80);
});

test('one class only among the scored frames is ERR_MIST_METRIC', async () => {
  await expectCode(
    () => evaluate({ scores: new Map([['n', [0.1, 0.7]]]), groundTruth: tiny, onMissing: 'skip' }),
    'ERR_MIST_METRIC',
  );
});

test('bad options are ERR_MIST_ARG with the field named', async () => {
  const a = await expectCode(() => evaluate({ scores: { a: [1] } as never, groundTruth: tiny }), 'ERR_MIST_ARG');
  assert.match(a.message, /scores/);
  const b = await expectCode(() => evaluate({ scores: new Map(), groundTruth: {} as never }), 'ERR_MIST_ARG');
  assert.match(b.message, /groundTruth/);
  const c = await expectCode(
    () => evaluate({ scores: new Map(), groundTruth: tiny, treshold: 0.5 } as never),
    'ERR_MIST_ARG',
  );
  assert.match(c.message, /treshold: unknown option/);
  await expectCode(() => evaluate({ scores: new Map([['a', ['x']]]) as never, groundTruth: tiny }), 'ERR_MIST_ARG');
  await expectCode(
    () => evaluate({ scores: new Map(), groundTruth: tiny, scoreLayout: 'clip' as never }),
    'ERR_MIST_ARG',
  );
});

test.run();
