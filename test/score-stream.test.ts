// scoreStream() online against scoreVideo() offline: each real video of ../shared/data piped
// into scoreStream (remuxed by a second ffmpeg, or the file's own bytes) gives the clip scores
// of the file scored whole; a file read in real time arrives at its frame rate.
import { spawn } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import * as assert from 'uvu/assert';

import { MistError, scoreStream, scoreVideo, SgaEncoder, type StreamClipScore } from '../lib/index.js';
import { ffmpeg, sharedData, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-score-stream-');
test.after(cleanup);

const tiny = () =>
  SgaEncoder.create({ backbone: 'i3d', width: 1 / 16, inputSize: [16, 32, 32], init: 'kaiming', seed: 7 });

/** The video stream of `path` remuxed (no re-encoding) into `format`, as ffmpeg writes it to a pipe. */
function remuxed(path: string, format: 'matroska' | 'mpegts'): Readable {
  const p = spawn('ffmpeg', ['-v', 'error', '-i', path, '-map', '0:v:0', '-c', 'copy', '-f', format, 'pipe:1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return p.stdout;
}

async function collect(it: AsyncIterable<StreamClipScore>): Promise<StreamClipScore[]> {
  const out: StreamClipScore[] = [];
  for await (const c of it) out.push(c);
  return out;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

const REAL = [
  { parts: ['ucf-crime', 'videos', 'Normal_Videos_006_x264.mp4'], feed: 'matroska', clips: 28, size: [320, 240, 30] },
  { parts: ['ucf-crime', 'videos', 'RoadAccidents002_x264.mp4'], feed: 'mpegts', clips: 21, size: [320, 240, 30] },
  { parts: ['shanghaitech', 'sample_clip_magazzu', '01_002.avi'], feed: 'bytes', clips: 30, size: [856, 480, 24] },
] as const;

test('online equals offline: the real videos piped into scoreStream score as scoreVideo scores the files', async () => {
  const encoder = tiny();
  for (const v of REAL) {
    const path = sharedData(...v.parts);
    if (!path) continue;
    const input = v.feed === 'bytes' ? createReadStream(path) : remuxed(path, v.feed);
    const stream = scoreStream(input, encoder);
    const online = await collect(stream);
    const offline = await scoreVideo(path, encoder);
    assert.is(online.length, v.clips, `${path}: clips online`);
    assert.equal(
      online.map((c) => [c.index, c.startFrame, c.endFrame, c.padded]),
      offline.ranges.map(([s, e], i) => [i, s, e, 0]),
    );
    const info = stream.info!;
    assert.equal([info.width, info.height, info.fps, info.source], [...v.size, 'pipe']);
    const st = stream.stats();
    assert.equal(
      [st.framesReceived, st.tailFrames, st.clipsScored, st.running],
      [offline.frames, offline.frames - 16 * v.clips, v.clips, false],
    );
    // Offline in batches of 8 clips, online one clip a call: equal to float rounding.
    const d = maxDiff(
      online.map((c) => c.score),
      offline.clipScores,
    );
    console.log(
      `  ${v.parts[2]} (${v.feed}): ${v.clips} clips, max |online - offline (batch 8)| = ${d.toExponential(2)}`,
    );
    assert.ok(d <= 1e-6, `${path}: online and offline differ by ${d}`);
    for (const c of online) {
      assert.ok(c.readyAt >= c.arrivedAt && Math.abs(c.latencyMs - (c.readyAt - c.arrivedAt)) < 1e-9);
      assert.ok(c.arrivedAt > Date.now() - 600_000 && c.readyAt <= Date.now() + 1, 'wall-clock times');
    }
    for (let i = 1; i < online.length; i++) assert.ok(online[i]!.arrivedAt >= online[i - 1]!.arrivedAt);
  }
  encoder.dispose();
});

test('online equals offline bit for bit when both score one clip a call (RoadAccidents002, file path and pipe)', async () => {
  const path = sharedData('ucf-crime', 'videos', 'RoadAccidents002_x264.mp4');
  if (!path) return;
  const encoder = tiny();
  const offline = await scoreVideo(path, encoder, { batchSize: 1, attention: true, features: true });
  const fromPipe = await collect(scoreStream(remuxed(path, 'mpegts'), encoder, { attention: true, features: true }));
  const fromPath = await collect(scoreStream(path, encoder));
  assert.is(fromPipe.length, 21);
  assert.is(fromPath.length, 21);
  assert.equal(
    fromPipe.map((c) => c.score),
    Array.from(offline.clipScores),
  );
  assert.equal(
    fromPath.map((c) => c.score),
    Array.from(offline.clipScores),
  );
  const D = encoder.featureDim;
  const A = offline.attentionShape!.reduce((a, b) => a * b, 1);
  assert.equal(fromPipe[0]!.attentionShape, offline.attentionShape);
  for (const [i, c] of fromPipe.entries()) {
    assert.equal(Array.from(c.feature!), Array.from(offline.features!.subarray(i * D, (i + 1) * D)));
    assert.equal(Array.from(c.attention!), Array.from(offline.attention!.subarray(i * A, (i + 1) * A)));
  }
  console.log(
    `  RoadAccidents002: max |online - offline (batch 1)| = ${maxDiff(
      fromPipe.map((c) => c.score),
      offline.clipScores,
    )}`,
  );
  encoder.dispose();
});

test('a URL ffmpeg opens: the real video served over HTTP scores as the file does, and errors name the URL', async () => {
  const path = sharedData('ucf-crime', 'videos', 'RoadAccidents002_x264.mp4');
  if (!path) return;
  const bytes = readFileSync(path);
  // A plain HTTP server of this process: what a camera's or a media server's URL gives ffmpeg.
  const server = createServer((req, res) => {
    if (req.url !== '/road.mp4') {
      res.writeHead(404).end();
      return;
    }
    // Byte ranges, as media servers answer them: ffmpeg seeks to an MP4's index.
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (!m) {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': bytes.length, 'accept-ranges': 'bytes' });
      res.end(bytes);
      return;
    }
    const start = Number(m[1]);
    const end = m[2] ? Number(m[2]) : bytes.length - 1;
    res.writeHead(206, {
      'content-type': 'video/mp4',
      'content-length': end - start + 1,
      'content-range': `bytes ${start}-${end}/${bytes.length}`,
      'accept-ranges': 'bytes',
    });
    res.end(bytes.subarray(start, end + 1));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const encoder = tiny();
  try {
    const offline = await scoreVideo(path, encoder, { batchSize: 1 });
    const online = await collect(scoreStream(`http://127.0.0.1:${port}/road.mp4`, encoder));
    assert.equal(
      online.map((c) => c.score),
      Array.from(offline.clipScores),
    );
    assert.is(online.length, 21);
    let err: unknown;
    try {
      await collect(scoreStream(`http://user:secret@127.0.0.1:${port}/missing.mp4`, encoder));
    } catch (e) {
      err = e;
    }
    assert.instance(err, MistError);
    assert.is((err as MistError).code, 'ERR_MIST_VIDEO');
    assert.ok((err as MistError).message.includes('/missing.mp4'), (err as MistError).message);
    assert.not.ok((err as MistError).message.includes('secret'), 'the password is not in the message');
  } finally {
    encoder.dispose();
    server.close();
  }
});

test('tail pad online: the frames after the last whole clip make one padded clip, as offline', async () => {
  const encoder = tiny();
  const path = join(dir, 'forty.ts');
  ffmpeg(
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=48x40:rate=25',
    '-frames:v',
    '40',
    '-pix_fmt',
    'yuv420p',
    '-f',
    'mpegts',
    path,
  );
  const offline = await scoreVideo(path, encoder, { tail: 'pad', batchSize: 1 });
  const online = await collect(scoreStream(createReadStream(path), encoder, { tail: 'pad' }));
  assert.equal(
    online.map((c) => [c.index, c.startFrame, c.endFrame, c.padded]),
    [
      [0, 0, 16, 0],
      [1, 16, 32, 0],
      [2, 32, 40, 8],
    ],
  );
  assert.equal(
    online.map((c) => c.score),
    Array.from(offline.clipScores),
  );
  encoder.dispose();
});

test('realtime: a 25 fps file paced by ffmpeg -re delivers its clips 16 / 25 s apart', async () => {
  const encoder = tiny();
  const path = join(dir, 'paced.mkv');
  ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-frames:v', '64', '-pix_fmt', 'yuv420p', path);
  const clips = await collect(scoreStream(path, encoder, { realtime: true }));
  assert.is(clips.length, 4);
  // Clips 1 .. 3 end 16, 32 and 48 frames after clip 0: 0.64 s, 1.28 s, 1.92 s later.
  const gaps = clips.map((c) => c.arrivedAt - clips[0]!.arrivedAt);
  console.log(
    `  arrivals after clip 0 (ms): ${gaps
      .slice(1)
      .map((g) => g.toFixed(0))
      .join(', ')} (paced: 640, 1280, 1920)`,
  );
  for (let i = 1; i < 4; i++) assert.ok(gaps[i]! > 0.85 * i * 640, `clip ${i} arrived ${gaps[i]} ms after clip 0`);
  // Unpaced, the same file decodes far faster than that.
  const fast = await collect(scoreStream(path, encoder));
  assert.ok(fast[3]!.arrivedAt - fast[0]!.arrivedAt < 0.85 * 1920, 'unpaced input is not slowed down');
  encoder.dispose();
});

test.run();
