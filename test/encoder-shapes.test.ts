// Tap shapes at the paper's input sizes (full-width models), the "SAME" padding rule at odd
// sizes worked out by hand, and the event loop staying free during a full-size forward.
import * as assert from 'uvu/assert';

import { SgaEncoder } from '../lib/index.js';
import { test } from './helpers.js';

function clip(size: readonly number[]): Float32Array {
  const x = new Float32Array(3 * size[0]! * size[1]! * size[2]!);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(0.37 * i) * 0.5;
  return x;
}

test('I3D at 16x224x224: Mixed_4f 832x4x14x14, Mixed_5c 1024x2x7x7, attention 1x7x7', async () => {
  const e = SgaEncoder.create({ backbone: 'i3d', device: 'cpu' });
  assert.equal(e.inputSize, [16, 224, 224]);
  const d = e.describe();
  assert.equal(
    [d.sgaShape, d.mainShape, d.attentionShape],
    [
      [832, 4, 14, 14],
      [1024, 2, 7, 7],
      [1, 1, 7, 7],
    ],
  );
  const x = clip(e.inputSize);
  // The event loop keeps turning while the forward pass (about a second) runs.
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const t0 = performance.now();
  const t = await e.taps(x);
  const ms = performance.now() - t0;
  clearInterval(timer);
  assert.equal(
    [t.sgaShape, t.mainShape],
    [
      [1, 832, 4, 14, 14],
      [1, 1024, 2, 7, 7],
    ],
  );
  assert.ok(ticks >= Math.floor(ms / 10 / 4), `${ticks} timer ticks in ${ms.toFixed(0)} ms`);
  const o = await e.forward(x);
  assert.equal(
    [o.score.length, o.guided.length, o.attentionShape, o.featureDim, o.feature.length],
    [1, 2, [1, 1, 7, 7], 1024, 1024],
  );
  assert.ok(o.score[0]! > 0 && o.score[0]! < 1);
  assert.ok(Math.abs(o.guided[0]! + o.guided[1]! - 1) < 1e-6);
  e.dispose();
});

function relErr(a: Float32Array, b: Float32Array): number {
  let d = 0,
    m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

test('C3D at 16x112x112: conv4b 512x4x14x14, conv5b 512x2x7x7; full-size fast path = modules', async () => {
  const e = SgaEncoder.create({ backbone: 'c3d', device: 'cpu', seed: 3 });
  assert.equal(e.inputSize, [16, 112, 112]);
  const t = await e.taps(clip(e.inputSize));
  assert.equal(
    [t.sgaShape, t.mainShape],
    [
      [1, 512, 4, 14, 14],
      [1, 512, 2, 7, 7],
    ],
  );
  // Two clips at full size through the fast path (its stem runs 2 frames at a time, batches may
  // run clip by clip) and through the modules: the same numbers.
  const two = new Float32Array(2 * 3 * 16 * 112 * 112);
  for (let i = 0; i < two.length; i++) two[i] = Math.sin(0.37 * i + (i >= two.length / 2 ? 1 : 0)) * 0.5;
  const o = await e.forward(two, 2);
  assert.equal([o.attentionShape, o.featureDim], [[2, 1, 7, 7], 512]);
  const m = SgaEncoder.create({ backbone: 'c3d', device: 'cpu', seed: 3, fold: false });
  const r = await m.forward(two, 2);
  for (const k of ['score', 'guided', 'attention', 'feature'] as const) {
    assert.ok(relErr(o[k], r[k]) < 1e-4, `${k}: ${relErr(o[k], r[k])}`);
  }
  assert.not.equal(Array.from(o.feature.slice(0, 512)), Array.from(o.feature.slice(512)));
  e.dispose();
  m.dispose();
});

test('the SAME rule at odd sizes (worked by hand) is what the network computes', async () => {
  const e = SgaEncoder.create({ backbone: 'i3d', width: 1 / 32, inputSize: [15, 33, 35], device: 'cpu' });
  // 15 frames: T mod 2 = 1, so the 7x7x7/2 stem pads 6 in time (3 + 3): (15 + 6 - 7) / 2 + 1 = 8.
  // H 33: pad 5 (2 + 3) -> 16 -> pool 1x3x3/2 (pad 0 + 1, ceil) 8 -> 4 -> pool 3x3x3/2 -> 2.
  // W 35: 17 -> 9 -> 5 -> 3. T: 8 -> pool 3x3x3/2 (8 even: pad 0 + 1) -> 4; 2x2x2/2 -> 2.
  let t = await e.taps(clip([15, 33, 35]), 1);
  assert.equal(t.sgaShape.slice(2), [4, 2, 3]);
  assert.equal(t.mainShape.slice(2), [2, 1, 2]);
  // 10 frames: the stem pads 5 (2 + 3) -> 5; the 3x3x3/2 pool sees T = 5 (odd): pad 2 (1 + 1),
  // ceil((5 + 2 - 3) / 2) + 1 = 3; the 2x2x2/2 pool sees T = 3 (odd): pad 1 (0 + 1) -> 2.
  t = await e.taps(clip([10, 33, 35]), 1, [10, 33, 35]);
  assert.equal(t.sgaShape.slice(2), [3, 2, 3]);
  assert.equal(t.mainShape.slice(2), [2, 1, 2]);
  // 16 frames at 47 x 39: 23 x 19 -> 12 x 10 -> 6 x 5 -> 3 x 3 -> 2 x 2.
  t = await e.taps(clip([16, 47, 39]), 1, [16, 47, 39]);
  assert.equal(
    [t.sgaShape.slice(2), t.mainShape.slice(2)],
    [
      [4, 3, 3],
      [2, 2, 2],
    ],
  );
  assert.equal(e.macsPerClip([16, 47, 39]).inputSize, [16, 47, 39]);
  e.dispose();
});

test.run();
