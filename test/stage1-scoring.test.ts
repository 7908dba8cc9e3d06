import * as assert from 'uvu/assert';
import {
  type ClipScorer,
  generatePseudoLabels,
  makeSyntheticFeatures,
  refinePseudoLabels,
  scoreClips,
  milRankingLoss,
  MistError,
} from '../lib/index.js';
import { expectCode, pairwiseAuc as auc, test } from './helpers.js';

/** A fake generator: the score of a row is the sum of its features; it logs each call. */
class SumScorer implements ClipScorer {
  calls: { rows: number; dim: number; length: number }[] = [];
  async forward(x: Float32Array, rows: number, dim: number): Promise<Float32Array> {
    this.calls.push({ rows, dim, length: x.length });
    const out = new Float32Array(rows);
    for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) out[r] = out[r]! + x[r * dim + d]!;
    return out;
  }
}

test('scoreClips: chunks of at most `chunk` clips, scores in clip order', async () => {
  const n = 2500;
  const dim = 2;
  // Clip c has features [c, 0.5]: its score is c + 0.5.
  const data = new Float32Array(n * dim);
  for (let c = 0; c < n; c++) [data[2 * c], data[2 * c + 1]] = [c, 0.5];
  const m = new SumScorer();
  const s = await scoreClips(m, { data, shape: [n, dim] });
  assert.equal(m.calls, [
    { rows: 1000, dim: 2, length: 2000 },
    { rows: 1000, dim: 2, length: 2000 },
    { rows: 500, dim: 2, length: 1000 },
  ]);
  assert.is(s.length, n);
  assert.ok(s.every((v, c) => v === c + 0.5));
  const m2 = new SumScorer();
  await scoreClips(m2, { data, shape: [n, dim] }, { chunk: 999 });
  assert.equal(
    m2.calls.map((c) => c.rows),
    [999, 999, 502],
  );
});

test('scoreClips: crops and L2 normalisation are applied as in training', async () => {
  // 3 clips, 2 crops, D = 2: crop 0 = [c, 0], crop 1 = [c + 2, 4].
  const data = Float32Array.from([0, 0, 2, 4, 1, 0, 3, 4, 2, 0, 4, 4]);
  const f = { data, shape: [3, 2, 2] };
  assert.equal(Array.from(await scoreClips(new SumScorer(), f)), [3, 4, 5]); // mean [c+1, 2]
  assert.equal(Array.from(await scoreClips(new SumScorer(), f, { crop: 1 })), [6, 7, 8]);
  const unit = await scoreClips(new SumScorer(), f, { crop: 0, l2Normalize: true });
  // [0,0] stays 0; [1,0] and [2,0] become [1,0].
  assert.equal(Array.from(unit), [0, 1, 1]);
});

test('scoreClips: a model returning the wrong count, and bad options, fail with codes', async () => {
  const bad: ClipScorer = { forward: async (_x, rows) => new Float32Array(rows + 1) };
  const f = { data: new Float32Array(6), shape: [3, 2] };
  await expectCode(() => scoreClips(bad, f), 'ERR_MIST_SHAPE');
  await expectCode(() => scoreClips(new SumScorer(), f, { chunk: 0 }), 'ERR_MIST_ARG');
  await expectCode(() => scoreClips(new SumScorer(), f, { crop: 1 }), 'ERR_MIST_ARG');
  await expectCode(() => scoreClips(new SumScorer(), { data: new Float32Array(5), shape: [3, 2] }), 'ERR_MIST_SHAPE');
});

test('generatePseudoLabels: refined per video, min-max only for anomalous ones', async () => {
  const mk = (name: string, scores: number[], anomalous: boolean) => ({
    name,
    anomalous,
    features: { data: Float32Array.from(scores), shape: [scores.length, 1] },
  });
  const videos = [
    mk('a', [0, 0, 0, 0, 10, 0, 0, 0, 0], true),
    mk('n', [0, 0, 0, 0, 10, 0, 0, 0, 0], false),
    mk('one', [0.3], true),
  ];
  const progress: number[] = [];
  const pl = await generatePseudoLabels(new SumScorer(), videos, { chunk: 4, onProgress: (d) => progress.push(d) });
  assert.equal([...pl.keys()], ['a', 'n', 'one']);
  // Same hand-worked triangle as in stage1-refine: normal keeps the scale, anomalous is stretched.
  assert.equal(Array.from(pl.get('n')!), Array.from(Float32Array.from([0.4, 0.8, 1.2, 1.6, 2.0, 1.6, 1.2, 0.8, 0.4])));
  assert.equal(
    Array.from(pl.get('a')!),
    Array.from(refinePseudoLabels([0, 0, 0, 0, 10, 0, 0, 0, 0], { anomalous: true })),
  );
  assert.equal(
    Array.from(pl.get('a')!).map((v) => Math.round(v * 100) / 100),
    [0, 0.25, 0.5, 0.75, 1, 0.75, 0.5, 0.25, 0],
  );
  assert.ok(Math.abs(pl.get('one')![0]! - 0.3) < 1e-7);
  assert.equal(progress, [1, 2, 3]);
  await expectCode(() => generatePseudoLabels(new SumScorer(), [videos[0]!, videos[0]!]), 'ERR_MIST_ARG');
  const ac = new AbortController();
  ac.abort();
  await expectCode(() => generatePseudoLabels(new SumScorer(), videos, { signal: ac.signal }), 'ERR_MIST_ABORTED');
  const e = await expectCode(
    () => generatePseudoLabels({ forward: async () => new Float32Array(0) }, videos),
    'ERR_MIST_SHAPE',
  );
  assert.match(e.message, /^a: /);
});

test('synthetic features: deterministic, planted contiguous segments, separable along the direction', () => {
  const opts = { videos: 20, clipsRange: [30, 60] as [number, number], dim: 16, anomalousFraction: 0.4, seed: 7 };
  const { videos, direction } = makeSyntheticFeatures(opts);
  const again = makeSyntheticFeatures(opts);
  assert.equal(Array.from(again.videos[13]!.features.data), Array.from(videos[13]!.features.data));
  assert.not.equal(
    Array.from(makeSyntheticFeatures({ ...opts, seed: 8 }).videos[0]!.features.data.subarray(0, 4)),
    Array.from(videos[0]!.features.data.subarray(0, 4)),
  );
  assert.is(videos.length, 20);
  assert.is(videos.filter((v) => v.anomalous).length, 8);
  assert.is(videos[0]!.name, 'normal_000');
  assert.is(videos[19]!.name, 'anomalous_007');
  assert.ok(Math.abs(Math.hypot(...direction) - 1) < 1e-6);
  const scores: number[] = [];
  const labels: number[] = [];
  for (const v of videos) {
    const [n, d] = v.features.shape as [number, number];
    assert.ok(n >= 30 && n <= 60 && d === 16 && v.labels.length === n);
    const ones = [...v.labels.keys()].filter((i) => v.labels[i] === 1);
    if (!v.anomalous) assert.is(ones.length, 0, v.name);
    else {
      // One contiguous run whose length is 10–40 % of the video.
      assert.is(ones[ones.length - 1]! - ones[0]! + 1, ones.length, `${v.name} contiguous`);
      assert.ok(
        ones.length >= Math.round(0.1 * n) && ones.length <= Math.round(0.4 * n),
        `${v.name} length ${ones.length}/${n}`,
      );
    }
    for (let c = 0; c < n; c++) {
      let p = 0;
      for (let j = 0; j < d; j++) p += v.features.data[c * d + j]! * direction[j]!;
      scores.push(p);
      labels.push(v.labels[c]!);
    }
  }
  // Projection: N(0, 1.25) noise, +3 on planted clips -> AUC ≈ Φ(3 / sqrt(2.5)) ≈ 0.97.
  const a = auc(scores, labels);
  assert.ok(a > 0.93, `AUC ${a}`);
  // Planted clips lie about `strength` further along the direction than the rest.
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const gap = mean(scores.filter((_, i) => labels[i] === 1)) - mean(scores.filter((_, i) => labels[i] === 0));
  assert.ok(Math.abs(gap - 3) < 0.5, `gap ${gap}`);
});

test('synthetic features: bad options fail with ERR_MIST_ARG', async () => {
  const base = { videos: 4, clipsRange: [5, 9] as [number, number], dim: 4, anomalousFraction: 0.5 };
  await expectCode(() => makeSyntheticFeatures({ ...base, clipsRange: [9, 5] }), 'ERR_MIST_ARG');
  await expectCode(() => makeSyntheticFeatures({ ...base, anomalousFraction: 2 }), 'ERR_MIST_ARG');
  await expectCode(() => makeSyntheticFeatures({ ...base, dim: 0 }), 'ERR_MIST_ARG');
});

test('a native failure while scoring a video is a MistError that names the video', async () => {
  // A scorer whose forward is a native call that fails (the MIL loss given a wrong size).
  const failing: ClipScorer = {
    forward: async (x) => (await milRankingLoss(x, { normal: 1, anomalous: 1, clips: 3 })).grad,
  };
  const videos = [
    { name: 'Arson011_x264', anomalous: true, features: { data: new Float32Array(4 * 2), shape: [4, 2] } },
  ];
  const e = await expectCode(() => generatePseudoLabels(failing, videos), 'ERR_MIST_SHAPE');
  assert.instance(e, MistError);
  assert.match(e.message, /^Arson011_x264: /);
  assert.instance(e.cause, MistError, 'the native error, itself a MistError, is the cause');
});

test.run();
