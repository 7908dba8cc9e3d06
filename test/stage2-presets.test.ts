// Stage 2's hyper-parameters: the four presets against the spec table (docs/MIST.md, "Stage
// 2: SGA encoder", Loss and Training), every override and its validation, the warm-up factor
// and which parts train in each epoch.
import * as assert from 'uvu/assert';

import {
  ENCODER_PRESETS,
  ENCODER_PRESET_NAMES,
  EncoderHyperparametersSchema,
  finetuneEncoder,
  freezeRule,
  resolveEncoderHyperparameters,
  warmupFactor,
} from '../lib/index.js';
import { expectCode, test } from './helpers.js';

// The spec table, written out by hand: videos of each class per step, gradient accumulation,
// epochs with the backbone frozen, gradient clip, class weights (w1 anomalous, w0 normal).
const TABLE = {
  'shanghaitech-c3d': {
    backbone: 'c3d',
    videosPerClass: 10,
    accumulate: 1,
    freezeBackboneEpochs: 30,
    freezeBatchNormAffine: false,
    gradClip: 10,
    w1: 1,
    w0: 1,
  },
  'shanghaitech-i3d': {
    backbone: 'i3d',
    videosPerClass: 10,
    accumulate: 3,
    freezeBackboneEpochs: 30,
    freezeBatchNormAffine: true,
    gradClip: 20,
    w1: 0.8,
    w0: 0.65,
  },
  'ucf-crime-c3d': {
    backbone: 'c3d',
    videosPerClass: 32,
    accumulate: 5,
    freezeBackboneEpochs: 60,
    freezeBatchNormAffine: false,
    gradClip: 20,
    w1: 1,
    w0: 1,
  },
  'ucf-crime-i3d': {
    backbone: 'i3d',
    videosPerClass: 32,
    accumulate: 5,
    freezeBackboneEpochs: 60,
    freezeBatchNormAffine: false,
    gradClip: 20,
    w1: 1,
    w0: 1,
  },
} as const;
// The same for every preset: Adam lr 1e-4, weight decay 5e-4, 5 warm-up epochs, 300 epochs,
// three clips per video (one per third), dropout 0.8 before the main head.
const COMMON = { lr: 1e-4, weightDecay: 5e-4, warmupEpochs: 5, epochs: 300, clipsPerVideo: 3, dropout: 0.8 };

test('the four presets hold the spec table', () => {
  assert.equal([...ENCODER_PRESET_NAMES].sort(), Object.keys(TABLE).sort());
  for (const [name, row] of Object.entries(TABLE)) {
    const p = ENCODER_PRESETS[name as keyof typeof ENCODER_PRESETS];
    assert.equal({ ...p }, { ...row, ...COMMON }, name);
    assert.ok(EncoderHyperparametersSchema.safeParse(p).success, name);
    // Resolving a preset without overrides gives exactly the preset.
    assert.equal(resolveEncoderHyperparameters({ preset: name as keyof typeof TABLE }), { ...row, ...COMMON });
  }
});

// For each field: a valid value different from every preset's.
const OVERRIDES = {
  backbone: ['i3d', 'c3d'],
  epochs: [7],
  videosPerClass: [3],
  clipsPerVideo: [5],
  accumulate: [4],
  freezeBackboneEpochs: [0, 2],
  freezeBatchNormAffine: [true, false],
  gradClip: [0, 2.5],
  lr: [3e-3],
  weightDecay: [0, 1e-2],
  warmupEpochs: [0, 3],
  w1: [2],
  w0: [0.3],
  dropout: [0, 0.5],
} as const;

test('every hyper-parameter can be overridden, the others keep the preset', () => {
  assert.equal(Object.keys(OVERRIDES).sort(), Object.keys(EncoderHyperparametersSchema.shape).sort());
  for (const name of ENCODER_PRESET_NAMES) {
    const preset = ENCODER_PRESETS[name];
    for (const [field, values] of Object.entries(OVERRIDES)) {
      for (const value of values) {
        const r = resolveEncoderHyperparameters({ preset: name, [field]: value });
        assert.equal(r, { ...preset, [field]: value }, `${name} with ${field} = ${String(value)}`);
      }
    }
    // Several at once.
    const r = resolveEncoderHyperparameters({ preset: name, epochs: 2, accumulate: 2, w1: 0.5 });
    assert.equal([r.epochs, r.accumulate, r.w1, r.w0], [2, 2, 0.5, preset.w0]);
  }
  // The preset objects themselves are not changed by overriding.
  assert.is(ENCODER_PRESETS['shanghaitech-i3d'].epochs, 300);
  assert.is(ENCODER_PRESETS['shanghaitech-i3d'].accumulate, 3);
  // Without a preset every field is needed, and then enough.
  const all = { ...ENCODER_PRESETS['ucf-crime-c3d'], epochs: 12 };
  assert.equal(resolveEncoderHyperparameters(all), all);
});

test('a bad or missing value fails with ERR_MIST_ARG naming the field', async () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ backbone: 'r3d' }, /backbone: must be 'i3d' or 'c3d' \(got "r3d"\)/],
    [{ epochs: 0 }, /epochs: must be a positive integer \(got 0\)/],
    [{ epochs: 2.5 }, /epochs: must be a positive integer/],
    [{ videosPerClass: 0 }, /videosPerClass: must be a positive integer/],
    [{ clipsPerVideo: -1 }, /clipsPerVideo: must be a positive integer/],
    [{ accumulate: 0 }, /accumulate: must be a positive integer/],
    [{ accumulate: '3' }, /accumulate: must be a positive integer/],
    [{ freezeBackboneEpochs: -1 }, /freezeBackboneEpochs: must be an integer ≥ 0/],
    [{ freezeBatchNormAffine: 'yes' }, /freezeBatchNormAffine: must be true or false \(got "yes"\)/],
    [{ gradClip: -1 }, /gradClip: must be a number ≥ 0/],
    [{ lr: 0 }, /lr: must be a number > 0 \(got 0\)/],
    [{ weightDecay: -1e-4 }, /weightDecay: must be a number ≥ 0/],
    [{ warmupEpochs: 1.5 }, /warmupEpochs: must be an integer ≥ 0/],
    [{ w1: 0 }, /w1: must be a number > 0/],
    [{ w0: -1 }, /w0: must be a number > 0/],
    [{ dropout: 1 }, /dropout: must be a number in \[0, 1\)/],
    [{ dropout: -0.1 }, /dropout: must be a number in \[0, 1\)/],
    [{ lr: Number.NaN }, /lr: /],
    [{ epochss: 3 }, /epochss: unknown option/],
  ];
  for (const [override, message] of bad) {
    const e = await expectCode(
      () => resolveEncoderHyperparameters({ preset: 'shanghaitech-i3d', ...override }),
      'ERR_MIST_ARG',
    );
    assert.match(e.message, message);
    // Exactly the one bad field is named.
    assert.is(e.message.split(';').length, 1, e.message);
  }
  const preset = await expectCode(
    () => resolveEncoderHyperparameters({ preset: 'sht' as 'shanghaitech-i3d' }),
    'ERR_MIST_ARG',
  );
  assert.match(
    preset.message,
    /preset: must be one of shanghaitech-c3d, shanghaitech-i3d, ucf-crime-c3d, ucf-crime-i3d/,
  );
  // No preset: every absent field is named.
  const missing = await expectCode(() => resolveEncoderHyperparameters({ backbone: 'c3d', epochs: 3 }), 'ERR_MIST_ARG');
  for (const f of ['videosPerClass', 'accumulate', 'lr', 'w1', 'w0', 'dropout'])
    assert.match(missing.message, new RegExp(`${f}: `));
  assert.not.match(missing.message, /epochs: /);
  // finetuneEncoder() validates the same way before it touches any video.
  const ft = await expectCode(
    () => finetuneEncoder({ preset: 'ucf-crime-i3d', accumulate: 0, videos: [], pseudoLabels: new Map() }),
    'ERR_MIST_ARG',
  );
  assert.match(ft.message, /accumulate: must be a positive integer/);
});

test('warm-up factor: (e + 0.5) / 5 for the first five epochs, then 1', () => {
  const want = [0.1, 0.3, 0.5, 0.7, 0.9, 1, 1];
  want.forEach((w, e) => assert.ok(Math.abs(warmupFactor(e, 5) - w) < 1e-15, `epoch ${e}: ${warmupFactor(e, 5)}`));
  assert.is(warmupFactor(299, 5), 1);
  // Other lengths: two epochs give 0.25, 0.75; none means no warm-up at all.
  assert.equal(
    [0, 1, 2].map((e) => warmupFactor(e, 2)),
    [0.25, 0.75, 1],
  );
  assert.equal(
    [0, 1].map((e) => warmupFactor(e, 0)),
    [1, 1],
  );
});

test('freezeRule: the backbone frozen for the first epochs, BatchNorm affine as the preset says', () => {
  const sht = ENCODER_PRESETS['shanghaitech-i3d'];
  assert.equal(freezeRule(0, sht), { blocks: 'all', batchNormAffine: true });
  assert.equal(freezeRule(29, sht), { blocks: 'all', batchNormAffine: true });
  assert.equal(freezeRule(30, sht), { blocks: 'none', batchNormAffine: true });
  const ucf = ENCODER_PRESETS['ucf-crime-c3d'];
  assert.equal(freezeRule(59, ucf), { blocks: 'all', batchNormAffine: false });
  assert.equal(freezeRule(60, ucf), { blocks: 'none', batchNormAffine: false });
  assert.equal(freezeRule(0, { freezeBackboneEpochs: 0, freezeBatchNormAffine: false }), {
    blocks: 'none',
    batchNormAffine: false,
  });
  assert.equal(freezeRule(0, { freezeBackboneEpochs: 1, freezeBatchNormAffine: false }).blocks, 'all');
  assert.equal(freezeRule(1, { freezeBackboneEpochs: 1, freezeBatchNormAffine: false }).blocks, 'none');
});

test.run();
