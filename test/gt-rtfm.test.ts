// Importing an RTFM-style concatenated ground truth (gt-sh.npy), aligned to the peer's
// features rather than to the true frame counts.
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRtfmGroundTruth, loadShanghaiTechGroundTruth, writeNpy } from '../lib/index.js';
import { expectCode, skip, sharedPath, tempDir, test } from './helpers.js';

const gtPath = sharedPath('shanghaitech', 'rtfm_lists', 'gt-sh.npy');
const list = sharedPath('shanghaitech', 'rtfm_lists', 'shanghai-i3d-test-10crop.list');
const s3r = sharedPath('shanghaitech', 's3r', 'shanghaitech_ground_truth.testing.json');
const masks = sharedPath('shanghaitech', 'test_frame_mask');

test('gt-sh.npy as one concatenated block', () => {
  if (!gtPath) return skip('shanghaitech/rtfm_lists/gt-sh.npy');
  const gt = loadRtfmGroundTruth({ gt: gtPath });
  assert.is(gt.videos.length, 1);
  assert.is(gt.videos[0]!.name, 'all');
  assert.is(gt.totalFrames, 142_912);
});

test('split per video with the lengths S3R publishes: equal to S3R labels and to the masks', () => {
  if (!(gtPath && list && s3r && masks))
    return skip('shanghaitech/rtfm_lists, shanghaitech/s3r, shanghaitech/test_frame_mask');
  const json = JSON.parse(readFileSync(s3r, 'utf8')) as Record<string, { num_frames: number; labels: number[] }>;
  const lengths = new Map(Object.entries(json).map(([k, v]) => [k, v.num_frames]));
  const gt = loadRtfmGroundTruth({ gt: gtPath, list, lengths });
  assert.is(gt.videos.length, 199);
  assert.is(gt.totalFrames, 142_912);
  assert.equal(
    gt.videos.slice(0, 44).map((v) => v.anomalous),
    new Array(44).fill(true),
  );
  assert.is(gt.anomalousVideos, 44);
  for (const v of gt.videos) assert.equal([...v.labels], json[v.name]!.labels, v.name);
  // Against the true masks: equal on the frames both cover (RTFM pads with the last label).
  const truth = new Map(loadShanghaiTechGroundTruth({ masks, truncate: false }).videos.map((v) => [v.name, v.labels]));
  for (const v of gt.videos) {
    const t = truth.get(v.name)!;
    const n = Math.min(t.length, v.labels.length);
    assert.ok(Buffer.from(t.subarray(0, n)).equals(Buffer.from(v.labels.subarray(0, n))), v.name);
  }
  const byArray = loadRtfmGroundTruth({ gt: gtPath, list, lengths: gt.videos.map((v) => v.frames) });
  assert.is(byArray.anomalousFrames, gt.anomalousFrames);
});

test('lengths that do not add up, or only half the split options', async () => {
  if (!(gtPath && list)) return skip('shanghaitech/rtfm_lists');
  const e = await expectCode(
    () => loadRtfmGroundTruth({ gt: gtPath, list, lengths: new Array(199).fill(16) }),
    'ERR_MIST_SHAPE',
  );
  assert.match(e.message, /142912/);
  await expectCode(() => loadRtfmGroundTruth({ gt: gtPath, list, lengths: [1, 2] }), 'ERR_MIST_SHAPE');
  await expectCode(() => loadRtfmGroundTruth({ gt: gtPath, list }), 'ERR_MIST_ARG');
  await expectCode(
    () => loadRtfmGroundTruth({ gt: gtPath, list, lengths: new Map([['01_0015', 16]]) }),
    'ERR_MIST_ARG',
  );
});

test('a small concatenated file and list written here', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const gtFile = join(dir, 'gt.npy');
    // 01_0015: 0 0 1 1 | 01_001: 0 0 0 1 | Normal_Videos_001_x264: 0 1 (the name says normal) |
    // an XD-Violence name that says violent: 0 0.
    writeNpy(gtFile, { data: new Float64Array([0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0]), shape: [12] });
    const list = join(dir, 'test.list');
    writeFileSync(
      list,
      [
        '/f/01_0015_i3d__0.npy',
        '/f/01_0015_i3d__1.npy',
        '/f/01_001_i3d__0.npy',
        '/f/Normal_Videos_001_x264__0.npy',
        '/f/Film__#1_label_B1-0-0__0.npy',
      ].join('\n'),
    );
    const gt = loadRtfmGroundTruth({ gt: gtFile, list, lengths: [4, 4, 2, 2] });
    assert.equal(
      gt.videos.map((v) => [v.name, v.anomalous, v.sourceFrames, v.frames, [...v.labels]]),
      [
        ['01_0015', true, 4, 4, [0, 0, 1, 1]],
        ['01_001', true, 4, 4, [0, 0, 0, 1]],
        ['Normal_Videos_001_x264', false, 2, 2, [0, 1]],
        ['Film__#1_label_B1-0-0', true, 2, 2, [0, 0]],
      ],
    );
    assert.equal([gt.dataset, gt.totalFrames, gt.anomalousFrames, gt.anomalousVideos], ['rtfm', 12, 4, 3]);
    const byName = loadRtfmGroundTruth({
      gt: gtFile,
      list,
      lengths: { '01_001': 4, '01_0015': 4, Normal_Videos_001_x264: 2, 'Film__#1_label_B1-0-0': 2 },
    });
    assert.equal(
      byName.videos.map((v) => [...v.labels]),
      gt.videos.map((v) => [...v.labels]),
    );
    const whole = loadRtfmGroundTruth({ gt: gtFile });
    assert.equal(
      whole.videos.map((v) => [v.name, v.anomalous, v.sourceFrames, v.frames]),
      [['all', true, 12, 12]],
    );
    assert.is(whole.dataset, 'rtfm');
    const zeros = join(dir, 'zeros.npy');
    writeNpy(zeros, { data: new Uint8Array(3), shape: [3] });
    assert.is(loadRtfmGroundTruth({ gt: zeros }).videos[0]!.anomalous, false);
    const count = await expectCode(() => loadRtfmGroundTruth({ gt: gtFile, list, lengths: [4, 8] }), 'ERR_MIST_SHAPE');
    assert.is(count.message, `lengths: 2 values for 4 videos in ${list}`);
    const sum = await expectCode(
      () => loadRtfmGroundTruth({ gt: gtFile, list, lengths: [4, 4, 4, 4] }),
      'ERR_MIST_SHAPE',
    );
    assert.is(sum.message, `lengths add up to 16 frames, ${gtFile} has 12`);
    const miss = await expectCode(
      () => loadRtfmGroundTruth({ gt: gtFile, list, lengths: new Map([['01_0015', 4]]) }),
      'ERR_MIST_ARG',
    );
    assert.is(miss.message, 'lengths: no length for 01_001');
    const opt = await expectCode(() => loadRtfmGroundTruth({ gt: 3 as never }), 'ERR_MIST_ARG');
    assert.match(opt.message, /^invalid RTFM ground-truth options: gt: /);
    for (const half of [{ list }, { lengths: [12] }]) {
      const e = await expectCode(() => loadRtfmGroundTruth({ gt: gtFile, ...half }), 'ERR_MIST_ARG');
      assert.is(e.message, 'loadRtfmGroundTruth: give both list and lengths to split per video, or neither');
    }
  } finally {
    cleanup();
  }
});

test.run();
