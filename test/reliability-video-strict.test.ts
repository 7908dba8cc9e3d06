// Video decoding tells the truth: the codecs conceal damaged data (a changed byte in the middle
// of a file decodes to altered pixels, and ffmpeg exits 0), but ffmpeg reports it on stderr
// (`error while decoding MB`, `ac-tex damaged`, `Invalid NAL unit` ...). With `strict` (the
// default) such a report is ERR_MIST_VIDEO naming the file; with `strict: false` the frames
// come back with the reports as warnings. An intact file reports nothing and decodes to the
// same bytes in both modes.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { openFrameSource, openVideo, readFrames, scoreVideo, SgaEncoder, type Clip } from '../lib/index.js';
import { expectCode, ffmpeg, hasFfmpeg, sharedPath, skip, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-video-strict-');
test.after(cleanup);

const W = 160;
const H = 120;
const FRAMES = 64;

/** A copy of `src` with `flips` bytes inverted around its middle (a seeded LCG picks them). */
function damage(src: string, dst: string, flips: number, seed: number): string {
  const b = Buffer.from(readFileSync(src));
  const n = b.length;
  let s = seed;
  for (let i = 0; i < flips; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = Math.floor(n / 2) + (s % Math.floor(n / 10)) - Math.floor(n / 20);
    b[j] = b[j]! ^ 0xff;
  }
  writeFileSync(dst, b);
  return dst;
}

let intact = '';
let damaged = '';
function files(): boolean {
  if (!hasFfmpeg) {
    skip('ffmpeg (apt-get install -y ffmpeg)');
    return false;
  }
  if (!intact) {
    intact = join(dir, 'ok.mp4');
    ffmpeg(
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${W}x${H}:rate=25`,
      '-frames:v',
      String(FRAMES),
      '-c:v',
      'mpeg4',
      '-q:v',
      '5',
      intact,
    );
    // 16 flips, seed 7: 14 reports, every frame still decodes (measured with ffmpeg 5.1).
    damaged = damage(intact, join(dir, 'damaged.mp4'), 16, 7);
  }
  return true;
}

/** The frames of a plain ffmpeg decode (as the reader runs it, without this package). */
function plainDecode(path: string): Buffer {
  const args = [
    '-v',
    'quiet',
    '-i',
    path,
    '-map',
    '0:v:0',
    '-fps_mode',
    'passthrough',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ];
  return execFileSync('ffmpeg', args, { maxBuffer: 64 * 2 ** 20 });
}

async function allClips(path: string, strict?: boolean): Promise<{ clips: Clip[]; warnings: string[] }> {
  const v = await openVideo(path, strict === undefined ? {} : { strict });
  const clips: Clip[] = [];
  for await (const c of v.clips()) clips.push(c);
  return { clips, warnings: v.warnings };
}

test('a damaged mpeg4 file: strict refuses it, naming the file and the report', async () => {
  if (!files()) return;
  // The damage is in the data, not the index: the probe and the packet count are fine.
  const v = await openVideo(damaged);
  assert.is(v.frames, FRAMES);
  const e = await expectCode(() => allClips(damaged), 'ERR_MIST_VIDEO');
  assert.ok(e.message.startsWith(`${damaged}: damaged video: ffmpeg reports "mpeg4: `), e.message);
  assert.match(e.message, /frames had been read/);
  assert.match(e.message, /pass strict: false/);
  assert.not.match(e.message, /\n/);
  const r = await expectCode(() => readFrames(damaged, 0, FRAMES), 'ERR_MIST_VIDEO');
  assert.ok(r.message.startsWith(`${damaged}: damaged video: ffmpeg reports "mpeg4: `), r.message);
  const s = await openFrameSource(damaged);
  await expectCode(() => s.read(0, FRAMES), 'ERR_MIST_VIDEO');
});

test('a damaged file, strict: false: every frame, and the reports as warnings', async () => {
  if (!files()) return;
  const { clips, warnings } = await allClips(damaged, false);
  assert.is(clips.length, FRAMES / 16);
  assert.ok(warnings.length > 0);
  for (const w of warnings) assert.ok(w.startsWith(`${damaged}: ffmpeg reports "mpeg4: `), w);
  // Each report went with a clip (or came after the last one).
  const withClips = clips.flatMap((c) => c.warnings ?? []);
  assert.ok(withClips.length > 0 && withClips.length <= warnings.length);
  const b = await readFrames(damaged, 0, FRAMES, { strict: false });
  assert.is(b.data.length, FRAMES * H * W * 3);
  assert.ok((b.warnings ?? []).length > 0);
  // The concealed frames are what a plain ffmpeg decode gives.
  const raw = plainDecode(damaged);
  assert.is(raw.length, b.data.length);
  console.log(`# damaged: ${Buffer.from(b.data).equals(raw) ? 'same bytes as' : 'differs from'} a plain decode`);
  const s = await openFrameSource(damaged, { strict: false });
  await s.read(0, FRAMES);
  assert.ok(s.warnings.length > 0);
});

test('damage that loses a frame: strict: false says so; readFrames cannot return it', async () => {
  if (!files()) return;
  // 32 flips, seed 12345: ffmpeg decodes 63 of the 64 frames.
  const p = damage(intact, join(dir, 'lost-frame.mp4'), 32, 12345);
  await expectCode(() => allClips(p), 'ERR_MIST_VIDEO');
  const { clips, warnings } = await allClips(p, false);
  assert.is(clips.length, 3);
  assert.ok(warnings.includes(`${p}: decoded 63 of 64 frames`), warnings.join('\n'));
  const e = await expectCode(() => readFrames(p, 0, FRAMES, { strict: false }), 'ERR_MIST_VIDEO');
  assert.match(e.message, /decoded 63 of the 64 frames/);
});

test('an intact file: no warnings, the same frames in both modes', async () => {
  if (!files()) return;
  const a = await allClips(intact);
  const b = await allClips(intact, false);
  assert.equal(a.warnings, []);
  assert.equal(b.warnings, []);
  assert.is(a.clips.length, 4);
  for (let i = 0; i < a.clips.length; i++) {
    assert.is(a.clips[i]!.warnings, undefined);
    assert.ok(Buffer.from(a.clips[i]!.data).equals(Buffer.from(b.clips[i]!.data)));
  }
  const f = await readFrames(intact, 0, FRAMES);
  assert.equal(f.warnings, []);
  const raw = plainDecode(intact);
  assert.ok(Buffer.from(f.data).equals(raw));
  assert.ok(Buffer.concat(a.clips.map((c) => c.data)).equals(raw));
});

test('scoreVideo: strict refuses a damaged file; strict: false scores it and returns the warnings', async () => {
  if (!files()) return;
  const enc = SgaEncoder.create({ backbone: 'c3d', width: 1 / 16, inputSize: [16, 32, 32], seed: 1 });
  try {
    const e = await expectCode(() => scoreVideo(damaged, enc), 'ERR_MIST_VIDEO');
    assert.match(e.message, /damaged video/);
    const r = await scoreVideo(damaged, enc, { strict: false });
    assert.is(r.clips, FRAMES / 16);
    assert.ok(r.warnings.length > 0);
    const ok = await scoreVideo(intact, enc);
    assert.equal(ok.warnings, []);
  } finally {
    enc.dispose();
  }
});

test('a real h264 video damaged in the middle (../shared/data)', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const real = sharedPath('ucf-crime', 'videos', 'RoadAccidents002_x264.mp4');
  if (!real) return skip('../shared/data/ucf-crime/videos/RoadAccidents002_x264.mp4');
  const copy = join(dir, 'RoadAccidents002_x264.mp4');
  copyFileSync(real, copy);
  const p = damage(copy, join(dir, 'road-damaged.mp4'), 64, 7);
  const e = await expectCode(() => allClips(p), 'ERR_MIST_VIDEO');
  assert.ok(e.message.startsWith(`${p}: damaged video: ffmpeg reports "h264: `), e.message);
  const { clips, warnings } = await allClips(p, false);
  assert.is(clips.length, Math.floor(347 / 16));
  assert.ok(
    warnings.some((w) => /error while decoding MB/.test(w)),
    warnings.join('\n'),
  );
  assert.equal((await allClips(copy)).warnings, []);
});

test.run();
