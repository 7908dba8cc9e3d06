// ShanghaiTech (Zhong et al. weak split) test ground truth from the frame masks of the
// anomalous videos and the frame counts of the normal ones.
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadShanghaiTechGroundTruth } from '../lib/index.js';
import { expectCode, skip, packageData, sharedPath, tempDir, test } from './helpers.js';

const masks = sharedPath('shanghaitech', 'test_frame_mask');

test('199 videos (44 anomalous), 141,870 frames, 7,962 anomalous before truncation', () => {
  if (!masks) return skip('shanghaitech/test_frame_mask');
  const gt = loadShanghaiTechGroundTruth({ masks, truncate: false });
  assert.is(gt.videos.length, 199);
  assert.is(gt.anomalousVideos, 44);
  assert.is(gt.totalFrames, 141_870);
  assert.is(gt.anomalousFrames, 7_962);
});

test('truncated to whole 16-frame clips (the default): 140,704 frames, 7,932 anomalous', () => {
  if (!masks) return skip('shanghaitech/test_frame_mask');
  const gt = loadShanghaiTechGroundTruth({ masks });
  assert.is(gt.totalFrames, 140_704);
  assert.is(gt.anomalousFrames, 7_932);
  const v = gt.videos.find((x) => x.name === '01_001')!;
  assert.equal([v.anomalous, v.sourceFrames, v.frames], [false, 764, 752]);
});

test('the plain RTFM list: masks say which videos are anomalous, counts come from a map', () => {
  if (!masks) return skip('shanghaitech/test_frame_mask');
  const withCounts = loadShanghaiTechGroundTruth({ masks, truncate: false });
  const counts = new Map(withCounts.videos.filter((v) => !v.anomalous).map((v) => [v.name, v.sourceFrames]));
  const plain = loadShanghaiTechGroundTruth({
    masks,
    list: packageData('shanghaitech', 'SH_Test.txt'),
    frameCounts: counts,
    truncate: false,
  });
  assert.is(plain.videos.length, 199);
  assert.is(plain.anomalousVideos, 44);
  assert.is(plain.totalFrames, 141_870);
  assert.is(plain.anomalousFrames, 7_962);
});

test('errors: normal video without count, missing masks folder or mask, non-binary mask', async () => {
  if (!masks) return skip('shanghaitech/test_frame_mask');
  await expectCode(
    () => loadShanghaiTechGroundTruth({ masks, list: packageData('shanghaitech', 'SH_Test.txt') }),
    'ERR_MIST_ARG',
  );
  const { dir, cleanup } = tempDir();
  try {
    await expectCode(() => loadShanghaiTechGroundTruth({ masks: join(dir, 'absent') }), 'ERR_MIST_IO');
    // A list naming an anomalous video whose mask is not in the folder.
    writeFileSync(join(dir, 'list.txt'), '01_0015,1,-1\n');
    await expectCode(() => loadShanghaiTechGroundTruth({ masks: dir, list: join(dir, 'list.txt') }), 'ERR_MIST_IO');
    // A mask holding a 2.
    const { writeNpy } = await import('../lib/index.js');
    writeNpy(join(dir, '01_0015.npy'), { data: new Uint8Array([0, 1, 2]), shape: [3] });
    await expectCode(() => loadShanghaiTechGroundTruth({ masks: dir, list: join(dir, 'list.txt') }), 'ERR_MIST_FORMAT');
    await expectCode(() => loadShanghaiTechGroundTruth({} as never), 'ERR_MIST_ARG');
  } finally {
    cleanup();
  }
});

test.run();
