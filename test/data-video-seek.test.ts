// Random access into videos: readFrames() must give the very bytes of a full sequential decode
// (openVideo's clips) for any start frame, on the three real videos (H.264 in MP4, MPEG-1 in
// AVI whose packets carry no pts), on videos generated here (H.264 with B-frames and short
// GOPs, MPEG-4 with B-frames in AVI, and lossless videos whose pixels say their frame number),
// and on folders of numbered JPEG frames.
import * as assert from 'uvu/assert';
import { execFileSync, execSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openVideo } from '../lib/data/video.js';
import { outputFrameSize, probeImageSequence, readFrames } from '../lib/data/video.js';
import { expectCode, ffmpeg, hasFfmpeg, rawVideoInput, sharedData, skip, tempDir, test } from './helpers.js';

const encoders = hasFfmpeg ? execFileSync('ffmpeg', ['-hide_banner', '-encoders']).toString() : '';

/** The start frames whose windows differ from the full sequential decode (openVideo's clips). */
async function mismatches(
  path: string,
  width: number,
  height: number,
  starts: number[],
  count = 16,
): Promise<number[]> {
  const info = await openVideo(path, { width, height, clipLength: 1 });
  const fb = width * height * 3;
  const full = new Uint8Array(info.frames * fb);
  let f = 0;
  for await (const c of info) full.set(c.data, fb * f++);
  assert.is(f, info.frames);
  const bad: number[] = [];
  for (const s of starts) {
    const n = Math.min(count, f - s);
    const b = await readFrames(info, s, n, { width, height });
    assert.equal(b.shape, [n, height, width, 3]);
    assert.is(b.startFrame, s);
    if (!Buffer.from(b.data).equals(Buffer.from(full.subarray(s * fb, (s + n) * fb)))) bad.push(s);
  }
  return bad;
}

const real = [
  // Keyframes at 0 and 250 (GOPs of 250 frames): at and around the second one, near the end.
  { parts: ['ucf-crime', 'videos', 'Normal_Videos_006_x264.mp4'], starts: [250, 449] },
  { parts: ['ucf-crime', 'videos', 'RoadAccidents002_x264.mp4'], starts: [1, 249, 340] },
  // A keyframe every 12 frames, packets without pts.
  { parts: ['shanghaitech', 'sample_clip_magazzu', '01_002.avi'], starts: [0, 11, 12, 13, 465] },
];

test('the three real videos: windows from any start equal the full decode, bit for bit', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  for (const v of real) {
    const p = sharedData(...v.parts);
    if (!p) continue;
    assert.equal(await mismatches(p, 64, 48, v.starts), [], p);
  }
});

test('the real videos at 340 x 256 (the I3D training size), 16-frame windows', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const mp4 = sharedData('ucf-crime', 'videos', 'RoadAccidents002_x264.mp4');
  if (!mp4) return;
  assert.equal(await mismatches(mp4, 340, 256, [240, 331]), []);
});

test('generated videos: B-frames, short GOPs, AVI without pts; every start frame', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const { dir, cleanup } = tempDir();
  try {
    const src = ['-f', 'lavfi', '-i', 'testsrc=size=96x64:rate=25', '-frames:v', '50'];
    if (/\blibx264\b/.test(encoders)) {
      // x264 with B-frames: pts differ from dts; keyframes every 8 frames.
      const f = join(dir, 'b.mp4');
      ffmpeg(...src, '-c:v', 'libx264', '-bf', '2', '-g', '8', '-keyint_min', '8', '-pix_fmt', 'yuv420p', f);
      assert.equal(await mismatches(f, 48, 32, [0, 7, 8, 23, 45, 49], 5), [], f);
    }
    // MPEG-4 part 2 with B-frames and open GOPs in AVI: a keyframe shows after frames that
    // follow it in the file, and only some packets have a pts.
    const avi = join(dir, 'b.avi');
    ffmpeg(...src, '-c:v', 'mpeg4', '-bf', '2', '-g', '9', '-q:v', '3', avi);
    assert.equal(await mismatches(avi, 48, 32, [0, 8, 23, 49], 5), [], avi);
  } finally {
    cleanup();
  }
});

test('lossless videos whose pixels carry the frame number: the right frames, in order', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  // 40 frames of 16 x 8; frame f is (R, G, B) = (5f, 255 - 5f, 0) everywhere. FFV1 is
  // lossless, so the frame read can be named from its pixels, with no decode to compare to.
  const W = 16,
    H = 8,
    F = 40;
  const raw = new Uint8Array(F * H * W * 3);
  for (let f = 0; f < F; f++) for (let i = 0; i < H * W; i++) raw.set([5 * f, 255 - 5 * f, 0], (f * H * W + i) * 3);
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'frames.rgb'), raw);
    for (const name of ['known.mkv', 'known.avi']) {
      const p = join(dir, name);
      const input = rawVideoInput(join(dir, 'frames.rgb'), W, H);
      ffmpeg(...input, '-c:v', 'ffv1', '-g', '6', '-pix_fmt', 'bgr0', p);
      const info = await openVideo(p);
      for (const [start, n] of [
        [0, 3],
        [6, 4],
        [17, 16],
        [39, 1],
      ] as const) {
        const b = await readFrames(info, start, n);
        const named = Array.from({ length: n }, (_, i) => b.data[i * H * W * 3]! / 5);
        assert.equal(
          named,
          Array.from({ length: n }, (_, i) => start + i),
          `${name} from ${start}`,
        );
      }
      const bgr = await readFrames(info, 13, 1, { order: 'bgr' });
      assert.equal(Array.from(bgr.data.subarray(0, 3)), [0, 255 - 65, 65]);
    }
  } finally {
    cleanup();
  }
});

test('a folder of numbered JPEG frames (image2, -start_number) equals its sequential decode', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const { dir, cleanup } = tempDir();
  try {
    const frames = join(dir, 'frames');
    mkdirSync(frames);
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=80x60:rate=24', '-frames:v', '30', '-q:v', '3', join(frames, '%03d.jpg'));
    const info = await probeImageSequence(frames, { fps: 24 });
    assert.equal([info.frames, info.width, info.height, info.fps], [30, 80, 60, 24]);
    assert.equal(info.images?.startNumber, 1); // ffmpeg numbers its output from 1
    const seq = execFileSync('ffmpeg', [
      '-v', 'error', '-f', 'image2', '-start_number', '1', '-i', join(frames, '%03d.jpg'),
      '-vf', 'scale=40:30:flags=bilinear', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1',
    ]); // prettier-ignore
    const fb = 40 * 30 * 3;
    assert.is(seq.length, 30 * fb);
    for (const [s, n] of [
      [0, 4],
      [13, 16],
      [29, 1],
    ] as const) {
      const b = await readFrames(frames, s, n, { width: 40, height: 30 });
      assert.ok(Buffer.from(b.data).equals(seq.subarray(s * fb, (s + n) * fb)), `from ${s}`);
    }
    // Names without padding (1.jpg … 10.jpg), and a gap.
    const plain = join(dir, 'plain');
    mkdirSync(plain);
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=32x24:rate=24', '-frames:v', '12', join(plain, '%d.jpg'));
    const p = await probeImageSequence(plain);
    assert.equal([p.frames, p.images?.pattern.endsWith('%d.jpg')], [12, true]);
    assert.is((await readFrames(p, 9, 3)).shape[0], 3);
    rmSync(join(plain, '5.jpg'));
    const gap = await expectCode(() => probeImageSequence(plain), 'ERR_MIST_VIDEO');
    assert.match(gap.message, /image 5 is missing/);
    await expectCode(() => probeImageSequence(join(dir, 'none')), 'ERR_MIST_IO');
  } finally {
    cleanup();
  }
});

test('bad windows and options, abort, a path instead of a VideoInfo, no ffmpeg left behind', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const p = sharedData('ucf-crime', 'videos', 'RoadAccidents002_x264.mp4');
  if (!p) return;
  const info = await openVideo(p);
  const past = await expectCode(() => readFrames(info, 340, 8), 'ERR_MIST_ARG');
  assert.match(past.message, /past the end \(347 frames\)/);
  await expectCode(() => readFrames(info, -1, 1), 'ERR_MIST_ARG');
  await expectCode(() => readFrames(info, 0, 0), 'ERR_MIST_ARG');
  await expectCode(() => readFrames(info, 0, 1, { width: 0 }), 'ERR_MIST_ARG');
  await expectCode(() => readFrames(info, 0, 1, { colour: 'rgb' } as never), 'ERR_MIST_ARG');
  await expectCode(() => readFrames(info, 0, 1, { cropWidth: 999 }), 'ERR_MIST_ARG');
  assert.equal(outputFrameSize(info, { height: 128 }), { width: 170, height: 128 });
  // By path: probed on each call, same bytes.
  const a = await readFrames(p, 300, 2, { width: 32, height: 24 });
  const b = await readFrames(info, 300, 2, { width: 32, height: 24 });
  assert.ok(Buffer.from(a.data).equals(Buffer.from(b.data)));
  const ac = new AbortController();
  const pending = readFrames(info, 200, 140, { signal: ac.signal });
  setTimeout(() => ac.abort(), 30);
  await expectCode(() => pending, 'ERR_MIST_ABORTED');
  const children = execSync(`ps -o comm= --ppid ${process.pid} || true`).toString();
  assert.not.match(children, /ffmpeg|ffprobe/);
});

test.run();
