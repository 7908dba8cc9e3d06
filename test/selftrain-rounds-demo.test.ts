// selfTrain()'s round 1 is the pipeline of runSyntheticMist (lib/demo/synthetic-mist.ts), the
// package's own end-to-end demo: with the demo's settings and seed, the same three evaluations,
// exactly. The demo is the independent reference: it wires the stages by hand.
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { makeSyntheticVideos, readVideoManifest, runSyntheticMist, selfTrain, SgaEncoder } from '../lib/index.js';
import { INPUT, STAGE1 } from './fixtures/selftrain-setup.js';
import { hasFfmpeg, skip, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-selftrain-demo-');
test.after(cleanup);

test("round 1 is runSyntheticMist's pipeline: its three evaluations for the same seed and settings", async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  // The demo's short run (test/stage2-synthetic-mist.test.ts) and selfTrain with the demo's settings.
  const o = {
    seed: 3,
    videos: 3,
    testVideos: 2,
    frames: [48, 64] as [number, number],
    steps: 40,
    epochs: 2,
    videosPerStep: 3,
  };
  const demo = await runSyntheticMist({ dir: join(dir, 'demo'), ...o });
  const made = await makeSyntheticVideos(join(dir, 'demo-again'), {
    seed: o.seed,
    normal: o.videos,
    anomalous: o.videos,
    testNormal: o.testVideos,
    testAnomalous: o.testVideos,
    frames: o.frames,
    scenes: 3,
  });
  const m = { ...readVideoManifest(made.manifestPath), dataset: 'synthetic' };
  const start = SgaEncoder.create({
    backbone: 'c3d',
    width: 1 / 8,
    inputSize: INPUT,
    init: 'pytorch',
    dropout: 0.5,
    seed: o.seed,
  });
  const r = await selfTrain({
    dir: join(dir, 'demo-again', 'run'),
    rounds: 1,
    seed: o.seed,
    videos: m,
    test: m,
    // An instance this time (the demo's encoder, built as the demo builds it): round 1 trains it in place.
    encoder: start,
    stage1: {
      ...STAGE1,
      L: Math.min(8, ...made.videos.map((v) => Math.floor(v.frames / 16))),
      batchSize: o.videos,
      steps: o.steps,
      evalEvery: o.steps,
    },
    stage2: {
      preset: 'shanghaitech-c3d',
      epochs: o.epochs,
      videosPerClass: o.videosPerStep,
      freezeBackboneEpochs: 0,
      warmupEpochs: o.epochs,
      lr: 1e-3,
      evalEvery: o.epochs,
      frameCacheMb: 512,
    },
  });
  assert.is(r.encoder, start);
  r.encoder.dispose();
  const [r1] = r.rounds;
  assert.equal([r1!.encoderBefore, r1!.stage1, r1!.stage2], [demo.untrained, demo.stage1, demo.finetuned]);
});

test.run();
