// The bad-input matrix of the readers, part 4: videos (ffprobe and ffmpeg behind openVideo,
// readFrames and probeImageSequence). Every case must end in a coded MistError naming the file
// (test/reliability-helpers.ts). Sizes that come from a file are estimated before a frame
// buffer is allocated (ERR_MIST_MEMORY).
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { openVideo, probeImageSequence, readFrames, type FrameSourceInfo } from '../lib/index.js';
import { ffmpeg, hasFfmpeg, skip, tempDir, test } from './helpers.js';
import { refuses } from './reliability-helpers.js';

const { dir, cleanup } = tempDir('mist-reliability-');
test.after(cleanup);

let n = 0;
function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, `${++n}-${name}`);
  writeFileSync(p, content);
  return p;
}

async function decodeAll(path: string): Promise<number> {
  const v = await openVideo(path);
  let clips = 0;
  for await (const _ of v.clips()) clips++;
  return clips;
}

test('videos: not a video, zero bytes, truncated mp4 (index at the end and at the start), missing', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const mp4 = join(dir, 'ok.mp4');
  ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=96x64:rate=25', '-frames:v', '64', '-c:v', 'mpeg4', '-q:v', '5', mp4);
  const fast = join(dir, 'faststart.mp4');
  ffmpeg('-i', mp4, '-c', 'copy', '-movflags', '+faststart', fast);
  assert.is(await decodeAll(mp4), 4);
  let p = file('text.mp4', 'this is not a video\n'.repeat(100));
  await refuses('openVideo', 'a text file named .mp4', () => openVideo(p), 'ERR_MIST_VIDEO', p);
  p = file('zero.mp4', '');
  await refuses('openVideo', 'a zero-byte file', () => openVideo(p), 'ERR_MIST_VIDEO', p);
  const bytes = readFileSync(mp4);
  p = file('cut.mp4', bytes.subarray(0, Math.floor(bytes.length / 2)));
  await refuses(
    'openVideo',
    'an mp4 cut in half (its index, at the end, lost)',
    () => openVideo(p),
    'ERR_MIST_VIDEO',
    p,
  );
  const fbytes = readFileSync(fast);
  p = file('cut-faststart.mp4', fbytes.subarray(0, Math.floor(fbytes.length * 0.6)));
  const t = await refuses(
    'openVideo',
    'a faststart mp4 cut at 60 % (index intact, frames lost)',
    () => openVideo(p),
    'ERR_MIST_VIDEO',
    p,
  );
  assert.match(t.message, /truncated or damaged video/);
  await refuses(
    'readFrames',
    'a faststart mp4 cut at 60 %, frames asked past what it holds',
    async () => readFrames(p, 40, 16),
    'ERR_MIST_VIDEO',
    p,
  );
  p = join(dir, 'absent.mp4');
  await refuses('openVideo', 'a missing file', () => openVideo(p), 'ERR_MIST_IO', p);
  await refuses('readFrames', 'frames past the end', () => readFrames(mp4, 60, 16), 'ERR_MIST_ARG', mp4);
});

test('image folders: a gap, mixed extensions, an image that is not one', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const gap = join(dir, 'gap');
  mkdirSync(gap);
  for (const i of [0, 1, 3]) writeFileSync(join(gap, `00${i}.jpg`), 'x');
  await refuses('probeImageSequence', 'image 002 missing', () => probeImageSequence(gap), 'ERR_MIST_VIDEO', gap);
  const mixed = join(dir, 'mixed');
  mkdirSync(mixed);
  writeFileSync(join(mixed, '000.jpg'), 'x');
  writeFileSync(join(mixed, '001.png'), 'x');
  await refuses('probeImageSequence', 'mixed .jpg and .png', () => probeImageSequence(mixed), 'ERR_MIST_VIDEO', mixed);
  const fake = join(dir, 'fake');
  mkdirSync(fake);
  writeFileSync(join(fake, '000.jpg'), 'not a jpeg');
  await refuses(
    'probeImageSequence',
    'a .jpg that is text',
    () => probeImageSequence(fake),
    'ERR_MIST_VIDEO',
    join(fake, '000.jpg'),
  );
});

test('frame sizes from a file are estimated before the frames are allocated', async () => {
  // A stream claiming 100 000 x 100 000 pixels (what a damaged header can say): ffprobe is
  // stood in for by a script, so that the size reaches the reader as a real probe's would.
  const video = file('claims-huge.mp4', 'x');
  const probe = join(dir, 'ffprobe-huge');
  writeFileSync(
    probe,
    `#!/bin/sh\necho '{"streams":[{"codec_name":"h264","width":100000,"height":100000,"avg_frame_rate":"25/1","nb_frames":"32","nb_read_packets":"32"}],"format":{"duration":"1.28"}}'\n`,
  );
  chmodSync(probe, 0o755);
  const v = await openVideo(video, { ffprobePath: probe, ffmpegPath: '/bin/false' });
  assert.is(v.width, 100000);
  const e = await refuses(
    'openVideo().clips()',
    'a stream of 100 000 x 100 000 pixels',
    async () => {
      for await (const _ of v.clips()) return 'a clip';
    },
    'ERR_MIST_MEMORY',
    video,
  );
  assert.match(e.message, /16-frame clip/);
  const info: FrameSourceInfo = {
    path: video,
    frames: 32,
    fps: 25,
    width: 100000,
    height: 100000,
    duration: 1.28,
    codec: 'h264',
    clipCount: 2,
  };
  await refuses(
    'readFrames',
    '16 frames of 100 000 x 100 000 pixels',
    () => readFrames(info, 0, 16, { ffmpegPath: '/bin/false' }),
    'ERR_MIST_MEMORY',
    video,
  );
  const odd = join(dir, 'ffprobe-odd');
  writeFileSync(
    odd,
    `#!/bin/sh\necho '{"streams":[{"codec_name":"h264","width":64.5,"height":-3,"nb_read_packets":"32"}]}'\n`,
  );
  chmodSync(odd, 0o755);
  await refuses(
    'openVideo',
    'a stream size of 64.5 x -3',
    () => openVideo(video, { ffprobePath: odd }),
    'ERR_MIST_VIDEO',
    video,
  );
});

test.run();
