// Clip scores to frames, and Sultani's 32-segment layout, checked against the repeated rows
// in his real C3D feature files.
import * as assert from 'uvu/assert';
import { readC3dTxt } from '../lib/index.js';
import {
  clipScoresToFrames,
  loadUcfCrimeGroundTruth,
  segmentFeatures,
  segmentScoresToClips,
  segmentsToClips,
} from '../lib/index.js';
import { expectCode, packageData, test } from './helpers.js';

/** Indices i where rows i and i+1 of a [32, D] text feature file are equal (printed to 6 digits). */
function repeatedRows(name: string): number[] {
  const f = readC3dTxt(packageData('ucf-crime', 'c3d_32seg', `${name}.txt`));
  const D = f.shape[1]!;
  const out: number[] = [];
  for (let i = 0; i + 1 < f.shape[0]!; i++) {
    let same = true;
    for (let d = 0; d < D && same; d++) same = Math.abs(f.data[i * D + d]! - f.data[(i + 1) * D + d]!) < 1e-6;
    if (same) out.push(i);
  }
  return out;
}

/** Indices i where segments i and i+1 cover the same single clip: their features repeat. */
function predictedRepeats(clips: number): number[] {
  const r = segmentsToClips(clips);
  const out: number[] = [];
  for (let i = 0; i + 1 < r.length; i++)
    if (r[i]!.start === r[i + 1]!.start && r[i]!.end === r[i + 1]!.end) out.push(i);
  return out;
}

const frames = new Map(loadUcfCrimeGroundTruth().videos.map((v) => [v.name, v.sourceFrames]));

test('Normal_Videos_006 (450 frames, 28 clips): the 5 repeated rows are where the map predicts', () => {
  assert.is(frames.get('Normal_Videos_006_x264'), 450);
  const seen = repeatedRows('Normal_Videos_006_x264');
  assert.equal(seen, [3, 9, 16, 22, 28]);
  assert.equal(predictedRepeats(28), seen);
});

test('RoadAccidents002 (347 frames, 21 clips): the 12 repeated rows are where the map predicts', () => {
  assert.is(frames.get('RoadAccidents002_x264'), 347);
  const seen = repeatedRows('RoadAccidents002_x264');
  assert.is(seen.length, 12);
  assert.equal(predictedRepeats(21), seen);
});

test('the other packaged C3D files: no predicted repeat is missing', () => {
  // Explosion025 (505 frames) shows one repeat more than predicted (rows 30-31): the shared
  // README puts it down to how C3D counted that video's clips.
  for (const name of [
    'Explosion008_x264',
    'Explosion025_x264',
    'Normal_Videos_024_x264',
    'Shooting008_x264',
    'Arson041_x264',
    'Fighting033_x264',
  ]) {
    const seen = new Set(repeatedRows(name));
    const n = Math.floor(frames.get(name)! / 16);
    for (const i of predictedRepeats(n)) assert.ok(seen.has(i), `${name}: predicted repeat at ${i}`);
  }
});

test('segmentsToClips: MATLAB round(linspace(1, N, 33)), halves away from zero', () => {
  // N = 3, 4 segments: t = round([1, 1.5, 2, 2.5, 3]) = [1, 2, 2, 3, 3] (numpy would round
  // 2.5 to 2). Segments: clips 1..1, 2 alone (2..1 is empty), 2..2, 3 alone (3..2 empty).
  assert.equal(segmentsToClips(3, 4), [
    { start: 0, end: 1 },
    { start: 1, end: 2 },
    { start: 1, end: 2 },
    { start: 2, end: 3 },
  ]);
  // Many clips: contiguous cover of clips 0 .. N-2; the last clip only through the
  // evaluator's "repeat the last score".
  const r = segmentsToClips(109);
  assert.is(r.length, 32);
  assert.is(r[0]!.start, 0);
  for (let i = 1; i < 32; i++) assert.is(r[i]!.start, r[i - 1]!.end);
  assert.is(r[31]!.end, 108);
  assert.equal(segmentsToClips(0), []);
  assert.equal(segmentsToClips(1)[31], { start: 0, end: 1 });
});

test('segmentScoresToClips spreads scores as Sultani evaluator does', async () => {
  // Same N = 3 map as above: clip 0 <- a, clip 1 <- b then c (later wins), clip 2 <- d.
  assert.equal(
    [...segmentScoresToClips([0.1, 0.2, 0.3, 0.4], 48)].map((x) => Math.round(x * 10) / 10),
    [0.1, 0.3, 0.4],
  );
  const s = Float32Array.from({ length: 32 }, (_, i) => i);
  const c = segmentScoresToClips(s, 450); // 28 clips
  assert.is(c.length, 28);
  assert.is(c[0], 0);
  assert.is(c[27], 31); // the last clip takes the last segment
  const mono = [...c].every((v, i) => i === 0 || v >= c[i - 1]!);
  assert.ok(mono);
  assert.is(segmentScoresToClips(s, 15).length, 0);
  await expectCode(() => segmentScoresToClips([], 100), 'ERR_MIST_ARG');
  await expectCode(() => segmentScoresToClips(s, -1), 'ERR_MIST_ARG');
});

test('clipScoresToFrames: 16 frames a clip; too few clips is an error unless filled', async () => {
  const f = clipScoresToFrames([0.25, 0.75], 32);
  assert.equal([...f.subarray(0, 16)], new Array(16).fill(0.25));
  assert.equal([...f.subarray(16)], new Array(16).fill(0.75));
  assert.is(clipScoresToFrames([0.25, 0.75, 0.5], 20).length, 20); // extra clips ignored
  const e = await expectCode(() => clipScoresToFrames([0.25, 0.75], 40), 'ERR_MIST_SHAPE');
  assert.match(e.message, /2 clip scores cover 32 frames/);
  const filled = clipScoresToFrames([0.25, 0.75], 40, { fill: 'last' });
  assert.is(filled[39], 0.75);
  assert.equal([...clipScoresToFrames([1, 0], 4, { clipLength: 2 })], [1, 1, 0, 0]);
  await expectCode(() => clipScoresToFrames([], 4, { fill: 'last' }), 'ERR_MIST_SHAPE');
  await expectCode(() => clipScoresToFrames([1], 4, { clipLength: 0 }), 'ERR_MIST_ARG');
});

test('segmentFeatures: mean over the clips of each segment, L2-normalised', async () => {
  // 3 clips, 4 segments (map above): segments = clip 0, clip 1, clip 1, clip 2.
  const f = segmentFeatures({ data: new Float32Array([3, 4, 0, 2, 6, 8]), shape: [3, 2] }, { segments: 4 });
  assert.equal(f.shape, [4, 2]);
  assert.equal(
    [...f.data].map((x) => Math.round(x * 1000) / 1000),
    [0.6, 0.8, 0, 1, 0, 1, 0.6, 0.8],
  );
  // 4 clips, 2 segments: t = round([1, 2.5, 4]) = [1, 3, 4]: clips 0-1 and clip 2.
  const m = segmentFeatures({ data: new Float32Array([1, 3, 5, 7]), shape: [4, 1] }, { segments: 2, normalize: false });
  assert.equal([...m.data], [2, 5]);
  await expectCode(() => segmentFeatures({ data: new Float32Array(8), shape: [2, 2, 2] }), 'ERR_MIST_SHAPE');
});

test('segmentsToClips: one segment, and the checks of its arguments', async () => {
  // N = 3, 1 segment: t = round([1, 3]) = [1, 3]: clips 1..2, i.e. [0, 2).
  assert.equal(segmentsToClips(3, 1), [{ start: 0, end: 2 }]);
  // N = 5, 2 segments: t = round([1, 3, 5]) = [1, 3, 5]: clips 1..2 and 3..4.
  assert.equal(segmentsToClips(5, 2), [
    { start: 0, end: 2 },
    { start: 2, end: 4 },
  ]);
  const c = await expectCode(() => segmentsToClips(-1), 'ERR_MIST_ARG');
  assert.is(c.message, 'clipCount must be a non-negative integer (got -1)');
  await expectCode(() => segmentsToClips(2.5), 'ERR_MIST_ARG');
  const z = await expectCode(() => segmentsToClips(3, 0), 'ERR_MIST_ARG');
  assert.is(z.message, 'segments must be a positive integer (got 0)');
  const h = await expectCode(() => segmentsToClips(3, 1.5), 'ERR_MIST_ARG');
  assert.is(h.message, 'segments must be a positive integer (got 1.5)');
});

test('segmentScoresToClips: its messages, and one clip takes the last segment', async () => {
  const e = await expectCode(() => segmentScoresToClips([], 100), 'ERR_MIST_ARG');
  assert.is(e.message, 'segmentScoresToClips: no segment scores');
  const f = await expectCode(() => segmentScoresToClips([1], -1), 'ERR_MIST_ARG');
  assert.is(f.message, 'frames must be a non-negative integer (got -1)');
  // 16 frames = 1 clip; all 3 segments cover clip 0 (t = [1, 1, 1, 1]), the last one wins.
  assert.equal([...segmentScoresToClips([0.5, 0.25, 0.75], 16)], [0.75]);
});

test('segmentFeatures: 32 segments by default, zero segments stay zero, empty and wrong inputs', async () => {
  // One clip [3, 4]: every one of the 32 segments is that clip, normalised to [0.6, 0.8].
  const one = segmentFeatures({ data: new Float32Array([3, 4]), shape: [1, 2] });
  assert.equal(one.shape, [32, 2]);
  for (let i = 0; i < 32; i++) {
    assert.ok(Math.abs(one.data[2 * i]! - 0.6) < 1e-7 && Math.abs(one.data[2 * i + 1]! - 0.8) < 1e-7, `row ${i}`);
  }
  // A clip of zeros has no norm: it stays zero (not NaN). 2 clips, 2 segments: t = [1, 2, 2],
  // segments = clip 0 and clip 1 (alone, 2..1 is empty).
  const z = segmentFeatures({ data: new Float32Array([0, 0, 0, 5]), shape: [2, 2] }, { segments: 2 });
  assert.equal([...z.data], [0, 0, 0, 1]);
  const e = await expectCode(() => segmentFeatures({ data: new Float32Array(0), shape: [0, 3] }), 'ERR_MIST_SHAPE');
  assert.is(e.message, 'segmentFeatures: no clips');
  const r = await expectCode(() => segmentFeatures({ data: new Float32Array(8), shape: [2, 2, 2] }), 'ERR_MIST_SHAPE');
  assert.is(r.message, 'segmentFeatures: need [N, D], got [2, 2, 2]');
});

test('clipScoresToFrames: one frame a clip, partial last clip, filled tail, and its messages', async () => {
  assert.equal([...clipScoresToFrames([1, 0, 1], 3, { clipLength: 1 })], [1, 0, 1]);
  // 3 clips of 4 frames for 10 frames: the third clip covers frames 8-9 only.
  assert.equal([...clipScoresToFrames([1, 2, 3], 10, { clipLength: 4 })], [1, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
  // 2 clips of 2 frames for 7 frames, filled: frames 4-6 repeat the last clip.
  assert.equal([...clipScoresToFrames([1, 2], 7, { clipLength: 2, fill: 'last' })], [1, 1, 2, 2, 2, 2, 2]);
  assert.equal([...clipScoresToFrames([], 0)], []);
  const f = await expectCode(() => clipScoresToFrames([1], 2.5), 'ERR_MIST_ARG');
  assert.is(f.message, 'frames must be a non-negative integer (got 2.5)');
  const l = await expectCode(() => clipScoresToFrames([1], 4, { clipLength: 0 }), 'ERR_MIST_ARG');
  assert.is(l.message, 'clipLength must be a positive integer (got 0)');
  const s = await expectCode(() => clipScoresToFrames([1, 2], 7, { clipLength: 2 }), 'ERR_MIST_SHAPE');
  assert.is(s.message, '2 clip scores cover 4 frames, fewer than the 7 to score');
});

test.run();
