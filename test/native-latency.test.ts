// The JS thread never waits on a native lock: while a multi-second forward holds a model, every
// synchronous method of that same model returns at once (under 50 ms), and the asynchronous
// ones hand back their promise at once. Also: a full-size encoder is built off the event loop.
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';

import { MilGenerator, SgaEncoder } from '../lib/index.js';
import { expectCode, test } from './helpers.js';

const LIMIT_MS = 50;
let longest = { ms: 0, what: '' };

/**
 * Runs `calls` over and over while `work` is in flight (and once right after it starts);
 * asserts each returns within LIMIT_MS, and that they really overlapped the work.
 */
async function whileInFlight(work: Promise<unknown>, calls: Record<string, () => unknown>): Promise<number> {
  let done = false;
  const settled = work.then(() => (done = true));
  let rounds = 0;
  while (!done) {
    for (const [what, call] of Object.entries(calls)) {
      const t0 = performance.now();
      call();
      const ms = performance.now() - t0;
      assert.ok(ms < LIMIT_MS, `${what} took ${ms.toFixed(1)} ms during an in-flight computation`);
      if (ms > longest.ms) longest = { ms, what };
    }
    rounds++;
    await sleep(20);
  }
  await settled;
  return rounds;
}

test('SgaEncoder: every synchronous method returns at once during a multi-second I3D forward', async () => {
  // Full width: createAsync builds it on the libuv pool (about a second); the loop keeps ticking.
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const t0 = performance.now();
  const e = await SgaEncoder.createAsync({ backbone: 'i3d', device: 'cpu', seed: 1 });
  const buildMs = performance.now() - t0;
  clearInterval(timer);
  // A blocked loop gives 0 or 1 ticks; the pool's threads share the cores with it, so allow slack.
  assert.ok(ticks >= 5, `${ticks} ticks of a 10 ms timer while building (${buildMs.toFixed(0)} ms)`);
  const clip = 3 * 16 * 224 * 224;
  // Calibration (the first call also builds the folded copy): clips for a forward of about 3 s.
  let t = performance.now();
  await e.forward(new Float32Array(clip).fill(0.1), 1);
  await e.forward(new Float32Array(clip).fill(0.1), 1);
  const perClip = performance.now() - t;
  const n = Math.min(8, Math.max(1, Math.ceil(3000 / (perClip / 2))));
  const x = Float32Array.from({ length: n * clip }, (_, i) => Math.sin(i * 1e-3));
  t = performance.now();
  const forward = e.forward(x, n);
  let pending: Promise<unknown>[] = [];
  const rounds = await whileInFlight(forward, {
    describe: () => e.describe(),
    parameterCount: () => e.parameterCount(),
    parameterGroups: () => e.parameterGroups(),
    macsPerClip: () => e.macsPerClip(),
    'macsPerClip(size)': () => e.macsPerClip([16, 112, 112]),
    setTraining: () => e.setTraining(false),
    fields: () => [e.backbone, e.inputSize, e.featureDim, e.blocks],
    // Asynchronous ones queue behind the forward; handing back the promise is immediate.
    'stateDict (promise)': () => pending.length < 1 && pending.push(e.stateDict()),
    'freeze (promise)': () => pending.length < 2 && pending.push(e.freeze({})),
  });
  const forwardMs = performance.now() - t;
  assert.ok(forwardMs > 1000, `the forward took ${forwardMs.toFixed(0)} ms, expected over a second`);
  assert.ok(rounds >= 10, `${rounds} rounds of calls during the forward`);
  const [sd, frozen] = await Promise.all(pending);
  assert.ok(Object.keys(sd as object).length > 0);
  assert.is(frozen, 0);
  pending = [];
  console.log(
    `  I3D: built in ${buildMs.toFixed(0)} ms (${ticks} timer ticks), forward of ${n} clips ${forwardMs.toFixed(0)} ms, ${rounds} rounds of sync calls`,
  );
  e.dispose();
});

test('MilGenerator: describe and the fields return at once during a multi-second forward', async () => {
  const dim = 1024;
  const g = MilGenerator.create({ featureDim: dim, hidden: [4096, 32], device: 'cpu' });
  const small = 1024;
  let t = performance.now();
  await g.forward(new Float32Array(small * dim).fill(0.1));
  const perRow = (performance.now() - t) / small;
  const rows = Math.min(200_000, Math.max(small, Math.ceil(2500 / perRow)));
  const x = new Float32Array(rows * dim).fill(0.1);
  t = performance.now();
  let params: Promise<Record<string, Float32Array>> | undefined;
  const rounds = await whileInFlight(g.forward(x), {
    describe: () => g.describe(),
    fields: () => [g.featureDim, g.device],
    'parameters (promise)': () => (params ??= g.parameters()),
  });
  const ms = performance.now() - t;
  assert.ok(ms > 1000, `the forward took ${ms.toFixed(0)} ms, expected over a second`);
  assert.ok(rounds >= 10, `${rounds} rounds of calls during the forward`);
  assert.is((await params!)['fc1.weight']!.length, 4096 * dim);
  console.log(`  generator: forward of ${rows} rows ${ms.toFixed(0)} ms, ${rounds} rounds of sync calls`);
  // Disposing (here through Symbol.dispose, what `using` calls) does not wait either; the work
  // in flight keeps its own reference to the model and finishes.
  const last = g.forward(x.subarray(0, small * dim));
  t = performance.now();
  g[Symbol.dispose]();
  const disposeMs = performance.now() - t;
  assert.ok(disposeMs < LIMIT_MS, `dispose took ${disposeMs.toFixed(1)} ms`);
  if (disposeMs > longest.ms) longest = { ms: disposeMs, what: 'dispose' };
  assert.is((await last).length, small);
  await expectCode(() => g.forward(x), 'ERR_MIST_DISPOSED');
});

test('the longest synchronous call', () => {
  console.log(
    `  longest synchronous call during an in-flight forward: ${longest.ms.toFixed(2)} ms (${longest.what}; limit ${LIMIT_MS} ms)`,
  );
});

test.run();
