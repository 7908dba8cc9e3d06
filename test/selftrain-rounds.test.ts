// Self-training rounds, selfTrain(), on a small synthetic set (test/fixtures/selftrain-setup.ts):
// two rounds leave their artefacts in their folders; each round's stage 1 trained on the
// features of the encoder that entered it, and round 2's fine-tuning started from round 1's
// saved weights (both checked by replaying the stage independently from the saved files);
// bad options are refused before any work.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import {
  extractFeatures,
  finetuneEncoder,
  generatePseudoLabels,
  manifestGroundTruth,
  MilGenerator,
  readPseudoLabels,
  selfTrain,
  SgaEncoder,
  trainGenerator,
  type ExtractedVideo,
  type SelfTrainOptions,
  type SelfTrainProgress,
  type SelfTrainResult,
  type VideoFeatures,
  type VideoManifest,
} from '../lib/index.js';
import {
  ENCODER,
  INPUT,
  makeSelfTrainVideos,
  readSelfTrainManifest,
  SEED,
  selfTrainOptions,
  STAGE1,
  STAGE2,
} from './fixtures/selftrain-setup.js';
import { expectCode, hasFfmpeg, skip, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-selftrain-');
test.after(cleanup);

let manifest: VideoManifest | undefined;
let run: { result: SelfTrainResult; events: SelfTrainProgress[] } | undefined;

async function mainRun(): Promise<NonNullable<typeof run>> {
  if (run) return run;
  const t0 = performance.now();
  manifest = readSelfTrainManifest(await makeSelfTrainVideos(dir));
  const events: SelfTrainProgress[] = [];
  const result = await selfTrain({
    ...selfTrainOptions(join(dir, 'run'), manifest),
    onProgress: (p) => events.push(p),
  });
  console.log(`# two rounds: ${((performance.now() - t0) / 1000).toFixed(1)} s (with the videos)`);
  run = { result, events };
  return run;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Names of the tensors that differ between two state dicts of the same keys. */
function changed(a: Record<string, Float32Array>, b: Record<string, Float32Array>): string[] {
  assert.equal(Object.keys(a).sort(), Object.keys(b).sort());
  return Object.keys(a).filter((k) => !sameBits(a[k]!, b[k]!));
}

async function encoderWeights(path: string): Promise<Record<string, Float32Array>> {
  const e = await SgaEncoder.load(path, { inputSize: INPUT });
  const sd = await e.stateDict();
  e.dispose();
  return sd;
}

/** Every training and test video through an encoder, as selfTrain's documentation says stage 1 sees them. */
async function featuresOf(encoder: SgaEncoder): Promise<ExtractedVideo[]> {
  const videos = manifest!.videos.map((v) => ({ name: v.name, path: v.path }));
  return extractFeatures(videos, encoder);
}

test('two rounds: each round folder holds its pseudo labels, generator, encoder and metrics', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const { result, events } = await mainRun();
  assert.is(result.rounds.length, 2);
  const anomalousTrain = manifest!.videos.filter((v) => v.split === 'train' && v.label === 'anomalous');
  for (const [i, r] of result.rounds.entries()) {
    assert.is(r.round, i + 1);
    assert.is(r.dir, join(dir, 'run', `round-${i + 1}`));
    for (const p of Object.values(r.paths)) assert.ok(existsSync(p), `${p} is missing`);
    assert.ok(existsSync(join(r.paths.checkpoints, 'last.pt')));
    // The pseudo labels of the anomalous training videos only (normal ones train with target 0),
    // min-max normalised per video.
    const pl = await readPseudoLabels(r.paths.pseudoLabels);
    assert.equal([...pl.labels.keys()].sort(), anomalousTrain.map((v) => v.name).sort());
    for (const [name, labels] of pl.labels) {
      assert.ok(labels.length >= 4 && labels.length <= 6, `${name}: ${labels.length} labels for 64-96 frames`);
      assert.is(Math.min(...labels), 0);
      assert.is(Math.max(...labels), 1);
    }
    assert.is(pl.meta.featureKind, i === 0 ? 'c3d' : 'mist-c3d-round-1');
    // Every evaluation: the 2 + 2 test videos, every whole clip.
    for (const e of [r.encoderBefore, r.stage1, r.stage2]) {
      assert.ok(e, `round ${r.round}: an evaluation is missing`);
      assert.is(e.videos, 4);
      assert.ok(e.frames >= 4 * 64 && e.frames <= 4 * 96 && e.frames % 16 === 0);
    }
    // The metrics file says what the result says.
    const m = JSON.parse(readFileSync(r.paths.metrics, 'utf8')) as {
      round: number;
      stage1: { evaluation: { auc: number } };
      stage2: { evaluation: { auc: number } };
    };
    assert.is(m.round, r.round);
    assert.is(m.stage1.evaluation.auc, r.stage1!.auc);
    assert.is(m.stage2.evaluation.auc, r.stage2!.auc);
    assert.is(r.history.stage1.length, STAGE1.steps);
    assert.is(r.history.stage2.length, STAGE2.epochs);
    assert.is(r.generatorStep, STAGE1.steps);
    assert.equal(r.resumed, { stage1: false, stage2: false, stage2FromEpoch: 0 });
    for (const s of Object.values(r.seconds)) assert.ok(s > 0);
  }
  // The encoder entering round 2 is round 1's: scored by its own head, as round 1's stage 2 scored it.
  assert.equal(result.rounds[1]!.encoderBefore, result.rounds[0]!.stage2);
  // The returned encoder is round 2's.
  assert.equal(changed(await result.encoder.stateDict(), await encoderWeights(result.rounds[1]!.paths.encoder)), []);
  const state = JSON.parse(readFileSync(join(dir, 'run', 'state.json'), 'utf8')) as { rounds: unknown[] };
  assert.is(state.rounds.length, 2);
  // Progress: each round's stages in order, 10 videos, 30 steps, 3 epochs of 3 steps (+ the evaluation).
  for (const k of [1, 2]) {
    const mine = events.filter((e) => e.round === k);
    const stages = mine.map((e) => e.stage).filter((s, j, a) => j === 0 || a[j - 1] !== s);
    assert.equal(stages, ['features', 'stage1', 'pseudo-labels', 'stage2', 'round']);
    assert.is(mine.filter((e) => e.stage === 'features').length, 10);
    assert.is(mine.filter((e) => e.stage === 'stage1').length, STAGE1.steps);
    assert.is(mine.filter((e) => e.stage === 'stage2').length, 3 * 3 + 1);
  }
});

test("each round's stage 1 ran on the features of the encoder that entered it (round 2: round 1's file)", async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const { result } = await mainRun();
  const params: Record<string, Float32Array>[] = [];
  for (const r of result.rounds) {
    const encoder =
      r.round === 1
        ? SgaEncoder.create({ ...ENCODER, seed: SEED })
        : await SgaEncoder.load(result.rounds[0]!.paths.encoder, { inputSize: INPUT, seed: SEED });
    const all = await featuresOf(encoder);
    encoder.dispose();
    // The default featureScale: 1 / the mean L2 norm of the training videos' feature rows.
    const isTrain = new Set(manifest!.videos.filter((v) => v.split === 'train').map((v) => v.name));
    let sum = 0;
    let rows = 0;
    for (const v of all.filter((x) => isTrain.has(x.name))) {
      for (let c = 0; c < v.clips; c++) {
        sum += Math.hypot(...v.features.subarray(c * v.featureDim, (c + 1) * v.featureDim));
        rows++;
      }
    }
    const scale = rows / sum;
    assert.ok(
      Math.abs(r.featureScale - scale) < 1e-12 * scale,
      `round ${r.round}: scale ${r.featureScale}, want ${scale}`,
    );
    const label = new Map(manifest!.videos.map((v) => [v.name, v.label]));
    const pick = (f: (name: string) => boolean): VideoFeatures[] =>
      all
        .filter((v) => f(v.name))
        .map((v) => ({
          name: v.name,
          features: { data: v.features.map((x) => x * r.featureScale), shape: [v.clips, v.featureDim] },
        }));
    const anomalous = pick((n) => isTrain.has(n) && label.get(n) === 'anomalous');
    const groundTruth = manifestGroundTruth(manifest!, new Map(all.map((v) => [v.name, v.frames])));
    const g = await trainGenerator({
      ...STAGE1,
      featureDim: all[0]!.featureDim,
      seed: SEED,
      normal: pick((n) => isTrain.has(n) && label.get(n) === 'normal'),
      anomalous,
      test: { videos: pick((n) => !isTrain.has(n)), groundTruth, scoreLayout: 'clips' },
    });
    assert.equal(r.stage1, g.best!.evaluation);
    const saved = await MilGenerator.load(r.paths.generator);
    const want = await g.model.parameters();
    const got = await saved.parameters();
    params.push(got);
    for (const k of Object.keys(want)) assert.ok(sameBits(want[k]!, got[k]!), `round ${r.round}: ${k} differs`);
    const labels = await generatePseudoLabels(
      g.model,
      anomalous.map((v) => ({ ...v, anomalous: true })),
    );
    const pl = (await readPseudoLabels(r.paths.pseudoLabels)).labels;
    for (const [name, l] of labels) assert.ok(sameBits(l, pl.get(name)!), `round ${r.round}: pseudo labels of ${name}`);
    g.model.dispose();
    saved.dispose();
    if (r.round === 1) {
      // Round 1 on these features given instead of extracted: the same stage 1.
      const given = await selfTrain({
        ...selfTrainOptions(join(dir, 'given'), manifest!),
        rounds: 1,
        features: new Map(all.map((v) => [v.name, { data: v.features, shape: [v.clips, v.featureDim] }])),
      });
      given.encoder.dispose();
      const [gr] = given.rounds;
      assert.is(gr!.encoderBefore, undefined);
      assert.equal(gr!.stage1, r.stage1);
      assert.is(gr!.featureScale, r.featureScale);
      const w = await (await MilGenerator.load(gr!.paths.generator)).parameters();
      for (const k of Object.keys(want)) assert.ok(sameBits(want[k]!, w[k]!), `given features: ${k} differs`);
      assert.is((await readPseudoLabels(gr!.paths.pseudoLabels)).meta.featureKind, 'given');
    }
  }
  // The two rounds' generators differ: the check above tells which features each one saw.
  assert.ok(!sameBits(params[0]!['fc1.weight']!, params[1]!['fc1.weight']!));
});

test("round 2's fine-tuning started from round 1's saved weights", async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const { result } = await mainRun();
  const [r1, r2] = result.rounds as [SelfTrainResult['rounds'][0], SelfTrainResult['rounds'][0]];
  // Round 2 again, independently: finetuneEncoder from round 1's file, on round 2's pseudo labels.
  const start = await SgaEncoder.load(r1.paths.encoder, { inputSize: INPUT, seed: SEED });
  const replay = await finetuneEncoder({
    ...STAGE2,
    encoder: start,
    videos: manifest!,
    pseudoLabels: r2.paths.pseudoLabels,
    test: manifest!,
    seed: SEED,
  });
  const want = await replay.encoder.stateDict();
  replay.encoder.dispose();
  assert.equal(replay.best!.evaluation, r2.stage2);
  const round2 = await encoderWeights(r2.paths.encoder);
  assert.equal(changed(want, round2), []);
  // Each round moved the weights: from the starting encoder's, then from round 1's.
  const initial = SgaEncoder.create({ ...ENCODER, seed: SEED });
  const round1 = await encoderWeights(r1.paths.encoder);
  assert.ok(changed(await initial.stateDict(), round1).length > 10);
  assert.ok(changed(round1, round2).length > 10);
  initial.dispose();
});

test('abort in round 1 stage 1: ERR_MIST_ABORTED, and the state holds no finished stage', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  await mainRun();
  const ac = new AbortController();
  await expectCode(
    () =>
      selfTrain({
        ...selfTrainOptions(join(dir, 'aborted'), manifest!),
        signal: ac.signal,
        onProgress: (p) => {
          if (p.stage === 'stage1' && p.step === 5) ac.abort();
        },
      }),
    'ERR_MIST_ABORTED',
  );
  const state = JSON.parse(readFileSync(join(dir, 'aborted', 'state.json'), 'utf8')) as { rounds: object[] };
  assert.equal(state.rounds, []);
});

test('bad options are refused with ERR_MIST_ARG before any work', async () => {
  const fake: VideoManifest = {
    dataset: 'synthetic',
    videos: [
      { name: 'a', path: '/none/a.mp4', media: 'video', label: 'normal', split: 'train', intervals: [] },
      { name: 'b', path: '/none/b.mp4', media: 'video', label: 'anomalous', split: 'train', intervals: [] },
      { name: 'c', path: '/none/c.mp4', media: 'video', label: 'anomalous', split: 'test', intervals: [[0, 16]] },
    ],
  };
  const base = selfTrainOptions(join(dir, 'refused'), fake);
  const bad: [string, Partial<SelfTrainOptions> & Record<string, unknown>, RegExp][] = [
    ['no rounds', { rounds: 0 }, /rounds/],
    ['an unknown option', { epochs: 3 }, /epochs: unknown option/],
    ['a negative scale', { featureScale: -1 }, /featureScale/],
    ['stage 1 without a preset and an L', { stage1: { ...STAGE1, L: undefined } }, /L: is required/],
    ['stage 1 given featureDim', { stage1: { ...STAGE1, featureDim: 64 } as never }, /featureDim: unknown option/],
    ['stage 2 given its seed', { stage2: { ...STAGE2, seed: 1 } as never }, /seed: unknown option/],
    ['stage 2 for another backbone', { stage2: { ...STAGE2, preset: 'shanghaitech-i3d' } }, /i3d encoder/],
    ['an encoder of no backbone', { encoder: { width: 1 } as never }, /backbone/],
    ['no videos', { videos: [] as never }, /videos/],
    ['a train split of one label', { videos: { videos: fake.videos.slice(1) } }, /no normal video/],
    [
      'features missing a video',
      { features: new Map([['a', { data: new Float32Array(4), shape: [1, 4] }]]) },
      /none for 2/,
    ],
    [
      'a test video that trains',
      { test: { videos: fake.videos.slice(0, 1), groundTruth: { videos: [] } as never } },
      /training video too/,
    ],
  ];
  for (const [what, change, message] of bad) {
    const e = await expectCode(() => selfTrain({ ...base, ...change } as SelfTrainOptions), 'ERR_MIST_ARG');
    assert.match(e.message, message, `${what}: ${e.message}`);
  }
  assert.not.ok(existsSync(join(dir, 'refused')), 'a refused run wrote its folder');
});

test('a folder that holds a run: refused without resume, and with resume under other options', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  await mainRun();
  const options = selfTrainOptions(join(dir, 'run'), manifest!);
  const held = await expectCode(() => selfTrain(options), 'ERR_MIST_ARG');
  assert.match(held.message, /holds a self-training run already/);
  for (const change of [
    { seed: SEED + 1 },
    { stage1: { ...STAGE1, steps: 31 } },
    { stage2: { ...STAGE2, lr: 2e-3 } },
    { encoder: { ...ENCODER, width: 1 / 4 } },
    { featureScale: 0.5 },
  ]) {
    const other = await expectCode(() => selfTrain({ ...options, ...change, resume: true }), 'ERR_MIST_ARG');
    assert.match(other.message, /state of another run/, JSON.stringify(change));
  }
});

test.run();
