// trainGenerator() end to end on synthetic features whose anomalous clips are known, plus
// its options, progress, abort and best-checkpoint behaviour.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { MilGenerator, evaluate, makeSyntheticFeatures, syntheticGroundTruth, trainGenerator } from '../lib/index.js';
import { expectCode, tempDir, test } from './helpers.js';

const dim = 64;
const train = makeSyntheticFeatures({
  videos: 60,
  clipsRange: [40, 120],
  dim,
  anomalousFraction: 0.5,
  seed: 11,
}).videos;
const heldOut = makeSyntheticFeatures({
  videos: 30,
  clipsRange: [40, 120],
  dim,
  anomalousFraction: 0.5,
  seed: 12,
}).videos;
const normal = train.filter((v) => !v.anomalous);
const anomalous = train.filter((v) => v.anomalous);
const base = {
  L: 8,
  T: 3,
  k: 3,
  lambdaSparsity: 0.01,
  lambdaSmoothness: 0,
  batchSize: 10,
  lr: 0.01,
  weightDecay: 0.001,
  gradClip: 10,
  featureDim: dim,
  l2Normalize: false,
  dropout: 0.6,
  device: 'cpu',
} as const;

test('trained on video labels only, the generator finds the planted clips (frame AUC >= 0.95)', async () => {
  // One synthetic set (one planted direction, anomalies 4 noise-std strong), split 2:1 into
  // training and held-out videos; training sees only the video-level labels.
  const all = makeSyntheticFeatures({
    videos: 90,
    clipsRange: [40, 120],
    dim,
    anomalousFraction: 0.5,
    seed: 21,
    strength: 4,
  }).videos;
  const fit = all.filter((_, i) => i % 3 !== 0);
  const test_ = all.filter((_, i) => i % 3 === 0);
  const progress: number[] = [];
  const r = await trainGenerator({
    ...base,
    steps: 150,
    evalEvery: 50,
    seed: 1,
    normal: fit.filter((v) => !v.anomalous),
    anomalous: fit.filter((v) => v.anomalous),
    test: { videos: test_, groundTruth: syntheticGroundTruth(test_) },
    onProgress: (p) => progress.push(p.step),
  });
  assert.is(progress.length, 150);
  assert.is(r.history.filter((h) => h.auc !== undefined).length, 3);
  assert.ok(r.best!.evaluation.auc >= 0.95, `best frame AUC ${r.best!.evaluation.auc}`);
  // The returned model is the best one: scoring it again gives the recorded AUC.
  const scores = new Map<string, Float32Array>();
  for (const v of test_) scores.set(v.name, await r.model.forward(v.features.data, v.features.shape[0], dim));
  const again = evaluate({ scores, groundTruth: syntheticGroundTruth(test_) });
  assert.ok(Math.abs(again.auc - r.best!.evaluation.auc) < 1e-9);
  console.log(`  synthetic: best frame AUC ${r.best!.evaluation.auc.toFixed(4)} at step ${r.best!.step}`);
  r.model.dispose();
});

test('the same seed gives the same run', async () => {
  const run = () => trainGenerator({ ...base, steps: 5, evalEvery: 5, seed: 4, normal, anomalous });
  const [a, b] = [await run(), await run()];
  assert.equal(
    a.history.map((h) => h.loss),
    b.history.map((h) => h.loss),
  );
});

test('the best checkpoint is written and loads', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const checkpoint = join(dir, 'gen.pt');
    const r = await trainGenerator({
      ...base,
      steps: 20,
      evalEvery: 10,
      seed: 2,
      normal,
      anomalous,
      checkpoint,
      test: { videos: heldOut, groundTruth: syntheticGroundTruth(heldOut) },
    });
    assert.ok(existsSync(checkpoint));
    const m = await MilGenerator.load(checkpoint, { device: 'cpu' });
    const x = heldOut[0]!.features.data;
    assert.equal(Array.from(await m.forward(x, undefined, dim)), Array.from(await r.model.forward(x, undefined, dim)));
  } finally {
    cleanup();
  }
});

test('abort stops training with ERR_MIST_ABORTED', async () => {
  const ac = new AbortController();
  await expectCode(
    () =>
      trainGenerator({
        ...base,
        steps: 1000,
        evalEvery: 10,
        normal,
        anomalous,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.step === 3) ac.abort();
        },
      }),
    'ERR_MIST_ABORTED',
  );
});

test('bad options are one clear error', async () => {
  const e = await expectCode(
    () => trainGenerator({ preset: 'shanghaitech-i3d', steps: 0, normal, anomalous }),
    'ERR_MIST_ARG',
  );
  assert.match(e.message, /steps/);
  await expectCode(() => trainGenerator({ preset: 'shanghaitech-i3d', normal, anomalous }), 'ERR_MIST_SHAPE');
});

test.run();
