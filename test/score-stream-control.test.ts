// scoreStream()'s control of its ffmpeg: a growing file is scored as it grows and ends on an
// idle timeout or an abort; stopping (abort, break, close()) leaves no ffmpeg process; broken
// inputs give a MistError; a slow consumer pauses ffmpeg (or drops clips) instead of letting
// the queue grow.
import { createReadStream, appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

import * as assert from 'uvu/assert';

import { scoreStream, scoreVideo, SgaEncoder, type ScoreStream, type StreamClipScore } from '../lib/index.js';
import { expectCode, ffmpeg, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-score-control-');
test.after(cleanup);

const encoder = SgaEncoder.create({
  backbone: 'c3d',
  width: 1 / 16,
  inputSize: [16, 32, 32],
  init: 'kaiming',
  seed: 3,
});
test.after(() => encoder.dispose());

/** A 25 fps H.264 MPEG-TS of `frames` frames of 64 x 48, made once per name. */
const made = new Map<string, string>();
function video(name: string, frames: number): string {
  let p = made.get(name);
  if (!p) {
    p = join(dir, `${name}.ts`);
    ffmpeg(
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=64x48:rate=25',
      '-frames:v',
      String(frames),
      '-c:v',
      'libx264',
      '-g',
      '8',
      '-pix_fmt',
      'yuv420p',
      '-f',
      'mpegts',
      p,
    );
    made.set(name, p);
  }
  return p;
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** An input that loops `path` without end (ffmpeg's -stream_loop -1). */
const forever = (path: string, more: Parameters<typeof scoreStream>[2] = {}): ScoreStream =>
  scoreStream(path, encoder, { inputOptions: ['-stream_loop', '-1'], ...more });

test('a growing file: clips are yielded while it is written; the idle timeout ends it with every frame scored', async () => {
  // 10 s of video: ffmpeg reads about 5 s of a pipe (its probe) before the first frame.
  const full = readFileSync(video('grow', 250));
  const path = join(dir, 'growing.ts');
  const piece = Math.ceil(full.length / 10);
  writeFileSync(path, full.subarray(0, piece));
  let written = piece;
  const writer = (async () => {
    while (written < full.length) {
      await sleep(300);
      const next = Math.min(full.length, written + piece);
      appendFileSync(path, full.subarray(written, next));
      written = next;
    }
  })();
  const seen: { clip: StreamClipScore; written: number }[] = [];
  for await (const clip of scoreStream(path, encoder, { follow: true, idleTimeoutMs: 1500 }))
    seen.push({ clip, written });
  await writer;
  console.log(`  first clip with ${seen[0]!.written} of ${full.length} bytes written`);
  assert.is(seen.length, 15);
  assert.ok(seen[0]!.written < full.length, 'the first clip came before the file was complete');
  const offline = await scoreVideo(video('grow', 250), encoder, { batchSize: 1 });
  assert.equal(
    seen.map((s) => s.clip.score),
    Array.from(offline.clipScores),
  );
});

test('a growing file that stops growing waits until aborted: ERR_MIST_ABORTED, and ffmpeg is gone', async () => {
  const full = readFileSync(video('grow', 250));
  const path = join(dir, 'stalled.ts');
  writeFileSync(path, full.subarray(0, Math.floor((full.length * 4) / 5)));
  const stop = new AbortController();
  const s = scoreStream(path, encoder, { follow: true, signal: stop.signal });
  const first = await s.next();
  assert.is(first.done, false);
  const pid = s.stats().pid;
  assert.ok(alive(pid), 'ffmpeg runs while the file may still grow');
  setTimeout(() => stop.abort(), 300);
  await expectCode(async () => {
    for (;;) if ((await s.next()).done) break;
  }, 'ERR_MIST_ABORTED');
  assert.not.ok(alive(pid), 'ffmpeg was left running');
  assert.not.ok(s.stats().running);
});

test('break, return() and close() stop ffmpeg; close() ends a next() that waits for frames', async () => {
  const s1 = forever(video('loop', 48));
  let n = 0;
  for await (const _ of s1) if (++n === 3) break;
  assert.not.ok(alive(s1.stats().pid), 'break left ffmpeg running');

  const s2 = forever(video('loop', 48));
  await s2.next();
  const pid2 = s2.stats().pid;
  assert.equal(await s2.return!(), { done: true, value: undefined });
  assert.not.ok(alive(pid2));
  assert.is((await s2.next()).done, true);

  // A stalled growing file: next() waits, close() ends it.
  const path = join(dir, 'close.ts');
  const full = readFileSync(video('grow', 250));
  writeFileSync(path, full.subarray(0, 2000));
  const s3 = scoreStream(path, encoder, { follow: true });
  const pending = s3.next();
  await sleep(500);
  const pid3 = s3.stats().pid;
  assert.ok(alive(pid3));
  await s3.close();
  assert.equal(await pending, { done: true, value: undefined });
  assert.not.ok(alive(pid3));
  // Never started: close() has nothing to stop.
  await scoreStream(path, encoder).close();
});

test('abort mid-stream: the pending next() rejects with ERR_MIST_ABORTED and no ffmpeg is left', async () => {
  const stop = new AbortController();
  const s = forever(video('loop', 48), { signal: stop.signal });
  const got: number[] = [];
  await expectCode(async () => {
    for await (const c of s) {
      got.push(c.index);
      if (got.length === 4) setTimeout(() => stop.abort(), 0);
    }
  }, 'ERR_MIST_ABORTED');
  assert.equal(got.slice(0, 4), [0, 1, 2, 3]);
  assert.not.ok(alive(s.stats().pid));
  await expectCode(
    () => scoreStream(video('loop', 48), encoder, { signal: AbortSignal.abort() }).next(),
    'ERR_MIST_ABORTED',
  );
});

test('broken inputs: MistErrors naming the source', async () => {
  const noise = Readable.from([Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251))]);
  const e1 = await expectCode(() => scoreStream(noise, encoder).next(), 'ERR_MIST_VIDEO');
  assert.match(e1.message, /^pipe: ffmpeg failed \(exit \d+\): /);
  // An MP4 cut before its index (written at the end): no stream to decode.
  const mp4 = join(dir, 'cut.mp4');
  ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-frames:v', '32', '-pix_fmt', 'yuv420p', mp4);
  writeFileSync(mp4, readFileSync(mp4).subarray(0, 3000));
  await expectCode(() => scoreStream(createReadStream(mp4), encoder).next(), 'ERR_MIST_VIDEO');
  // A Readable that fails after some bytes.
  const bytes = readFileSync(video('loop', 48));
  const failing = new Readable({
    read() {
      this.push(bytes.subarray(0, 4000));
      setTimeout(() => this.destroy(new Error('camera unplugged')), 50);
    },
  });
  const e3 = await expectCode(async () => {
    for await (const _ of scoreStream(failing, encoder));
  }, 'ERR_MIST_IO');
  assert.match(e3.message, /pipe: the input stream failed: camera unplugged/);
  await expectCode(() => scoreStream(join(dir, 'nope.ts'), encoder).next(), 'ERR_MIST_IO');
  const e5 = await expectCode(
    () => scoreStream(video('loop', 48), encoder, { ffmpegPath: join(dir, 'no-ffmpeg') }).next(),
    'ERR_MIST_VIDEO',
  );
  assert.match(e5.message, /not found/);
  const e6 = await expectCode(
    () => scoreStream('rtsp://user:secret@127.0.0.1:1/cam', encoder, { inputOptions: ['-timeout', '1000000'] }).next(),
    'ERR_MIST_VIDEO',
  );
  assert.not.match(e6.message, /secret/);
  // Options: checked at once.
  assert.throws(
    () => scoreStream(video('loop', 48), encoder, { idleTimeoutMs: 100 }),
    /idleTimeoutMs: applies only with follow: true/,
  );
  assert.throws(() => scoreStream(video('loop', 48), encoder, { maxBufferedClips: 0 }), /maxBufferedClips/);
  await expectCode(() => scoreStream(noise, encoder, { follow: true }).next(), 'ERR_MIST_ARG');
});

test('a slow consumer: ffmpeg is paused with at most maxBufferedClips waiting, or (drop) the oldest clips are dropped', async () => {
  const s = forever(video('loop', 48), { maxBufferedClips: 2 });
  let maxAhead = 0;
  let pausedSeen = false;
  let n = 0;
  for await (const c of s) {
    await sleep(150);
    const st = s.stats();
    assert.ok(st.bufferedClips <= 2, `${st.bufferedClips} clips waiting`);
    pausedSeen ||= st.paused;
    // Frames decoded but not yet scored: the waiting clips, one being assembled, the pipe's bytes.
    maxAhead = Math.max(maxAhead, st.framesReceived - (c.index + 1) * 16);
    if (++n === 12) break;
  }
  const st = s.stats();
  console.log(
    `  pause: peak ${st.peakBufferedClips} clips waiting, at most ${maxAhead} frames decoded ahead of the consumer`,
  );
  assert.ok(pausedSeen, 'ffmpeg was never paused');
  assert.is(st.peakBufferedClips, 2);
  // 3 clips ahead (2 waiting, 1 being filled); unpaused, ffmpeg would be hundreds of frames ahead.
  assert.ok(maxAhead <= 3 * 16, `${maxAhead} frames ahead`);
  assert.is(st.clipsDropped, 0);

  // 16 x 16 frames: one 64 KiB pipe chunk holds five clips; the bound still holds.
  const smallFrames = join(dir, 'small-frames.ts');
  ffmpeg(
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=16x16:rate=25',
    '-frames:v',
    '64',
    '-pix_fmt',
    'yuv420p',
    '-f',
    'mpegts',
    smallFrames,
  );
  const t = forever(smallFrames, { maxBufferedClips: 2 });
  let m = 0;
  for await (const c of t) {
    await sleep(100);
    const ts = t.stats();
    assert.ok(ts.bufferedClips <= 2, `${ts.bufferedClips} small clips waiting`);
    assert.ok(
      ts.framesReceived - (c.index + 1) * 16 <= 3 * 16,
      `${ts.framesReceived - (c.index + 1) * 16} small frames ahead`,
    );
    if (++m === 8) break;
  }
  assert.is(t.stats().peakBufferedClips, 2);

  const d = forever(video('loop', 48), { maxBufferedClips: 2, overflow: 'drop' });
  const indices: number[] = [];
  for await (const c of d) {
    await sleep(150);
    assert.ok(d.stats().bufferedClips <= 2);
    indices.push(c.index);
    if (indices.length === 6) break;
  }
  const ds = d.stats();
  console.log(`  drop: clips ${indices.join(', ')} scored, ${ds.clipsDropped} dropped`);
  assert.ok(ds.clipsDropped > 0, 'nothing was dropped');
  assert.ok(indices[5]! > 5, 'the clip numbers skip the dropped ones');
  assert.not.ok(ds.paused);
});

test.run();
