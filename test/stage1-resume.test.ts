// trainGenerator()'s training checkpoints in one process: an abort writes one and names it,
// `resume` continues to the uninterrupted run's weights and history bit for bit, a checkpoint
// of another run is refused with what changed, a step whose loss or gradient is not finite
// changes nothing, the sampler and the native training state resume exactly, and no temporary
// file or folder is left behind on any exit.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import {
  MilGenerator,
  createBatchSampler,
  makeSyntheticFeatures,
  syntheticGroundTruth,
  trainGenerator,
  type TrainGeneratorResult,
  type VideoFeatures,
} from '../lib/index.js';
import { createRng } from '../lib/rng.js';
import { resumeBatchSampler } from '../lib/stage1/batch.js';
import { decodeExactJson, encodeExactJson } from '../lib/stage1/resume.js';
import { expectCode, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-s1resume-');
// Everything trainGenerator puts in the temporary folder lands here, where it is counted.
const privateTmp = join(dir, 'tmp');
mkdirSync(privateTmp);
const savedTmp = process.env.TMPDIR;
process.env.TMPDIR = privateTmp;
test.after(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  cleanup();
});

const dim = 32;
const train = makeSyntheticFeatures({ videos: 16, clipsRange: [20, 60], dim, anomalousFraction: 0.5, seed: 41 }).videos;
const held = makeSyntheticFeatures({ videos: 8, clipsRange: [20, 60], dim, anomalousFraction: 0.5, seed: 42 }).videos;
const normal = train.filter((v) => !v.anomalous);
const anomalous = train.filter((v) => v.anomalous);
const testSet = { videos: held, groundTruth: syntheticGroundTruth(held) };
const base = {
  L: 4,
  T: 2,
  k: 2,
  lambdaSparsity: 0.01,
  lambdaSmoothness: 0.001,
  batchSize: 3,
  lr: 0.01,
  weightDecay: 0.001,
  gradClip: 10,
  featureDim: dim,
  l2Normalize: false,
  dropout: 0.6,
  device: 'cpu',
  steps: 120,
  evalEvery: 20,
  seed: 7,
  normal,
  anomalous,
  test: testSet,
} as const;

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

async function assertSameWeights(a: MilGenerator, b: MilGenerator, what: string): Promise<void> {
  const [pa, pb] = [await a.parameters(), await b.parameters()];
  assert.equal(Object.keys(pa).sort(), Object.keys(pb).sort());
  const bad = Object.keys(pa).filter((k) => !sameBits(pa[k]!, pb[k]!));
  assert.equal(bad, [], `${what}: ${bad.join(', ')} differ`);
}

let whole: TrainGeneratorResult | undefined;
/** The uninterrupted run (no checkpointDir). */
async function uninterrupted(): Promise<TrainGeneratorResult> {
  whole ??= await trainGenerator({ ...base });
  return whole;
}

test('abort writes the training checkpoint and says where; resume ends with the uninterrupted run’s weights and history, bit for bit', async () => {
  const ref = await uninterrupted();
  // The best step of this run is not the last: the resumed run must also restore the best weights.
  assert.ok(ref.best && ref.best.step < base.steps, `best at ${ref.best?.step}`);
  const runDir = join(dir, 'abort');
  const checkpoint = join(runDir, 'generator.pt');
  const ac = new AbortController();
  const seen: number[] = [];
  const e = await expectCode(
    () =>
      trainGenerator({
        ...base,
        checkpointDir: runDir,
        checkpoint,
        saveEvery: 50,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.checkpoint) seen.push(p.step);
          if (p.step === 67) ac.abort();
        },
      }),
    'ERR_MIST_ABORTED',
  );
  assert.equal(seen, [50]);
  assert.match(e.message, /after step 67 of 120/);
  assert.ok(e.message.includes(join(runDir, 'last.pt')), e.message);
  assert.match(e.message, /resume: true/);
  assert.equal(readdirSync(runDir).sort(), ['generator.pt', 'last.pt']);
  assert.equal(readdirSync(privateTmp), [], 'nothing left in the temporary folder');
  // The checkpoint is a plain generator file too, with the weights of step 67.
  const at67 = await MilGenerator.load(join(runDir, 'last.pt'), { device: 'cpu' });
  assert.is(at67.describe().steps, 67);
  at67.dispose();

  const r = await trainGenerator({ ...base, checkpointDir: runDir, checkpoint, resume: true, saveEvery: 50 });
  assert.is(r.resumedFrom, 67);
  assert.is(r.checkpointDir, runDir);
  assert.equal(r.history, ref.history);
  assert.equal(r.best, ref.best);
  await assertSameWeights(r.model, ref.model, 'after resuming');
  // Like the uninterrupted run's model: the best step's count, a fresh optimiser.
  assert.is(r.model.describe().steps, ref.model.describe().steps);
  const best = await MilGenerator.load(checkpoint, { device: 'cpu' });
  await assertSameWeights(best, ref.model, 'the best weights file');
  best.dispose();

  // Resuming a finished run trains nothing and gives the same result.
  const again = await trainGenerator({ ...base, checkpointDir: runDir, checkpoint, resume: true });
  assert.is(again.resumedFrom, base.steps);
  assert.equal(again.history, ref.history);
  await assertSameWeights(again.model, ref.model, 'resumed after the end');
  r.model.dispose();
  again.model.dispose();
  assert.equal(readdirSync(privateTmp), []);
});

test('training checkpoints: every saveEvery steps and the last, reported in progress; default every evaluation', async () => {
  const runDir = join(dir, 'cadence');
  const at: number[] = [];
  const r = await trainGenerator({
    ...base,
    steps: 45,
    checkpointDir: runDir,
    saveEvery: 10,
    onProgress: (p) => p.checkpoint && at.push(p.step),
  });
  assert.equal(at, [10, 20, 30, 40, 45]);
  r.model.dispose();
  const byDefault: number[] = [];
  const d = await trainGenerator({
    ...base,
    steps: 45,
    checkpointDir: join(dir, 'cadence-default'),
    onProgress: (p) => p.checkpoint && byDefault.push(p.step),
  });
  assert.equal(byDefault, [20, 40, 45]);
  d.model.dispose();
  const few: number[] = [];
  const f = await trainGenerator({
    ...base,
    steps: 250,
    evalEvery: 250,
    test: undefined,
    checkpointDir: join(dir, 'cadence-100'),
    onProgress: (p) => p.checkpoint && few.push(p.step),
  });
  assert.equal(few, [100, 200, 250], 'at least every 100 steps');
  f.model.dispose();
});

test('resume refuses a checkpoint of another run and says what changed', async () => {
  const runDir = join(dir, 'other');
  const r = await trainGenerator({ ...base, steps: 20, checkpointDir: runDir });
  r.model.dispose();
  const refused = async (changes: Record<string, unknown>, pattern: RegExp) => {
    const e = await expectCode(
      () => trainGenerator({ ...base, steps: 20, checkpointDir: runDir, resume: true, ...changes }),
      'ERR_MIST_ARG',
    );
    assert.match(e.message, /checkpoint of another run/);
    assert.match(e.message, pattern);
  };
  await refused({ lr: 0.02 }, /lr was 0\.01, now 0\.02/);
  await refused({ seed: 8 }, /seed was 7, now 8/);
  await refused({ steps: 30 }, /steps was 20, now 30/);
  await refused({ lossVariant: 'subbag' }, /lossVariant was "topk", now "subbag"/);
  await refused({ normal: normal.slice(1) }, /normal training videos were 8, now 7/);
  const changed: VideoFeatures[] = anomalous.map((v, i) =>
    i === 2 ? { ...v, features: { ...v.features, data: v.features.data.map((x, j) => (j === 5 ? x + 1 : x)) } } : v,
  );
  await refused({ anomalous: changed }, /anomalous training videos differ/);
  await refused({ anomalous: [...anomalous].reverse() }, /anomalous training videos differ/);
  await refused({ test: undefined }, /had a test set, now none/);
  // Options that decide nothing written may change.
  const ok = await trainGenerator({ ...base, steps: 20, checkpointDir: runDir, resume: true, saveEvery: 3 });
  assert.is(ok.resumedFrom, 20);
  ok.model.dispose();
  await expectCode(() => trainGenerator({ ...base, resume: true }), 'ERR_MIST_ARG');
  await expectCode(() => trainGenerator({ ...base, checkpointDir: runDir, saveEvery: 0 }), 'ERR_MIST_ARG');
});

test('a step whose loss is not finite changes nothing, and the error names the step and its videos', async () => {
  // Features of 1e38: the first layer overflows to ±Infinity and the scores become NaN.
  const huge = (v: VideoFeatures): VideoFeatures => ({
    ...v,
    features: { ...v.features, data: v.features.data.map(() => 1e38) },
  });
  const batchOf = (videos: VideoFeatures[]) => {
    const s = createBatchSampler(videos.slice(0, 2), videos.slice(2, 4), { batchSize: 2, L: 4, T: 2 }, createRng(1));
    return s.next();
  };
  const good = [batchOf(train.slice(0, 4)), batchOf(train.slice(4, 8))];
  const bad = batchOf(train.slice(8, 12).map(huge));
  const loss = { k: 2 };
  const a = MilGenerator.create({ featureDim: dim, seed: 3 });
  const b = MilGenerator.create({ featureDim: dim, seed: 3 });
  await a.trainStep(good[0]!, loss);
  await b.trainStep(good[0]!, loss);
  const before = await a.parameters();
  const e = await expectCode(() => a.trainStep(bad, loss), 'ERR_MIST_TORCH');
  assert.match(e.message, /loss is not finite \(NaN\)/);
  assert.match(e.message, /not applied/);
  const after = await a.parameters();
  for (const k of Object.keys(before)) assert.ok(sameBits(before[k]!, after[k]!), `${k} changed`);
  assert.is(a.describe().steps, 1);
  // The optimiser state and the dropout stream are untouched too: the next step is b's.
  await a.trainStep(good[1]!, loss);
  await b.trainStep(good[1]!, loss);
  await assertSameWeights(a, b, 'after a refused step');
  a.dispose();
  b.dispose();

  // Through trainGenerator: the step, its videos, the advice; the best weights so far are kept.
  const e2 = await expectCode(() => trainGenerator({ ...base, normal: normal.map(huge) }), 'ERR_MIST_TORCH');
  assert.match(e2.message, /^step 1 of 120 \(videos normal_\d+, /);
  assert.match(e2.message, /lower the learning rate/);
  // A learning rate of 1e30 makes the second step's loss NaN.
  const e3 = await expectCode(
    () => trainGenerator({ ...base, lr: 1e30, checkpointDir: join(dir, 'nan') }),
    'ERR_MIST_TORCH',
  );
  assert.match(e3.message, /^step 2 of 120 .*not finite/);
  assert.ok(!existsSync(join(dir, 'nan', 'last.pt')), 'no checkpoint before the first save');
  assert.equal(readdirSync(privateTmp), []);
});

test('an abort without a checkpointDir keeps the best weights so far in the temporary folder and names them', async () => {
  const ac = new AbortController();
  const e = await expectCode(
    () =>
      trainGenerator({
        ...base,
        signal: ac.signal,
        onProgress: (p) => p.step === 25 && ac.abort(),
      }),
    'ERR_MIST_ABORTED',
  );
  const keep = join(privateTmp, `mist-generator-best-${process.pid}.pt`);
  assert.ok(e.message.includes(keep), e.message);
  assert.equal(readdirSync(privateTmp), [`mist-generator-best-${process.pid}.pt`]);
  const m = await MilGenerator.load(keep, { device: 'cpu' });
  assert.is(m.describe().steps, 20);
  m.dispose();
});

test('the batch sampler resumes from its state with the same batches', () => {
  const o = { batchSize: 3, L: 4, T: 2, reuseBuffers: true };
  const s = createBatchSampler(normal, anomalous, o, createRng(9));
  for (let i = 0; i < 7; i++) s.next();
  const state = JSON.parse(JSON.stringify(s.state())) as ReturnType<typeof s.state>;
  const t = resumeBatchSampler(normal, anomalous, o, state);
  for (let i = 0; i < 12; i++) {
    const [x, y] = [s.next(), t.next()];
    assert.equal(x.names, y.names);
    assert.ok(sameBits(x.features, y.features), `batch ${i + 8}`);
  }
  assert.equal(t.epochs, s.epochs);
  assert.throws(() => resumeBatchSampler(normal.slice(1), anomalous, o, state), /not the state of a cycler/);
});

test('exact JSON gives back NaN, infinities, -0 and undefined fields', () => {
  const v = { a: NaN, b: [Infinity, -Infinity, -0, 0, 1.1], c: undefined, d: { e: 'x', f: null } };
  const back = decodeExactJson(encodeExactJson(v)) as typeof v;
  assert.equal(back, v);
  assert.ok(Object.is(back.b[2], -0) && 'c' in back);
});

test('restoreTraining refuses another generator’s file and changes nothing; a failed write leaves no temporary', async () => {
  const runDir = join(dir, 'native');
  mkdirSync(runDir, { recursive: true });
  const g = MilGenerator.create({ featureDim: dim, seed: 3 });
  const path = join(runDir, 'train.pt');
  await g.saveTraining(path, 'meta');
  const before = await g.parameters();
  const plain = join(runDir, 'plain.pt');
  await g.save(plain);
  const other = MilGenerator.create({ featureDim: dim, seed: 4 });
  await expectCode(() => other.restoreTraining(path), 'ERR_MIST_WEIGHTS');
  const wider = MilGenerator.create({ featureDim: dim + 1, seed: 3 });
  await expectCode(() => wider.restoreTraining(path), 'ERR_MIST_WEIGHTS');
  await expectCode(() => g.restoreTraining(plain), 'ERR_MIST_WEIGHTS');
  await expectCode(() => g.restoreTraining(join(runDir, 'none.pt')), 'ERR_MIST_IO');
  const after = await g.parameters();
  for (const k of Object.keys(before)) assert.ok(sameBits(before[k]!, after[k]!), `${k} changed`);
  assert.is(await g.restoreTraining(path), 'meta');
  await expectCode(() => g.useBest(), 'ERR_MIST_ARG');
  // A write whose rename fails (the target is a folder) removes its temporary.
  const folder = join(runDir, 'folder.pt');
  mkdirSync(folder);
  await expectCode(() => g.saveTraining(folder, 'x'), 'ERR_MIST_IO');
  assert.equal(readdirSync(runDir).sort(), ['folder.pt', 'plain.pt', 'train.pt']);
  for (const m of [g, other, wider]) m.dispose();
});

test.run();
