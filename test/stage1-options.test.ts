// Every trainGenerator option changes what training does: for each option, a run with only
// that option changed must differ from the baseline run in the way the table says. An option
// that the code ignores gives a run identical to the baseline (same seed, same batches, same
// initial weights), so its row fails.
import * as assert from 'uvu/assert';

import { makeSyntheticFeatures, trainGenerator, type HistoryEntry, type TrainGeneratorOptions } from '../lib/index.js';
import { test } from './helpers.js';

const dim = 32;
const videos = makeSyntheticFeatures({ videos: 24, clipsRange: [30, 60], dim, anomalousFraction: 0.5, seed: 5 }).videos;
const normal = videos.filter((v) => !v.anomalous);
const anomalous = videos.filter((v) => v.anomalous);
const steps = 4;
const baseline = {
  L: 4,
  T: 3,
  k: 3,
  lambdaSparsity: 0.01,
  lambdaSmoothness: 0,
  batchSize: 6,
  lr: 0.01,
  weightDecay: 0.001,
  gradClip: 10,
  featureDim: dim,
  l2Normalize: false,
  dropout: 0.6,
  device: 'cpu',
  steps,
  evalEvery: steps,
  seed: 3,
  lossVariant: 'topk',
} as const satisfies Partial<TrainGeneratorOptions>;

async function run(change: Partial<TrainGeneratorOptions>): Promise<HistoryEntry[]> {
  const r = await trainGenerator({ ...baseline, ...change, normal, anomalous } as TrainGeneratorOptions);
  r.model.dispose();
  return r.history;
}

type Effect = (base: HistoryEntry[], changed: HistoryEntry[]) => string | undefined;
const differ = (a: number[], b: number[]) => a.some((v, i) => v !== b[i]);
// What must change, in the history the run reports (loss terms and gradient norm per step).
const lossAtStep1: Effect = (b, c) => (c[0]!.loss !== b[0]!.loss ? undefined : 'the first loss is unchanged');
const laterSteps: Effect = (b, c) =>
  differ(
    b.slice(1).map((h) => h.loss),
    c.slice(1).map((h) => h.loss),
  )
    ? undefined
    : 'later losses are unchanged';
const rankAtStep1: Effect = (b, c) => (c[0]!.rank !== b[0]!.rank ? undefined : 'the first ranking term is unchanged');

const TABLE: Array<{ option: string; change: Partial<TrainGeneratorOptions>; effect: Effect; why: string }> = [
  {
    option: 'lossVariant',
    change: { lossVariant: 'subbag' },
    effect: rankAtStep1,
    why: 'another bag score: another hinge',
  },
  {
    option: 'k',
    change: { k: 1 },
    effect: rankAtStep1,
    why: 'the bag score is the mean of a different number of clips',
  },
  {
    option: 'lambdaSmoothness',
    change: { lambdaSmoothness: 5 },
    effect: lossAtStep1,
    why: 'the smoothness term enters the loss',
  },
  {
    option: 'lambdaSparsity',
    change: { lambdaSparsity: 1 },
    effect: lossAtStep1,
    why: 'the sparsity term enters the loss',
  },
  { option: 'l2Normalize', change: { l2Normalize: true }, effect: lossAtStep1, why: 'the generator sees other inputs' },
  {
    option: 'gradClip',
    change: { gradClip: 1e-4 },
    effect: laterSteps,
    why: 'a clip that binds scales the first update',
  },
  { option: 'lr', change: { lr: 0.5 }, effect: laterSteps, why: 'a larger first update' },
  { option: 'weightDecay', change: { weightDecay: 5 }, effect: laterSteps, why: 'decay joins the first update' },
  {
    option: 'dropout',
    change: { dropout: 0 },
    effect: lossAtStep1,
    why: 'no unit is dropped in the first forward pass',
  },
  { option: 'L', change: { L: 2 }, effect: lossAtStep1, why: 'fewer sub-bags: other sampled clips' },
  { option: 'T', change: { T: 2, k: 2 }, effect: lossAtStep1, why: 'shorter sub-bags: other sampled clips' },
  { option: 'batchSize', change: { batchSize: 3 }, effect: lossAtStep1, why: 'other videos in the first batch' },
  { option: 'seed', change: { seed: 4 }, effect: lossAtStep1, why: 'other initial weights, masks and batches' },
];

test('the baseline is deterministic (so a difference below is the option, not noise)', async () => {
  const [a, b] = [await run({}), await run({})];
  assert.equal(a, b);
});

test('the option table: each option changes the run as it says', async () => {
  const base = await run({});
  const failures: string[] = [];
  for (const row of TABLE) {
    const why = row.effect(base, await run(row.change));
    if (why) failures.push(`${row.option} ${JSON.stringify(row.change)}: ${why} (expected: ${row.why})`);
  }
  assert.equal(failures, []);
});

test('gradClip binds: the reported norm is above the clip, so the clip is what changes the update', async () => {
  const h = await run({ gradClip: 1e-4 });
  assert.ok(h[0]!.gradNorm > 1e-4 * 100, `gradient norm ${h[0]!.gradNorm}`);
});

test.run();
