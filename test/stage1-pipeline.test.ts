// The stage-1 pieces together on synthetic data, with a tiny JS model standing in for the
// native generator: balanced batches of sparse continuous samples, the reference MIL loss,
// then pseudo labels. If sampling, batch layout, loss or refinement were wrong in a way that
// matters, the planted anomalies would not come out on top.
import * as assert from 'uvu/assert';

import { pairwiseAuc as auc, test } from './helpers.js';
import { createRng } from '../lib/rng.js';
import { type ClipScorer, createBatchSampler, generatePseudoLabels, makeSyntheticFeatures } from '../lib/index.js';
import { milLossReference } from './reference/mil-loss.js';

/** sigmoid(w·x + b), trained by plain gradient descent through the reference loss. */
class LinearScorer implements ClipScorer {
  w: Float64Array;
  b = 0;
  constructor(dim: number) {
    this.w = new Float64Array(dim);
  }
  score(x: Float32Array, row: number): number {
    let z = this.b;
    for (let d = 0; d < this.w.length; d++) z += this.w[d]! * x[row * this.w.length + d]!;
    return 1 / (1 + Math.exp(-z));
  }
  async forward(x: Float32Array, rows: number): Promise<Float32Array> {
    return Float32Array.from({ length: rows }, (_, r) => this.score(x, r));
  }
}

test('synthetic data -> MIL training -> pseudo labels that find the planted segments', async () => {
  const dim = 16;
  const { videos } = makeSyntheticFeatures({ videos: 40, clipsRange: [40, 120], dim, anomalousFraction: 0.5, seed: 3 });
  const normal = videos.filter((v) => !v.anomalous);
  const anomalous = videos.filter((v) => v.anomalous);
  const L = 8;
  const T = 3;
  const sampler = createBatchSampler(normal, anomalous, { batchSize: 8, L, T }, createRng(1));
  const model = new LinearScorer(dim);
  const lossAt: number[] = [];
  for (let step = 0; step < 150; step++) {
    const batch = sampler.next();
    const rows = batch.normal + batch.anomalous;
    const y = Float64Array.from({ length: rows * batch.clips }, (_, i) => model.score(batch.features, i));
    const r = milLossReference(y, {
      normal: batch.normal,
      anomalous: batch.anomalous,
      clips: batch.clips,
      k: T,
      subBags: L,
      lambdaSparsity: 0.01,
      lambdaSmoothness: 0,
      variant: 'topk',
    });
    lossAt.push(r.loss);
    const gw = new Float64Array(dim);
    let gb = 0;
    for (let i = 0; i < y.length; i++) {
      const gz = r.grad[i]! * y[i]! * (1 - y[i]!);
      gb += gz;
      for (let d = 0; d < dim; d++) gw[d]! += gz * batch.features[i * dim + d]!;
    }
    for (let d = 0; d < dim; d++) model.w[d]! -= 0.5 * gw[d]!;
    model.b -= 0.5 * gb;
  }
  const first = lossAt.slice(0, 10).reduce((a, b) => a + b) / 10;
  const last = lossAt.slice(-10).reduce((a, b) => a + b) / 10;
  assert.ok(last < 0.5 * first, `loss ${first} -> ${last}`);

  const pl = await generatePseudoLabels(model, anomalous, { chunk: 50 });
  const scores: number[] = [];
  const labels: number[] = [];
  for (const v of anomalous) {
    const p = pl.get(v.name)!;
    assert.is(p.length, v.labels.length);
    assert.ok(Math.min(...p) === 0 && Math.max(...p) === 1, `${v.name} min-max`);
    scores.push(...p);
    labels.push(...v.labels);
  }
  const a = auc(scores, labels);
  console.log(
    `# pseudo-label clip AUC on anomalous synthetic videos: ${a.toFixed(4)}, loss ${first.toFixed(3)} -> ${last.toFixed(3)}`,
  );
  assert.ok(a > 0.9, `clip AUC of pseudo labels on anomalous videos: ${a}`);
});

test.run();
