// Importing an RTFM-style concatenated ground truth (gt-sh.npy), aligned to the peer's
// features rather than to the true frame counts.
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { loadRtfmGroundTruth, loadShanghaiTechGroundTruth } from '../lib/index.js';
import { expectCode, skip, sharedPath, test } from './helpers.js';

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

test.run();
