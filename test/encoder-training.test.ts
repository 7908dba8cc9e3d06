// The controls stage-2 fine-tuning needs: train / eval mode, freezing backbone blocks,
// freezing BatchNorm affine parameters while running statistics still update, weight-decay
// groups, parameter counts.
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { SgaEncoder } from '../lib/index.js';
import { ROOT, test } from './helpers.js';

const FILE = join(ROOT, 'test', 'reference', 'encoders', 'i3d_tiny.pt');
const tiny = { backbone: 'i3d', width: 1 / 24, inputSize: [16, 32, 32], device: 'cpu' } as const;
const input = Float32Array.from({ length: 2 * 3 * 16 * 32 * 32 }, (_, i) => Math.sin(0.37 * i) * 0.5);
const I3D_BLOCKS = [
  'conv3d_1a_7x7',
  'conv3d_2b_1x1',
  'conv3d_2c_3x3',
  'mixed_3b',
  'mixed_3c',
  'mixed_4b',
  'mixed_4c',
  'mixed_4d',
  'mixed_4e',
  'mixed_4f',
  'mixed_5b',
  'mixed_5c',
];

const eq = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i]);

test('blocks are the MIST names; weight decay on conv / linear weights only', async () => {
  const e = SgaEncoder.create(tiny);
  assert.equal([...e.blocks], I3D_BLOCKS);
  assert.equal(
    [...SgaEncoder.create({ ...tiny, backbone: 'c3d', width: 1 / 32 }).blocks],
    ['conv1a', 'conv2a', 'conv3a', 'conv3b', 'conv4a', 'conv4b', 'conv5a', 'conv5b'],
  );
  const g = e.parameterGroups();
  const sd = await e.stateDict();
  const params = Object.keys(sd).filter((k) => !/running_|num_batches/.test(k));
  assert.equal([...g.decay, ...g.noDecay].sort(), params.sort());
  assert.ok(g.decay.every((k) => k.endsWith('.weight') && !k.includes('batch3d')));
  assert.ok(g.noDecay.every((k) => k.endsWith('.bias') || k.includes('batch3d')));
  assert.ok(g.decay.includes('Regressor.1.weight') && g.decay.includes('Conv_Atten.Att_2.weight'));
  assert.ok(g.noDecay.includes('backbone.mixed_4f.branch_3.1.batch3d.weight'));
  const count = e.parameterCount();
  assert.is(g.decayCount + g.noDecayCount, count.total);
  assert.is(count.backbone + count.sgaBranch + count.head, count.total);
  assert.is(count.head, 2 * e.featureDim + 2);
  e.dispose();
});

test('freezing blocks and BatchNorm affine parameters', async () => {
  const e = SgaEncoder.create(tiny);
  const total = e.parameterCount().total;
  const n = await e.freeze({ blocks: ['conv3d_1a_7x7', 'mixed_4f'] });
  let g = e.parameterGroups();
  assert.ok(g.frozen.length > 0);
  assert.ok(g.frozen.every((k) => k.startsWith('backbone.conv3d_1a_7x7.') || k.startsWith('backbone.mixed_4f.')));
  assert.ok(g.frozen.some((k) => k === 'backbone.mixed_4f.branch_1.1.conv3d.weight'));
  assert.is(g.frozenCount, n);
  assert.is(e.parameterCount().trainable, total - n);
  // The whole backbone (the first 30 epochs of the presets), BatchNorm affine frozen too.
  const all = await e.freeze({ blocks: 'all', batchNormAffine: true });
  assert.is(all, e.parameterCount().backbone);
  // Unfreezing the backbone but keeping BatchNorm affine frozen (SHT I3D after the warm-up).
  await e.freeze({ blocks: 'none', batchNormAffine: true });
  g = e.parameterGroups();
  assert.ok(g.frozen.length > 0 && g.frozen.every((k) => /\.batch3d\.(weight|bias)$/.test(k)));
  assert.ok(g.decay.includes('backbone.conv3d_1a_7x7.conv3d.weight'));
  await e.freeze({});
  assert.is(e.parameterGroups().frozen.length, 0);
  e.dispose();
});

test('train mode: batch statistics update the running ones, affine parameters stay; eval sees them', async () => {
  const e = SgaEncoder.create(tiny);
  await e.loadStateDict(FILE);
  await e.freeze({ blocks: 'all', batchNormAffine: true });
  const evalBefore = await e.forward(input);
  const before = await e.stateDict();
  e.setTraining(true);
  await e.forward(input);
  const after = await e.stateDict();
  const rm = 'backbone.mixed_4f.branch_0.batch3d.running_mean';
  assert.not.ok(eq(before[rm]!, after[rm]!), 'running mean moved');
  assert.is(after['backbone.mixed_4f.branch_0.batch3d.num_batches_tracked']![0], 1);
  for (const k of Object.keys(before)) {
    if (!/running_|num_batches/.test(k)) assert.ok(eq(before[k]!, after[k]!), `${k} unchanged by a forward`);
  }
  // Back in eval mode the folded copy is rebuilt from the new statistics.
  e.setTraining(false);
  const evalAfter = await e.forward(input);
  assert.not.ok(eq(evalBefore.feature, evalAfter.feature));
  const ref = SgaEncoder.create({ ...tiny, fold: false });
  await ref.loadStateDict(FILE);
  ref.setTraining(true);
  await ref.forward(input);
  ref.setTraining(false);
  const m = await ref.forward(input);
  let diff = 0,
    scale = 0;
  for (let i = 0; i < m.feature.length; i++) {
    diff = Math.max(diff, Math.abs(m.feature[i]! - evalAfter.feature[i]!));
    scale = Math.max(scale, Math.abs(m.feature[i]!));
  }
  assert.ok(diff / scale < 1e-4, `folded copy vs modules after the update: ${diff / scale}`);
  // Frozen statistics: BatchNorm stays in eval mode while the model trains.
  await e.freeze({ blocks: 'all', batchNormAffine: true, batchNormStats: true });
  e.setTraining(true);
  const s0 = await e.stateDict();
  await e.forward(input);
  assert.ok(eq(s0[rm]!, (await e.stateDict())[rm]!), 'running mean frozen');
  for (const x of [e, ref]) x.dispose();
});

test('dropout in train mode is drawn from the model seed', async () => {
  const scores = [];
  for (const seed of [1, 1, 2]) {
    const e = SgaEncoder.create({ ...tiny, seed });
    e.setTraining(true);
    scores.push(Array.from((await e.forward(input)).score));
    e.dispose();
  }
  assert.equal(scores[0], scores[1]);
  assert.not.equal(scores[0], scores[2]);
});

test.run();
