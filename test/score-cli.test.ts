// `mist score` as a user runs it: per-frame scores written as .npy / .csv, one JSON line per
// clip, a checkpoint given with --weights, --stream from stdin, and one-line errors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { readNpy, scoreVideo, SgaEncoder } from '../lib/index.js';
import { ffmpeg, mist, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-score-cli-');
test.after(cleanup);

/** 56 frames of 48 x 40 at 25 fps (3 clips and 8 frames). */
const video = join(dir, 'v.mkv');
ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=48x40:rate=25', '-frames:v', '56', '-pix_fmt', 'yuv420p', video);

// A small encoder saved as a mist-vad checkpoint: --weights rebuilds it with its own size.
const weights = join(dir, 'tiny.pt');
const encoder = SgaEncoder.create({
  backbone: 'c3d',
  width: 1 / 16,
  inputSize: [16, 32, 32],
  init: 'kaiming',
  seed: 11,
});
await encoder.save(weights);
const expected = await scoreVideo(video, encoder, { batchSize: 1 });
encoder.dispose();
const near = (a: number, b: number) => Math.abs(a - b) < 1e-6;

test('mist score --help lists the flags; a video file gives one line per clip and the per-frame .npy', () => {
  const help = mist(['score', '--help']);
  assert.is(help.status, 0);
  for (const flag of ['--weights', '--backbone', '--stream', '--out', '--json', '--tail'])
    assert.match(help.stdout, flag);
  const out = join(dir, 'scores.npy');
  const r = mist(['score', video, '--weights', weights, '--out', out]);
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines.length, 4);
  for (let c = 0; c < 3; c++) {
    const m = /^clip +(\d+) +frames (\d+)-(\d+) +score (\d\.\d{4})$/.exec(lines[c]!);
    assert.ok(m, lines[c]);
    assert.equal(m!.slice(1, 4).map(Number), [c, 16 * c, 16 * c + 15]);
    assert.is(m![4], expected.clipScores[c]!.toFixed(4));
  }
  assert.match(lines[3]!, /^v: 56 frames, 3 clips, the last 8 frames unscored/);
  // numpy's header, read as text: little-endian float32, 56 values.
  assert.match(
    readFileSync(out).subarray(0, 128).toString('latin1'),
    "{'descr': '<f4', 'fortran_order': False, 'shape': (56,), }",
  );
  const npy = readNpy(out);
  assert.equal([npy.dtype, npy.shape], ['float32', [56]]);
  const s = npy.data as Float32Array;
  for (let f = 0; f < 48; f++) assert.is(s[f], expected.clipScores[Math.floor(f / 16)]);
  for (let f = 48; f < 56; f++) assert.ok(Number.isNaN(s[f]));
});

test('--json: one line per clip and the result; --out .csv; --tail pad', () => {
  const out = join(dir, 'scores.csv');
  const r = mist(['score', video, '--weights', weights, '--json', '--out', out, '--tail', 'pad']);
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.is(lines.length, 5);
  assert.equal(
    lines.slice(0, 4).map((l) => [l.clip, l.start, l.end]),
    [
      [0, 0, 16],
      [1, 16, 32],
      [2, 32, 48],
      [3, 48, 56],
    ],
  );
  for (let c = 0; c < 3; c++) assert.ok(near(lines[c].score, expected.clipScores[c]!));
  assert.equal(
    [lines[4].result.frames, lines[4].result.clips, lines[4].result.scoredFrames, lines[4].result.tail],
    [56, 4, 56, 'pad'],
  );
  const csv = readFileSync(out, 'utf8').trim().split('\n');
  assert.is(csv[0], 'frame,clip,score');
  assert.is(csv.length, 57);
  assert.equal(csv[17]!.split(',').slice(0, 2), ['16', '1']);
  assert.ok(near(Number(csv[17]!.split(',')[2]), expected.clipScores[1]!));
  assert.equal(csv[56]!.split(',').slice(0, 2), ['55', '3']);
});

test('--stream from stdin (-): each clip as it arrives, the scores of the file', () => {
  const out = join(dir, 'stream.npy');
  const r = mist(['score', '-', '--stream', '--json', '--weights', weights, '--out', out], readFileSync(video));
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.is(lines.length, 4);
  for (let c = 0; c < 3; c++) {
    assert.equal([lines[c].clip, lines[c].start, lines[c].end], [c, 16 * c, 16 * c + 16]);
    // One clip a call online and offline here: the same float.
    assert.is(lines[c].score, expected.clipScores[c]);
    assert.ok(lines[c].latencyMs >= 0);
  }
  assert.equal(
    [lines[3].result.source, lines[3].result.frames, lines[3].result.clips, lines[3].result.fps],
    ['pipe', 56, 3, 25],
  );
  const s = readNpy(out).data as Float32Array;
  assert.is(s.length, 56);
  assert.is(s[47], expected.clipScores[2]);
  assert.ok(Number.isNaN(s[48]));
});

test('errors: one line with the code, no stack trace', () => {
  const cases: [string[], RegExp][] = [
    [
      ['score', join(dir, 'nope.mp4'), '--weights', weights],
      /^mist: cannot open video .*nope\.mp4: no such file or directory \(ENOENT\) \[ERR_MIST_IO\]$/,
    ],
    [['score', video, '--out', 'x.txt'], /--out: must end in \.npy or \.csv/],
    [['score', '-'], /stdin is scored online: add --stream \[ERR_MIST_ARG\]/],
    [['score'], /no source/],
    [['score', video, '--weights', join(dir, 'none.pt')], /\[ERR_MIST_IO\]$/],
    [['score', video, '--weights', weights, '--stream', '--tail', 'repeat'], /--tail repeat applies to a whole file/],
    [['score', video, '--frobnicate'], /Unknown option '--frobnicate'/],
  ];
  for (const [args, want] of cases) {
    const r = mist(args);
    assert.is(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    const errors = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('WARNING'));
    assert.is(errors.length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(errors[0]!, want);
    assert.not.match(r.stderr, /\n\s+at /);
  }
});

test.run();
