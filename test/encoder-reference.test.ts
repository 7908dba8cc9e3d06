// The SGA encoders against PyTorch: tiny I3D / C3D models built from the spec in PyTorch
// (test/reference/encoder_reference.py, which also holds the recipe), saved with torch.save
// under the public key names, and their outputs on a fixed input. Every path of ours (the
// folded copy in oneDNN's layout, the folded copy with plain convolutions, the modules) must
// give the same numbers, relative error (max |ours - PyTorch| / max |PyTorch| per output)
// within the tolerance of its path (TOLERANCE below: 1e-6 for the modules' outputs).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { SgaEncoder, type SgaEncoderOptions } from '../lib/index.js';
import { ROOT, test } from './helpers.js';

const DIR = join(ROOT, 'test', 'reference', 'encoders');
interface Arr {
  shape: number[];
  data: number[];
}
interface Case {
  file: string;
  backbone: 'i3d' | 'c3d';
  width: number;
  n: number;
  inputSize: [number, number, number];
  eval: Record<string, Arr>;
  train?: Record<string, Arr>;
}
const ref = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as {
  cases: Record<string, Case>;
  portKeys: string[];
  cost: Record<'i3d' | 'c3d', { inputSize: [number, number, number]; parameters: number; macs: number }>;
};

/** The reference input: x[i] = sin(0.37 i) / 2 over the flat [n, 3, T, H, W] array. */
function clipInput(n: number, size: readonly number[]): Float32Array {
  const len = n * 3 * size[0]! * size[1]! * size[2]!;
  const x = new Float32Array(len);
  for (let i = 0; i < len; i++) x[i] = Math.sin(0.37 * i) * 0.5;
  return x;
}

function relErr(ours: ArrayLike<number>, theirs: Arr, what: string): number {
  assert.is(ours.length, theirs.data.length, `${what}: length`);
  let scale = 0,
    diff = 0;
  for (let i = 0; i < theirs.data.length; i++) {
    scale = Math.max(scale, Math.abs(theirs.data[i]!));
    diff = Math.max(diff, Math.abs(ours[i]! - theirs.data[i]!));
  }
  return diff / (scale || 1);
}

const PATHS: Array<{ name: string; options: Partial<SgaEncoderOptions> }> = [
  { name: 'folded+oneDNN', options: { fold: true, onednn: true } },
  { name: 'folded', options: { fold: true, onednn: false } },
  { name: 'modules', options: { fold: false } },
];
// The tolerance of each path, from what it computes: the modules run PyTorch's own operators
// in the same order (measured: taps 3e-6, the heads' outputs 1e-7 and below), so a loose
// bound there would hide a real error; the folded copies fold BatchNorm into the weights and
// sum in another order (oneDNN's blocked kernels, fused 1x1 convolutions): measured up to 7e-5.
const TOLERANCE: Record<string, number> = {
  'modules taps': 1e-5,
  'modules score': 1e-6,
  'modules guided': 1e-6,
  'modules attention': 1e-6,
  'modules feature': 1e-6,
  train: 1e-6,
  folded: 1e-4,
};
function tolerance(key: string): number {
  return TOLERANCE[key] ?? TOLERANCE[key.split(' ')[0]!.replace('+oneDNN', '')]!;
}
const worst: Record<string, number> = {};
function record(key: string, err: number, what: string) {
  worst[key] = Math.max(worst[key] ?? 0, err);
  const tol = tolerance(key);
  assert.ok(err < tol, `${what}: relative error ${err.toExponential(2)} (tolerance ${tol})`);
}

async function make(c: Case, options: Partial<SgaEncoderOptions> = {}) {
  const e = SgaEncoder.create({
    backbone: c.backbone,
    width: c.width,
    inputSize: c.inputSize,
    device: 'cpu',
    ...options,
  });
  const report = await e.loadStateDict(join(DIR, c.file));
  return { e, report };
}

for (const [key, c] of Object.entries(ref.cases)) {
  test(`${key}: taps and outputs equal PyTorch's (eval) on every path`, async () => {
    const x = clipInput(c.n, c.inputSize);
    for (const path of PATHS) {
      const { e } = await make(c, path.options);
      const t = await e.taps(x, c.n);
      assert.equal(t.sgaShape, c.eval.sga_tap!.shape, 'SGA tap shape');
      assert.equal(t.mainShape, c.eval.main_tap!.shape, 'main tap shape');
      record(
        `${path.name} taps`,
        relErr(t.sga, c.eval.sga_tap!, `${key} ${path.name} sga`),
        `${key} ${path.name} sga tap`,
      );
      record(
        `${path.name} taps`,
        relErr(t.main, c.eval.main_tap!, `${key} ${path.name} main`),
        `${key} ${path.name} main tap`,
      );
      if (c.eval.score) {
        const o = await e.forward(x, c.n);
        assert.equal(o.attentionShape, c.eval.attention!.shape, 'attention shape');
        for (const k of ['score', 'guided', 'attention', 'feature'] as const) {
          record(`${path.name} ${k}`, relErr(o[k], c.eval[k]!, `${key} ${path.name} ${k}`), `${key} ${path.name} ${k}`);
        }
      }
      e.dispose();
    }
  });
  if (c.train) {
    test(`${key}: train mode (BatchNorm batch statistics) equals PyTorch's`, async () => {
      const { e } = await make(c);
      e.setTraining(true);
      const o = await e.forward(clipInput(c.n, c.inputSize), c.n);
      for (const k of ['guided', 'attention', 'feature'] as const) {
        record(`train ${k}`, relErr(o[k], c.train![k]!, `${key} train ${k}`), `${key} train ${k}`);
      }
      e.dispose();
    });
  }
}

test("train mode: the BatchNorm running statistics move as PyTorch's momentum update moves them", async () => {
  // test/reference/make_bn_reference.py: i3d_tiny.pt run twice in train mode by PyTorch.
  const bn = JSON.parse(readFileSync(join(DIR, 'bn-running.json'), 'utf8')) as {
    input: number[];
    after: Record<string, number[]>[];
  };
  const c = ref.cases['i3d_tiny_16x32x32']!;
  const { e } = await make(c);
  e.setTraining(true);
  const x = clipInput(bn.input[0]!, bn.input.slice(1));
  let checked = 0;
  let worstStat = 0;
  for (const want of bn.after) {
    await e.forward(x, bn.input[0]!);
    const sd = await e.stateDict();
    for (const [name, values] of Object.entries(want)) {
      if (!/running_(mean|var)$|num_batches_tracked$/.test(name)) continue;
      const err = relErr(sd[name]!, { shape: [values.length], data: values }, name);
      worstStat = Math.max(worstStat, err);
      assert.ok(err < 1e-5, `${name}: relative error ${err.toExponential(2)}`);
      checked++;
    }
  }
  assert.ok(checked > 100, `${checked} statistics checked`);
  console.log(
    `  BatchNorm running statistics after 1 and 2 train-mode forwards: worst relative error ${worstStat.toExponential(2)}`,
  );
  e.dispose();
});

test('state dicts with the public names load with nothing missing or unexpected', async () => {
  // A full MIST-I3D state dict (plain names) and a released-MIST checkpoint (C3D, module. prefixes,
  // with optimizer state and amp: None beside the model).
  const full = await make(ref.cases['i3d_tiny_16x32x32']!);
  assert.equal(full.report.missing, []);
  assert.equal(full.report.unexpected, []);
  assert.is(full.report.layout, 'state-dict');
  const mist = await make(ref.cases['c3d_tiny_16x32x32']!);
  assert.equal(mist.report.missing, []);
  assert.equal(mist.report.unexpected, []);
  assert.is(mist.report.layout, 'mist');
  // The Kinetics I3D port (model_rgb.pth layout): every backbone tensor, no num_batches_tracked,
  // its logits layer ignored; only the SGA branch and the head are left to train.
  const port = await make(ref.cases['i3d_port_16x32x32']!);
  assert.equal(port.report.unexpected, []);
  assert.equal(port.report.ignored.sort(), ['conv3d_0c_1x1.conv3d.bias', 'conv3d_0c_1x1.conv3d.weight']);
  assert.ok(port.report.missing.every((k) => k.startsWith('Conv_Atten.') || k.startsWith('Regressor.1.')));
  assert.is(port.report.missing.length, 10);
  assert.is(port.report.layout, 'backbone');
  assert.is(port.report.loaded, ref.portKeys.length - 2);
  // C3D Sports-1M layout (conv1a ... conv5b, fc6 / fc7 ignored): same backbone as the MIST file.
  const c = ref.cases['c3d_tiny_16x32x32']!;
  const sports = SgaEncoder.create({ backbone: 'c3d', width: c.width, inputSize: c.inputSize, device: 'cpu' });
  const r = await sports.loadStateDict(join(DIR, 'c3d_sports1m_tiny.pt'));
  assert.equal(r.unexpected, []);
  assert.equal(r.ignored.sort(), ['fc6.bias', 'fc6.weight', 'fc7.bias', 'fc7.weight']);
  assert.ok(r.missing.every((k) => k.startsWith('Conv_Atten.') || k.startsWith('Regressor.1.')));
  const t = await sports.taps(clipInput(c.n, c.inputSize), c.n);
  assert.ok(relErr(t.main, c.eval.main_tap!, 'sports main') < 1e-4);
  for (const e of [full.e, mist.e, port.e, sports]) e.dispose();
});

test('parameter count and MACs per clip equal PyTorch forward hooks at the paper sizes', () => {
  for (const backbone of ['i3d', 'c3d'] as const) {
    const e = SgaEncoder.create({ backbone, device: 'cpu' });
    const cost = ref.cost[backbone];
    assert.equal(e.inputSize, cost.inputSize);
    assert.is(e.parameterCount().total, cost.parameters, `${backbone} parameters`);
    const m = e.macsPerClip();
    assert.is(m.total, cost.macs, `${backbone} MACs`);
    assert.is(m.backbone + m.sgaBranch + m.head, m.total);
    console.log(
      `  ${backbone}: ${(cost.parameters / 1e6).toFixed(2)} M parameters, ${(m.total / 1e9).toFixed(2)} G MACs per clip`,
    );
    e.dispose();
  }
});

test("the paper's Table 6 figures follow from the layer shapes, once its conventions are known", () => {
  // MIST-I3D: 45.68 G MACs is I3D at ShanghaiTech's test resolution, 16 x 240 x 320 (the whole
  // frame goes in at test time); at 224 x 224 it is 29.62 G. MIST-C3D: 85 M parameters and
  // 39.26 G MACs count C3D's fc6 (8192 -> 4096) and fc7 (4096 -> 4096), which the encoder drops.
  const i3d = SgaEncoder.create({ backbone: 'i3d', device: 'cpu' });
  const at240 = i3d.macsPerClip([16, 240, 320]).total;
  assert.ok(Math.abs(at240 / 45.68e9 - 1) < 0.005, `I3D at 240x320: ${at240}`);
  assert.ok(Math.abs(i3d.parameterCount().total / 31e6 - 1) < 0.005);
  const c3d = SgaEncoder.create({ backbone: 'c3d', device: 'cpu' });
  const fc = 8192 * 4096 + 4096 * 4096;
  assert.ok(Math.abs((c3d.macsPerClip().total + fc) / 39.26e9 - 1) < 0.001);
  assert.ok(Math.abs((c3d.parameterCount().total + fc + 2 * 4096) / 85e6 - 1) < 0.002);
  i3d.dispose();
  c3d.dispose();
});

test.after(() => {
  console.log('  worst relative errors vs PyTorch:');
  for (const [k, v] of Object.entries(worst)) console.log(`    ${k.padEnd(26)} ${v.toExponential(2)}`);
});

test.run();
