import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { createRng } from '../lib/rng.js';
import { sparseContinuousIndices, sparseContinuousSample, sparseShiftCount, uniformSample } from '../lib/index.js';
import { ROOT, expectCode, test } from './helpers.js';

const list = (a: Int32Array) => Array.from(a);

test('N < T: linspace runs to a negative stop, floor goes down, indices clamp into [0, N-1]', () => {
  // N = 3, L = 2, T = 7: linspace(0, -4, 3) = [0, -2, -4]; (3 - 7) div 3 = -2 < 1, so shift 0.
  // Sub-bag 0 covers 0..6 -> [0,1,2,2,2,2,2]; sub-bag 1 covers -2..4 -> [0,0,0,1,2,2,2].
  assert.equal(sparseShiftCount(3, { L: 2, T: 7 }), 1);
  assert.equal(
    list(sparseContinuousSample(3, { L: 2, T: 7 }, createRng(1))),
    [0, 1, 2, 2, 2, 2, 2, 0, 0, 0, 1, 2, 2, 2],
  );
  // N = 5, L = 3, T = 7: linspace(0, -2, 4) = [0, -0.667, -1.333, -2], floor -> [0, -1, -2, (-2)].
  // Truncating towards zero instead of flooring would give starts [0, 0, -1].
  assert.equal(
    list(sparseContinuousIndices(5, { L: 3, T: 7 }, 0)),
    [0, 1, 2, 3, 4, 4, 4, /**/ 0, 0, 1, 2, 3, 4, 4, /**/ 0, 0, 0, 1, 2, 3, 4],
  );
});

test('N = 1 and N = T: every sub-bag is the same run of clips', () => {
  assert.equal(list(sparseContinuousSample(1, { L: 3, T: 2 }, createRng(5))), [0, 0, 0, 0, 0, 0]);
  // N = T = 7, L = 3: linspace(0, 0, 4) = 0s; (7 - 7) div 4 = 0 -> shift 0.
  const r = list(sparseContinuousSample(7, { L: 3, T: 7 }, createRng(9)));
  assert.equal(r, [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6]);
});

test('N much larger than L*T: evenly spread starts plus one shared shift', () => {
  // N = 1000, L = 4, T = 3: linspace(0, 997, 5) = [0, 249.25, 498.5, 747.75, 997]; keep the first
  // 4, floor -> [0, 249, 498, 747]; shift count 997 div 5 = 199.
  assert.equal(sparseShiftCount(1000, { L: 4, T: 3 }), 199);
  assert.equal(
    list(sparseContinuousIndices(1000, { L: 4, T: 3 }, 5)),
    [5, 6, 7, 254, 255, 256, 503, 504, 505, 752, 753, 754],
  );
  assert.equal(
    list(sparseContinuousIndices(1000, { L: 4, T: 3 }, 198)),
    [198, 199, 200, 447, 448, 449, 696, 697, 698, 945, 946, 947],
  );
  // N = 10, L = 2, T = 3: linspace(0, 7, 3) = [0, 3.5, 7] -> [0, 3]; 7 div 3 = 2 shifts.
  assert.equal(list(sparseContinuousIndices(10, { L: 2, T: 3 }, 1)), [1, 2, 3, 4, 5, 6]);
  // shift 2 is outside [0, 2): refused, not clamped.
  assert.throws(() => sparseContinuousIndices(10, { L: 2, T: 3 }, 2), /shift must be an integer in \[0, 2\)/);
});

test("numpy's linspace rounding is kept: floor(60.99999999999999) = 60, not the exact 61", () => {
  // N = 129, L = 14, T = 7: numpy computes starts[7] = 7 * (122 / 14) = 60.99999999999999, so
  // the authors' code starts sub-bag 7 at clip 60; exact arithmetic (7 * 122 / 14 = 61) would not.
  const idx = sparseContinuousIndices(129, { L: 14, T: 7 }, 0);
  assert.equal(list(idx.subarray(7 * 7, 8 * 7)), [60, 61, 62, 63, 64, 65, 66]);
});

test('the shift covers exactly [0, (N-T) div (L+1)) over many seeds', () => {
  // starts[0] is 0 whenever N >= T, so the first index is the shift itself.
  const cases: [number, number, number, number][] = [
    [1000, 4, 3, 199], // 997 div 5
    [240, 32, 7, 7], // 233 div 33
    [300, 32, 7, 8], // 293 div 33
    [45, 4, 3, 8], // 42 div 5
    [12, 4, 3, 1], // 9 div 5 = 1 -> only 0
    [20, 32, 7, 1], // 13 div 33 = 0 -> only 0
  ];
  for (const [n, L, T, count] of cases) {
    assert.equal(sparseShiftCount(n, { L, T }), count, `count for N=${n} L=${L} T=${T}`);
    const seen = new Set<number>();
    for (let seed = 0; seed < 4000; seed++) seen.add(sparseContinuousSample(n, { L, T }, createRng(seed))[0]!);
    const sorted = [...seen].sort((a, b) => a - b);
    assert.equal(
      sorted,
      Array.from({ length: count }, (_, i) => i),
      `shifts for N=${n} L=${L} T=${T}`,
    );
  }
});

test('one rng draw per video, shared by all sub-bags', () => {
  const rng = createRng(42);
  const idx = sparseContinuousSample(1000, { L: 4, T: 3 }, rng);
  const shift = idx[0]!;
  assert.equal(list(idx), list(sparseContinuousIndices(1000, { L: 4, T: 3 }, shift)));
  // The generator advanced exactly once: a copy seeded the same and drawn once matches.
  const twin = createRng(42);
  twin.int(0, 199);
  assert.is(rng.float(), twin.float());
});

test('matches numpy on a grid of N, L, T and shifts (sampling-reference.json)', () => {
  const ref = JSON.parse(readFileSync(`${ROOT}/test/reference/sampling-reference.json`, 'utf8')) as {
    cases: { n: number; L: number; T: number; shift: number; shiftCount: number; indices: number[] }[];
  };
  assert.ok(ref.cases.length > 100);
  for (const c of ref.cases) {
    const what = `N=${c.n} L=${c.L} T=${c.T} shift=${c.shift}`;
    assert.is(sparseShiftCount(c.n, { L: c.L, T: c.T }), c.shiftCount, what);
    assert.equal(list(sparseContinuousIndices(c.n, { L: c.L, T: c.T }, c.shift)), c.indices, what);
  }
});

test('uniformSample: count evenly spaced single clips (sparse continuous with T = 1)', () => {
  // N = 100, count = 4: linspace(0, 99, 5) = [0, 24.75, 49.5, 74.25, 99] -> [0, 24, 49, 74];
  // shift in [0, 99 div 5 = 19).
  const seen = new Set<number>();
  for (let seed = 0; seed < 2000; seed++) {
    const idx = list(uniformSample(100, 4, createRng(seed)));
    const s = idx[0]!;
    assert.equal(idx, [s, 24 + s, 49 + s, 74 + s]);
    seen.add(s);
  }
  assert.equal(
    [...seen].sort((a, b) => a - b),
    Array.from({ length: 19 }, (_, i) => i),
  );
  // N = 3 < count = 5: linspace(0, 2, 6) = [0, .4, .8, 1.2, 1.6, 2]; the first 5 floored.
  assert.equal(list(uniformSample(3, 5, createRng(0))), [0, 0, 0, 1, 1]);
});

test('bad arguments fail with ERR_MIST_ARG', async () => {
  const rng = createRng(0);
  await expectCode(() => sparseContinuousSample(0, { L: 2, T: 3 }, rng), 'ERR_MIST_ARG');
  await expectCode(() => sparseContinuousSample(2.5, { L: 2, T: 3 }, rng), 'ERR_MIST_ARG');
  const e = await expectCode(() => sparseContinuousSample(10, { L: 0, T: 3 }, rng), 'ERR_MIST_ARG');
  assert.match(e.message, /L: must be a positive integer/);
  await expectCode(() => sparseContinuousSample(10, { L: 2, T: 3, k: 1 } as never, rng), 'ERR_MIST_ARG');
  await expectCode(() => uniformSample(10, 0, rng), 'ERR_MIST_ARG');
});

test('each bad input is named, with what was expected and what came', async () => {
  const rng = createRng(0);
  const cases: [() => unknown, RegExp][] = [
    [() => sparseShiftCount(0, { L: 2, T: 3 }), /^clip count must be a positive integer \(got 0\)$/],
    [() => sparseShiftCount(2.5, { L: 2, T: 3 }), /^clip count must be a positive integer \(got 2\.5\)$/],
    [() => sparseShiftCount('12' as never, { L: 2, T: 3 }), /^clip count must be a positive integer \(got 12\)$/],
    [
      () => sparseShiftCount(10, { L: 'x', T: 3 } as never),
      /^invalid sampling options: L: must be a positive integer \(number of sub-bags\) \(got "x"\)$/,
    ],
    [
      () => sparseShiftCount(10, { L: 2, T: 1.5 }),
      /^invalid sampling options: T: must be a positive integer \(clips per sub-bag\) \(got 1\.5\)$/,
    ],
    [
      () => sparseContinuousSample(10, { L: 2, T: 0 }, rng),
      /^invalid sampling options: T: must be a positive integer \(clips per sub-bag\) \(got 0\)$/,
    ],
    [
      () => sparseContinuousIndices(10, { L: 2, T: -3 }, 0),
      /^invalid sampling options: T: must be a positive integer \(clips per sub-bag\) \(got -3\)$/,
    ],
    // The shift: an integer in [0, count), count = (10 - 3) div 3 = 2 here.
    [() => sparseContinuousIndices(10, { L: 2, T: 3 }, -1), /^shift must be an integer in \[0, 2\) \(got -1\)$/],
    [() => sparseContinuousIndices(10, { L: 2, T: 3 }, 0.5), /^shift must be an integer in \[0, 2\) \(got 0\.5\)$/],
    [() => sparseContinuousIndices(10, { L: 2, T: 3 }, NaN), /^shift must be an integer in \[0, 2\) \(got NaN\)$/],
  ];
  for (const [fn, re] of cases) {
    const e = await expectCode(fn, 'ERR_MIST_ARG');
    assert.match(e.message, re);
  }
  // The quotient 1 is a valid count (not replaced): (10 - 3) div 6 = 1; below 1 it becomes 1.
  assert.is(sparseShiftCount(10, { L: 5, T: 3 }), 1);
  assert.is(sparseShiftCount(11, { L: 1, T: 3 }), 4);
});

test('createRng: deterministic, int range is [lo, hi), shuffle is a permutation', () => {
  const a = createRng(7);
  const b = createRng(7);
  const xs = Array.from({ length: 5 }, () => a.float());
  assert.equal(
    xs,
    Array.from({ length: 5 }, () => b.float()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.not.equal(
    xs,
    Array.from({ length: 5 }, () => createRng(8).float()),
  );
  const r = createRng(3);
  const counts = new Array<number>(5).fill(0);
  for (let i = 0; i < 5000; i++) counts[r.int(2, 7) - 2]!++;
  assert.ok(
    counts.every((c) => c > 850 && c < 1150),
    `counts ${counts}`,
  );
  const p = r.shuffle([0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal([...p].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  // Mean and variance of normal() over many draws.
  let s = 0;
  let ss = 0;
  for (let i = 0; i < 20000; i++) {
    const z = r.normal();
    s += z;
    ss += z * z;
  }
  assert.ok(Math.abs(s / 20000) < 0.03 && Math.abs(ss / 20000 - 1) < 0.05);
  assert.throws(() => r.int(3, 3), /lo < hi/);
});

test.run();
