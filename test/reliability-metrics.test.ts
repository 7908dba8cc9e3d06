// The bad-input matrix, metrics: frameAuc, averagePrecision, prAuc, rocCurve, prCurve,
// thresholdCounts, falseAlarmRate, scoreGap, the segment maps (segments.ts) and evaluate() on
// empty input, one class only, non-finite scores, labels other than 0/1, lengths that differ
// or that no array has, and score maps of the wrong kind. Every refusal is a coded MistError,
// one line, in time (a watchdog kills a hang: test/reliability-helpers.ts). Counts that decide
// a loop or an allocation (an array-like's length, frames, segments, clipLength) are checked
// before anything loops over them. NaN scores in evaluate(): test/reliability-nan.test.ts.
import * as assert from 'uvu/assert';

import {
  averagePrecision,
  clipScoresToFrames,
  evaluate,
  falseAlarmRate,
  frameAuc,
  prAuc,
  prCurve,
  rocCurve,
  scoreGap,
  segmentFeatures,
  segmentScoresToClips,
  segmentsToClips,
  thresholdCounts,
  type GroundTruth,
} from '../lib/index.js';
import { test } from './helpers.js';
import { refuses } from './reliability-helpers.js';

type Metric = (l: ArrayLike<number>, s: ArrayLike<number>) => unknown;
const METRICS: [string, Metric][] = [
  ['frameAuc', frameAuc],
  ['averagePrecision', averagePrecision],
  ['prAuc', prAuc],
  ['rocCurve', (l, s) => rocCurve(l, s)],
  ['prCurve', prCurve],
  ['thresholdCounts', thresholdCounts],
  ['scoreGap', scoreGap],
];

/** An array-like that claims `length` and holds nothing. */
const claims = (length: unknown): ArrayLike<number> => ({ length }) as unknown as ArrayLike<number>;

test('the frame metrics: empty input, one class, bad labels, mismatched or impossible lengths', async () => {
  const l = Uint8Array.of(0, 1, 0, 1);
  const s = Float32Array.of(0.1, 0.9, 0.2, 0.8);
  for (const [name, f] of METRICS) {
    // What each message names: the function, or the metric it computes.
    const mentions = name === 'scoreGap' ? 'score' : '';
    await refuses(name, 'empty arrays', () => f([], []), 'ERR_MIST_METRIC', mentions);
    await refuses(name, 'lengths 4 and 3', () => f(l, s.subarray(0, 3)), 'ERR_MIST_SHAPE', name);
    for (const bad of [2, -1, 0.5, NaN]) {
      await refuses(
        name,
        `a label ${bad}`,
        () => f(Float32Array.of(0, 1, bad, 1), s),
        'ERR_MIST_ARG',
        'labels must be 0 or 1',
      );
    }
    await refuses(
      name,
      "a label '1' (a string)",
      () => f([0, 1, '1' as never, 1], s),
      'ERR_MIST_ARG',
      'labels must be 0 or 1',
    );
    await refuses(name, 'a NaN score', () => f(l, Float32Array.of(0.1, NaN, 0.2, 0.8)), 'ERR_MIST_ARG', 'NaN');
    // A hole or a string became NaN in the sorted copy, and the threshold walk (NaN === NaN is
    // false) never advanced: the call did not return.
    await refuses(
      name,
      'a score that is a hole (undefined)',
      () => f([0, 1, 0, 1], [0.1, undefined, 0.2, 0.8] as never),
      'ERR_MIST_ARG',
      'not a number',
      2_000,
    );
    await refuses(
      name,
      "a score 'x' (a string)",
      () => f([0, 1, 0, 1], [0.1, 'x', 0.2, 0.8] as never),
      'ERR_MIST_ARG',
      'not a number',
      2_000,
    );
    // Array-likes claiming lengths no array has: refused before any loop or allocation.
    for (const n of [-1, 1.5, NaN, Infinity, 2 ** 53, '4']) {
      await refuses(
        name,
        `labels claiming length ${typeof n === 'string' ? `'${n}' (a string)` : String(n)}`,
        () => f(claims(n), claims(n)),
        'ERR_MIST_ARG',
        'must be an array',
        2_000,
      );
    }
    await refuses(
      name,
      'labels and scores claiming 2^33 frames',
      () => f(claims(2 ** 33), claims(2 ** 33)),
      'ERR_MIST_MEMORY',
      name,
      2_000,
    );
    // 10^8 claimed, nothing there: the first element is refused, no 10^8 loop.
    await refuses(
      name,
      'labels and scores claiming 10^8 frames, holding none',
      () => f(claims(1e8), claims(1e8)),
      'ERR_MIST_ARG',
      'frame 0',
      2_000,
    );
    await refuses(name, 'null labels', () => f(null as never, s), 'ERR_MIST_ARG', 'must be an array');
  }
  for (const [name, f] of METRICS.filter(([n]) => n !== 'prCurve' && n !== 'thresholdCounts')) {
    for (const [what, labels] of [
      ['all normal', Uint8Array.of(0, 0, 0, 0)],
      ['all anomalous', Uint8Array.of(1, 1, 1, 1)],
    ] as const) {
      if (name === 'averagePrecision' || name === 'prAuc') {
        if (what === 'all anomalous') continue; // defined: AP and PR-AUC need anomalous frames only
      }
      await refuses(name, `one class only (${what})`, () => f(labels, s), 'ERR_MIST_METRIC', 'undefined');
    }
  }
  await refuses(
    'prCurve',
    'no anomalous frame',
    () => prCurve(Uint8Array.of(0, 0), Float32Array.of(0.1, 0.2)),
    'ERR_MIST_METRIC',
    'undefined',
  );
});

test('infinite scores: the rank metrics order them; the score gap refuses a mean that is not a number', async () => {
  const l = Uint8Array.of(0, 1, 0, 1);
  assert.is(frameAuc(l, [-Infinity, Infinity, 0, 1]), 1);
  assert.is(averagePrecision(l, [-Infinity, Infinity, 0, 1]), 1);
  assert.is(frameAuc(l, [Infinity, Infinity, Infinity, Infinity]), 0.5);
  assert.is(scoreGap(l, [0, Infinity, 0, 1]), Infinity);
  await refuses(
    'scoreGap',
    '+Infinity in both classes',
    () => scoreGap(l, [Infinity, Infinity, 0, 1]),
    'ERR_MIST_METRIC',
    'score gap is undefined',
  );
  await refuses(
    'scoreGap',
    '+Infinity and -Infinity among the anomalous frames',
    () => scoreGap(l, [0, Infinity, 0, -Infinity]),
    'ERR_MIST_METRIC',
    'score gap is undefined',
  );
});

test('falseAlarmRate: no frames, NaN score or threshold, impossible lengths', async () => {
  await refuses('falseAlarmRate', 'no frames', () => falseAlarmRate([]), 'ERR_MIST_METRIC', 'false alarm rate');
  await refuses('falseAlarmRate', 'a NaN score', () => falseAlarmRate([0.1, NaN]), 'ERR_MIST_ARG', 'falseAlarmRate');
  await refuses(
    'falseAlarmRate',
    'threshold NaN',
    () => falseAlarmRate([0.1], { threshold: NaN }),
    'ERR_MIST_ARG',
    'falseAlarmRate',
  );
  await refuses(
    'falseAlarmRate',
    "threshold '0.5' (a string)",
    () => falseAlarmRate([0.1], { threshold: '0.5' as never }),
    'ERR_MIST_ARG',
    'falseAlarmRate',
  );
  await refuses(
    'falseAlarmRate',
    'scores claiming length -1',
    () => falseAlarmRate(claims(-1)),
    'ERR_MIST_ARG',
    'falseAlarmRate',
  );
  await refuses(
    'falseAlarmRate',
    'scores claiming 2^33 frames',
    () => falseAlarmRate(claims(2 ** 33)),
    'ERR_MIST_MEMORY',
    'falseAlarmRate',
    2_000,
  );
  assert.is(falseAlarmRate([0.4, 0.6, Infinity]), 2 / 3);
});

test('the segment maps: counts bounded before they loop or allocate', async () => {
  await refuses('segmentsToClips', 'segments 10^9', () => segmentsToClips(100, 1e9), 'ERR_MIST_ARG', 'segments', 2_000);
  await refuses('segmentsToClips', 'segments 0', () => segmentsToClips(100, 0), 'ERR_MIST_ARG', 'segments');
  await refuses(
    'segmentsToClips',
    'clipCount 2^40',
    () => segmentsToClips(2 ** 40),
    'ERR_MIST_ARG',
    'clipCount',
    2_000,
  );
  await refuses('segmentsToClips', 'clipCount -1', () => segmentsToClips(-1), 'ERR_MIST_ARG', 'clipCount');
  const seg = new Float32Array(32).fill(0.5);
  await refuses(
    'segmentScoresToClips',
    'clipLength 0',
    () => segmentScoresToClips(seg, 100, { clipLength: 0 }),
    'ERR_MIST_ARG',
    'clipLength',
  );
  await refuses(
    'segmentScoresToClips',
    'clipLength -16',
    () => segmentScoresToClips(seg, 100, { clipLength: -16 }),
    'ERR_MIST_ARG',
    'clipLength',
  );
  await refuses(
    'segmentScoresToClips',
    'frames 10^12',
    () => segmentScoresToClips(seg, 1e12),
    'ERR_MIST_ARG',
    'frames',
    2_000,
  );
  await refuses(
    'segmentScoresToClips',
    'no segment scores',
    () => segmentScoresToClips([], 100),
    'ERR_MIST_ARG',
    'segmentScoresToClips',
  );
  await refuses(
    'segmentScoresToClips',
    'segment scores claiming 10^8 entries',
    () => segmentScoresToClips(claims(1e8), 1600),
    'ERR_MIST_ARG',
    'segment scores',
    2_000,
  );
  await refuses(
    'clipScoresToFrames',
    'frames 2^31',
    () => clipScoresToFrames(seg, 2 ** 31, { fill: 'last' }),
    'ERR_MIST_ARG',
    'frames',
    2_000,
  );
  await refuses(
    'clipScoresToFrames',
    'clipLength 0.5',
    () => clipScoresToFrames(seg, 100, { clipLength: 0.5 }),
    'ERR_MIST_ARG',
    'clipLength',
  );
  await refuses(
    'clipScoresToFrames',
    'clip scores claiming length NaN',
    () => clipScoresToFrames(claims(NaN), 100),
    'ERR_MIST_ARG',
    'clipScores',
  );
  await refuses(
    'clipScoresToFrames',
    '2 clip scores for 100 frames',
    () => clipScoresToFrames([0.1, 0.2], 100),
    'ERR_MIST_SHAPE',
    'the 100 to score',
  );
  const f = { data: new Float32Array(40), shape: [10, 4] };
  await refuses(
    'segmentFeatures',
    'segments 10^9',
    () => segmentFeatures(f, { segments: 1e9 }),
    'ERR_MIST_ARG',
    'segments',
    2_000,
  );
  await refuses(
    'segmentFeatures',
    'no clips',
    () => segmentFeatures({ data: new Float32Array(0), shape: [0, 4] }),
    'ERR_MIST_SHAPE',
    'segmentFeatures',
  );
});

const video = (name: string, labels: number[], anomalous: boolean) => ({
  name,
  anomalous,
  sourceFrames: labels.length,
  frames: labels.length,
  labels: Uint8Array.from(labels),
});
const GT: GroundTruth = {
  dataset: 'synthetic',
  videos: [video('a', [...Array(16).fill(0), ...Array(16).fill(1)], true), video('n', Array(32).fill(0), false)],
  totalFrames: 64,
  anomalousFrames: 16,
  anomalousVideos: 1,
};

test('evaluate: score maps of the wrong kind, lengths that differ, one class, missing videos', async () => {
  const ok = new Map<string, ArrayLike<number>>([
    ['a', Float32Array.of(0.1, 0.9)],
    ['n', Float32Array.of(0.1, 0.2)],
  ]);
  assert.ok(evaluate({ scores: ok, groundTruth: GT }).auc > 0.9);
  const kinds: [string, unknown][] = [
    ['a BigInt64Array', BigInt64Array.of(1n, 2n)],
    ['a DataView', new DataView(new ArrayBuffer(8))],
    ['an array of strings', ['0.1', '0.9']],
    ['an array holding null', [0.1, null]],
    ['a number', 0.5],
  ];
  for (const [what, v] of kinds) {
    const scores = new Map<string, unknown>([...ok, ['a', v]]);
    await refuses(
      'evaluate',
      `scores of ${what}`,
      () => evaluate({ scores: scores as never, groundTruth: GT }),
      'ERR_MIST_ARG',
      'scores',
    );
  }
  await refuses(
    'evaluate',
    'scores a plain object, not a Map',
    () => evaluate({ scores: { a: [0.1] } as never, groundTruth: GT }),
    'ERR_MIST_ARG',
    'scores',
  );
  await refuses(
    'evaluate',
    'a ground truth without videos',
    () => evaluate({ scores: ok, groundTruth: {} as never }),
    'ERR_MIST_ARG',
    'groundTruth',
  );
  await refuses(
    'evaluate',
    '1 clip score for 32 frames',
    () => evaluate({ scores: new Map([...ok, ['a', [0.5]]]), groundTruth: GT }),
    'ERR_MIST_SHAPE',
    'a:',
  );
  await refuses(
    'evaluate',
    '20 frame scores for 32 frames',
    () => evaluate({ scores: new Map([...ok, ['a', new Float32Array(20)]]), groundTruth: GT, scoreLayout: 'frames' }),
    'ERR_MIST_SHAPE',
    'a:',
  );
  await refuses(
    'evaluate',
    'a video without scores',
    () => evaluate({ scores: new Map([['a', [0.1, 0.9]]]), groundTruth: GT }),
    'ERR_MIST_ARG',
    'no scores for n',
  );
  await refuses(
    'evaluate',
    'no video with scores',
    () => evaluate({ scores: new Map([['x', [0.1]]]), groundTruth: GT, onMissing: 'skip' }),
    'ERR_MIST_ARG',
    'evaluate',
  );
  await refuses(
    'evaluate',
    'only the normal video scored (one class)',
    () => evaluate({ scores: new Map([['n', [0.1, 0.2]]]), groundTruth: GT, onMissing: 'skip' }),
    'ERR_MIST_METRIC',
    'undefined',
  );
  await refuses(
    'evaluate',
    'clipLength 0',
    () => evaluate({ scores: ok, groundTruth: GT, clipLength: 0 }),
    'ERR_MIST_ARG',
    'clipLength',
  );
  await refuses(
    'evaluate',
    "scoreLayout 'frame'",
    () => evaluate({ scores: ok, groundTruth: GT, scoreLayout: 'frame' as never }),
    'ERR_MIST_ARG',
    'scoreLayout',
  );
  await refuses(
    'evaluate',
    'segment scores claiming 10^8 entries',
    () =>
      evaluate({
        scores: new Map([...ok, ['a', new Float32Array(2 ** 21)]]),
        groundTruth: GT,
        scoreLayout: 'segments',
      }),
    'ERR_MIST_ARG',
    'segment scores',
  );
});

test('a real input of 10^7 frames is handled in time', async () => {
  const n = 1e7;
  const labels = new Uint8Array(n);
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 10 === 0 ? 1 : 0;
    scores[i] = ((i * 7919) % 1000) / 1000 + (labels[i] ? 0.5 : 0);
  }
  const t0 = Date.now();
  const auc = frameAuc(labels, scores);
  console.log(`# frameAuc of 10^7 frames: ${auc.toFixed(4)} in ${Date.now() - t0} ms`);
  assert.ok(auc > 0.5 && auc <= 1);
  assert.ok(Date.now() - t0 < 30_000);
});

test.run();
