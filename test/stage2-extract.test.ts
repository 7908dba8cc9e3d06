// extractFeatures(): every whole 16-frame clip of a video through the encoder in eval mode and
// the test-time transform. Checked against the same clips decoded in one pass by openVideo,
// pre-processed and scored here, on synthetic videos; and the clip counts of the three real
// videos of ../shared/data.
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { clipTransform, extractFeatures, openVideo, preprocessClips, SgaEncoder } from '../lib/index.js';
import { makeSyntheticVideos } from '../lib/stage2/synthetic-videos.js';
import { expectCode, ffmpeg, sharedData, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-extract-');
test.after(cleanup);

const INPUT = [16, 32, 32] as const;
const tiny = (backbone: 'i3d' | 'c3d') =>
  SgaEncoder.create({ backbone, width: 1 / 16, inputSize: INPUT, init: 'kaiming', seed: 5 });

let made: Awaited<ReturnType<typeof makeSyntheticVideos>> | undefined;
/** One normal and one anomalous video of 75 frames (4 clips and 11 frames left over), 48 x 48. */
async function videos(): Promise<NonNullable<typeof made>> {
  made ??= await makeSyntheticVideos(join(dir, 'videos'), {
    seed: 4,
    normal: 1,
    anomalous: 1,
    testNormal: 0,
    testAnomalous: 0,
    frames: 75,
    width: 48,
    height: 48,
  });
  return made;
}

/** The video's whole clips decoded in one sequential pass (no seeking), [clips, 16, H, W, 3]. */
async function wholeClips(path: string): Promise<{ data: Uint8Array; shape: number[] }> {
  const parts: Uint8Array[] = [];
  let shape: number[] = [];
  for await (const clip of await openVideo(path)) {
    parts.push(clip.data);
    shape = clip.shape;
  }
  const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { data, shape: [parts.length, ...shape] };
}

for (const backbone of ['i3d', 'c3d'] as const) {
  test(`${backbone}: floor(frames / 16) clips, features [clips, D], scores equal to forward() on the same clips`, async () => {
    const { videos: files } = await videos();
    const encoder = tiny(backbone);
    const progress: [string, number, number, number][] = [];
    // Batches of 3 clips: the second batch of each video holds the one clip left.
    const got = await extractFeatures(
      files.map((v) => v.file),
      encoder,
      { batchSize: 3, onProgress: (p) => progress.push([p.video, p.done, p.videos, p.clips]) },
    );
    assert.is(got.length, 2);
    assert.equal(progress, [
      ['normal_000', 1, 2, 4],
      ['anomalous_000', 2, 2, 4],
    ]);
    const D = encoder.featureDim;
    assert.is(D, backbone === 'i3d' ? 64 : 32);
    const spec = clipTransform(backbone, { train: false, inputSize: INPUT });
    for (const [i, v] of files.entries()) {
      const r = got[i]!;
      assert.equal(
        [r.name, r.path, r.frames, r.clips, r.featureDim],
        [v.file.split('/').pop()!.slice(0, -4), v.file, 75, 4, D],
      );
      assert.is(r.features.length, 4 * D);
      assert.is(r.scores.length, 4);
      // A softmax probability; a C3D with variance-preserving weights on mean-subtracted (not
      // scaled) pixels can saturate it to exactly 0 or 1 in float32.
      for (const s of r.scores) assert.ok(s >= 0 && s <= 1, `score ${s}`);
      // The same clips, decoded in one pass, pre-processed and scored in one batch here.
      const frames = await wholeClips(v.file);
      assert.equal(frames.shape, [4, 16, 48, 48, 3]);
      const x = await preprocessClips(frames.data, frames.shape, spec);
      // I3D sees the whole frame at 256 x 340 scaled by 32 / 224; C3D a 32 x 32 centre crop.
      assert.equal(x.shape, backbone === 'i3d' ? [4, 3, 16, 37, 49] : [4, 3, 16, 32, 32]);
      const want = await encoder.forward(x.data, 4, x.shape.slice(2) as [number, number, number]);
      let worst = 0;
      for (let k = 0; k < 4 * D; k++) worst = Math.max(worst, Math.abs(r.features[k]! - want.feature[k]!));
      const scale = Math.max(...Array.from(want.feature, Math.abs));
      assert.ok(scale > 0 && worst <= 1e-5 * scale, `${v.path}: features differ by ${worst} (scale ${scale})`);
      for (let k = 0; k < 4; k++) assert.ok(Math.abs(r.scores[k]! - want.score[k]!) < 1e-6, `${v.path}: score ${k}`);
    }
    // The clips of a video differ: the features are not constant.
    const f = got[1]!.features;
    assert.ok(f.subarray(0, D).some((x, k) => Math.abs(x - f[D + k]!) > 1e-6));
    encoder.dispose();
  });
}

test('names from file names or given; errors: two videos of one name, a video shorter than one clip', async () => {
  const { videos: files } = await videos();
  const encoder = tiny('c3d');
  const named = await extractFeatures([{ name: 'a', path: files[0]!.file }], encoder);
  assert.equal([named[0]!.name, named[0]!.clips], ['a', 4]);
  const twice = await expectCode(() => extractFeatures([files[0]!.file, files[0]!.file], encoder), 'ERR_MIST_ARG');
  assert.match(twice.message, /two videos are named normal_000/);
  const short = join(dir, 'short.mp4');
  ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=32x32:rate=25', '-frames:v', '10', short);
  const e = await expectCode(() => extractFeatures([short], encoder), 'ERR_MIST_ARG');
  assert.match(e.message, /10 frames, fewer than one 16-frame clip/);
  await expectCode(() => extractFeatures([short], encoder, { batchSize: 0 }), 'ERR_MIST_ARG');
  encoder.dispose();
});

test('the real videos of ../shared/data: 28, 21 and 30 clips (450, 347 and 481 frames)', async () => {
  const paths = [
    sharedData('ucf-crime', 'videos', 'Normal_Videos_006_x264.mp4'),
    sharedData('ucf-crime', 'videos', 'RoadAccidents002_x264.mp4'),
    sharedData('shanghaitech', 'sample_clip_magazzu', '01_002.avi'),
  ];
  if (paths.some((p) => p === undefined)) return;
  const encoder = tiny('i3d');
  const t0 = performance.now();
  const got = await extractFeatures(paths as string[], encoder, { batchSize: 16 });
  console.log(`# three real videos through a tiny I3D: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(
    got.map((v) => [v.name, v.frames, v.clips]),
    [
      ['Normal_Videos_006_x264', 450, 28],
      ['RoadAccidents002_x264', 347, 21],
      ['01_002', 481, 30],
    ],
  );
  for (const v of got) {
    assert.is(v.features.length, v.clips * encoder.featureDim);
    assert.ok(v.features.every(Number.isFinite));
    assert.ok(v.scores.every((s) => s > 0 && s < 1));
  }
  encoder.dispose();
});

test.run();
