// Video decoding through the system ffmpeg: frame counts and sizes of the three real videos,
// clips resized on the fly, bounded memory, early stop, abort, and every bad file.
import * as assert from 'uvu/assert';
import { execFileSync, execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openVideo } from '../lib/index.js';
import { expectCode, ffmpeg, hasFfmpeg, rawVideoInput, ROOT, sharedData, skip, tempDir, test } from './helpers.js';

const videos = [
  { parts: ['ucf-crime', 'videos', 'Normal_Videos_006_x264.mp4'], frames: 450, width: 320, height: 240, fps: 30 },
  { parts: ['ucf-crime', 'videos', 'RoadAccidents002_x264.mp4'], frames: 347, width: 320, height: 240, fps: 30 },
  { parts: ['shanghaitech', 'sample_clip_magazzu', '01_002.avi'], frames: 481, width: 856, height: 480, fps: 24 },
];

/** ffmpeg processes that are children of this test process. */
function ffmpegChildren(): string[] {
  try {
    return execSync(`ps -o pid=,comm= --ppid ${process.pid}`)
      .toString()
      .split('\n')
      .filter((l) => /ffmpeg/.test(l));
  } catch {
    return []; // ps exits 1 when there is no child at all
  }
}

test('the three real videos: frame count, fps and size from ffprobe', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  for (const v of videos) {
    const p = sharedData(...v.parts);
    if (!p) continue;
    const r = await openVideo(p);
    assert.is(r.frames, v.frames, p);
    assert.is(r.width, v.width);
    assert.is(r.height, v.height);
    assert.is(r.fps, v.fps);
    assert.is(r.clipCount, Math.floor(v.frames / 16));
    const h = await openVideo(p, { countFrames: 'header' });
    assert.is(h.frames, v.frames);
  }
});

test('the three real videos decode to 450, 347 and 481 frames at their real sizes', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  for (const v of videos) {
    const p = sharedData(...v.parts);
    if (!p) continue;
    const r = await openVideo(p);
    // At the real size: the first 16 frames.
    for await (const clip of r) {
      assert.equal(clip.shape, [16, v.height, v.width, 3]);
      assert.is(clip.data.length, 16 * v.height * v.width * 3);
      break;
    }
    // Clips of one frame, shrunk to keep the pipe small: every decoded frame is counted,
    // none dropped as a partial clip.
    let frames = 0;
    for await (const clip of r.clips({ clipLength: 1, width: 32, height: 24 })) {
      assert.is(clip.startFrame, frames);
      frames++;
    }
    assert.is(frames, v.frames, p);
  }
});

test('16-frame clips, resized and centre-cropped on the fly; last clip dropped or padded', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const p = sharedData('ucf-crime', 'videos', 'Normal_Videos_006_x264.mp4');
  if (!p) return;
  const r = await openVideo(p, { width: 171, height: 128, cropWidth: 112, cropHeight: 112 });
  const clips = [];
  for await (const c of r)
    clips.push({ index: c.index, start: c.startFrame, shape: c.shape, padded: c.padded, n: c.data.length });
  assert.is(clips.length, 28); // 450 frames: 28 whole clips, 2 frames left over
  assert.equal(clips[27], { index: 27, start: 432, shape: [16, 112, 112, 3], padded: 0, n: 16 * 112 * 112 * 3 });
  let last;
  for await (const c of r.clips({ lastClip: 'pad' })) last = c;
  assert.is(last?.index, 28);
  assert.is(last?.padded, 14);
  // The padding repeats the last real frame.
  const fb = 112 * 112 * 3;
  assert.equal(last?.data.subarray(15 * fb, 16 * fb), last?.data.subarray(fb, 2 * fb));
  // One given side keeps the aspect ratio.
  const half = await openVideo(p, { height: 120 });
  for await (const c of half) {
    assert.equal(c.shape, [16, 120, 160, 3]);
    break;
  }
});

test('BGR order swaps the channels of RGB', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const p = sharedData('ucf-crime', 'videos', 'RoadAccidents002_x264.mp4');
  if (!p) return;
  const r = await openVideo(p, { width: 64, height: 48 });
  const first = async (order: 'rgb' | 'bgr'): Promise<Uint8Array> => {
    for await (const c of r.clips({ order })) return c.data;
    throw new Error('no clip');
  };
  const rgb = await first('rgb');
  const bgr = await first('bgr');
  let diff = 0;
  for (let i = 0; i < rgb.length; i += 3)
    diff += Math.abs(rgb[i]! - bgr[i + 2]!) + Math.abs(rgb[i + 2]! - bgr[i]!) + Math.abs(rgb[i + 1]! - bgr[i + 1]!);
  assert.is(diff, 0);
  assert.ok(
    rgb.some((v, i) => v !== bgr[i]),
    'the frames are not grey',
  );
});

test('stopping early kills ffmpeg; an AbortSignal stops with ERR_MIST_ABORTED', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const p = sharedData('shanghaitech', 'sample_clip_magazzu', '01_002.avi');
  if (!p) return;
  const r = await openVideo(p);
  for await (const c of r) {
    assert.is(c.index, 0);
    assert.is(ffmpegChildren().length, 1);
    break;
  }
  assert.is(ffmpegChildren().length, 0);
  const ac = new AbortController();
  let seen = 0;
  await expectCode(async () => {
    for await (const _ of r.clips({ signal: ac.signal })) {
      seen++;
      ac.abort();
    }
  }, 'ERR_MIST_ABORTED');
  assert.is(seen, 1);
  assert.is(ffmpegChildren().length, 0);
  const done = new AbortController();
  done.abort();
  await expectCode(() => openVideo(p, { signal: done.signal }), 'ERR_MIST_ABORTED');
});

test('memory stays bounded on a video far larger than memory should hold', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const { dir, cleanup } = tempDir();
  try {
    // 16 s of 640x480 at 30 fps: 480 frames, 442 MB as raw RGB.
    const p = join(dir, 'long.mp4');
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=30', '-t', '16', '-c:v', 'mpeg4', '-q:v', '20', p);
    const r = await openVideo(p);
    assert.is(r.frames, 480);
    const base = process.memoryUsage().rss;
    let peak = 0;
    let clips = 0;
    for await (const c of r) {
      clips++;
      if (c.data.length !== 16 * 480 * 640 * 3) throw new Error('bad clip size');
      peak = Math.max(peak, process.memoryUsage().rss - base);
    }
    assert.is(clips, 30);
    console.log(`# 442 MB of raw frames decoded with a peak RSS growth of ${(peak / 2 ** 20).toFixed(0)} MiB`);
    assert.ok(peak < 150 * 2 ** 20, `peak RSS growth ${(peak / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    cleanup();
  }
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('pixel values and crop position on a lossless video of known pixels', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  // 20 frames of 64 x 48 whose pixel (x, y) of frame f is (R, G, B) = (4x, 5y, 10f), stored
  // losslessly (raw RGB in NUT), so every decoded byte is known.
  const W = 64,
    H = 48,
    F = 20;
  const px = (f: number, y: number, x: number): [number, number, number] => [4 * x, 5 * y, 10 * f];
  const raw = new Uint8Array(F * H * W * 3);
  for (let f = 0; f < F; f++)
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) raw.set(px(f, y, x), ((f * H + y) * W + x) * 3);
  const { dir, cleanup } = tempDir();
  try {
    const rgb = join(dir, 'frames.rgb');
    writeFileSync(rgb, raw);
    const p = join(dir, 'known.nut');
    ffmpeg(...rawVideoInput(rgb, W, H), '-c:v', 'rawvideo', '-pix_fmt', 'rgb24', p);
    const r = await openVideo(p);
    assert.equal([r.frames, r.width, r.height, r.clipCount], [F, W, H, 1]);
    /** Compares a clip with px() at crop offset (x0, y0), channels in `order`; returns the mismatches. */
    const check = (
      data: Uint8Array,
      frames: number[],
      w: number,
      h: number,
      x0: number,
      y0: number,
      order: 'rgb' | 'bgr',
    ) => {
      let bad = 0;
      for (const [i, f] of frames.entries())
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) {
            const want = px(f, y + y0, x + x0);
            if (order === 'bgr') want.reverse();
            const at = ((i * h + y) * w + x) * 3;
            if (data[at] !== want[0] || data[at + 1] !== want[1] || data[at + 2] !== want[2]) bad++;
          }
      return bad;
    };
    const first16 = Array.from({ length: 16 }, (_, i) => i);
    // Whole frames: exact pixels; the 4 frames after the last whole clip are dropped.
    const clips = [];
    for await (const c of r.clips()) clips.push(c);
    assert.is(clips.length, 1);
    assert.is(check(clips[0]!.data, first16, W, H, 0, 0, 'rgb'), 0);
    // A 32 x 24 centre crop starts at ((64 - 32) / 2, (48 - 24) / 2) = (16, 12).
    const [c] = await collect(r.clips({ cropWidth: 32, cropHeight: 24 }));
    assert.equal(c!.shape, [16, 24, 32, 3]);
    assert.is(check(c!.data, first16, 32, 24, 16, 12, 'rgb'), 0);
    assert.equal(Array.from(c!.data.subarray(0, 3)), [64, 60, 0]);
    // An odd margin rounds the offset down: 61 x 45 starts at (1, 1).
    const [odd] = await collect(r.clips({ cropWidth: 61, cropHeight: 45 }));
    assert.is(check(odd!.data, first16, 61, 45, 1, 1, 'rgb'), 0);
    // BGR holds the same pixels, channels reversed.
    const [bgr] = await collect(r.clips({ order: 'bgr', cropWidth: 32, cropHeight: 24 }));
    assert.is(check(bgr!.data, first16, 32, 24, 16, 12, 'bgr'), 0);
    // Padding the last clip repeats the last frame: frames 16..19, then 19 twelve times.
    const padded = await collect(r.clips({ lastClip: 'pad' }));
    assert.is(padded.length, 2);
    assert.is(padded[1]!.padded, 12);
    assert.is(check(padded[1]!.data, [16, 17, 18, 19, ...new Array(12).fill(19)], W, H, 0, 0, 'rgb'), 0);
  } finally {
    cleanup();
  }
});

test('missing file, directory: ERR_MIST_IO', async () => {
  await expectCode(() => openVideo(join(ROOT, 'no-such-video.mp4')), 'ERR_MIST_IO');
  await expectCode(() => openVideo(ROOT), 'ERR_MIST_IO');
});

test('a file that is not a video: ERR_MIST_VIDEO', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const e = await expectCode(() => openVideo(join(ROOT, 'package.json')), 'ERR_MIST_VIDEO');
  assert.match(e.message, /not a readable video/);
  const { dir, cleanup } = tempDir();
  try {
    // An audio-only file has no video stream.
    const wav = join(dir, 'tone.wav');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=duration=1', wav]);
    const a = await expectCode(() => openVideo(wav), 'ERR_MIST_VIDEO');
    assert.match(a.message, /no video stream/);
  } finally {
    cleanup();
  }
});

test('truncated files: ERR_MIST_VIDEO at open, or at the end of decoding when the header is trusted', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const mp4 = sharedData('ucf-crime', 'videos', 'Normal_Videos_006_x264.mp4');
  const avi = sharedData('shanghaitech', 'sample_clip_magazzu', '01_002.avi');
  if (!mp4 || !avi) return;
  const { dir, cleanup } = tempDir();
  try {
    // This mp4 keeps its index (moov) at the end: cut in half, it has none.
    const cut = join(dir, 'cut.mp4');
    writeFileSync(cut, readFileSync(mp4).subarray(0, 1_600_000));
    await expectCode(() => openVideo(cut), 'ERR_MIST_VIDEO');
    // With the index moved to the front, the header still promises 450 frames.
    const fs = join(dir, 'faststart.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-i', mp4, '-c', 'copy', '-movflags', '+faststart', fs]);
    const fsCut = join(dir, 'faststart-cut.mp4');
    writeFileSync(fsCut, readFileSync(fs).subarray(0, 1_600_000));
    const e = await expectCode(() => openVideo(fsCut), 'ERR_MIST_VIDEO');
    assert.match(e.message, /truncated.*450/);
    // An AVI cut in half: found at open, or, trusting the header, when decoding ends.
    const aviCut = join(dir, 'cut.avi');
    writeFileSync(aviCut, readFileSync(avi).subarray(0, 1_500_000));
    await expectCode(() => openVideo(aviCut), 'ERR_MIST_VIDEO');
    const trusting = await openVideo(aviCut, { countFrames: 'header', width: 64, height: 36 });
    assert.is(trusting.frames, 481);
    let clips = 0;
    const d = await expectCode(async () => {
      for await (const _ of trusting) clips++;
    }, 'ERR_MIST_VIDEO');
    assert.match(d.message, /decoded \d+ of 481 frames/);
    assert.ok(clips > 0 && clips < 30);
  } finally {
    cleanup();
  }
});

test('bad options and a missing ffprobe', async () => {
  const p = sharedData('ucf-crime', 'videos', 'Normal_Videos_006_x264.mp4');
  if (!p) return;
  const e = await expectCode(() => openVideo(p, { width: 0 }), 'ERR_MIST_ARG');
  assert.match(e.message, /width/);
  await expectCode(() => openVideo(p, { colour: 'rgb' } as never), 'ERR_MIST_ARG');
  const m = await expectCode(() => openVideo(p, { ffprobePath: '/nonexistent/ffprobe' }), 'ERR_MIST_VIDEO');
  assert.match(m.message, /not found/);
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const r = await openVideo(p);
  await expectCode(() => r.clips({ cropWidth: 1000 }).next(), 'ERR_MIST_ARG');
});

test.run();
