// The native MIL ranking loss (LibTorch autograd) against the float64 reference written from
// the formulas (test/reference/mil-loss.ts): value and gradient to 1e-5, both bag variants.
import * as assert from 'uvu/assert';

import { milRankingLoss } from '../lib/index.js';
import { createRng } from '../lib/rng.js';
import { milLossReference, type MilLossOptions } from './reference/mil-loss.js';
import { expectCode, test } from './helpers.js';

function randomScores(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  // Scores spread over (0, 1) like sigmoid outputs; distinct values keep top-k free of ties.
  return Float32Array.from({ length: n }, () => 0.02 + 0.96 * rng.float());
}

async function compare(o: MilLossOptions, seed: number): Promise<void> {
  const y = randomScores((o.normal + o.anomalous) * o.clips, seed);
  const ref = milLossReference(Float64Array.from(y), o);
  // The reference spells the paper's L and the variant its own way; the API's names here.
  const { subBags, variant, ...rest } = o;
  const got = await milRankingLoss(y, { ...rest, L: subBags, lossVariant: variant });
  const close = (a: number, b: number, what: string) =>
    assert.ok(Math.abs(a - b) <= 1e-5, `${o.variant} seed ${seed} ${what}: ${a} vs ${b}`);
  close(got.loss, ref.loss, 'loss');
  close(got.rank, ref.rank, 'rank');
  // The native terms are the unweighted means; the reference reports them times their lambda.
  close(got.sparsity * o.lambdaSparsity, ref.sparsity, 'sparsity');
  close(got.smoothness * o.lambdaSmoothness, ref.smoothness, 'smoothness');
  assert.is(got.grad.length, ref.grad.length);
  let active = 0;
  for (let i = 0; i < ref.grad.length; i++) {
    close(got.grad[i]!, ref.grad[i]!, `grad[${i}]`);
    if (ref.grad[i] !== 0) active++;
  }
  assert.ok(active > 0, 'the gradient is not all zero');
}

test('top-k variant (released code): value and gradient equal the formula', async () => {
  for (let seed = 1; seed <= 5; seed++) {
    await compare(
      {
        normal: 4,
        anomalous: 4,
        clips: 32 * 3,
        k: 3,
        subBags: 32,
        lambdaSparsity: 0.01,
        lambdaSmoothness: 0,
        variant: 'topk',
      },
      seed,
    );
    await compare(
      {
        normal: 3,
        anomalous: 5,
        clips: 7 * 4,
        k: 7,
        subBags: 4,
        lambdaSparsity: 0.01,
        lambdaSmoothness: 0.3,
        variant: 'topk',
      },
      seed + 10,
    );
  }
});

test("paper's sub-bag variant: value and gradient equal the formula", async () => {
  for (let seed = 1; seed <= 5; seed++) {
    await compare(
      {
        normal: 4,
        anomalous: 4,
        clips: 32 * 7,
        k: 7,
        subBags: 32,
        lambdaSparsity: 0.01,
        lambdaSmoothness: 0,
        variant: 'subbag',
      },
      seed + 20,
    );
    await compare(
      {
        normal: 2,
        anomalous: 6,
        clips: 5 * 3,
        k: 1,
        subBags: 5,
        lambdaSparsity: 0.05,
        lambdaSmoothness: 0.2,
        variant: 'subbag',
      },
      seed + 30,
    );
  }
});

test('a hand-worked case: 1 normal, 1 anomalous, k = 1', async () => {
  // s_norm = max(0.1, 0.2) = 0.2, s_anom = max(0.9, 0.3) = 0.9; hinge 1 - 0.9 + 0.2 = 0.3.
  // sparsity = mean(0.9, 0.3) = 0.6; smoothness = (0.3 - 0.9)^2 = 0.36.
  const r = await milRankingLoss(new Float32Array([0.1, 0.2, 0.9, 0.3]), {
    normal: 1,
    anomalous: 1,
    clips: 2,
    k: 1,
    lambdaSparsity: 0.01,
    lambdaSmoothness: 1,
  });
  assert.ok(Math.abs(r.rank - 0.3) < 1e-6 && Math.abs(r.sparsity - 0.6) < 1e-6 && Math.abs(r.smoothness - 0.36) < 1e-6);
  assert.ok(Math.abs(r.loss - (0.3 + 0.006 + 0.36)) < 1e-6);
  // d/dy: normal max gets +1; anomalous max gets -1 + 0.01/2 + 2(0.9-0.3); the other 0.01/2 - 2(0.9-0.3).
  const want = [0, 1, -1 + 0.005 + 1.2, 0.005 - 1.2];
  want.forEach((w, i) => assert.ok(Math.abs(r.grad[i]! - w) < 1e-6, `grad[${i}] ${r.grad[i]} vs ${w}`));
});

test('bad loss options are coded errors', async () => {
  await expectCode(() => milRankingLoss(new Float32Array(8), { normal: 1, anomalous: 1, clips: 3 }), 'ERR_MIST_SHAPE');
  await expectCode(
    () => milRankingLoss(new Float32Array(6), { normal: 1, anomalous: 1, clips: 3, k: 4 }),
    'ERR_MIST_ARG',
  );
  await expectCode(
    () => milRankingLoss(new Float32Array(6), { normal: 1, anomalous: 1, clips: 3, lossVariant: 'subbag', L: 2 }),
    'ERR_MIST_ARG',
  );
});

test.run();
