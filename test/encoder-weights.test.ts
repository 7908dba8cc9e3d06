// Loading and saving SGA encoder weights: coded errors for every kind of bad file, nothing
// loaded on a mismatch, and our own checkpoints round-trip.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { SgaEncoder } from '../lib/index.js';
import { ROOT, expectCode, tempDir, test } from './helpers.js';

const DIR = join(ROOT, 'test', 'reference', 'encoders');
const tiny = { backbone: 'i3d', width: 1 / 24, inputSize: [16, 32, 32], device: 'cpu' } as const;
const input = Float32Array.from({ length: 2 * 3 * 16 * 32 * 32 }, (_, i) => Math.sin(0.37 * i) * 0.5);

function same(a: Record<string, Float32Array>, b: Record<string, Float32Array>): boolean {
  return Object.keys(a).every((k) => a[k]!.length === b[k]!.length && a[k]!.every((v, i) => v === b[k]![i]));
}

test('bad files give coded errors, name the problem, and load nothing', async () => {
  const { dir, cleanup } = tempDir();
  const e = SgaEncoder.create(tiny);
  const before = await e.stateDict();
  try {
    await expectCode(() => e.loadStateDict(join(dir, 'missing.pt')), 'ERR_MIST_IO');
    const garbage = join(dir, 'garbage.pt');
    writeFileSync(garbage, 'not a checkpoint at all');
    const g = await expectCode(() => e.loadStateDict(garbage), 'ERR_MIST_WEIGHTS');
    assert.match(g.message, /not a PyTorch checkpoint/);
    assert.not.match(g.message, /Exception raised from|frame #/);
    // A zip cut short (a download that stopped half way).
    const bytes = readFileSync(join(DIR, 'i3d_tiny.pt'));
    const cut = join(dir, 'cut.pt');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const c = await expectCode(() => e.loadStateDict(cut), 'ERR_MIST_WEIGHTS');
    assert.not.match(c.message, /Exception raised from|frame #/);
    // A zip whose pickle is damaged in the middle.
    const damaged = Buffer.from(bytes);
    const at = damaged.indexOf('data.pkl') + 200;
    damaged.fill(0xff, at, at + 64);
    const dpath = join(dir, 'damaged.pt');
    writeFileSync(dpath, damaged);
    await expectCode(() => e.loadStateDict(dpath), 'ERR_MIST_WEIGHTS');
    // PyTorch's legacy (pre-1.6) format is read, so its C3D-only tensor is simply no match here.
    const l = await expectCode(() => e.loadStateDict(join(DIR, 'legacy.pt')), 'ERR_MIST_WEIGHTS');
    assert.match(l.message, /no tensor of a i3d backbone/);
    // A legacy file cut short.
    const lbytes = readFileSync(join(DIR, 'i3d_port_tiny_legacy.pt'));
    const lcut = join(dir, 'legacy-cut.pt');
    writeFileSync(lcut, lbytes.subarray(0, lbytes.length - 1000));
    const lc = await expectCode(() => e.loadStateDict(lcut), 'ERR_MIST_WEIGHTS');
    assert.match(lc.message, /truncated/);
    // A C3D checkpoint into an I3D model: nothing matches.
    const m = await expectCode(() => e.loadStateDict(join(DIR, 'c3d_tiny_mist.pt')), 'ERR_MIST_WEIGHTS');
    assert.match(m.message, /no tensor of a i3d backbone/);
    // The right architecture at another width: the first mismatched shape is named, nothing loads.
    const wide = SgaEncoder.create({ ...tiny, width: 1 / 8 });
    const wideBefore = await wide.stateDict();
    const s = await expectCode(() => wide.loadStateDict(join(DIR, 'i3d_tiny.pt')), 'ERR_MIST_WEIGHTS');
    assert.match(s.message, /has shape \[.*\], the i3d encoder \(width 0\.125\) expects \[/);
    assert.ok(same(await wide.stateDict(), wideBefore), 'a failed load changes nothing');
    wide.dispose();
    assert.ok(same(await e.stateDict(), before), 'failed loads changed nothing');
    // The model still works after all that.
    assert.is((await e.forward(input, 2)).score.length, 2);
  } finally {
    e.dispose();
    cleanup();
  }
});

test("the I3D port's layout loads the same from PyTorch's legacy (pre-1.6) format as from a zip", async () => {
  // model_rgb.pth itself was saved before PyTorch 1.6; i3d_port_tiny_legacy.pt is the same
  // port-layout dict as i3d_port_tiny.pt, written with _use_new_zipfile_serialization=False.
  const port = { ...tiny, width: 1 / 32 };
  const a = SgaEncoder.create(port),
    b = SgaEncoder.create(port);
  const ra = await a.loadStateDict(join(DIR, 'i3d_port_tiny.pt'));
  const rb = await b.loadStateDict(join(DIR, 'i3d_port_tiny_legacy.pt'));
  assert.equal(rb, ra);
  assert.ok(rb.loaded > 0);
  assert.ok(same(await b.stateDict(), await a.stateDict()));
  a.dispose();
  b.dispose();
});

test('save() writes a checkpoint that load() rebuilds with identical outputs', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const e = SgaEncoder.create(tiny);
    await e.loadStateDict(join(DIR, 'i3d_tiny.pt'));
    const p = join(dir, 'enc.pt');
    await e.save(p);
    const f = await SgaEncoder.load(p, { inputSize: [16, 32, 32], device: 'cpu' });
    assert.is(f.describe().width, 1 / 24);
    assert.is(f.backbone, 'i3d');
    assert.ok(same(await f.stateDict(), await e.stateDict()));
    const a = await e.forward(input),
      b = await f.forward(input);
    assert.equal(Array.from(b.score), Array.from(a.score));
    assert.equal(Array.from(b.feature), Array.from(a.feature));
    // Our file also loads as a plain state dict into a fresh model, nothing missing.
    const g = SgaEncoder.create(tiny);
    const r = await g.loadStateDict(p);
    assert.equal([r.missing, r.unexpected, r.layout], [[], [], 'mist-vad']);
    // load() refuses files that are not ours, pointing at loadStateDict().
    const other = join(dir, 'port.pt');
    copyFileSync(join(DIR, 'i3d_port_tiny.pt'), other);
    const err = await expectCode(() => SgaEncoder.load(other), 'ERR_MIST_WEIGHTS');
    assert.match(err.message, /loadStateDict/);
    await expectCode(() => SgaEncoder.load(join(dir, 'nope.pt')), 'ERR_MIST_IO');
    for (const x of [e, f, g]) x.dispose();
  } finally {
    cleanup();
  }
});

test('bad arguments and shapes give coded errors', async () => {
  await expectCode(() => SgaEncoder.create({ backbone: 'r3d' as 'i3d' }), 'ERR_MIST_ARG');
  await expectCode(() => SgaEncoder.create({ backbone: 'i3d', width: 0 }), 'ERR_MIST_ARG');
  await expectCode(
    () => SgaEncoder.create({ backbone: 'i3d', inputSize: [16, 224] as unknown as [number, number, number] }),
    'ERR_MIST_ARG',
  );
  // Too small for the backbone: C3D's pool4 would be empty.
  const small = await expectCode(
    () => SgaEncoder.create({ backbone: 'c3d', width: 1 / 32, inputSize: [16, 8, 8] }),
    'ERR_MIST_SHAPE',
  );
  assert.match(small.message, /too small for c3d: pool4/);
  const e = SgaEncoder.create(tiny);
  await expectCode(() => e.forward(new Float32Array(10)), 'ERR_MIST_SHAPE');
  await expectCode(() => e.forward(new Float64Array(input.length) as unknown as Float32Array, 2), 'ERR_MIST_DTYPE');
  await expectCode(() => e.forward(input, 3), 'ERR_MIST_SHAPE');
  // 10 frames: the backbone runs (taps), but the attention map cannot cover the main map.
  const ten = Float32Array.from({ length: 3 * 10 * 33 * 35 }, (_, i) => Math.cos(i));
  assert.equal((await e.taps(ten, 1, [10, 33, 35])).mainShape, [1, 42, 2, 1, 2]);
  await expectCode(() => e.forward(ten, 1, [10, 33, 35]), 'ERR_MIST_SHAPE');
  await expectCode(() => e.freeze({ blocks: ['conv1a'] }), 'ERR_MIST_ARG');
  e.dispose();
  await expectCode(() => e.forward(input), 'ERR_MIST_DISPOSED');
});

test.run();
