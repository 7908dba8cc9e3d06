// ShanghaiTech (Zhong et al. weak split) test ground truth from the frame masks of the
// anomalous videos and the frame counts of the normal ones.
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadShanghaiTechGroundTruth, writeNpy } from '../lib/index.js';
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

test('small masks written here: list forms, truncation, labels from the list or the masks', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const masksDir = join(dir, 'masks');
    mkdirSync(masksDir);
    // 01_0015: 20 frames, anomalous at 2-4 and 17-18. 01_0016: float64 mask, anomalous at 16-17.
    const m = new Uint8Array(20);
    m.fill(1, 2, 5).fill(1, 17, 19);
    writeNpy(join(masksDir, '01_0015.npy'), { data: m, shape: [20] });
    const f = new Float64Array(18);
    f.fill(1, 16, 18);
    writeNpy(join(masksDir, '01_0016.npy'), { data: f, shape: [18] });
    // A mask for a video the list calls normal: the list wins.
    writeNpy(join(masksDir, '01_001.npy'), { data: new Uint8Array(4).fill(1), shape: [4] });
    const mist = join(dir, 'mist.txt');
    writeFileSync(mist, '01_0015,1,-1\n01_0016,1,-1\n01_001,0,40\n');
    const gt = loadShanghaiTechGroundTruth({ masks: masksDir, list: mist });
    assert.equal(
      gt.videos.map((v) => [v.name, v.anomalous, v.sourceFrames, v.frames]),
      [
        ['01_0015', true, 20, 16],
        ['01_0016', true, 18, 16],
        ['01_001', false, 40, 32],
      ],
    );
    assert.equal([...gt.videos[0]!.labels], [0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal([gt.dataset, gt.totalFrames, gt.anomalousFrames, gt.anomalousVideos], ['shanghaitech', 64, 3, 2]);
    // The default list is MIST's SH_Test_NEW.txt in data/: its first anomalous video is 01_0015.
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const def = await expectCode(() => loadShanghaiTechGroundTruth({ masks: empty }), 'ERR_MIST_IO');
    assert.match(def.message, /^cannot read \.npy file .*empty\/01_0015\.npy: /);
    const opt = await expectCode(() => loadShanghaiTechGroundTruth({ masks: 3 as never }), 'ERR_MIST_ARG');
    assert.match(opt.message, /^invalid ShanghaiTech ground-truth options: masks: /);
    const full = loadShanghaiTechGroundTruth({ masks: masksDir, list: mist, truncate: false });
    assert.equal([full.totalFrames, full.anomalousFrames], [78, 7]);
    // The plain list: a mask makes a video anomalous, the others take their count from the map.
    const plain = join(dir, 'plain.txt');
    writeFileSync(plain, '01_0015\n02_0001\n');
    const p = loadShanghaiTechGroundTruth({ masks: masksDir, list: plain, frameCounts: { '02_0001': 33 } });
    assert.equal(
      p.videos.map((v) => [v.name, v.anomalous, v.sourceFrames, v.frames]),
      [
        ['01_0015', true, 20, 16],
        ['02_0001', false, 33, 32],
      ],
    );
    const nc = await expectCode(() => loadShanghaiTechGroundTruth({ masks: masksDir, list: plain }), 'ERR_MIST_ARG');
    assert.is(nc.message, `no frame count for normal video 02_0001 (${plain})`);
    const absent = join(dir, 'absent');
    const io = await expectCode(() => loadShanghaiTechGroundTruth({ masks: absent, list: plain }), 'ERR_MIST_IO');
    assert.is(io.message, `masks folder ${absent} does not exist`);
    writeNpy(join(masksDir, '01_0015.npy'), { data: new Uint8Array([0, 1, 2]), shape: [3] });
    const two = await expectCode(() => loadShanghaiTechGroundTruth({ masks: masksDir, list: mist }), 'ERR_MIST_FORMAT');
    assert.is(two.message, `${join(masksDir, '01_0015.npy')}: labels must be 0 or 1, got 2 at frame 2`);
    writeNpy(join(masksDir, '01_0015.npy'), { data: new Uint8Array(4), shape: [2, 2] });
    const rank = await expectCode(() => loadShanghaiTechGroundTruth({ masks: masksDir, list: mist }), 'ERR_MIST_SHAPE');
    assert.is(rank.message, `${join(masksDir, '01_0015.npy')}: labels must be 1-D, got [2, 2]`);
  } finally {
    cleanup();
  }
});

test.run();
