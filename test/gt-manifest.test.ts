// The ground truth of a video manifest's test videos, on manifests small enough to label by hand.
import * as assert from 'uvu/assert';
import type { ManifestVideo, VideoManifest } from '../lib/data/manifest.js';
import { manifestGroundTruth } from '../lib/eval/groundtruth.js';
import { expectCode, test } from './helpers.js';

function video(name: string, fields: Partial<ManifestVideo>): ManifestVideo {
  return {
    name,
    path: `/videos/${name}.mp4`,
    media: 'video',
    label: 'normal',
    split: 'test',
    intervals: [],
    ...fields,
  };
}

// A: anomalous, 35 frames, intervals [5, 20) and [30, 40) (the second runs past the end).
// B: a training video, left out. C: normal, 40 frames.
const manifest: VideoManifest = {
  dataset: 'ucf-crime',
  videos: [
    video('A', {
      label: 'anomalous',
      intervals: [
        [5, 20],
        [30, 40],
      ],
      frameCount: 35,
      className: 'Abuse',
    }),
    video('B', { split: 'train', frameCount: 50 }),
    video('C', { frameCount: 40 }),
  ],
};

const ones = (labels: Uint8Array): number[] => [...labels.keys()].filter((i) => labels[i] === 1);
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

test('test videos only, truncated to whole 16-frame clips, intervals clipped', () => {
  const gt = manifestGroundTruth(manifest);
  assert.is(gt.dataset, 'ucf-crime');
  assert.equal(
    gt.videos.map((v) => v.name),
    ['A', 'C'],
  );
  const [a, c] = gt.videos as [(typeof gt.videos)[0], (typeof gt.videos)[0]];
  // 35 frames -> 32 labelled: [5, 20) and [30, 32).
  assert.equal(ones(a.labels), [...range(5, 20), 30, 31]);
  assert.equal([a.sourceFrames, a.frames, a.labels.length, a.anomalous, a.className], [35, 32, 32, true, 'Abuse']);
  assert.equal(c, { name: 'C', anomalous: false, sourceFrames: 40, frames: 32, labels: new Uint8Array(32) });
  assert.equal([gt.totalFrames, gt.anomalousFrames, gt.anomalousVideos], [64, 17, 1]);
});

test('without truncation; frame counts from a map or a function', () => {
  const full = manifestGroundTruth(manifest, undefined, { truncate: false });
  assert.equal(ones(full.videos[0]!.labels), [...range(5, 20), ...range(30, 35)]);
  assert.equal([full.totalFrames, full.anomalousFrames], [75, 20]);
  // A map: A has 48 frames, C its manifest count.
  const byMap = manifestGroundTruth(manifest, new Map([['A', 48]]));
  assert.equal(ones(byMap.videos[0]!.labels), [...range(5, 20), ...range(30, 40)]);
  assert.is(byMap.videos[1]!.sourceFrames, 40);
  // A function gives every video 16 frames: A keeps [5, 16).
  const byFn = manifestGroundTruth(manifest, () => 16);
  assert.equal(ones(byFn.videos[0]!.labels), range(5, 16));
  assert.equal([byFn.totalFrames, byFn.anomalousFrames], [32, 11]);
});

test('the dataset: the option, else the manifest when it names a known one, else synthetic', () => {
  assert.is(manifestGroundTruth(manifest, undefined, { dataset: 'xd-violence' }).dataset, 'xd-violence');
  assert.is(manifestGroundTruth(manifest, undefined, { dataset: 'synthetic' }).dataset, 'synthetic');
  assert.is(manifestGroundTruth({ ...manifest, dataset: 'shanghaitech' }).dataset, 'shanghaitech');
  assert.is(manifestGroundTruth({ ...manifest, dataset: 'rtfm' }).dataset, 'rtfm');
  assert.is(manifestGroundTruth({ ...manifest, dataset: 'my-videos' }).dataset, 'synthetic');
  assert.is(manifestGroundTruth({ videos: manifest.videos }).dataset, 'synthetic');
});

test('errors: no test video, no or a bad frame count, bad options', async () => {
  const none = await expectCode(() => manifestGroundTruth({ videos: [manifest.videos[1]!] }), 'ERR_MIST_ARG');
  assert.is(none.message, 'manifestGroundTruth: the manifest has no test video');
  const uncounted = { videos: [video('D', {})] };
  const missing = await expectCode(() => manifestGroundTruth(uncounted), 'ERR_MIST_ARG');
  assert.is(missing.message, 'manifestGroundTruth: no frame count for D');
  for (const n of [2.5, -1]) {
    const e = await expectCode(() => manifestGroundTruth(uncounted, () => n), 'ERR_MIST_ARG');
    assert.is(e.message, `manifestGroundTruth: frame count of D must be a non-negative integer, got ${n}`);
  }
  const map = await expectCode(() => manifestGroundTruth(manifest, new Map([['A', -3]])), 'ERR_MIST_ARG');
  assert.is(map.message, 'frameCounts: need video name → non-negative integer, got A → -3');
  const opt = await expectCode(
    () => manifestGroundTruth(manifest, undefined, { truncate: 'yes' as never }),
    'ERR_MIST_ARG',
  );
  assert.match(opt.message, /^invalid manifest ground-truth options: truncate: /);
  // A count of 0 is allowed: no labelled frame.
  const zero = manifestGroundTruth(uncounted, () => 0);
  assert.equal([zero.videos[0]!.frames, zero.totalFrames], [0, 0]);
});

test.run();
