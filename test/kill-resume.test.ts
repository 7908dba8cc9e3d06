// Training runs survive kill -9: trainGenerator() (stage 1) and finetuneEncoder() (stage 2) run
// in child processes that are killed with SIGKILL at 10 seeded random moments each and
// resumed every time until they finish. After every kill each file in the run's folder must be
// a complete checkpoint equal to the uninterrupted run's at the same step (a temporary of a
// write cut short may remain, hidden, and goes at the next start); the final weights and
// history must equal the uninterrupted run's, bit for bit.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import {
  MilGenerator,
  SgaEncoder,
  finetuneEncoder,
  type FinetuneHistoryEntry,
  type FinetuneVideo,
} from '../lib/index.js';
import { createRng } from '../lib/rng.js';
import { decodeExactJson } from '../lib/stage1/resume.js';
import { STAGE1_OPTIONS, STAGE1_STEPS, STAGE2_EPOCHS, STAGE2_INPUT, STAGE2_OPTIONS } from './fixtures/kill-setup.js';
import { makeSyntheticVideos } from '../lib/stage2/synthetic-videos.js';
import { ROOT, hasFfmpeg, skip, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-kill-');
const children = new Set<ChildProcess>();
test.after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  cleanup();
});

const KILLS = 10;
/** A temporary of an atomic write: hidden, named after its file, never taken for a checkpoint. */
const TEMPORARY = /^\.(last|best|generator)\.pt\.\d+\.\d+\.tmp$/;

interface Line {
  step?: number;
  epoch?: number;
  steps?: number;
  checkpoint?: boolean;
  done?: boolean;
  resumedFrom?: number;
}
interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: Line[];
  stderr: string;
}

/**
 * Runs a fixture on `config`; with `kill`, sends SIGKILL `delayMs` after the first progress line
 * for which `when` holds. Resolves when the process has ended and its output is read.
 */
function runChild(
  fixture: string,
  config: object,
  kill?: { when: (line: Line) => boolean; delayMs: number },
): Promise<Ended> {
  const file = join(dir, `${fixture}-${children.size}.json`);
  writeFileSync(file, JSON.stringify(config));
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'fixtures', `${fixture}.ts`), file], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  const lines: Line[] = [];
  let stderr = '';
  let buffered = '';
  let armed = kill !== undefined;
  proc.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  proc.stdout.on('data', (b: Buffer) => {
    buffered += b.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, nl)) as Line;
      buffered = buffered.slice(nl + 1);
      lines.push(line);
      if (armed && kill!.when(line)) {
        armed = false;
        setTimeout(() => proc.kill('SIGKILL'), kill!.delayMs);
      }
    }
  });
  return new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal, lines, stderr })));
}

/** `count` distinct integers of [lo, hi], ascending, from the seeded rng. */
function moments(rng: ReturnType<typeof createRng>, lo: number, hi: number, count: number): number[] {
  const all = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  return rng
    .shuffle(all)
    .slice(0, count)
    .sort((a, b) => a - b);
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Names of the tensors that differ between two dicts of the same keys. */
function differing(a: Record<string, Float32Array>, b: Record<string, Float32Array>): string[] {
  assert.equal(Object.keys(a).sort(), Object.keys(b).sort());
  return Object.keys(a).filter((k) => !sameBits(a[k]!, b[k]!));
}

// ---- Stage 1 --------------------------------------------------------------------------------

interface Stage1Reference {
  history: unknown;
  best: unknown;
  weights: Record<string, Float32Array>;
  /** Copies of the uninterrupted run's files: last-<step>.pt at every checkpoint, best-<step>.pt at every new best. */
  snapshots: string;
}

/** The results a generator-child.ts run left in `out`: history, best, resumedFrom, weights. */
async function stage1Result(
  out: string,
): Promise<{ history: unknown; best: unknown; resumedFrom: number; weights: Record<string, Float32Array> }> {
  const r = decodeExactJson(readFileSync(join(out, 'result.json'), 'utf8')) as {
    history: unknown;
    best: unknown;
    resumedFrom: number;
  };
  const m = await MilGenerator.load(join(out, 'model.pt'), { device: 'cpu' });
  const weights = await m.parameters();
  m.dispose();
  return { ...r, weights };
}

/**
 * The uninterrupted run, in a child process too: one process computing two models at once
 * (this one and stage 2's, running beside it) is not what is tested here.
 */
async function stage1Reference(): Promise<Stage1Reference> {
  const snapshots = join(dir, 's1-snapshots');
  const out = join(dir, 's1-reference-out');
  const e = await runChild('generator-child', { dir: join(dir, 's1-reference'), out, snapshots });
  assert.is(e.code, 0, `stderr: ${e.stderr.slice(-2000)}`);
  const r = await stage1Result(out);
  assert.is(r.resumedFrom, 0);
  return { history: r.history, best: r.best, weights: r.weights, snapshots };
}

/**
 * Every file in a stage-1 run folder after a kill: last.pt restores into a generator and equals,
 * byte for byte, the uninterrupted run's checkpoint of its step; generator.pt loads and equals
 * the uninterrupted run's best weights of its step; anything else is a hidden temporary.
 */
async function checkStage1Folder(
  runDir: string,
  ref: Stage1Reference,
  reported: number,
): Promise<{ step: number; temporaries: number }> {
  let step = 0;
  let temporaries = 0;
  for (const f of readdirSync(runDir)) {
    const path = join(runDir, f);
    if (f === 'last.pt') {
      const g = MilGenerator.create({
        featureDim: STAGE1_OPTIONS.featureDim,
        seed: STAGE1_OPTIONS.seed,
        device: 'cpu',
      });
      const meta = decodeExactJson(await g.restoreTraining(path)) as {
        format: string;
        step: number;
        history: unknown[];
      };
      g.dispose();
      assert.is(meta.format, 'mist-generator-training');
      step = meta.step;
      assert.ok(step % 25 === 0 || step === STAGE1_STEPS, `checkpoint of step ${step}, not a checkpoint step`);
      // Written before the progress report of its step.
      assert.ok(step <= reported + 1, `checkpoint of step ${step}, but only step ${reported} was reported`);
      assert.is(meta.history.length, step);
      assert.ok(
        readFileSync(path).equals(readFileSync(join(ref.snapshots, `last-${step}.pt`))),
        `last.pt of step ${step} differs from the uninterrupted run's`,
      );
    } else if (f === 'generator.pt') {
      const m = await MilGenerator.load(path, { device: 'cpu' });
      const at = m.describe().steps;
      m.dispose();
      assert.ok(
        readFileSync(path).equals(readFileSync(join(ref.snapshots, `best-${at}.pt`))),
        `generator.pt (best of step ${at}) differs from the uninterrupted run's`,
      );
    } else {
      assert.match(f, TEMPORARY, `unexpected file ${f} in the run's folder`);
      temporaries++;
    }
  }
  return { step, temporaries };
}

test('stage 1: trainGenerator killed with SIGKILL 10 times, resumed each time, ends with the uninterrupted run’s weights and history, bit for bit', async () => {
  // Stage 2 runs beside this test (each stage's children are mostly single-threaded).
  if (hasFfmpeg) {
    stage2Outcome = stage2();
    stage2Outcome.catch(() => {});
  }
  const t0 = performance.now();
  const ref = await stage1Reference();
  const tRef = performance.now() - t0;
  const runDir = join(dir, 's1-run');
  const out = join(dir, 's1-out');
  const rng = createRng(20240517);
  // Kill moments: after a random step in [10, 280], then a random 0-30 ms more (inside a step,
  // an evaluation or a checkpoint write).
  const targets = moments(rng, 10, STAGE1_STEPS - 20, KILLS);
  const figures: string[] = [];
  let temporaries = 0;
  for (const target of targets) {
    const delayMs = rng.int(0, 30);
    const e = await runChild(
      'generator-child',
      { dir: runDir, out },
      { when: (l) => (l.step ?? 0) >= target, delayMs },
    );
    assert.equal([e.code, e.signal], [null, 'SIGKILL'], `not killed (stderr: ${e.stderr.slice(-2000)})`);
    const steps = e.lines.map((l) => l.step ?? 0);
    const reported = Math.max(0, ...steps);
    const check = await checkStage1Folder(runDir, ref, reported);
    temporaries += check.temporaries;
    figures.push(`${steps[0] ?? '-'}..${reported}→${check.step}`);
  }
  const last = await runChild('generator-child', { dir: runDir, out });
  assert.is(last.code, 0, `stderr: ${last.stderr.slice(-2000)}`);
  const done = last.lines.at(-1)!;
  assert.ok(done.done);
  // Nothing but the two checkpoints is left (the temporaries of killed writes went at the start).
  assert.equal(readdirSync(runDir).sort(), ['generator.pt', 'last.pt']);

  const result = await stage1Result(out);
  assert.equal(result.history, ref.history);
  assert.equal(result.best, ref.best);
  const bad = differing(ref.weights, result.weights);
  assert.equal(bad, [], `the resumed run's weights differ: ${bad.join(', ')}`);
  console.log(
    `# stage 1: ${KILLS} kills (first..last step reported → checkpoint step left): ${figures.join(', ')}; ` +
      `final resume from step ${result.resumedFrom}; ${temporaries} temporaries seen after kills; ` +
      `reference ${(tRef / 1000).toFixed(1)} s, all ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
});

// ---- Stage 2 --------------------------------------------------------------------------------

const STEPS_PER_EPOCH = 3;

async function weightsOf(path: string): Promise<Record<string, Float32Array>> {
  const e = SgaEncoder.create({ backbone: 'c3d', width: STAGE2_OPTIONS.model.width, inputSize: STAGE2_INPUT });
  const report = await e.loadStateDict(path);
  assert.is(report.missing.length, 0, `${path}: missing ${report.missing.join(', ')}`);
  const sd = await e.stateDict();
  e.dispose();
  return sd;
}

/** The training state of a stage-2 last.pt, restored into a fresh encoder (which checks it all). */
async function metaOf(path: string): Promise<{ epoch: number; history: FinetuneHistoryEntry[] }> {
  const e = SgaEncoder.create({ backbone: 'c3d', width: STAGE2_OPTIONS.model.width, inputSize: STAGE2_INPUT });
  await e.configureTraining();
  const meta = (await e.restoreTraining(path)) as { epoch: number; history: FinetuneHistoryEntry[] };
  e.dispose();
  return meta;
}

const deterministic = (h: FinetuneHistoryEntry[]) =>
  h.map((x) => [x.epoch, x.updates, x.loss, x.mainLoss, x.guidedLoss, x.lr]);

/** What the stage-2 kills and the uninterrupted run gave; started beside the stage-1 test. */
interface Stage2Outcome {
  figures: string[];
  temporaries: number;
  checks: { epoch: number; history: FinetuneHistoryEntry[]; weights: Record<string, Float32Array> }[];
  resumedFrom: number;
  runDir: string;
  snapshots: Record<number, string>;
  final: Record<string, Float32Array>;
  refHistory: unknown[][];
  seconds: { reference: number; all: number };
}

async function stage2(): Promise<Stage2Outcome> {
  const t0 = performance.now();
  // test/fixtures/selftrain-setup.ts's videos (3 + 3 training videos of 64 to 96 frames, 32 x 32).
  const made = await makeSyntheticVideos(join(dir, 's2-data'), {
    seed: 7,
    normal: 3,
    anomalous: 3,
    testNormal: 0,
    testAnomalous: 0,
    frames: [64, 96],
    width: 32,
    height: 32,
  });
  const train: FinetuneVideo[] = made.videos.map((v) => ({
    name: v.path.replace(/\.mp4$/, '').replace(/\//g, '_'),
    path: v.file,
    label: v.label,
  }));
  assert.is(train.length, 2 * STEPS_PER_EPOCH);
  // Pseudo labels: the share of each clip's 16 frames inside the anomalous interval.
  const labels = new Map<string, number[]>();
  made.videos.forEach((v, i) => {
    if (v.label !== 'anomalous') return;
    const [s, e] = v.intervals[0]!;
    const clip = (c: number) => Math.max(0, Math.min(e, 16 * c + 16) - Math.max(s, 16 * c)) / 16;
    labels.set(
      train[i]!.name,
      Array.from({ length: Math.floor(v.frames / 16) }, (_, c) => clip(c)),
    );
  });
  const runDir = join(dir, 's2-run');
  const childConfig = {
    options: { ...STAGE2_OPTIONS, checkpointDir: runDir, resume: true },
    videos: train,
    pseudoLabels: Object.fromEntries(labels),
  };
  const rng = createRng(20240518);
  const total = STAGE2_EPOCHS * STEPS_PER_EPOCH;
  // Kill moments: after a random step of the run (never the last), then a random 0-250 ms more.
  const targets = moments(rng, 1, total - 1, KILLS);
  const delays = targets.map(() => rng.int(0, 250));
  // The kills run beside the uninterrupted run (decoding waits on ffmpeg as much as it computes).
  const chain = (async () => {
    const figures: string[] = [];
    let temporaries = 0;
    const checks: Stage2Outcome['checks'] = [];
    for (const [i, target] of targets.entries()) {
      const e = await runChild('finetune-child', childConfig, {
        when: (l) => l.epoch !== undefined && (l.epoch - 1) * l.steps! + l.step! >= target,
        delayMs: delays[i]!,
      });
      assert.equal([e.code, e.signal], [null, 'SIGKILL'], `not killed (stderr: ${e.stderr.slice(-2000)})`);
      const reached = e.lines.filter((l) => l.epoch !== undefined).map((l) => (l.epoch! - 1) * l.steps! + l.step!);
      let epoch = 0;
      for (const f of readdirSync(runDir)) {
        if (f === 'last.pt') {
          const meta = await metaOf(join(runDir, f));
          epoch = meta.epoch;
          assert.ok(epoch * STEPS_PER_EPOCH <= Math.max(0, ...reached), `epoch ${epoch} saved before its steps ran`);
          checks.push({ ...meta, weights: await weightsOf(join(runDir, f)) });
        } else {
          assert.match(f, TEMPORARY, `unexpected file ${f} in the run's folder`);
          temporaries++;
        }
      }
      figures.push(`${reached[0] ?? '-'}..${Math.max(0, ...reached)}→e${epoch}`);
    }
    const last = await runChild('finetune-child', childConfig);
    assert.is(last.code, 0, `stderr: ${last.stderr.slice(-2000)}`);
    return { figures, temporaries, checks, resumedFrom: last.lines.at(-1)!.resumedFrom! };
  })();
  chain.catch(() => {});

  // The uninterrupted run, with a copy of last.pt at every epoch.
  const refDir = join(dir, 's2-reference');
  const snapshots: Record<number, string> = {};
  const whole = await finetuneEncoder({
    ...STAGE2_OPTIONS,
    checkpointDir: refDir,
    videos: train,
    pseudoLabels: labels,
    onProgress: (p) => {
      if (p.step === 1 && p.epoch >= 2) {
        snapshots[p.epoch - 1] = join(dir, `s2-last-${p.epoch - 1}.pt`);
        copyFileSync(join(refDir, 'last.pt'), snapshots[p.epoch - 1]!);
      }
    },
  });
  snapshots[STAGE2_EPOCHS] = join(refDir, 'last.pt');
  const reference = performance.now() - t0;
  const final = await whole.encoder.stateDict();
  const refHistory = deterministic(whole.history);
  whole.encoder.dispose();
  const kills = await chain;
  return {
    ...kills,
    runDir,
    snapshots,
    final,
    refHistory,
    seconds: { reference: reference / 1000, all: (performance.now() - t0) / 1000 },
  };
}

let stage2Outcome: Promise<Stage2Outcome> | undefined;

test('stage 2: finetuneEncoder killed with SIGKILL 10 times, resumed each time, ends with the uninterrupted run’s weights and history, bit for bit', async () => {
  if (!stage2Outcome) return skip('ffmpeg');
  const { figures, temporaries, checks, resumedFrom, runDir, snapshots, final, refHistory, seconds } =
    await stage2Outcome;
  // Every checkpoint a kill left is the uninterrupted run's of the same epoch.
  for (const c of checks) {
    assert.equal(deterministic(c.history), refHistory.slice(0, c.epoch), `history of epoch ${c.epoch}`);
    const bad = differing(await weightsOf(snapshots[c.epoch]!), c.weights);
    assert.equal(bad, [], `last.pt of epoch ${c.epoch} differs: ${bad.slice(0, 3).join(', ')}`);
  }
  assert.equal(readdirSync(runDir), ['last.pt']);
  const meta = await metaOf(join(runDir, 'last.pt'));
  assert.is(meta.epoch, STAGE2_EPOCHS);
  assert.equal(deterministic(meta.history), refHistory);
  const bad = differing(final, await weightsOf(join(runDir, 'last.pt')));
  assert.equal(bad, [], `the resumed run's weights differ: ${bad.slice(0, 3).join(', ')}`);
  console.log(
    `# stage 2: ${KILLS} kills (first..last global step reported → epoch left): ${figures.join(', ')}; ` +
      `final resume from epoch ${resumedFrom}; ${checks.length} checkpoints compared; ${temporaries} temporaries seen; ` +
      `reference ${seconds.reference.toFixed(1)} s, all ${seconds.all.toFixed(1)} s`,
  );
});

test.run();
