// The stage-2 training step against PyTorch (test/reference/make_encoder_step_reference.py):
// the class-weighted BCE of both heads, backward through the tiny MIST-I3D in train mode,
// gradient accumulation, a clip that binds, Adam with weight decay on weights only and the
// warm-up factor, with everything training and with the stem and BatchNorm affine frozen.
// Also the loss and its gradient against the formula, and resuming from a training checkpoint.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { classWeightedBce, SgaEncoder } from '../lib/index.js';
import { expectCode, ROOT, tempDir, test } from './helpers.js';

interface Stat {
  sum: number;
  sq: number;
  data?: number[];
}
interface Call {
  loss: number;
  mainLoss: number;
  guidedLoss: number;
  stepped: boolean;
  gradNorm?: number;
  state?: Record<string, Stat>;
}
const REF = JSON.parse(readFileSync(join(ROOT, 'test', 'reference', 'encoder-step', 'reference.json'), 'utf8')) as {
  n: number;
  inputSize: [number, number, number];
  factors: number[];
  targets: number[][];
  options: Record<string, number>;
  whole: string[];
  cases: Record<CaseName, { backbone: 'i3d' | 'c3d'; frozen: boolean; calls: Call[] }>;
};
type CaseName = 'c3d' | 'i3d' | 'i3d-frozen';
const WEIGHTS = join(ROOT, 'test', 'reference', 'encoders', 'i3d_tiny.pt');
const C3D_WEIGHTS = join(ROOT, 'test', 'reference', 'encoders', 'c3d_tiny_mist.pt');
const tiny = { backbone: 'i3d', width: 1 / 24, inputSize: REF.inputSize, dropout: 0, device: 'cpu' } as const;
const tinyC3d = { ...tiny, backbone: 'c3d', width: 1 / 32 } as const;

function clipInput(call: number): Float32Array {
  const [t, h, w] = REF.inputSize;
  return Float32Array.from({ length: REF.n * 3 * t * h * w }, (_, i) => Math.sin(0.37 * i + 0.5 * call) * 0.5);
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-6);

async function runCase(name: CaseName): Promise<void> {
  const ref = REF.cases[name];
  const e = SgaEncoder.create(ref.backbone === 'i3d' ? tiny : tinyC3d);
  const report = await e.loadStateDict(ref.backbone === 'i3d' ? WEIGHTS : C3D_WEIGHTS);
  assert.is(report.missing.length, 0);
  if (ref.frozen) await e.freeze({ blocks: ['conv3d_1a_7x7'], batchNormAffine: true });
  const before = await e.stateDict();
  await e.configureTraining(REF.options);
  e.setTraining(true);
  let worstLoss = 0;
  let worstState = 0;
  let moved = 0;
  for (const [c, want] of ref.calls.entries()) {
    const r = await e.trainStep(clipInput(c), Float32Array.from(REF.targets[c]!), { lrFactor: REF.factors[c]! });
    assert.is(r.stepped, want.stepped, `call ${c}: stepped`);
    assert.is(r.micro, c + 1);
    assert.is(r.steps, Math.floor((c + 1) / REF.options.accumulate!));
    for (const k of ['loss', 'mainLoss', 'guidedLoss'] as const) worstLoss = Math.max(worstLoss, rel(r[k], want[k]));
    if (!want.stepped) {
      assert.is(r.gradNorm, -1);
      continue;
    }
    assert.ok(rel(r.gradNorm, want.gradNorm!) < 1e-4, `call ${c}: grad norm ${r.gradNorm} vs ${want.gradNorm}`);
    assert.ok(want.gradNorm! > REF.options.gradClip!, 'the clip binds');
    assert.ok(Math.abs(r.lr - REF.options.lr! * REF.factors[c]!) < 1e-15);
    const sd = await e.stateDict();
    for (const [k, s] of Object.entries(want.state!)) {
      const v = sd[k];
      assert.ok(v, `native state has ${k}`);
      let sum = 0;
      let sq = 0;
      for (const x of v) {
        sum += x;
        sq += x * x;
      }
      // Sums of many near-cancelling values: compare them on the tensor's own scale.
      const scale = Math.sqrt(s.sq) + 1e-3;
      worstState = Math.max(worstState, Math.abs(sum - s.sum) / scale, Math.abs(sq - s.sq) / (s.sq + 1e-6));
      if (s.data) {
        for (const [i, x] of s.data.entries()) {
          worstState = Math.max(worstState, Math.abs(v[i]! - x) / (Math.sqrt(s.sq / v.length) + 1e-6));
        }
      }
    }
  }
  // Adam moves each weight by about lr per update: 1e-4 of a tensor's scale is far below that.
  assert.ok(worstLoss < 1e-4, `${name}: worst relative loss difference ${worstLoss}`);
  assert.ok(worstState < 1e-4, `${name}: worst weight difference ${worstState} (relative to the tensor's RMS)`);
  const after = await e.stateDict();
  // Frozen: the stem's parameters and every backbone BatchNorm weight and bias; the running
  // statistics (buffers) move whatever is frozen.
  const isFrozen = (k: string) =>
    ref.frozen && !/running_|num_batches/.test(k) && /^backbone\.(conv3d_1a_7x7\.|.*\.batch3d\.(weight|bias)$)/.test(k);
  let frozenCount = 0;
  for (const k of Object.keys(before)) {
    const same = before[k]!.every((x, i) => x === after[k]![i]);
    if (isFrozen(k)) {
      frozenCount++;
      assert.ok(same, `${k} is frozen and must not move`);
    } else if (!same) moved++;
  }
  if (ref.frozen) assert.ok(frozenCount > 100, `${frozenCount} frozen tensors`);
  const stats = 'backbone.conv3d_1a_7x7.batch3d.running_mean';
  if (ref.backbone === 'i3d')
    assert.ok(
      after[stats]!.some((x, i) => x !== before[stats]![i]),
      'statistics update',
    );
  // Everything not frozen moved (num_batches_tracked too); a few may not, when a gradient is 0.
  assert.ok(moved >= 0.95 * (Object.keys(before).length - frozenCount), `${name}: ${moved} tensors moved`);
  e.dispose();
}

test('stage-2 steps against PyTorch: C3D, three Adam updates of two accumulated calls each', () => runCase('c3d'));
test('stage-2 step against PyTorch: I3D, everything trains', () => runCase('i3d'));
test('stage-2 step against PyTorch: I3D, stem and BatchNorm affine frozen, statistics still update', () =>
  runCase('i3d-frozen'));

test('class-weighted BCE and its gradient against the formula', () => {
  const logits = Float32Array.from([0.3, -1.2, 2.0, 0.5, -0.7, 0.9, 0, 0]);
  const y = Float32Array.from([1, 0, 0.35, 0.5]);
  for (const [w1, w0] of [
    [1, 1],
    [0.8, 0.65],
  ] as const) {
    const r = classWeightedBce(logits, y, { w1, w0 });
    let loss = 0;
    const n = y.length;
    for (let i = 0; i < n; i++) {
      const z0 = logits[2 * i]!;
      const z1 = logits[2 * i + 1]!;
      const p = 1 / (1 + Math.exp(z0 - z1));
      const t = y[i]!;
      loss += (-w1 * t * Math.log(p + 1e-8) - w0 * (1 - t) * Math.log(1 - p + 1e-8)) / n;
      // dL/dp, then through p = sigmoid(z1 - z0).
      const dp = (-w1 * t) / (p + 1e-8) + (w0 * (1 - t)) / (1 - p + 1e-8);
      const g = (dp * p * (1 - p)) / n;
      assert.ok(Math.abs(r.grad[2 * i + 1]! - g) < 1e-6, `d/dz1 of row ${i}: ${r.grad[2 * i + 1]} vs ${g}`);
      assert.ok(Math.abs(r.grad[2 * i]! + g) < 1e-6, `d/dz0 of row ${i}`);
    }
    assert.ok(Math.abs(r.loss - loss) < 1e-6, `loss ${r.loss} vs ${loss} (w1 ${w1}, w0 ${w0})`);
  }
  // The class weights really weigh: only the anomalous term of a target-1 row scales with w1.
  const one = classWeightedBce(Float32Array.from([0, 0]), Float32Array.from([1]), { w1: 2, w0: 1 });
  assert.ok(Math.abs(one.loss - 2 * Math.log(2)) < 1e-6);
});

test('resuming from a training checkpoint gives the uninterrupted run bit for bit', async () => {
  const { dir, cleanup } = tempDir();
  try {
    // Dropout on: the generator's state must come back too; accumulate 2 over 5 calls leaves
    // an accumulated gradient pending at the checkpoint.
    const options = { ...tiny, dropout: 0.5, seed: 7 };
    const train = { ...REF.options, accumulate: 2 };
    const calls = [0, 1, 2, 3, 4];
    const targets = (c: number) => Float32Array.from(REF.targets[c]!);
    const whole = SgaEncoder.create(options);
    await whole.loadStateDict(WEIGHTS);
    await whole.configureTraining(train);
    for (const c of calls) await whole.trainStep(clipInput(c), targets(c), { lrFactor: 0.5 });
    const want = await whole.stateDict();

    const first = SgaEncoder.create(options);
    await first.loadStateDict(WEIGHTS);
    await first.configureTraining(train);
    for (const c of calls.slice(0, 3)) await first.trainStep(clipInput(c), targets(c), { lrFactor: 0.5 });
    const path = join(dir, 'train.pt');
    await first.saveTraining(path, { epoch: 3, note: 'x' });
    first.dispose();

    const second = SgaEncoder.create({ ...options, seed: 99 });
    await second.configureTraining(train);
    assert.equal(await second.restoreTraining(path), { epoch: 3, note: 'x' });
    let last;
    for (const c of calls.slice(3)) last = await second.trainStep(clipInput(c), targets(c), { lrFactor: 0.5 });
    assert.is(last!.micro, 5);
    assert.is(last!.steps, 2);
    const got = await second.stateDict();
    for (const k of Object.keys(want))
      assert.ok(
        want[k]!.every((x, i) => x === got[k]![i]),
        `${k} differs after resume`,
      );

    // A plain save() has no training state; nothing changes when restoring fails.
    const plain = join(dir, 'plain.pt');
    await second.save(plain);
    await expectCode(() => second.restoreTraining(plain), 'ERR_MIST_WEIGHTS');
    await expectCode(() => second.restoreTraining(join(dir, 'absent.pt')), 'ERR_MIST_IO');
    whole.dispose();
    second.dispose();
  } finally {
    cleanup();
  }
});

test('training errors: no optimiser yet, bad targets, bad factor', async () => {
  const e = SgaEncoder.create(tiny);
  const x = clipInput(0);
  await expectCode(() => e.trainStep(x, Float32Array.from([0, 1])), 'ERR_MIST_ARG');
  await e.configureTraining({});
  await expectCode(() => e.trainStep(x, Float32Array.from([0, 1.5])), 'ERR_MIST_ARG');
  await expectCode(() => e.trainStep(x, Float32Array.from([0, Number.NaN])), 'ERR_MIST_ARG');
  await expectCode(() => e.trainStep(x, Float32Array.from([0])), 'ERR_MIST_SHAPE');
  await expectCode(() => e.trainStep(x, Float32Array.from([0, 1]), { lrFactor: -1 }), 'ERR_MIST_ARG');
  await expectCode(() => e.configureTraining({ accumulate: 0 }), 'ERR_MIST_ARG');
  await expectCode(() => e.configureTraining({ lr: -1 }), 'ERR_MIST_ARG');
  e.dispose();
});

test.run();
