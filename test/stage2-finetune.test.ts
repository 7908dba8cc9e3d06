// Stage 2's training loop, finetuneEncoder(), on a tiny synthetic set (real video files from
// makeSyntheticVideos) and tiny encoders, with pseudo labels built from the known anomalous
// intervals: what trains in a frozen epoch, gradient accumulation across epoch boundaries,
// resuming after SIGKILL bit for bit, refusing another run's checkpoint, aborting, bad pseudo
// labels, and the evaluation with the best epoch's weights returned.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import {
  extractFeatures,
  finetuneEncoder,
  SgaEncoder,
  type FinetuneEncoderOptions,
  type FinetuneEncoderResult,
  type FinetuneVideo,
} from '../lib/index.js';
import type { ManifestVideo, VideoManifest } from '../lib/data/manifest.js';
import { makeSyntheticVideos } from '../lib/stage2/synthetic-videos.js';
import { expectCode, pairwiseAuc, ROOT, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-finetune-');
let child: ChildProcess | undefined;
test.after(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  cleanup();
});

const INPUT = [16, 32, 32] as const;
const MODEL = { width: 1 / 16, inputSize: INPUT, init: 'kaiming' } as const;

interface Data {
  manifest: VideoManifest;
  train: ManifestVideo[];
  test: ManifestVideo[];
  /** Per clip: the share of its 16 frames inside the anomalous interval (anomalous training videos). */
  labels: Map<string, Float32Array>;
}
let data: Data | undefined;

/** 3 + 3 training and 2 + 2 test videos of 48 to 64 frames, 32 x 32, made once for the file. */
async function dataset(): Promise<Data> {
  if (data) return data;
  const made = await makeSyntheticVideos(join(dir, 'videos'), {
    seed: 11,
    normal: 3,
    anomalous: 3,
    testNormal: 2,
    testAnomalous: 2,
    frames: [48, 64],
    width: 32,
    height: 32,
  });
  // The generator names train and test files alike (train/normal_000, test/normal_000): the
  // manifest gets unique names here.
  const videos = made.videos.map((v): ManifestVideo => ({
    name: `${v.split}_${v.path
      .split('/')
      .pop()!
      .replace(/\.mp4$/, '')}`,
    path: v.file,
    media: 'video',
    label: v.label,
    split: v.split,
    intervals: v.intervals,
    frameCount: v.frames,
  }));
  const labels = new Map<string, Float32Array>();
  for (const v of videos) {
    if (v.split !== 'train' || v.label !== 'anomalous') continue;
    const [s, e] = v.intervals[0]!;
    const clips = Math.floor(v.frameCount! / 16);
    labels.set(
      v.name,
      Float32Array.from({ length: clips }, (_, c) => Math.max(0, Math.min(e, 16 * c + 16) - Math.max(s, 16 * c)) / 16),
    );
  }
  data = {
    manifest: { dataset: 'synthetic', videos },
    train: videos.filter((v) => v.split === 'train'),
    test: videos.filter((v) => v.split === 'test'),
    labels,
  };
  return data;
}

const isStat = (k: string) => /\.(running_mean|running_var|num_batches_tracked)$/.test(k);
const isBnAffine = (k: string) => /\.batch3d\.(weight|bias)$/.test(k);
const isBackbone = (k: string) => k.startsWith('backbone.');

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Which tensors differ between two state dicts (same keys required). */
function changed(a: Record<string, Float32Array>, b: Record<string, Float32Array>): Set<string> {
  assert.equal(Object.keys(a).sort(), Object.keys(b).sort());
  return new Set(Object.keys(a).filter((k) => !sameBits(a[k]!, b[k]!)));
}

/** The state dict of a checkpoint file, read through a fresh encoder of the same shape. */
async function weightsOf(path: string, backbone: 'i3d' | 'c3d'): Promise<Record<string, Float32Array>> {
  const e = SgaEncoder.create({ backbone, ...MODEL });
  const report = await e.loadStateDict(path);
  assert.is(report.missing.length, 0, `${path}: missing ${report.missing.join(', ')}`);
  const sd = await e.stateDict();
  e.dispose();
  return sd;
}

/** The encoder finetuneEncoder builds for these options, built independently (seed 0). */
async function initialWeights(backbone: 'i3d' | 'c3d'): Promise<Record<string, Float32Array>> {
  const e = SgaEncoder.create({ backbone, ...MODEL, dropout: 0.8, seed: 0 });
  const sd = await e.stateDict();
  e.dispose();
  return sd;
}

// ---- The main run: I3D, backbone frozen for epoch 1, BatchNorm affine frozen throughout ----
// 3 + 3 videos, one of each class per step: 3 steps an epoch; accumulate 2 over 3 epochs
// gives updates after calls 2, 4, 6 and 8, so calls 3 and 9 leave a gradient pending at the
// end of their epochs (across the checkpoint too).
const mainOptions = (checkpointDir: string) =>
  ({
    preset: 'shanghaitech-i3d',
    epochs: 3,
    videosPerClass: 1,
    accumulate: 2,
    freezeBackboneEpochs: 1,
    freezeBatchNormAffine: true,
    model: MODEL,
    frameCacheMb: 32,
    checkpointDir,
    seed: 0,
  }) as const;

let main: { result: FinetuneEncoderResult; epoch1: Record<string, Float32Array>; final: Record<string, Float32Array> };

async function mainRun(): Promise<NonNullable<typeof main>> {
  if (main) return main;
  const d = await dataset();
  const ckpt = join(dir, 'main');
  const snapshot = join(dir, 'main-epoch1.pt');
  const result = await finetuneEncoder({
    ...mainOptions(ckpt),
    videos: d.manifest,
    pseudoLabels: d.labels,
    // last.pt holds epoch 1 until epoch 2 ends: keep a copy.
    onProgress: (p) => {
      if (p.epoch === 2 && p.step === 1) copyFileSync(join(ckpt, 'last.pt'), snapshot);
    },
  });
  main = { result, epoch1: await weightsOf(snapshot, 'i3d'), final: await result.encoder.stateDict() };
  return main;
}

// ---- The same run in a child process, killed with SIGKILL inside epoch 2 -------------------
// It runs beside the main run (decoding waits on ffmpeg more than it computes).
let killed: Promise<{ exit: { code: number | null; signal: NodeJS.Signals | null }; at?: object; stderr: string }>;

function startKilledChild(d: Data): void {
  const ckpt = join(dir, 'killed');
  const last = join(ckpt, 'last.pt');
  const config = join(dir, 'child.json');
  writeFileSync(
    config,
    JSON.stringify({
      options: mainOptions(ckpt),
      videos: d.train,
      pseudoLabels: Object.fromEntries([...d.labels].map(([k, v]) => [k, [...v]])),
    }),
  );
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test', 'fixtures', 'finetune-child.ts'), config],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child = proc;
  let stderr = '';
  proc.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  let buffered = '';
  let at: { epoch: number; step: number } | undefined;
  proc.stdout.on('data', (b: Buffer) => {
    buffered += b.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, nl)) as { epoch?: number; step?: number };
      buffered = buffered.slice(nl + 1);
      // Inside epoch 2 (its first step done, two to go) with epoch 1's checkpoint on disk.
      if (!at && line.epoch === 2 && existsSync(last)) {
        at = { epoch: line.epoch, step: line.step! };
        proc.kill('SIGKILL');
      }
    }
  });
  killed = new Promise((resolve) =>
    proc.on('close', (code, signal) => resolve({ exit: { code, signal }, at, stderr })),
  );
}

test('accumulation: the counter runs across epochs (updates 1, 3, 4 after 3 + 3 + 3 calls of accumulate 2)', async () => {
  const t0 = performance.now();
  startKilledChild(await dataset());
  const { result } = await mainRun();
  console.log(`# main run: ${((performance.now() - t0) / 1000).toFixed(1)} s (with the data set)`);
  assert.equal(
    result.history.map((h) => h.updates),
    [1, 3, 4],
  );
  assert.equal(
    result.history.map((h) => h.epoch),
    [1, 2, 3],
  );
  assert.is(result.resumedFrom, 0);
  assert.is(result.hyperparameters.accumulate, 2);
  // The learning rate of each epoch's updates: 1e-4 x the warm-up factor 0.1, 0.3, 0.5.
  result.history.forEach((h, e) => assert.ok(Math.abs(h.lr - 1e-4 * [0.1, 0.3, 0.5][e]!) < 1e-12, `lr ${h.lr}`));
  for (const h of result.history) {
    assert.ok(Number.isFinite(h.loss) && h.loss > 0);
    // The total is the two heads' losses (weight 1 each).
    assert.ok(Math.abs(h.loss - h.mainLoss - h.guidedLoss) < 1e-5 * h.loss);
    assert.is(h.evaluation, undefined);
  }
  assert.is(result.best, undefined);
  // No test videos: the encoder comes back with the last epoch's weights, those of last.pt.
  assert.is(changed(await weightsOf(join(dir, 'main', 'last.pt'), 'i3d'), await result.encoder.stateDict()).size, 0);
});

test('freezing: the frozen epoch trains the SGA branch and head only; BatchNorm statistics move', async () => {
  const { epoch1, final } = await mainRun();
  const initial = await initialWeights('i3d');
  const moved1 = changed(initial, epoch1);
  const keys = Object.keys(initial);
  const params = keys.filter((k) => !isStat(k));
  const backbone = params.filter(isBackbone);
  const head = params.filter((k) => !isBackbone(k));
  assert.ok(
    backbone.length > 100 && head.some((k) => k.startsWith('Conv_Atten.')) && head.includes('Regressor.1.weight'),
  );
  for (const k of backbone) assert.ok(!moved1.has(k), `${k} moved in the frozen epoch`);
  for (const k of head) assert.ok(moved1.has(k), `${k} did not train in epoch 1`);
  const stats = keys.filter((k) => /running_(mean|var)$/.test(k));
  assert.ok(stats.length > 50);
  for (const k of stats) assert.ok(moved1.has(k), `${k} (a running statistic) did not update`);
  // Epochs 2 and 3: the backbone trains, except its BatchNorm weights and biases, frozen all along.
  const moved3 = changed(epoch1, final);
  const convs = backbone.filter((k) => !isBnAffine(k));
  const affine = backbone.filter(isBnAffine);
  assert.ok(convs.length > 50 && affine.length > 100);
  for (const k of convs) assert.ok(moved3.has(k), `${k} did not train after the frozen epoch`);
  const movedAtAll = changed(initial, final);
  for (const k of affine) assert.ok(!movedAtAll.has(k), `${k}: BatchNorm affine frozen, but it moved`);
});

test('resume after SIGKILL in the middle of epoch 2 ends with the uninterrupted run’s weights, bit for bit', async () => {
  const t0 = performance.now();
  const d = await dataset();
  const { result: whole, epoch1, final } = await mainRun();
  const ckpt = join(dir, 'killed');
  const last = join(ckpt, 'last.pt');
  const { exit, at, stderr } = await killed;
  assert.equal(exit, { code: null, signal: 'SIGKILL' }, `the child was not killed (stderr: ${stderr.slice(-2000)})`);
  assert.equal(at, { epoch: 2, step: 1 });
  // What the killed run left: epoch 1's checkpoint, the same as the uninterrupted run's.
  const left = changed(epoch1, await weightsOf(last, 'i3d'));
  assert.is(left.size, 0, `the killed run's epoch 1 differs: ${[...left].slice(0, 3).join(', ')}`);

  const resumed = await finetuneEncoder({
    ...mainOptions(ckpt),
    resume: true,
    videos: d.train,
    pseudoLabels: d.labels,
  });
  assert.is(resumed.resumedFrom, 1);
  assert.is(resumed.checkpointDir, ckpt);
  assert.equal(
    resumed.history.map((h) => [h.epoch, h.updates, h.loss, h.mainLoss, h.guidedLoss, h.lr]),
    whole.history.map((h) => [h.epoch, h.updates, h.loss, h.mainLoss, h.guidedLoss, h.lr]),
  );
  const got = await resumed.encoder.stateDict();
  const differ = changed(final, got);
  assert.is(differ.size, 0, `after resuming, ${differ.size} tensors differ: ${[...differ].slice(0, 3).join(', ')}`);
  resumed.encoder.dispose();
  console.log(`# kill and resume: ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // The same checkpoint with other options (here another learning rate) is refused.
  const other = await expectCode(
    () => finetuneEncoder({ ...mainOptions(ckpt), lr: 2e-4, resume: true, videos: d.train, pseudoLabels: d.labels }),
    'ERR_MIST_ARG',
  );
  assert.match(other.message, /checkpoint of another run/);
  whole.encoder.dispose();
});

test('abort in epoch 2: ERR_MIST_ABORTED, and last.pt holds epoch 1', async () => {
  const d = await dataset();
  // One video of each class: one step an epoch.
  const two = [d.train.find((v) => v.label === 'normal')!, d.train.find((v) => v.label === 'anomalous')!];
  const ckpt = join(dir, 'aborted');
  const controller = new AbortController();
  const seen: number[] = [];
  // I3D with everything training, BatchNorm affine included.
  const options = {
    preset: 'ucf-crime-i3d',
    epochs: 3,
    videosPerClass: 1,
    clipsPerVideo: 1,
    accumulate: 1,
    freezeBackboneEpochs: 0,
    model: MODEL,
    frameCacheMb: 32,
    checkpointDir: ckpt,
  } satisfies Partial<FinetuneEncoderOptions>;
  await expectCode(
    () =>
      finetuneEncoder({
        ...options,
        videos: two,
        pseudoLabels: d.labels,
        signal: controller.signal,
        onProgress: (p) => {
          seen.push(p.epoch);
          if (p.epoch === 2) controller.abort();
        },
      }),
    'ERR_MIST_ABORTED',
  );
  assert.equal(seen, [1, 2]);
  const e = SgaEncoder.create({ backbone: 'i3d', ...MODEL });
  await e.configureTraining({});
  const meta = (await e.restoreTraining(join(ckpt, 'last.pt'))) as { epoch: number; history: { updates: number }[] };
  assert.is(meta.epoch, 1);
  assert.equal(
    meta.history.map((h) => h.updates),
    [1],
  );
  // Unlike the main run, BatchNorm weights and biases trained here.
  const moved = changed(await initialWeights('i3d'), await e.stateDict());
  const affine = Object.keys(await e.stateDict()).filter((k) => isBackbone(k) && isBnAffine(k));
  assert.ok(affine.filter((k) => moved.has(k)).length > 0.9 * affine.length);
  e.dispose();
});

test('pseudo labels: missing for an anomalous video is ERR_MIST_ARG, the wrong length ERR_MIST_SHAPE', async () => {
  const d = await dataset();
  const base = { preset: 'shanghaitech-c3d', epochs: 1, videosPerClass: 1, model: MODEL } as const;
  const [first, ...others] = [...d.labels.keys()];
  const missing = new Map([...d.labels].filter(([k]) => k !== first));
  const e = await expectCode(
    () => finetuneEncoder({ ...base, videos: d.manifest, pseudoLabels: missing }),
    'ERR_MIST_ARG',
  );
  assert.match(e.message, new RegExp(`1 anomalous training video\\(s\\) have no pseudo labels: ${first}`));
  // One label too many for the video's clips.
  const long = new Map(d.labels);
  const pl = d.labels.get(others[0]!)!;
  long.set(others[0]!, Float32Array.from([...pl, 0]));
  // (Two videos only: each is probed before the check.)
  const two = [d.train.find((v) => v.label === 'normal')!, d.train.find((v) => v.name === others[0])!];
  const s = await expectCode(() => finetuneEncoder({ ...base, videos: two, pseudoLabels: long }), 'ERR_MIST_SHAPE');
  assert.match(s.message, new RegExp(`${others[0]}: ${pl.length + 1} pseudo labels for ${pl.length} clips`));
  // An empty training list, and labels of the wrong kind.
  await expectCode(() => finetuneEncoder({ ...base, videos: [], pseudoLabels: d.labels }), 'ERR_MIST_ARG');
  await expectCode(
    () => finetuneEncoder({ ...base, videos: d.train, pseudoLabels: {} as unknown as Map<string, number[]> }),
    'ERR_MIST_ARG',
  );
});

test('a step that is not finite stops the run naming the epoch and batch; the step was not applied', async () => {
  const d = await dataset();
  // An update at lr 1e30 leaves finite weights so large that a later loss is NaN.
  const base = { preset: 'shanghaitech-c3d', epochs: 3, videosPerClass: 1, model: MODEL, lr: 1e30 } as const;
  const e = await expectCode(
    () => finetuneEncoder({ ...base, videos: d.train, pseudoLabels: d.labels }),
    'ERR_MIST_TORCH',
  );
  assert.match(e.message, /^epoch \d+, batch \d+ of \d+: trainStep call \d+ \(update \d+\): the loss is not finite/);
  assert.match(e.message, /the step was not applied/);
  assert.match(e.message, /lower the learning rate$/);
});

test('evaluation (C3D): every epoch in history, the best epoch by AUC, and its weights returned', async () => {
  const d = await dataset();
  const ckpt = join(dir, 'eval');
  const snapshot = join(dir, 'eval-epoch1.pt');
  const test: FinetuneVideo[] = d.test;
  const result = await finetuneEncoder({
    preset: 'shanghaitech-c3d',
    epochs: 2,
    videosPerClass: 1,
    clipsPerVideo: 1,
    freezeBackboneEpochs: 0,
    model: MODEL,
    frameCacheMb: 32,
    evalEvery: 1,
    checkpointDir: ckpt,
    seed: 3,
    videos: d.train,
    pseudoLabels: d.labels,
    test: d.manifest,
    onProgress: (p) => {
      if (p.epoch === 2 && p.step === 1) copyFileSync(join(ckpt, 'last.pt'), snapshot);
    },
  });
  // The frames evaluated: each test video's whole 16-frame clips; anomalous ones from the intervals.
  const frames = d.test.reduce((n, v) => n + 16 * Math.floor(v.frameCount! / 16), 0);
  const anomalous = d.test.reduce((n, v) => {
    const end = 16 * Math.floor(v.frameCount! / 16);
    return n + v.intervals.reduce((m, [s, e]) => m + Math.max(0, Math.min(e, end) - s), 0);
  }, 0);
  assert.is(result.history.length, 2);
  for (const h of result.history) {
    const ev = h.evaluation!;
    assert.ok(ev, `epoch ${h.epoch} evaluated`);
    assert.ok(ev.auc >= 0 && ev.auc <= 1, `auc ${ev.auc}`);
    assert.ok(ev.far !== undefined && ev.far >= 0 && ev.far <= 1, `far ${ev.far}`);
    assert.equal([ev.frames, ev.anomalousFrames, ev.videos], [frames, anomalous, 4]);
  }
  const aucs = result.history.map((h) => h.evaluation!.auc);
  const bestEpoch = aucs[1]! > aucs[0]! ? 2 : 1;
  assert.is(result.best?.epoch, bestEpoch);
  assert.equal(result.best?.evaluation, result.history[bestEpoch - 1]!.evaluation);
  assert.ok(existsSync(join(ckpt, 'best.pt')));
  // The returned encoder holds the best epoch's weights...
  const want = bestEpoch === 1 ? await weightsOf(snapshot, 'c3d') : await weightsOf(join(ckpt, 'last.pt'), 'c3d');
  assert.is(changed(want, await result.encoder.stateDict()).size, 0, `epoch ${bestEpoch}'s weights`);
  assert.is(changed(want, await weightsOf(join(ckpt, 'best.pt'), 'c3d')).size, 0);
  // ... and scoring the test videos with it again gives the recorded AUC and FAR (counted by pairs).
  const scored = await extractFeatures(test, result.encoder);
  const s: number[] = [];
  const y: number[] = [];
  let normalFrames = 0;
  let alarms = 0;
  for (const [i, v] of d.test.entries()) {
    const r = scored[i]!;
    for (let f = 0; f < 16 * r.clips; f++) {
      const score = r.scores[Math.floor(f / 16)]!;
      s.push(score);
      y.push(v.intervals.some(([a, b]) => f >= a && f < b) ? 1 : 0);
      if (v.label === 'normal') {
        normalFrames++;
        if (score > 0.5) alarms++;
      }
    }
  }
  assert.ok(Math.abs(pairwiseAuc(s, y) - result.best!.evaluation.auc) < 1e-9);
  assert.ok(Math.abs(alarms / normalFrames - result.best!.evaluation.far!) < 1e-12);
  console.log(`# best epoch ${bestEpoch} of 2 (AUC ${aucs.map((a) => a.toFixed(3)).join(', ')})`);
  result.encoder.dispose();
});

test.run();
