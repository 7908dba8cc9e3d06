// The commands of `mist` beyond the first ones, end to end as a user runs them, on small real
// inputs: the packaged UCF-Crime C3D features and tiny synthetic videos. Each result is checked
// against the API called directly (or a pairwise count): train-generator and its alias `train`,
// pseudo-labels, eval (score files, a generator, an encoder), finetune with Ctrl-C and --resume,
// bench, and the --report of eval, finetune and self-train.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import {
  averagePrecision,
  evaluateGenerator,
  falseAlarmRate,
  generatePseudoLabels,
  info,
  loadUcfCrimeGroundTruth,
  MilGenerator,
  readPseudoLabels,
  readVideoManifest,
  SgaEncoder,
  writeNpy,
  writePseudoLabels,
} from '../lib/index.js';
import { loadDemoFeatures } from '../lib/demo/index.js';
import { makeSyntheticVideos } from '../lib/stage2/synthetic-videos.js';
import { STAGE1, STAGE2 } from './fixtures/selftrain-setup.js';
import { hasFfmpeg, mist, packageData, pairwiseAuc, ROOT, skip, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-cli-commands-');
test.after(cleanup);

const FEATURES = packageData('ucf-crime', 'c3d_32seg');
const split = join(dir, 'split.csv');
writeFileSync(
  split,
  readdirSync(FEATURES)
    .map((f) => f.replace(/\.txt$/, ''))
    .map((n) => `${n},${n.startsWith('Normal') ? 0 : 1}`)
    .join('\n'),
);

/** The JSON lines of a command's stdout. */
const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown> & { event: string });

/** stderr without the warnings and the progress lines. */
const errorLines = (stderr: string) =>
  stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('mist: '));

async function sameWeights(a: Record<string, Float32Array>, b: Record<string, Float32Array>): Promise<string[]> {
  const differ: string[] = [];
  assert.equal(Object.keys(a).sort(), Object.keys(b).sort());
  for (const k of Object.keys(a)) {
    const x = a[k]!;
    const y = b[k]!;
    if (x.length !== y.length || x.some((v, i) => !Object.is(v, y[i]))) differ.push(k);
  }
  return differ;
}

test('mist --help lists every command in order, train as an alias of train-generator', () => {
  const r = mist(['--help']);
  assert.is(r.status, 0, r.stderr);
  const names = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('  mist '))
    .map((l) => l.trim().split(/\s+/)[1]);
  const order = ['info', 'demo', 'train-generator', 'train', 'pseudo-labels', 'finetune', 'self-train'];
  assert.equal(names.slice(0, order.length), order);
  for (const n of ['extract', 'score', 'eval', 'bench']) assert.ok(names.includes(n), n);
  assert.ok(names.indexOf('eval') > names.indexOf('score') && names.indexOf('bench') === names.length - 1);
  assert.match(r.stdout, /mist train +alias of train-generator/);
  for (const n of ['train-generator', 'pseudo-labels', 'finetune', 'eval', 'bench']) {
    const h = mist([n, '--help']);
    assert.is(h.status, 0, h.stderr);
    assert.match(h.stdout.split('\n')[0]!, new RegExp(`^mist ${n} `));
  }
});

const TRAIN_ARGS = ['--preset', 'ucf-crime-c3d', '--features', FEATURES, '--train', split, '--steps', '8'];
const TRAIN_ARGS2 = ['--batch-size', '10', '--seed', '4'];

test('train-generator --json: progress per step, the result; the alias train gives the same weights', async () => {
  const out = join(dir, 'gen');
  const r = mist(['train-generator', ...TRAIN_ARGS, ...TRAIN_ARGS2, '--out', out, '--json']);
  assert.is(r.status, 0, r.stderr);
  const lines = jsonLines(r.stdout);
  const progress = lines.filter((l) => l.event === 'progress');
  assert.equal(
    progress.map((l) => l.step),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  const result = lines.at(-1)!;
  assert.is(result.event, 'result');
  assert.is(result.checkpoint, join(out, 'generator.pt'));
  assert.is(result.videos, 10);
  const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')) as { history: { loss: number }[] };
  assert.equal(
    history.history.map((h) => h.loss),
    progress.map((l) => l.loss),
  );

  const alias = join(dir, 'gen-alias');
  const a = mist(['train', ...TRAIN_ARGS, ...TRAIN_ARGS2, '--out', alias]);
  assert.is(a.status, 0, a.stderr);
  assert.match(a.stdout, /wrote .*generator\.pt/);
  const g1 = await MilGenerator.load(join(out, 'generator.pt'));
  const g2 = await MilGenerator.load(join(alias, 'generator.pt'));
  assert.equal(await sameWeights(await g1.parameters(), await g2.parameters()), []);
  g1.dispose();
  g2.dispose();
});

test('pseudo-labels: the file equals generatePseudoLabels() called directly; one summary line per video', async () => {
  const generator = join(dir, 'gen', 'generator.pt');
  const out = join(dir, 'pl', 'labels.json');
  mkdirSync(join(dir, 'pl'));
  const r = mist([
    'pseudo-labels',
    '--generator',
    generator,
    '--features',
    FEATURES,
    '--train',
    split,
    '--preset',
    'ucf-crime-c3d',
    '--out',
    out,
  ]);
  assert.is(r.status, 0, r.stderr);
  const got = await readPseudoLabels(out);
  assert.is(got.meta.dataset, 'ucf-crime');
  assert.is(got.meta.featureKind, 'c3d');

  const model = await MilGenerator.load(generator);
  const { anomalous } = loadDemoFeatures();
  const want = await generatePseudoLabels(
    model,
    anomalous.map((v) => ({ ...v, anomalous: true })),
    { l2Normalize: true },
  );
  model.dispose();
  assert.equal([...got.labels.keys()], [...want.keys()]);
  for (const [name, v] of want) assert.equal(Array.from(got.labels.get(name)!), Array.from(v), name);
  // One line per video: its name, clips, min and max.
  for (const [name, v] of want) {
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${name} `));
    assert.ok(line, name);
    const [, clips, , , min, , max] = line!.trim().split(/\s+/);
    assert.is(Number(clips), v.length);
    assert.is(Number(min), Number(Math.min(...v).toFixed(4)));
    assert.is(Number(max), Number(Math.max(...v).toFixed(4)));
  }
  const j = mist([
    'pseudo-labels',
    '--generator',
    generator,
    '--features',
    FEATURES,
    '--train',
    split,
    '--l2-normalize',
    'true',
    '--out',
    out,
    '--json',
  ]);
  assert.is(j.status, 0, j.stderr);
  const lines = jsonLines(j.stdout);
  assert.is(lines.filter((l) => l.event === 'video').length, 10);
  assert.equal(lines.at(-1), {
    event: 'result',
    out,
    videos: 10,
    clips: 320,
    l2Normalize: true,
    dataset: 'unknown',
    featureKind: 'unknown',
  });
});

test('eval --generator on feature files: the AUC of evaluateGenerator() on the official annotation', async () => {
  const generator = join(dir, 'gen', 'generator.pt');
  const r = mist([
    'eval',
    '--generator',
    generator,
    '--features',
    FEATURES,
    '--preset',
    'ucf-crime-c3d',
    '--dataset',
    'ucf-crime',
    '--layout',
    'segments',
    '--missing',
    'skip',
    '--json',
  ]);
  assert.is(r.status, 0, r.stderr);
  const result = jsonLines(r.stdout).at(-1)!;
  const model = await MilGenerator.load(generator);
  const { normal, anomalous } = loadDemoFeatures();
  const want = await evaluateGenerator(
    model,
    { videos: [...normal, ...anomalous], groundTruth: loadUcfCrimeGroundTruth(), scoreLayout: 'segments' },
    { l2Normalize: true },
  );
  model.dispose();
  assert.is(result.event, 'result');
  assert.is(result.auc, want.auc);
  assert.is(result.ap, want.ap);
  assert.equal(result.perClassAuc, want.perClassAuc);
  assert.is(result.videos, 12);
  assert.is((result.skipped as string[]).length, 290 - 12);
  // Without --missing skip the 278 videos without features are an error that says so.
  const e = mist([
    'eval',
    '--generator',
    generator,
    '--features',
    FEATURES,
    '--preset',
    'ucf-crime-c3d',
    '--dataset',
    'ucf-crime',
    '--layout',
    'segments',
  ]);
  assert.is(e.status, 1);
  assert.match(errorLines(e.stderr)[0]!, /no scores for 278 of 290 .*--missing skip/);
});

test('eval on score files: AUC and per-class AUC of a pairwise count, AP and FAR of the metrics; .npy, frames and .csv agree; --report', () => {
  // Four videos of a made-up manifest (the files need not exist: the frame counts are given).
  const videos = [
    { path: 'a0.mp4', label: 'anomalous', split: 'test', intervals: [[20, 70]], frameCount: 100, className: 'Fire' },
    { path: 'a1.mp4', label: 'anomalous', split: 'test', intervals: [[0, 40]], frameCount: 70, className: 'Theft' },
    { path: 'n0.mp4', label: 'normal', split: 'test', intervals: [], frameCount: 90, className: 'Normal' },
    { path: 'n1.mp4', label: 'normal', split: 'test', intervals: [], frameCount: 64, className: 'Normal' },
  ];
  const manifest = join(dir, 'eval', 'manifest.json');
  const clipsDir = join(dir, 'eval', 'clips');
  const framesDir = join(dir, 'eval', 'frames');
  const csvDir = join(dir, 'eval', 'csv');
  for (const d of [clipsDir, framesDir, csvDir]) mkdirSync(d, { recursive: true });
  writeFileSync(manifest, JSON.stringify({ videos }));
  const labels: number[] = [];
  const frameScores: number[] = [];
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (const v of videos) {
    const name = v.path.replace('.mp4', '');
    const clips = Math.floor(v.frameCount / 16);
    const scores = Float32Array.from({ length: clips }, (_, c) => {
      const inside = v.intervals.some(([s, e]) => 16 * c < e! && 16 * c + 16 > s!);
      return Math.fround(0.3 * rand() + (inside ? 0.45 : 0.2));
    });
    writeNpy(join(clipsDir, `${name}.npy`), { data: scores, shape: [clips] });
    // What `mist score --out` writes: a score per frame, NaN past the last whole clip.
    const perFrame = Float32Array.from({ length: v.frameCount }, (_, f) =>
      f < clips * 16 ? scores[Math.floor(f / 16)]! : NaN,
    );
    writeNpy(join(framesDir, `${name}.npy`), { data: perFrame, shape: [v.frameCount] });
    const csv = ['frame,clip,score'];
    for (let f = 0; f < v.frameCount; f++)
      csv.push(`${f},${f < clips * 16 ? Math.floor(f / 16) : ''},${Number.isNaN(perFrame[f]) ? 'NaN' : perFrame[f]}`);
    writeFileSync(join(csvDir, `${name}.csv`), `${csv.join('\n')}\n`);
    for (let f = 0; f < clips * 16; f++) {
      const l = v.intervals.some(([s, e]) => f >= s! && f < e!) ? 1 : 0;
      labels.push(l);
      frameScores.push(scores[Math.floor(f / 16)]!);
    }
  }
  // Per class: that class's videos against every normal video's frames.
  const perClass: Record<string, number> = {};
  let off = 0;
  const spans = videos.map((v) => {
    const n = Math.floor(v.frameCount / 16) * 16;
    const s = [off, off + n] as const;
    off += n;
    return s;
  });
  for (const c of ['Fire', 'Theft']) {
    const l: number[] = [];
    const s: number[] = [];
    videos.forEach((v, i) => {
      if (v.className !== c && v.label !== 'normal') return;
      const [a, b] = spans[i]!;
      l.push(...labels.slice(a, b));
      s.push(...frameScores.slice(a, b));
    });
    perClass[c] = pairwiseAuc(s, l);
  }
  const normalFrames = videos.flatMap((v, i) => (v.label === 'normal' ? frameScores.slice(...spans[i]!) : []));
  const want = {
    auc: pairwiseAuc(frameScores, labels),
    ap: averagePrecision(Uint8Array.from(labels), Float32Array.from(frameScores)),
    far: falseAlarmRate(Float32Array.from(normalFrames), { threshold: 0.5 }),
  };

  const report = join(dir, 'eval', 'out', 'eval.html');
  const runs = [
    mist(['eval', clipsDir, '--manifest', manifest, '--json', '--report', report]),
    mist([
      'eval',
      ...readdirSync(framesDir).map((f) => join(framesDir, f)),
      '--manifest',
      manifest,
      '--layout',
      'frames',
      '--json',
    ]),
    mist(['eval', csvDir, '--manifest', manifest, '--json']),
    mist(['eval', csvDir, '--manifest', manifest, '--layout', 'frames', '--json']),
  ];
  for (const r of runs) {
    assert.is(r.status, 0, r.stderr);
    const result = jsonLines(r.stdout).at(-1)!;
    assert.is(result.event, 'result');
    assert.ok(Math.abs((result.auc as number) - want.auc) < 1e-12, `AUC ${String(result.auc)} vs ${want.auc}`);
    assert.ok(Math.abs((result.ap as number) - want.ap) < 1e-12);
    assert.is(result.far, want.far);
    const pc = result.perClassAuc as Record<string, number>;
    for (const c of ['Fire', 'Theft']) assert.ok(Math.abs(pc[c]! - perClass[c]!) < 1e-12, c);
    assert.is(result.videos, 4);
    assert.is(result.frames, labels.length);
  }
  // The table: the same AUC to 4 places.
  const table = mist(['eval', clipsDir, '--manifest', manifest]);
  assert.is(table.status, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`frame AUC +${want.auc.toFixed(4)}`));
  assert.match(table.stdout, /per-class AUC\n +Fire/);
  // The report and its data: the same evaluation, a timeline per video.
  assert.ok(existsSync(report));
  const data = JSON.parse(readFileSync(report.replace(/\.html$/, '.json'), 'utf8')) as {
    evaluations: { auc: number; roc?: unknown }[];
    timelines: unknown[];
  };
  assert.ok(Math.abs(data.evaluations[0]!.auc - want.auc) < 1e-12);
  assert.ok(data.evaluations[0]!.roc);
  assert.is(data.timelines.length, 4);
});

test('bench --quick --json: parameters and MACs of the encoders built, speeds, the machine', async () => {
  const r = mist(['bench', '--quick', '--json']);
  assert.is(r.status, 0, r.stderr);
  const result = jsonLines(r.stdout).at(-1)! as unknown as {
    event: string;
    machine: { cpu: string; cores: number; threads: number; torch: string };
    peakRssBytes: number;
    models: {
      model: string;
      backbone: 'i3d' | 'c3d';
      width: number;
      parameters: number;
      macsPerClip: number;
      batch1: { clipsPerSecond: number; framesPerSecond: number };
      batchN: { batch: number; clipsPerSecond: number };
      stage1: { featureDim: number; stepMs: number; videos: number; clipsPerVideo: number };
    }[];
  };
  assert.is(result.event, 'result');
  assert.equal(
    result.models.map((m) => m.model),
    ['MIST-I3D', 'MIST-C3D'],
  );
  for (const m of result.models) {
    const e = SgaEncoder.create({ backbone: m.backbone, width: 0.125 });
    assert.is(m.width, 0.125);
    assert.is(m.parameters, e.parameterCount().total);
    assert.is(m.macsPerClip, e.macsPerClip().total);
    e.dispose();
    assert.ok(m.batch1.clipsPerSecond > 0 && m.batchN.clipsPerSecond > 0);
    assert.ok(Math.abs(m.batch1.framesPerSecond - 16 * m.batch1.clipsPerSecond) < 1e-6);
    assert.is(m.batchN.batch, 4);
    assert.is(m.stage1.featureDim, m.backbone === 'i3d' ? 1024 : 4096);
    assert.is(m.stage1.videos, 80);
    assert.is(m.stage1.clipsPerVideo, m.backbone === 'i3d' ? 128 : 96);
    assert.ok(m.stage1.stepMs > 0);
  }
  assert.is(result.machine.cores, cpus().length);
  assert.is(result.machine.threads, info().threads);
  assert.is(result.machine.torch, info().torchVersion);
  assert.ok(result.peakRssBytes > 50 * 2 ** 20);
  const table = mist(['bench', '--quick', '--backbone', 'c3d', '--input-size', '16,32,32', '--repeats', '1']);
  assert.is(table.status, 0, table.stderr);
  assert.match(table.stdout, /^machine: .*cores; LibTorch/m);
  assert.match(table.stdout, /^MIST-C3D +0\.125 +16x32x32 /m);
  assert.match(table.stdout, /peak RSS \d+ MiB/);
});

// ---- Stage 2 on tiny synthetic videos ----------------------------------------------------

let videosMade: { manifest: string; pseudoLabels: string } | undefined;

/** 3 + 3 training and 2 + 2 test videos of 48 to 64 frames, and pseudo labels from their intervals. */
async function syntheticSet() {
  if (videosMade) return videosMade;
  const made = await makeSyntheticVideos(join(dir, 'videos'), {
    seed: 5,
    normal: 3,
    anomalous: 3,
    testNormal: 2,
    testAnomalous: 2,
    frames: [48, 64],
    width: 32,
    height: 32,
  });
  const m = readVideoManifest(made.manifestPath);
  const labels = new Map<string, Float32Array>();
  for (const [i, v] of m.videos.entries()) {
    if (v.split !== 'train' || v.label !== 'anomalous') continue;
    const [s, e] = v.intervals[0]!;
    const clips = Math.floor(made.videos[i]!.frames / 16);
    labels.set(
      v.name,
      Float32Array.from({ length: clips }, (_, c) => Math.max(0, Math.min(e, 16 * c + 16) - Math.max(s, 16 * c)) / 16),
    );
  }
  const pseudoLabels = join(dir, 'videos', 'pseudo-labels.json');
  await writePseudoLabels(pseudoLabels, labels, { dataset: 'synthetic', featureKind: 'c3d' });
  videosMade = { manifest: made.manifestPath, pseudoLabels };
  return videosMade;
}

const FINETUNE = { epochs: 3, videosPerClass: 1, freezeBackboneEpochs: 0, warmupEpochs: 3, lr: 1e-3, evalEvery: 3 };
const ENCODER = ['--backbone', 'c3d', '--width', '0.125', '--input-size', '16,32,32'];

/** `mist finetune` as a child process; `onLine` sees each stdout line and may signal the child. */
const finetuneChild = (args: string[], onLine?: Parameters<typeof mistChild>[1]) =>
  mistChild(['finetune', ...args], onLine);

/** `mist` as a child process; `onLine` sees each JSON line of stdout and may send it SIGINT. */
function mistChild(
  args: string[],
  onLine?: (line: Record<string, unknown>, kill: () => void) => void,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'lib', 'cli', 'main.ts'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    let signalled = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      pending += d.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (onLine && line.startsWith('{'))
          onLine(JSON.parse(line) as Record<string, unknown>, () => {
            if (!signalled) child.kill('SIGINT');
            signalled = true;
          });
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('finetune: steps and the evaluation as JSON, the encoder saved, a report; Ctrl-C then --resume ends with the same weights', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const set = await syntheticSet();
  const config = join(dir, 'finetune.json');
  writeFileSync(config, JSON.stringify({ preset: 'shanghaitech-c3d', ...FINETUNE }));
  const common = [
    '--manifest',
    set.manifest,
    '--pseudo-labels',
    set.pseudoLabels,
    '--config',
    config,
    ...ENCODER,
    '--seed',
    '2',
    '--json',
  ];

  const whole = join(dir, 'ft-whole');
  const report = join(dir, 'ft-whole', 'report.html');
  const a = await finetuneChild([...common, '--checkpoint-dir', whole, '--report', report]);
  assert.is(a.status, 0, a.stderr);
  const lines = jsonLines(a.stdout);
  const steps = lines.filter((l) => l.event === 'progress');
  assert.equal(
    steps.map((l) => [l.epoch, l.step]),
    [1, 2, 3].flatMap((e) => [1, 2, 3].map((s) => [e, s])),
  );
  const evals = lines.filter((l) => l.event === 'evaluation');
  assert.is(evals.length, 1, 'evalEvery 3: the last epoch only');
  const result = lines.at(-1)! as {
    event: string;
    out: string;
    best: { epoch: number; auc: number };
    resumedFrom: number;
  };
  assert.is(result.event, 'result');
  assert.is(result.out, join(whole, 'encoder.pt'));
  assert.is(result.resumedFrom, 0);
  assert.is(result.best.auc, (evals[0]!.evaluation as { auc: number }).auc);
  for (const f of ['encoder.pt', 'last.pt', 'best.pt', 'report.html', 'report.json'])
    assert.ok(existsSync(join(whole, f)), f);
  const data = JSON.parse(readFileSync(join(whole, 'report.json'), 'utf8')) as {
    evaluations: { auc: number }[];
    training: { unit: string; points: unknown[] }[];
    timelines: unknown[];
  };
  assert.is(data.training[0]!.unit, 'epoch');
  assert.is(data.training[0]!.points.length, 3);
  // The encoder kept is scored again for the report: the same AUC as the run's evaluation.
  assert.ok(Math.abs(data.evaluations[0]!.auc - result.best.auc) < 1e-9);
  assert.is(data.timelines.length, 4);

  // Ctrl-C once epoch 2 has begun (epoch 1's checkpoint is on disk): one line, exit status 1.
  const stopped = join(dir, 'ft-stopped');
  const b = await finetuneChild([...common, '--checkpoint-dir', stopped], (line, kill) => {
    if (line.event === 'progress' && line.epoch === 2) kill();
  });
  assert.is(b.status, 1, b.stderr);
  const said = errorLines(b.stderr);
  assert.is(said.length, 1, b.stderr);
  assert.match(
    said[0]!,
    /^mist: interrupted: stopped in epoch 2 of 3; .*last\.pt keeps the last finished epoch: rerun with --resume to continue \[ERR_MIST_ABORTED\]$/,
  );
  assert.not.match(b.stderr, /\n\s+at /);
  assert.ok(!existsSync(join(stopped, 'encoder.pt')));
  // Without --resume the folder of a run is not overwritten.
  const refused = await finetuneChild([...common, '--checkpoint-dir', stopped]);
  assert.is(refused.status, 1);
  assert.match(errorLines(refused.stderr)[0]!, /last\.pt holds a run: --resume continues it/);

  const c = await finetuneChild([...common, '--checkpoint-dir', stopped, '--resume']);
  assert.is(c.status, 0, c.stderr);
  const resumed = jsonLines(c.stdout).at(-1)! as unknown as { resumedFrom: number; best: { auc: number } };
  assert.is(resumed.resumedFrom, 1);
  assert.is(resumed.best.auc, result.best.auc);
  const e1 = await SgaEncoder.load(join(whole, 'encoder.pt'));
  const e2 = await SgaEncoder.load(join(stopped, 'encoder.pt'));
  const differ = await sameWeights(await e1.stateDict(), await e2.stateDict());
  assert.equal(differ, [], `${differ.length} tensors differ after --resume`);
  e1.dispose();
  e2.dispose();
});

test('eval --encoder on the manifest: the AUC finetune reported for the same encoder', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const set = await syntheticSet();
  const encoder = join(dir, 'ft-whole', 'encoder.pt');
  if (!existsSync(encoder)) throw new Error('the finetune test did not leave its encoder');
  // A mist-vad checkpoint records the architecture, not the clip size: the run's is given again.
  const r = mist(['eval', '--encoder', encoder, '--input-size', '16,32,32', '--manifest', set.manifest, '--json']);
  assert.is(r.status, 0, r.stderr);
  const lines = jsonLines(r.stdout);
  assert.is(lines.filter((l) => l.event === 'progress').length, 4);
  const report = JSON.parse(readFileSync(join(dir, 'ft-whole', 'report.json'), 'utf8')) as {
    evaluations: { auc: number }[];
  };
  assert.ok(Math.abs((lines.at(-1)!.auc as number) - report.evaluations[0]!.auc) < 1e-9);
});

test('self-train --report: a row per stage of the round, its training curves, the final encoder', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const set = await syntheticSet();
  const config = join(dir, 'selftrain.json');
  writeFileSync(config, JSON.stringify({ stage1: STAGE1, stage2: { ...STAGE2, epochs: 2, evalEvery: 2 }, rounds: 1 }));
  // Round 1's features come from the encoder itself: 512-d C3D features of width 1/8 are 64-d.
  const report = join(dir, 'st', 'report.html');
  const r = mist([
    'self-train',
    '--manifest',
    set.manifest,
    '--dir',
    join(dir, 'st'),
    '--config',
    config,
    ...ENCODER,
    '--report',
    report,
    '--json',
  ]);
  assert.is(r.status, 0, r.stderr);
  const result = jsonLines(r.stdout).at(-1)! as {
    event: string;
    report: string;
    rounds: { stage1Auc: number; stage2Auc: number }[];
  };
  assert.is(result.report, report);
  const data = JSON.parse(readFileSync(report.replace(/\.html$/, '.json'), 'utf8')) as {
    evaluations: { name: string; auc: number }[];
    training: { name: string; unit: string }[];
  };
  const names = data.evaluations.map((e) => e.name);
  assert.ok(names.includes('round 1: stage 1 (generator)'), names.join(', '));
  assert.is(data.evaluations.find((e) => e.name === 'round 1: stage 1 (generator)')!.auc, result.rounds[0]!.stage1Auc);
  assert.is(
    data.evaluations.find((e) => e.name === 'round 1: stage 2 (fine-tuned encoder)')!.auc,
    result.rounds[0]!.stage2Auc,
  );
  assert.equal(
    data.training.map((t) => [t.name, t.unit]),
    [
      ['round 1: stage 1', 'step'],
      ['round 1: stage 2', 'epoch'],
    ],
  );
});

test('train-generator: Ctrl-C writes last.pt, one line, exit 1; --resume ends with the uninterrupted weights', async () => {
  const out = join(dir, 'gen-stopped');
  const args = ['train-generator', ...TRAIN_ARGS, ...TRAIN_ARGS2, '--out', out];
  const stopped = await mistChild([...args, '--json'], (line, kill) => {
    if (line.event === 'progress' && (line.step as number) >= 2) kill();
  });
  assert.is(stopped.status, 1, stopped.stderr);
  const said = errorLines(stopped.stderr);
  assert.is(said.length, 1, stopped.stderr);
  assert.match(
    said[0]!,
    /^mist: interrupted: stopped after step [2-7] of 8; .*last\.pt holds it: rerun with --resume to continue \[ERR_MIST_ABORTED\]$/,
  );
  const refused = mist(args);
  assert.is(refused.status, 1);
  assert.match(errorLines(refused.stderr)[0]!, /last\.pt holds a run: --resume continues it/);
  const resumed = mist([...args, '--resume', '--json']);
  assert.is(resumed.status, 0, resumed.stderr);
  const result = jsonLines(resumed.stdout).at(-1)!;
  assert.ok((result.resumedFrom as number) >= 2, String(result.resumedFrom));
  const g1 = await MilGenerator.load(join(dir, 'gen', 'generator.pt'));
  const g2 = await MilGenerator.load(join(out, 'generator.pt'));
  assert.equal(await sameWeights(await g1.parameters(), await g2.parameters()), []);
  g1.dispose();
  g2.dispose();
});

test.run();
