// scoreVideo(): the three real videos of ../shared/data scored end to end (per-frame arrays of
// their real frame counts, clip scores equal to forward() on clips built here from readFrames
// and preprocessClips), and the tail rules, attention, features, progress and errors on small
// videos made here.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import {
  clipTransform,
  openFrameSource,
  preprocessClips,
  readFrames,
  scoreVideo,
  SgaEncoder,
  type VideoScores,
} from '../lib/index.js';
import { expectCode, ffmpeg, sharedData, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-score-video-');
test.after(cleanup);

const INPUT = [16, 32, 32] as const;
const tiny = (backbone: 'i3d' | 'c3d' = 'i3d') =>
  SgaEncoder.create({ backbone, width: 1 / 16, inputSize: INPUT, init: 'kaiming', seed: 5 });

/** Clip c of `path` decoded, pre-processed and scored here, one clip per forward(). */
async function scoreByHand(
  path: string,
  encoder: SgaEncoder,
  start: number,
  count: number,
): Promise<{ score: number; feature: Float32Array; attention: Float32Array }> {
  const f = await readFrames(path, start, count);
  const [, H, W] = f.shape;
  const frameBytes = H * W * 3;
  // Padded with copies of the last frame up to 16 (the tail rule `pad`).
  const clip = new Uint8Array(16 * frameBytes);
  clip.set(f.data);
  for (let k = count; k < 16; k++) clip.set(f.data.subarray((count - 1) * frameBytes), k * frameBytes);
  const spec = clipTransform(encoder.backbone, { train: false, inputSize: INPUT });
  const x = await preprocessClips(clip, [16, H, W, 3], spec);
  const r = await encoder.forward(x.data, 1, x.shape.slice(1) as [number, number, number]);
  return { score: r.score[0]!, feature: r.feature, attention: r.attention };
}

/** Every frame below scoredFrames has its clip's score; the rest follow the tail rule. */
function checkFrames(r: VideoScores, tail: number): void {
  assert.is(r.frameScores.length, r.frames);
  for (let f = 0; f < r.scoredFrames; f++) {
    if (r.frameScores[f] !== r.clipScores[Math.floor(f / 16)]) assert.unreachable(`${r.name}: frame ${f}`);
  }
  for (let f = r.scoredFrames; f < r.frames; f++) {
    const s = r.frameScores[f]!;
    if (!(Number.isNaN(tail) ? Number.isNaN(s) : s === tail)) assert.unreachable(`${r.name}: tail frame ${f} is ${s}`);
  }
}

const REAL = [
  { parts: ['ucf-crime', 'videos', 'Normal_Videos_006_x264.mp4'], frames: 450, clips: 28, size: [320, 240], fps: 30 },
  { parts: ['ucf-crime', 'videos', 'RoadAccidents002_x264.mp4'], frames: 347, clips: 21, size: [320, 240], fps: 30 },
  { parts: ['shanghaitech', 'sample_clip_magazzu', '01_002.avi'], frames: 481, clips: 30, size: [856, 480], fps: 24 },
];

test('the real videos: 450, 347, 481 per-frame scores in 28, 21, 30 clips; clip scores equal forward() on clips built by hand', async () => {
  const encoder = tiny();
  // I3D's test-time input is the whole frame at 256 x 340 scaled by 32 / 224.
  assert.equal(clipTransform('i3d', { train: false, inputSize: INPUT }).resize, [
    Math.round((256 * 32) / 224),
    Math.round((340 * 32) / 224),
  ]);
  for (const v of REAL) {
    const path = sharedData(...v.parts);
    if (!path) continue;
    const r = await scoreVideo(path, encoder);
    assert.equal(
      [r.frames, r.clips, r.scoredFrames, r.padded, r.tail],
      [v.frames, v.clips, 16 * v.clips, 0, 'unscored'],
    );
    assert.equal([r.width, r.height, r.fps], [...v.size, v.fps]);
    assert.is(r.name, v.parts[2]!.replace(/\.\w+$/, ''));
    assert.equal(
      r.ranges,
      Array.from({ length: v.clips }, (_, c) => [16 * c, 16 * c + 16]),
    );
    assert.is(r.clipScores.length, v.clips);
    checkFrames(r, NaN);
    assert.is(r.frameScores.filter(Number.isNaN).length, v.frames - 16 * v.clips);
    for (const s of r.clipScores) assert.ok(s > 0 && s < 1, `score ${s}`);
    assert.ok(new Set(r.clipScores).size > 1, `${r.name}: every clip has the same score`);
    // The first and the last clip, decoded with readFrames and scored alone here.
    for (const c of [0, v.clips - 1]) {
      const want = await scoreByHand(path, encoder, 16 * c, 16);
      assert.ok(
        Math.abs(r.clipScores[c]! - want.score) < 1e-6,
        `${r.name} clip ${c}: ${r.clipScores[c]} vs ${want.score}`,
      );
    }
  }
  encoder.dispose();
});

let video40: string | undefined;
/** 40 frames of 48 x 40: two whole clips and 8 frames after them. */
function forty(): string {
  if (!video40) {
    video40 = join(dir, 'forty.mp4');
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=48x40:rate=25', '-frames:v', '40', '-pix_fmt', 'yuv420p', video40);
  }
  return video40;
}

test('tail rules: unscored (NaN), repeat (the last clip), pad (one more clip, its last frame repeated)', async () => {
  const encoder = tiny();
  const path = forty();
  const unscored = await scoreVideo(path, encoder);
  assert.equal([unscored.frames, unscored.clips, unscored.scoredFrames], [40, 2, 32]);
  checkFrames(unscored, NaN);
  const repeat = await scoreVideo(path, encoder, { tail: 'repeat' });
  assert.equal([repeat.clips, repeat.scoredFrames], [2, 32]);
  checkFrames(repeat, repeat.clipScores[1]!);
  const pad = await scoreVideo(path, encoder, { tail: 'pad', features: true, attention: true });
  assert.equal([pad.clips, pad.scoredFrames, pad.padded], [3, 40, 8]);
  assert.equal(pad.ranges, [
    [0, 16],
    [16, 32],
    [32, 40],
  ]);
  checkFrames(pad, NaN);
  const want = await scoreByHand(path, encoder, 32, 8);
  assert.ok(Math.abs(pad.clipScores[2]! - want.score) < 1e-6, `padded clip: ${pad.clipScores[2]} vs ${want.score}`);
  const D = encoder.featureDim;
  assert.is(pad.features!.length, 3 * D);
  let worst = 0;
  for (let k = 0; k < D; k++) worst = Math.max(worst, Math.abs(pad.features![2 * D + k]! - want.feature[k]!));
  assert.ok(worst < 1e-5, `padded clip's feature differs by ${worst}`);
  const A = pad.attentionShape!.reduce((a, b) => a * b, 1);
  assert.is(pad.attention!.length, 3 * A);
  let worstA = 0;
  for (let k = 0; k < A; k++) worstA = Math.max(worstA, Math.abs(pad.attention![2 * A + k]! - want.attention[k]!));
  assert.ok(worstA < 1e-5, `padded clip's attention differs by ${worstA}`);
  // The whole clips' scores do not depend on the tail rule.
  assert.equal(Array.from(pad.clipScores.subarray(0, 2)), Array.from(unscored.clipScores));
  encoder.dispose();
});

test('a video shorter than one clip: every frame unscored, or one padded clip', async () => {
  const encoder = tiny('c3d');
  const short = join(dir, 'short.mp4');
  ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=48x40:rate=25', '-frames:v', '10', '-pix_fmt', 'yuv420p', short);
  const none = await scoreVideo(short, encoder);
  assert.equal([none.frames, none.clips, none.scoredFrames, none.clipScores.length], [10, 0, 0, 0]);
  assert.ok(none.frameScores.every(Number.isNaN));
  const pad = await scoreVideo(short, encoder, { tail: 'pad' });
  assert.equal([pad.clips, pad.scoredFrames, pad.padded], [1, 10, 6]);
  assert.ok(pad.frameScores.every((s) => s === pad.clipScores[0]));
  const want = await scoreByHand(short, encoder, 0, 10);
  assert.ok(Math.abs(pad.clipScores[0]! - want.score) < 1e-6);
  encoder.dispose();
});

test('features [clips, D] and attention [clips, ...] equal forward(); progress after each batch', async () => {
  const encoder = tiny();
  const path = forty();
  const seen: [number, number][] = [];
  const r = await scoreVideo(path, encoder, {
    batchSize: 1,
    features: true,
    attention: true,
    onProgress: (p) => {
      assert.ok(p.clipsPerSecond > 0 && p.elapsedMs > 0);
      seen.push([p.clipsDone, p.clips]);
    },
  });
  assert.equal(seen, [
    [1, 2],
    [2, 2],
  ]);
  const D = encoder.featureDim;
  for (const c of [0, 1]) {
    const want = await scoreByHand(path, encoder, 16 * c, 16);
    // One clip a call, as here: the same numbers.
    assert.is(r.clipScores[c], want.score);
    assert.equal(Array.from(r.features!.subarray(c * D, (c + 1) * D)), Array.from(want.feature));
  }
  // I3D's map at a 37 x 49 input: T' = 1 and the main branch's spatial size.
  assert.is(r.attentionShape!.length, 3);
  assert.is(r.attention!.length, 2 * r.attentionShape!.reduce((a, b) => a * b, 1));
  // Without the options, neither is returned.
  const plain = await scoreVideo(path, encoder);
  assert.is(plain.features, undefined);
  assert.is(plain.attention, undefined);
  encoder.dispose();
});

test('an image folder: its numbered frames scored as a video is', async () => {
  const encoder = tiny();
  const frames = join(dir, 'cam01');
  mkdirSync(frames);
  ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=48x40:rate=25', '-frames:v', '20', join(frames, '%03d.png'));
  const r = await scoreVideo(frames, encoder);
  assert.equal([r.name, r.frames, r.clips, r.scoredFrames, r.fps, r.width, r.height], ['cam01', 20, 1, 16, 25, 48, 40]);
  const want = await scoreByHand(frames, encoder, 0, 16);
  assert.ok(Math.abs(r.clipScores[0]! - want.score) < 1e-6);
  checkFrames(r, NaN);
  encoder.dispose();
});

test('errors: bad options, a BGR or resized frame source, a missing file, an aborted signal', async () => {
  const encoder = tiny();
  const path = forty();
  await expectCode(() => scoreVideo(path, encoder, { batchSize: 0 }), 'ERR_MIST_ARG');
  await expectCode(() => scoreVideo(path, encoder, { tail: 'last' as never }), 'ERR_MIST_ARG');
  const typo = await expectCode(() => scoreVideo(path, encoder, { batchsize: 2 } as never), 'ERR_MIST_ARG');
  assert.match(typo.message, /batchsize: unknown option/);
  const bgr = await openFrameSource(path, { order: 'bgr' });
  assert.match(
    (await expectCode(() => scoreVideo(bgr, encoder), 'ERR_MIST_ARG')).message,
    /RGB order at the video's own size/,
  );
  const small = await openFrameSource(path, { width: 24 });
  await expectCode(() => scoreVideo(small, encoder), 'ERR_MIST_ARG');
  // An open source at its own size is taken as it is.
  const own = await scoreVideo(await openFrameSource(path), encoder, { name: 'given' });
  assert.equal([own.name, own.clips], ['given', 2]);
  await expectCode(() => scoreVideo(join(dir, 'nope.mp4'), encoder), 'ERR_MIST_IO');
  await expectCode(() => scoreVideo(path, encoder, { signal: AbortSignal.abort() }), 'ERR_MIST_ABORTED');
  encoder.dispose();
});

test.run();
