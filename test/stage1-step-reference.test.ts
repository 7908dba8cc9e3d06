// The stage-1 training step against PyTorch (test/reference/make_stage1_step_reference.py):
// from the same initial weights and on the same batches, five consecutive native steps give
// the weights torch.optim.Adagrad gives after the MIL ranking loss, backward and
// clip_grad_norm_, in both bag-score variants, with a gradient clip that binds and weight
// decay on. Then the loss alone where some hinges are inactive, and dropout on its own.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { MilGenerator, milRankingLoss } from '../lib/index.js';
import { ROOT, test } from './helpers.js';

interface Step {
  loss: number;
  rank: number;
  sparsity: number;
  smoothness: number;
  gradNorm: number;
  weights: Record<string, number[]>;
}
interface RunOptions {
  variant: 'topk' | 'subbag';
  k: number;
  lr: number;
  weightDecay: number;
  gradClip: number;
  lambdaSparsity: number;
  lambdaSmoothness: number;
}
interface Reference {
  shape: {
    D: number;
    hidden: [number, number];
    normal: number;
    anomalous: number;
    L: number;
    T: number;
    clips: number;
  };
  batches: number[][];
  runs: Record<string, { options: RunOptions; steps: Step[] }>;
  hingeScores: number[];
  hingeCases: Record<
    string,
    { options: RunOptions; loss: number; rank: number; activeHinges: number; pairs: number; grad: number[] }
  >;
}

const dir = join(ROOT, 'test', 'reference', 'stage1-step');
const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Reference;
const { shape } = ref;

/** The loss options of a recorded run, under the API's names. */
function lossOptions(o: RunOptions) {
  return {
    lossVariant: o.variant,
    k: o.k,
    L: shape.L,
    lambdaSparsity: o.lambdaSparsity,
    lambdaSmoothness: o.lambdaSmoothness,
  };
}

/** Largest |a - b| relative to the largest |b| of the tensor. */
/**
 * Largest difference over the tensor's scale, or over `floor` where the tensor is smaller: a
 * weight that an update brought near zero (fc3.bias of the subbag run reaches 0.006 in step 5)
 * is measured against the size of one Adagrad step, lr, not against its own small value.
 */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  let err = 0;
  let scale = floor;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}

for (const [name, run] of Object.entries(ref.runs)) {
  test(`${name}: five Adagrad steps with weight decay and a binding clip equal PyTorch's`, async () => {
    const o = run.options;
    const g = await MilGenerator.load(join(dir, 'init.pt'), {
      dropout: 0,
      lr: o.lr,
      weightDecay: o.weightDecay,
      gradClip: o.gradClip,
      device: 'cpu',
    });
    let worst = 0;
    for (const [i, want] of run.steps.entries()) {
      const r = await g.trainStep(
        {
          features: Float32Array.from(ref.batches[i]!),
          normal: shape.normal,
          anomalous: shape.anomalous,
          clips: shape.clips,
        },
        lossOptions(o),
      );
      for (const term of ['loss', 'rank', 'sparsity', 'smoothness', 'gradNorm'] as const) {
        assert.ok(
          Math.abs(r[term] - want[term]) <= 2e-6 * Math.max(1, Math.abs(want[term])),
          `step ${i + 1} ${term}: ${r[term]} vs ${want[term]}`,
        );
      }
      // The clip binds in every step: the norm before clipping is above it.
      assert.ok(
        r.gradNorm > o.gradClip * 2,
        `step ${i + 1}: norm ${r.gradNorm} does not exceed the clip ${o.gradClip}`,
      );
      const weights = await g.parameters();
      for (const [key, values] of Object.entries(want.weights)) {
        const e = relErr(weights[key]!, values, o.lr);
        worst = Math.max(worst, e);
        assert.ok(e < 5e-6, `step ${i + 1} ${key}: relative error ${e}`);
      }
    }
    console.log(`  ${name}: worst relative weight error over 5 steps ${worst.toExponential(2)}`);
    g.dispose();
  });
}

for (const [name, c] of Object.entries(ref.hingeCases)) {
  test(`${name}: the loss where ${c.pairs - c.activeHinges} of ${c.pairs} hinges are inactive equals PyTorch's, gradient too`, async () => {
    assert.ok(c.activeHinges > 0 && c.activeHinges < c.pairs, 'the case has both active and inactive hinges');
    const o = c.options;
    const r = await milRankingLoss(Float32Array.from(ref.hingeScores), {
      normal: shape.normal,
      anomalous: shape.anomalous,
      clips: shape.clips,
      ...lossOptions(o),
    });
    assert.ok(Math.abs(r.rank - c.rank) < 1e-6, `rank ${r.rank} vs ${c.rank}`);
    assert.ok(Math.abs(r.loss - c.loss) < 1e-6, `loss ${r.loss} vs ${c.loss}`);
    assert.ok(relErr(r.grad, c.grad) < 1e-5, `gradient: relative error ${relErr(r.grad, c.grad)}`);
  });
}

test('dropout: in training a unit is zeroed with probability p and kept ones scaled by 1/(1-p); none in eval', async () => {
  // D = 1 and weights that pass one value through both dropout layers (ones-1x1x1.pt: fc1 =
  // fc2 = fc3 = 1, zero biases), so out = sigmoid(m2 * m1 * x) for x = 1, masks m in {0, 1/(1-p)}.
  const p = 0.6;
  const rows = 20000;
  const g = await MilGenerator.load(join(ROOT, 'test', 'reference', 'stage1-step', 'ones-1x1x1.pt'), {
    dropout: p,
    device: 'cpu',
    seed: 9,
  });
  const x = new Float32Array(rows).fill(1);
  const train = await g.forward(x, rows, 1, { mode: 'train' });
  const evalOut = await g.forward(x, rows, 1);
  const keep = 1 - p;
  const logit = (y: number) => Math.log(y / (1 - y));
  let both = 0;
  for (const y of train) {
    const v = logit(y);
    if (Math.abs(v) < 1e-5) continue; // a mask dropped the value: sigmoid(0)
    assert.ok(
      Math.abs(v - 1 / keep ** 2) < 1e-3 * (1 / keep ** 2),
      `a kept value is ${v}, not 1/(1-p)^2 = ${1 / keep ** 2}`,
    );
    both++;
  }
  // Kept by both masks with probability (1-p)^2 = 0.16; 4 binomial standard deviations.
  const expected = rows * keep ** 2;
  const sd = Math.sqrt(rows * keep ** 2 * (1 - keep ** 2));
  assert.ok(
    Math.abs(both - expected) < 4 * sd,
    `${both} of ${rows} kept, expected ${expected.toFixed(0)} ± ${(4 * sd).toFixed(0)}`,
  );
  // Eval mode: no mask at all.
  for (const y of evalOut) assert.ok(Math.abs(logit(y) - 1) < 1e-5, `eval output ${y} is not sigmoid(1)`);
  console.log(
    `  dropout p = ${p}: ${both} of ${rows} passed both layers (expected ${expected.toFixed(0)} ± ${sd.toFixed(0)})`,
  );
  g.dispose();
});

test('the training step draws dropout masks: the same batch gives another loss at every step', async () => {
  // Weights held still (lr 1e-30), the same batch 20 times: with dropout 0.6 each step draws
  // new masks, so the losses differ; with dropout 0 they are all the reference's first loss.
  const batch = {
    features: Float32Array.from(ref.batches[0]!),
    normal: shape.normal,
    anomalous: shape.anomalous,
    clips: shape.clips,
  };
  const loss = { lossVariant: 'topk', k: 3, L: shape.L } as const;
  const losses = async (dropout: number) => {
    const g = await MilGenerator.load(join(dir, 'init.pt'), {
      dropout,
      lr: 1e-30,
      weightDecay: 0,
      device: 'cpu',
      seed: 1,
    });
    const out: number[] = [];
    for (let i = 0; i < 20; i++) out.push((await g.trainStep(batch, loss)).rank);
    g.dispose();
    return out;
  };
  const off = await losses(0);
  assert.ok(
    off.every((v) => v === off[0]),
    'without dropout every step is the same',
  );
  const on = await losses(0.6);
  assert.ok(new Set(on).size >= 15, `with dropout 0.6 only ${new Set(on).size} distinct losses in 20 steps`);
  assert.ok(
    on.every((v) => v !== off[0]),
    'every step with dropout differs from the step without',
  );
});

test.run();
