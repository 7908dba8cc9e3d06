import * as assert from 'uvu/assert';
import {
  GeneratorHyperparametersSchema,
  GeneratorTrainOptionsSchema,
  PRESETS,
  PRESET_NAMES,
  resolveGeneratorTrainOptions,
} from '../lib/index.js';
import { expectCode, test } from './helpers.js';

test('presets hold the spec table (docs/MIST.md, Stage 1)', () => {
  assert.equal(PRESET_NAMES.slice().sort(), ['shanghaitech-c3d', 'shanghaitech-i3d', 'ucf-crime-c3d', 'ucf-crime-i3d']);
  const table = {
    'shanghaitech-i3d': { L: 32, T: 7, k: 7, featureDim: 1024, l2Normalize: false, steps: 3000 },
    'shanghaitech-c3d': { L: 32, T: 7, k: 7, featureDim: 4096, l2Normalize: true, steps: 3000 },
    'ucf-crime-i3d': { L: 32, T: 4, k: 4, featureDim: 1024, l2Normalize: false, steps: 15000 },
    'ucf-crime-c3d': { L: 32, T: 3, k: 3, featureDim: 4096, l2Normalize: true, steps: 15000 },
  } as const;
  for (const [name, row] of Object.entries(table)) {
    const p = PRESETS[name as keyof typeof PRESETS];
    assert.equal(
      { L: p.L, T: p.T, k: p.k, featureDim: p.featureDim, l2Normalize: p.l2Normalize, steps: p.steps },
      row,
      name,
    );
    assert.is(p.lambdaSparsity, 0.01);
    assert.is(p.lambdaSmoothness, 0);
    assert.is(p.batchSize, 40);
    assert.is(p.lr, 0.01);
    assert.is(p.weightDecay, 0.001);
    assert.is(p.gradClip, 10);
    assert.is(p.evalEvery, 10);
    assert.is(p.dropout, 0.6);
    assert.ok(GeneratorHyperparametersSchema.safeParse(p).success, name);
  }
});

test('a preset plus overrides resolves to complete options with defaults', () => {
  const o = resolveGeneratorTrainOptions({ preset: 'ucf-crime-c3d', steps: 500, seed: 3, device: 'cuda:1' });
  assert.is(o.steps, 500);
  assert.is(o.T, 3);
  assert.is(o.l2Normalize, true);
  assert.is(o.seed, 3);
  assert.is(o.device, 'cuda:1');
  assert.is(o.lossVariant, 'topk');
  assert.is(o.crop, 'mean');
  assert.is(o.checkpoint, undefined);
  // The preset object itself is not changed by an override.
  assert.is(PRESETS['ucf-crime-c3d'].steps, 15000);
  const d = resolveGeneratorTrainOptions({ preset: 'shanghaitech-i3d' });
  assert.equal({ seed: d.seed, device: d.device, steps: d.steps }, { seed: 0, device: undefined, steps: 3000 });
  // Without a preset every hyper-parameter must be given, and then it is enough.
  const full = { ...PRESETS['shanghaitech-i3d'], featureDim: 2048, lossVariant: 'subbag' as const, checkpoint: 'g.pt' };
  const e = resolveGeneratorTrainOptions(full);
  assert.is(e.featureDim, 2048);
  assert.is(e.lossVariant, 'subbag');
  assert.is(GeneratorTrainOptionsSchema.safeParse({ preset: 'shanghaitech-c3d' }).success, true);
});

test('each bad field gives one clear message', async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { preset: 'sht' },
      /preset: must be one of shanghaitech-i3d, shanghaitech-c3d, ucf-crime-i3d, ucf-crime-c3d \(got "sht"\)/,
    ],
    [{ preset: 'shanghaitech-i3d', steps: -5 }, /steps: must be a positive integer \(got -5\)/],
    [{ preset: 'shanghaitech-i3d', steps: 2.5 }, /steps: must be a positive integer \(got 2\.5\)/],
    [{ preset: 'shanghaitech-i3d', device: 'gpu' }, /device: must be 'cpu', 'cuda' or 'cuda:N' \(got "gpu"\)/],
    [{ preset: 'shanghaitech-i3d', device: 'cuda:x' }, /device: must be 'cpu', 'cuda' or 'cuda:N'/],
    [{ preset: 'shanghaitech-i3d', lossVariant: 'max' }, /lossVariant: must be 'topk' or 'subbag' \(got "max"\)/],
    [{ preset: 'shanghaitech-i3d', seed: -1 }, /seed: must be an integer in \[0, 2\^32\) \(got -1\)/],
    [{ preset: 'shanghaitech-i3d', lr: 0 }, /lr: must be a number > 0 \(got 0\)/],
    [{ preset: 'shanghaitech-i3d', dropout: 1 }, /dropout: must be a number in \[0, 1\) \(got 1\)/],
    [{ preset: 'shanghaitech-i3d', l2Normalize: 'yes' }, /l2Normalize: must be true or false \(got "yes"\)/],
    [{ preset: 'shanghaitech-i3d', crop: -1 }, /crop: must be 'mean' or a crop index ≥ 0/],
    [{ preset: 'shanghaitech-i3d', checkpoint: '' }, /checkpoint: must be a non-empty path/],
    [{ preset: 'shanghaitech-i3d', stpes: 10 }, /stpes: unknown option/],
    [{ preset: 'shanghaitech-i3d', k: 300 }, /k: must not exceed L·T/],
    [{ L: 32 }, /T: is required when no preset is given/],
  ];
  for (const [input, re] of cases) {
    const e = await expectCode(() => resolveGeneratorTrainOptions(input as never), 'ERR_MIST_ARG');
    assert.match(e.message, re, JSON.stringify(input));
  }
  // Several bad fields: each named exactly once, even when a value fails several checks.
  const e = await expectCode(
    () =>
      resolveGeneratorTrainOptions({
        preset: 'shanghaitech-i3d',
        steps: -2.5,
        evalEvery: 0,
        device: 'tpu',
        foo: 1,
      } as never),
    'ERR_MIST_ARG',
  );
  const lines = e.message.replace(/^invalid generator training options: /, '').split('; ');
  assert.equal(lines.map((l) => l.split(':')[0]).sort(), ['device', 'evalEvery', 'foo', 'steps']);
  // No preset and nothing else: one line per missing hyper-parameter (14 of them).
  const m = await expectCode(() => resolveGeneratorTrainOptions({}), 'ERR_MIST_ARG');
  assert.is(m.message.split('; ').length, 14);
});

test('every hyper-parameter names what it must be, for a wrong type and for a wrong value', async () => {
  // key -> [what the message says it must be, a value of the wrong type, a value out of range]
  const table: Record<string, [string, unknown, unknown]> = {
    L: ['a positive integer (sub-bags per video)', 'x', 0],
    T: ['a positive integer (clips per sub-bag)', true, 1.5],
    k: ['a positive integer (top-k clips of a bag)', null, -1],
    lambdaSparsity: ['a number ≥ 0', '0.1', -0.01],
    lambdaSmoothness: ['a number ≥ 0', [], -1],
    batchSize: ['a positive integer (videos of each class per step)', '40', 0],
    lr: ['a number > 0', 'fast', 0],
    weightDecay: ['a number ≥ 0', {}, -1e-3],
    gradClip: ['a number > 0 (gradient-norm clip)', 'ten', -10],
    steps: ['a positive integer', '3000', 0],
    evalEvery: ['a positive integer (steps between evaluations)', 'often', 0.5],
    featureDim: ['a positive integer (feature length D)', '1024', -1024],
    dropout: ['a number in [0, 1)', 'half', -0.1],
    seed: ['an integer in [0, 2^32)', '7', 2 ** 32],
    device: ["'cpu', 'cuda' or 'cuda:N'", 0, 'cuda:'],
    checkpoint: ['a non-empty path', 42, ''],
  };
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const [key, [what, wrongType, outOfRange]] of Object.entries(table)) {
    for (const value of [wrongType, outOfRange]) {
      const e = await expectCode(
        () => resolveGeneratorTrainOptions({ preset: 'shanghaitech-i3d', [key]: value } as never),
        'ERR_MIST_ARG',
      );
      assert.match(
        e.message,
        new RegExp(`^invalid generator training options: ${key}: must be ${escape(what)} \\(got `),
        `${key} = ${JSON.stringify(value)}: ${e.message}`,
      );
    }
  }
  // k may be every clip of a bag (L·T), not one more; the message names the options it checked.
  assert.is(resolveGeneratorTrainOptions({ preset: 'shanghaitech-i3d', k: 32 * 7 }).k, 224);
  const k = await expectCode(
    () => resolveGeneratorTrainOptions({ preset: 'shanghaitech-i3d', k: 225 }),
    'ERR_MIST_ARG',
  );
  assert.match(k.message, /^invalid generator training options: k: must not exceed L·T \(the clips of one bag\)$/);
  // The largest seed and every device form are accepted; 'topk' can be asked for by name.
  const o = resolveGeneratorTrainOptions({
    preset: 'shanghaitech-i3d',
    seed: 2 ** 32 - 1,
    device: 'cuda:12',
    lossVariant: 'topk',
  });
  assert.equal([o.seed, o.device, o.lossVariant], [2 ** 32 - 1, 'cuda:12', 'topk']);
  for (const device of ['cpu', 'cuda', 'cuda:0'])
    assert.is(resolveGeneratorTrainOptions({ preset: 'shanghaitech-i3d', device }).device, device);
});

test.run();
