// MIST end to end on the package's synthetic videos, a short run (the measured one is
// `npm run bench:stage2-synthetic`): features of the untrained encoder, stage 1, pseudo labels,
// stage 2, and the three evaluations, each over every whole clip of every test video.
import * as assert from 'uvu/assert';

import { runSyntheticMist } from '../lib/index.js';
import { tempDir, test } from './helpers.js';

test('stage 1 then stage 2 on synthetic videos: three evaluations of the same test frames', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const r = await runSyntheticMist({
      dir,
      seed: 3,
      videos: 3,
      testVideos: 2,
      frames: [48, 64],
      steps: 40,
      epochs: 2,
      videosPerStep: 3,
    });
    // 2 + 2 test videos of 48-64 frames: 3 or 4 whole clips each, every frame of them scored.
    for (const e of [r.untrained, r.stage1, r.finetuned]) {
      assert.is(e.videos, 4);
      assert.ok(e.frames >= 4 * 48 && e.frames <= 4 * 64 && e.frames % 16 === 0, `${e.frames} frames`);
      assert.ok(e.anomalousFrames > 0 && e.anomalousFrames < e.frames / 2);
      assert.ok(e.auc >= 0 && e.auc <= 1 && e.far !== undefined);
    }
    assert.is(r.untrained.frames, r.finetuned.frames);
    assert.is(r.untrained.anomalousFrames, r.finetuned.anomalousFrames);
    // Stage 2 changed the encoder: its scores are not the untrained head's.
    assert.ok(r.finetuned.auc !== r.untrained.auc || r.finetuned.scoreGap !== r.untrained.scoreGap);
  } finally {
    cleanup();
  }
});

test.run();
