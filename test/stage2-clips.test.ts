// Stage 2's clips and targets, worked by hand: one window in each third of a video, the
// interpolated target (not the released code's reversed one), the last clip, normal videos,
// seeds, and the balanced per-step plan.
import * as assert from 'uvu/assert';
import { createRng } from '../lib/rng.js';
import { createBalancedVideoPlan, sampleTrainingClips, windowTarget, type TrainingVideo } from '../lib/stage2/clips.js';
import { expectCode, test } from './helpers.js';

const anomalous = (name: string, pl: number[], frames = 16 * pl.length): TrainingVideo => ({
  name,
  frames,
  label: 'anomalous',
  pseudoLabels: Float32Array.from(pl),
});

test('one clip in each third of the video: 30 clips give indices in [0,10), [10,20), [20,30)', () => {
  const v: TrainingVideo = { name: 'n', frames: 480, label: 'normal' };
  const seen = [new Set<number>(), new Set<number>(), new Set<number>()];
  const rng = createRng(1);
  for (let i = 0; i < 500; i++) {
    const clips = sampleTrainingClips([v], rng);
    assert.is(clips.length, 3);
    clips.forEach((c, k) => {
      assert.ok(c.clipIndex >= 10 * k && c.clipIndex < 10 * k + 10, `clip ${k} at ${c.clipIndex}`);
      assert.is(c.startFrame, 16 * c.clipIndex + c.offset);
      seen[k]!.add(c.clipIndex);
    });
  }
  // Every index of each third is reached.
  assert.equal(
    seen.map((s) => s.size),
    [10, 10, 10],
  );
});

test('near-equal thirds of 4 clips are [0,1), [1,2), [2,4); fewer clips than thirds collapse', () => {
  const rng = createRng(2);
  const third = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const c = sampleTrainingClips([{ name: 'v', frames: 64, label: 'normal' }], rng).map((x) => x.clipIndex);
    assert.equal(c.slice(0, 2), [0, 1]);
    third.add(c[2]!);
  }
  assert.equal([...third].sort(), [2, 3]);
  // C = 1: clip 0 three times; C = 2 (40 frames): 0, 0, 1.
  assert.equal(
    sampleTrainingClips([{ name: 'v', frames: 16, label: 'normal' }], rng).map((x) => x.clipIndex),
    [0, 0, 0],
  );
  assert.equal(
    sampleTrainingClips([{ name: 'v', frames: 40, label: 'normal' }], rng).map((x) => x.clipIndex),
    [0, 0, 1],
  );
  // clipsPerVideo other than 3: 5 segments of 10 clips.
  const five = sampleTrainingClips([{ name: 'v', frames: 160, label: 'normal' }], rng, { clipsPerVideo: 5 });
  five.forEach((c, k) => assert.ok(c.clipIndex >= 2 * k && c.clipIndex < 2 * k + 2));
});

test('the target (1 − b/16)·PL[c] + (b/16)·PL[c+1] at b = 0, 8, 15, and PL[last] past the end', async () => {
  const pl = [0.25, 0.75, 1];
  assert.is(windowTarget(pl, 0, 0), 0.25);
  assert.is(windowTarget(pl, 0, 8), 0.5);
  // 15 of the window's 16 frames lie in clip 1: the target is near PL[1], not PL[0].
  assert.is(windowTarget(pl, 0, 15), 0.25 / 16 + (0.75 * 15) / 16); // 0.71875
  assert.is(windowTarget(pl, 0, 15), 0.71875);
  assert.is(windowTarget(pl, 1, 8), 0.875);
  assert.is(windowTarget(pl, 2, 0), 1);
  assert.is(windowTarget(pl, 2, 15), 1);
  assert.is(windowTarget([0.5, 0, 0.5], 1, 4), 0.125);
  // Out-of-range clip indices and offsets are argument errors.
  for (const [c, b] of [
    [3, 0],
    [-1, 0],
    [0, 16],
    [0, -1],
  ] as const) {
    await expectCode(() => windowTarget(pl, c, b), 'ERR_MIST_ARG');
  }
});

test('sampled windows carry the formula target of their own clip and offset', () => {
  const pl = [0, 0.125, 0.5, 1, 0.75, 0.25, 0];
  const v = anomalous('a', pl, 16 * 7 + 9);
  const rng = createRng(3);
  for (let i = 0; i < 300; i++) {
    for (const c of sampleTrainingClips([v], rng)) {
      const next = pl[Math.min(c.clipIndex + 1, pl.length - 1)]!;
      const want = (1 - c.offset / 16) * pl[c.clipIndex]! + (c.offset / 16) * next;
      assert.ok(Math.abs(c.target - want) < 1e-12, `c=${c.clipIndex} b=${c.offset}: ${c.target} vs ${want}`);
      assert.ok(c.startFrame + 16 <= v.frames, 'the window stays inside the video');
    }
  }
});

test('the last clip: b = 0 when frames is a multiple of 16, else b ≤ frames − 16·C; target PL[last]', () => {
  const pl = [0.25, 0.5, 0.75];
  const rng = createRng(4);
  const tailOffsets = new Set<number>();
  for (let i = 0; i < 400; i++) {
    const exact = sampleTrainingClips([anomalous('x', pl, 48)], rng)[2]!;
    if (exact.clipIndex === 2) {
      assert.is(exact.offset, 0);
      assert.is(exact.startFrame, 32);
      assert.is(exact.target, 0.75);
    }
    // 53 frames: C = 3 and 5 frames past the last whole clip.
    const tail = sampleTrainingClips([anomalous('y', pl, 53)], rng)[2]!;
    if (tail.clipIndex === 2) {
      assert.ok(tail.offset <= 5 && tail.startFrame + 16 <= 53);
      assert.is(tail.target, 0.75);
      tailOffsets.add(tail.offset);
    }
  }
  assert.equal(
    [...tailOffsets].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5],
  );
  // A single-clip video: all three windows are clip 0, the last clip.
  const one = sampleTrainingClips([anomalous('z', [0.5], 16)], rng);
  assert.equal(
    one.map((c) => [c.clipIndex, c.offset, c.target]),
    [
      [0, 0, 0.5],
      [0, 0, 0.5],
      [0, 0, 0.5],
    ],
  );
});

test('normal videos get target 0, with or without pseudo labels', () => {
  const rng = createRng(5);
  const clips = sampleTrainingClips(
    [
      { name: 'n1', frames: 100, label: 'normal' },
      { name: 'n2', frames: 64, label: 'normal', pseudoLabels: Float32Array.from([1, 1, 1, 1]) },
    ],
    rng,
  );
  assert.is(clips.length, 6);
  assert.equal(
    clips.map((c) => c.target),
    [0, 0, 0, 0, 0, 0],
  );
  assert.equal(
    clips.map((c) => c.video),
    ['n1', 'n1', 'n1', 'n2', 'n2', 'n2'],
  );
});

test('the same seed gives the same windows; other seeds give others', () => {
  const videos = [
    anomalous('a', [0.1, 0.4, 0.9, 0.3, 0.2, 0.6, 0.8, 0.5], 140),
    { name: 'n', frames: 999, label: 'normal' as const },
  ];
  const draw = (seed: number) => sampleTrainingClips(videos, createRng(seed));
  assert.equal(draw(7), draw(7));
  const base = JSON.stringify(draw(7));
  const others = [8, 9, 10, 11].filter((s) => JSON.stringify(draw(s)) !== base);
  assert.is(others.length, 4);
});

test('b is uniform over [0, 16): chi-square of 48,000 draws below 50 (15 degrees of freedom)', () => {
  const v: TrainingVideo = { name: 'long', frames: 16 * 300, label: 'normal' };
  const rng = createRng(6);
  const counts = new Array<number>(16).fill(0);
  let n = 0;
  while (n < 48_000) {
    for (const c of sampleTrainingClips([v], rng)) {
      if (c.clipIndex === 299) continue;
      counts[c.offset]!++;
      n++;
    }
  }
  const expected = n / 16;
  const chi2 = counts.reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
  // The 99.99th percentile of chi-square(15) is about 42.
  assert.ok(chi2 < 50, `chi-square ${chi2.toFixed(1)} (counts ${counts.join(' ')})`);
});

test('errors: pseudo labels of the wrong length (SHAPE, naming the video), missing, out of range; short video', async () => {
  const rng = createRng(0);
  const e = await expectCode(
    () => sampleTrainingClips([anomalous('Abuse028_x264', [0.5, 0.5], 48)], rng),
    'ERR_MIST_SHAPE',
  );
  assert.match(e.message, 'Abuse028_x264');
  assert.match(e.message, '2 pseudo labels for 3 clips');
  // A normal video's labels are checked too: a wrong length means a wrong frame count.
  await expectCode(
    () => sampleTrainingClips([{ name: 'n', frames: 48, label: 'normal', pseudoLabels: new Float32Array(4) }], rng),
    'ERR_MIST_SHAPE',
  );
  const m = await expectCode(
    () => sampleTrainingClips([{ name: 'a2', frames: 48, label: 'anomalous' }], rng),
    'ERR_MIST_ARG',
  );
  assert.match(m.message, 'a2');
  await expectCode(() => sampleTrainingClips([anomalous('a3', [0.5, 1.5])], rng), 'ERR_MIST_ARG');
  await expectCode(() => sampleTrainingClips([anomalous('a4', [0.5, NaN])], rng), 'ERR_MIST_ARG');
  const s = await expectCode(
    () => sampleTrainingClips([{ name: 'tiny', frames: 15, label: 'normal' }], rng),
    'ERR_MIST_ARG',
  );
  assert.match(s.message, 'tiny');
  await expectCode(() => sampleTrainingClips([], rng, { clipsPerVideo: 0 }), 'ERR_MIST_ARG');
  await expectCode(() => sampleTrainingClips([], rng, { clipLen: 16 } as never), 'ERR_MIST_ARG');
  // Nothing is drawn when a later video is bad.
  const r = createRng(9);
  const before = r.state();
  await expectCode(
    () => sampleTrainingClips([{ name: 'ok', frames: 64, label: 'normal' }, anomalous('bad', [1], 48)], r),
    'ERR_MIST_SHAPE',
  );
  assert.is(r.state(), before);
});

test('balanced plan: an epoch is one pass over the larger class, the smaller one cycles', () => {
  const normal = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
  const anom = Array.from({ length: 23 }, (_, i) => `a${i}`);
  const plan = createBalancedVideoPlan(normal, anom, { videosPerClass: 5 }, createRng(12));
  assert.is(plan.stepsPerEpoch, 5);
  assert.is(plan.epochClass, 'anomalous');
  const steps = Array.from({ length: 7 }, () => plan.next());
  assert.equal(
    steps.map((s) => [s.epoch, s.stepInEpoch, s.step]),
    [
      [0, 0, 0],
      [0, 1, 1],
      [0, 2, 2],
      [0, 3, 3],
      [0, 4, 4],
      [1, 0, 5],
      [1, 1, 6],
    ],
  );
  for (const s of steps) {
    assert.is(s.normal.length, 5);
    assert.is(s.anomalous.length, 5);
    assert.is(new Set(s.anomalous).size, 5, 'no video twice in a step');
    assert.is(new Set(s.normal).size, 5);
  }
  // Epoch 0: the first 4 steps deal 20 distinct videos, the last the other 3 plus 2 of those 20.
  const first20 = steps.slice(0, 4).flatMap((s) => s.anomalous);
  assert.is(new Set(first20).size, 20);
  const last = steps[4]!.anomalous;
  assert.equal(new Set([...first20, ...last]), new Set(anom));
  assert.is(last.filter((v) => first20.includes(v)).length, 2);
  // 7 steps × 5 normal videos = 5 whole passes over the 7: each exactly 5 times.
  const uses = new Map<string, number>();
  for (const s of steps) for (const v of s.normal) uses.set(v, (uses.get(v) ?? 0) + 1);
  assert.equal(
    normal.map((v) => uses.get(v)),
    [5, 5, 5, 5, 5, 5, 5],
  );
});

test('balanced plan: deterministic per seed, tiny classes repeat videos, an empty class fails', async () => {
  const a = ['a0', 'a1', 'a2', 'a3'];
  const n = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];
  const run = (seed: number) => {
    const p = createBalancedVideoPlan(n, a, { videosPerClass: 2 }, createRng(seed));
    return Array.from({ length: 9 }, () => p.next());
  };
  assert.equal(run(3), run(3));
  assert.not.equal(JSON.stringify(run(3)), JSON.stringify(run(4)));
  assert.is(createBalancedVideoPlan(n, a, { videosPerClass: 2 }, createRng(0)).epochClass, 'normal');
  // Fewer videos than n: each step holds every video, some twice.
  const p = createBalancedVideoPlan(['n0'], ['a0', 'a1'], { videosPerClass: 3 }, createRng(1));
  assert.is(p.stepsPerEpoch, 1);
  for (let i = 0; i < 5; i++) {
    const s = p.next();
    assert.equal(s.normal, ['n0', 'n0', 'n0']);
    assert.is(s.anomalous.length, 3);
    assert.equal(new Set(s.anomalous), new Set(['a0', 'a1']));
    assert.is(s.epoch, i);
  }
  await expectCode(() => createBalancedVideoPlan([], a, { videosPerClass: 2 }, createRng(0)), 'ERR_MIST_ARG');
  await expectCode(() => createBalancedVideoPlan(n, a, { videosPerClass: 0 }, createRng(0)), 'ERR_MIST_ARG');
});

test.run();
