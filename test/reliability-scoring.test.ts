// The bad-input matrix, scoring: scoreVideo() and scoreStream() on a missing file, a folder
// without images, a file that is not a video, bad options (batchSize 0 among them), a damaged
// video, and streams that end mid-clip or fail. Every refusal is a coded MistError, one line,
// within its time limit (test/reliability-helpers.ts); a stream that ends mid-clip is not an
// error: its whole clips are scored and the rest follows `tail`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import * as assert from 'uvu/assert';

import { scoreStream, scoreVideo, SgaEncoder, type StreamClipScore } from '../lib/index.js';
import { ffmpeg, hasFfmpeg, skip, tempDir, test } from './helpers.js';
import { refuses } from './reliability-helpers.js';

const { dir, cleanup } = tempDir('mist-reliability-scoring-');
const encoder = SgaEncoder.create({ backbone: 'c3d', width: 1 / 16, inputSize: [16, 32, 32], seed: 3 });
test.after(() => {
  encoder.dispose();
  cleanup();
});

let mp4 = '';
/** A 40-frame video (2 whole clips and 8 frames), made once. */
function video(): string {
  if (!mp4) {
    mp4 = join(dir, 'forty.mp4');
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-frames:v', '40', '-c:v', 'mpeg4', '-q:v', '5', mp4);
  }
  return mp4;
}

async function drain(it: AsyncIterable<StreamClipScore>): Promise<StreamClipScore[]> {
  const out: StreamClipScore[] = [];
  for await (const c of it) out.push(c);
  return out;
}

test('scoreVideo: a missing file, a folder without images, a text file, an empty file', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const absent = join(dir, 'absent.mp4');
  await refuses('scoreVideo', 'a missing file', () => scoreVideo(absent, encoder), 'ERR_MIST_IO', absent);
  const empty = join(dir, 'empty-folder');
  mkdirSync(empty);
  await refuses('scoreVideo', 'a folder without images', () => scoreVideo(empty, encoder), 'ERR_MIST_VIDEO', empty);
  const others = join(dir, 'other-files');
  mkdirSync(others);
  writeFileSync(join(others, 'notes.txt'), 'x');
  writeFileSync(join(others, 'frame.jpg'), 'x');
  await refuses(
    'scoreVideo',
    'a folder of files not named 000.jpg ...',
    () => scoreVideo(others, encoder),
    'ERR_MIST_VIDEO',
    others,
  );
  const text = join(dir, 'text.mp4');
  writeFileSync(text, 'this is not a video\n'.repeat(50));
  await refuses('scoreVideo', 'a text file named .mp4', () => scoreVideo(text, encoder), 'ERR_MIST_VIDEO', text);
  const zero = join(dir, 'zero.mp4');
  writeFileSync(zero, '');
  await refuses('scoreVideo', 'a zero-byte file', () => scoreVideo(zero, encoder), 'ERR_MIST_VIDEO', zero);
});

test('scoreVideo: bad options', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const p = video();
  const bad: [string, unknown][] = [
    ['batchSize 0', { batchSize: 0 }],
    ['batchSize -1', { batchSize: -1 }],
    ['batchSize 1.5', { batchSize: 1.5 }],
    ['batchSize 10^6 (over 4096)', { batchSize: 1e6 }],
    ['batchSize NaN', { batchSize: NaN }],
    ["tail 'loop'", { tail: 'loop' }],
    ['testSize [0, 0]', { testSize: [0, 0] }],
    ['prefetch 0', { prefetch: 0 }],
    ['an unknown option', { batchsize: 4 }],
    ['onProgress not a function', { onProgress: 1 }],
    ['strict "yes"', { strict: 'yes' }],
    ['options null', null],
  ];
  for (const [what, o] of bad) {
    // The options go in as the caller might pass them: untyped.
    const field = what.split(' ')[0]!;
    const name = field === 'an' ? 'batchsize' : field === 'options' ? 'score video options' : field;
    await refuses('scoreVideo', what, () => scoreVideo(p, encoder, o as never), 'ERR_MIST_ARG', name);
  }
  await refuses('scoreVideo', 'not an encoder', () => scoreVideo(p, {} as never), 'ERR_MIST_ARG', 'encoder');
});

test('scoreVideo and scoreStream: a video that ends mid-clip scores its whole clips; the tail follows `tail`', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const p = video();
  const r = await scoreVideo(p, encoder);
  assert.is(r.frames, 40);
  assert.is(r.clips, 2);
  assert.is(r.scoredFrames, 32);
  assert.ok(Number.isNaN(r.frameScores[39]!));
  assert.is((await scoreVideo(p, encoder, { tail: 'pad' })).clips, 3);
  const clips = await drain(scoreStream(Readable.from([readFileSync(p)]), encoder, { inputOptions: ['-f', 'mp4'] }));
  assert.is(clips.length, 2);
  const padded = await drain(scoreStream(p, encoder, { tail: 'pad' }));
  assert.is(padded.length, 3);
  assert.is(padded[2]!.padded, 8);
});

test('scoreStream: a missing file, not a video, a stream cut mid-frame, a failing Readable, bad options', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const absent = join(dir, 'absent-stream.mp4');
  await refuses('scoreStream', 'a missing file', () => scoreStream(absent, encoder).next(), 'ERR_MIST_IO', absent);
  const text = join(dir, 'text-stream.mp4');
  writeFileSync(text, 'this is not a video\n'.repeat(50));
  await refuses(
    'scoreStream',
    'a text file named .mp4',
    () => scoreStream(text, encoder).next(),
    'ERR_MIST_VIDEO',
    text,
  );
  // An MPEG-TS stream cut inside a frame: the clips before the cut are yielded, then ffmpeg's
  // decode error ends the iteration.
  const ts = join(dir, 'forty.ts');
  ffmpeg('-i', video(), '-c', 'copy', '-f', 'mpegts', ts);
  const bytes = readFileSync(ts);
  const cut = bytes.subarray(0, Math.floor(bytes.length * 0.7) + 37);
  const got: StreamClipScore[] = [];
  await refuses(
    'scoreStream',
    'an MPEG-TS stream cut inside a frame (a Readable)',
    async () => {
      for await (const c of scoreStream(Readable.from([cut]), encoder, { inputOptions: ['-f', 'mpegts'] })) got.push(c);
    },
    'ERR_MIST_VIDEO',
    'pipe',
  );
  assert.ok(got.length <= 2, `${got.length} clips before the error`);
  const failing = new Readable({
    read() {
      this.destroy(new Error('the camera went away'));
    },
  });
  await refuses(
    'scoreStream',
    'a Readable that fails',
    () => drain(scoreStream(failing, encoder)),
    'ERR_MIST_IO',
    'pipe',
  );
  const bad: [string, unknown][] = [
    ['batchSize 0', { batchSize: 0 }],
    ['maxBufferedClips 0', { maxBufferedClips: 0 }],
    ['idleTimeoutMs without follow', { idleTimeoutMs: 100 }],
    ["overflow 'queue'", { overflow: 'queue' }],
    ['inputOptions not strings', { inputOptions: [1] }],
  ];
  for (const [what, o] of bad) {
    const name = what.split(' ')[0]!;
    await refuses('scoreStream', what, () => scoreStream(video(), encoder, o as never).next(), 'ERR_MIST_ARG', name);
  }
  await refuses(
    'scoreStream',
    'not an encoder',
    () => scoreStream(video(), null as never).next(),
    'ERR_MIST_ARG',
    'encoder',
  );
  await refuses(
    'scoreStream',
    'a number as the source',
    () => scoreStream(42 as never, encoder).next(),
    'ERR_MIST_ARG',
    'scoreStream',
  );
});

test.run();
