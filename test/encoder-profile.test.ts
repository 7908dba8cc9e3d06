// encoder.profile(): one eval-mode forward with every op timed. The convolutions it reports
// of the backbone must add up to the layer walk's MAC count (macsPerClip, an independent count from the layer
// table) for the whole batch, every layer of the backbone must appear in order, and the times
// must be real (positive, finite).
import * as assert from 'uvu/assert';

import { SgaEncoder } from '../lib/index.js';
import { expectCode, test } from './helpers.js';

for (const backbone of ['i3d', 'c3d'] as const) {
  test(`${backbone}: the profiled backbone convolutions add up to macsPerClip x n, layers in order`, async () => {
    const inputSize = [16, 64, 64] as const;
    const e = SgaEncoder.create({ backbone, width: 0.25, inputSize: [...inputSize] });
    const n = 2;
    const x = new Float32Array(n * 3 * 16 * 64 * 64).map((_, i) => Math.sin(i));
    const ops = await e.profile(x);
    const m = e.macsPerClip();
    const backboneMacs = ops.filter((o) => o.layer !== 'Conv_Atten').reduce((a, o) => a + o.macs, 0);
    assert.is(backboneMacs, n * m.backbone);
    // The SGA branch's first convolution is timed alone; its 1x1 detectors run inside "heads".
    const sga = ops.filter((o) => o.layer === 'Conv_Atten').reduce((a, o) => a + o.macs, 0);
    assert.ok(sga > 0.9 * n * m.sgaBranch && sga < n * m.sgaBranch, `${sga} of ${n * m.sgaBranch}`);
    for (const o of ops) assert.ok(Number.isFinite(o.ms) && o.ms >= 0, `${o.layer} ${o.op}: ${o.ms} ms`);
    assert.ok(ops.every((o) => (o.op === 'conv') === o.macs > 0));
    const seen = [...new Set(ops.map((o) => o.layer))].filter((l) => e.blocks.includes(l));
    assert.equal(seen, [...e.blocks]);
    e.dispose();
  });
}

test('profile() needs the folded copy', async () => {
  const e = SgaEncoder.create({ backbone: 'c3d', width: 0.125, inputSize: [16, 32, 32], fold: false });
  await expectCode(() => e.profile(new Float32Array(3 * 16 * 32 * 32)), 'ERR_MIST_ARG');
  e.dispose();
});

test.run();
