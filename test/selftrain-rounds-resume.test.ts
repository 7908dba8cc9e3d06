// Resuming selfTrain() after SIGKILL (test/fixtures/selftrain-child.ts kills itself at a chosen
// progress report): inside round 2's stage 2, and at the boundary between rounds 1 and 2. Each
// resumed run must end with the uninterrupted run's weights, bit for bit, without redoing a
// finished stage; a finished run resumed does nothing, and resumed with more rounds goes on.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import {
  MilGenerator,
  readPseudoLabels,
  selfTrain,
  SgaEncoder,
  type SelfTrainProgress,
  type SelfTrainResult,
  type VideoManifest,
} from '../lib/index.js';
import { INPUT, makeSelfTrainVideos, readSelfTrainManifest, selfTrainOptions } from './fixtures/selftrain-setup.js';
import { hasFfmpeg, ROOT, skip, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-selftrain-resume-');
const children: ChildProcess[] = [];
test.after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  cleanup();
});

interface Killed {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last progress line the child printed. */
  last?: { round: number; stage: string; epoch?: number; step?: number };
  stderr: string;
}

/** Runs the fixture in dir/<name>, to be killed at `killAt`; resolves when it has ended. */
function startChild(name: string, manifestPath: string, killAt: object): Promise<Killed> {
  const config = join(dir, `${name}.json`);
  writeFileSync(config, JSON.stringify({ dir: join(dir, name), manifestPath, killAt }));
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test', 'fixtures', 'selftrain-child.ts'), config],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(proc);
  let stderr = '';
  let out = '';
  proc.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve) =>
    proc.on('close', (code, signal) => {
      const lines = out.trim().split('\n').filter(Boolean);
      resolve({ code, signal, last: lines.length ? JSON.parse(lines[lines.length - 1]!) : undefined, stderr });
    }),
  );
}

let setup:
  | {
      manifest: VideoManifest;
      whole: SelfTrainResult;
      inStage2: Promise<Killed>;
      atBoundary: Promise<Killed>;
      inStage1: Promise<Killed>;
    }
  | undefined;

async function prepare(): Promise<NonNullable<typeof setup>> {
  if (setup) return setup;
  const t0 = performance.now();
  const manifestPath = await makeSelfTrainVideos(dir);
  const manifest = readSelfTrainManifest(manifestPath);
  // The two killed runs go beside the uninterrupted one (decoding waits on ffmpeg as much as it computes).
  const inStage2 = startChild('in-stage2', manifestPath, { round: 2, stage: 'stage2', epoch: 2, step: 1 });
  const atBoundary = startChild('at-boundary', manifestPath, { round: 1, stage: 'round' });
  const inStage1 = startChild('in-stage1', manifestPath, { round: 2, stage: 'stage1', step: 25 });
  const whole = await selfTrain(selfTrainOptions(join(dir, 'whole'), manifest));
  console.log(`# uninterrupted run: ${((performance.now() - t0) / 1000).toFixed(1)} s (beside the two children)`);
  setup = { manifest, whole, inStage2, atBoundary, inStage1 };
  return setup;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

async function weightsOf(path: string): Promise<Record<string, Float32Array>> {
  const e = await SgaEncoder.load(path, { inputSize: INPUT });
  const sd = await e.stateDict();
  e.dispose();
  return sd;
}

/** Tensor names whose bits differ. */
function changed(a: Record<string, Float32Array>, b: Record<string, Float32Array>): string[] {
  assert.equal(Object.keys(a).sort(), Object.keys(b).sort());
  return Object.keys(a).filter((k) => !sameBits(a[k]!, b[k]!));
}

/** The resumed run ended where the uninterrupted one did: every round's files and evaluations. */
async function assertSameRun(got: SelfTrainResult, want: SelfTrainResult): Promise<void> {
  assert.is(got.rounds.length, want.rounds.length);
  for (const [i, r] of got.rounds.entries()) {
    const w = want.rounds[i]!;
    assert.equal([r.encoderBefore, r.stage1, r.stage2], [w.encoderBefore, w.stage1, w.stage2], `round ${r.round}`);
    assert.equal(changed(await weightsOf(r.paths.encoder), await weightsOf(w.paths.encoder)), [], `round ${r.round}`);
    const [g1, g2] = [await MilGenerator.load(r.paths.generator), await MilGenerator.load(w.paths.generator)];
    const [p1, p2] = [await g1.parameters(), await g2.parameters()];
    for (const k of Object.keys(p2)) assert.ok(sameBits(p1[k]!, p2[k]!), `round ${r.round}: generator ${k}`);
    g1.dispose();
    g2.dispose();
    const [l1, l2] = [
      (await readPseudoLabels(r.paths.pseudoLabels)).labels,
      (await readPseudoLabels(w.paths.pseudoLabels)).labels,
    ];
    assert.equal([...l1.keys()], [...l2.keys()]);
    for (const [name, l] of l2) assert.ok(sameBits(l1.get(name)!, l), `round ${r.round}: pseudo labels of ${name}`);
  }
  assert.equal(changed(await got.encoder.stateDict(), await want.encoder.stateDict()), []);
}

/**
 * Waits for a killed child, checks that SIGKILL stopped it at `last`, and resumes its folder in
 * this process; resolves with the resumed run and the progress it reported.
 */
async function resumeKilled(
  name: string,
  child: Promise<Killed>,
  last: Killed['last'],
): Promise<{ resumed: SelfTrainResult; events: SelfTrainProgress[] }> {
  const { manifest } = await prepare();
  const killed = await child;
  assert.equal([killed.code, killed.signal], [null, 'SIGKILL'], `stderr: ${killed.stderr.slice(-2000)}`);
  assert.equal(killed.last, last);
  const events: SelfTrainProgress[] = [];
  const resumed = await selfTrain({
    ...selfTrainOptions(join(dir, name), manifest),
    resume: true,
    onProgress: (p) => events.push(p),
  });
  return { resumed, events };
}

test('SIGKILL inside round 2 stage 2, then resume: the uninterrupted run’s weights, bit for bit', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const t0 = performance.now();
  const { whole, inStage2 } = await prepare();
  const { resumed, events } = await resumeKilled('in-stage2', inStage2, {
    round: 2,
    stage: 'stage2',
    epoch: 2,
    step: 1,
  });
  // Round 1 and round 2's stage 1 came from the state; stage 2 went on from epoch 1's checkpoint.
  assert.equal(resumed.rounds[0]!.resumed, { stage1: true, stage2: true, stage2FromEpoch: 0 });
  assert.equal(resumed.rounds[1]!.resumed, { stage1: true, stage2: false, stage2FromEpoch: 1 });
  assert.equal(
    events
      .filter((e) => e.stage !== 'round')
      .map((e) => e.stage)
      .filter((s, i, a) => a.indexOf(s) === i),
    ['stage2'],
  );
  const first = events.find((e) => e.stage === 'stage2');
  assert.equal(first && 'epoch' in first ? [first.round, first.epoch, first.step] : [], [2, 2, 1]);
  await assertSameRun(resumed, whole);
  resumed.encoder.dispose();
  console.log(`# kill in stage 2 and resume: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});

test('SIGKILL inside round 2 stage 1, then resume: stage 1 goes on from its step-20 checkpoint, to the same weights', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const t0 = performance.now();
  const { whole, inStage1 } = await prepare();
  const { resumed, events } = await resumeKilled('in-stage1', inStage1, { round: 2, stage: 'stage1', step: 25 });
  assert.equal(resumed.rounds[0]!.resumed, { stage1: true, stage2: true, stage2FromEpoch: 0 });
  assert.equal(resumed.rounds[1]!.resumed, { stage1: false, stage2: false, stage2FromEpoch: 0 });
  // Steps 1-20 were not redone: the first stage-1 report of the resumed run is step 21.
  const steps = events.filter((e) => e.stage === 'stage1').map((e) => ('step' in e ? e.step : -1));
  assert.is(steps[0], 21, `stage-1 steps reported: ${steps.join(',')}`);
  assert.is(steps.at(-1), 30);
  await assertSameRun(resumed, whole);
  resumed.encoder.dispose();
  console.log(`# kill in stage 1 and resume: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});

test('SIGKILL at the end of round 1, then resume: round 2 runs whole, to the same weights', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const t0 = performance.now();
  const { whole, atBoundary } = await prepare();
  const { resumed, events } = await resumeKilled('at-boundary', atBoundary, { round: 1, stage: 'round' });
  assert.equal(resumed.rounds[0]!.resumed, { stage1: true, stage2: true, stage2FromEpoch: 0 });
  assert.equal(resumed.rounds[1]!.resumed, { stage1: false, stage2: false, stage2FromEpoch: 0 });
  // Nothing of round 1 ran again: its only report is the round's result.
  assert.equal(
    events.filter((e) => e.round === 1).map((e) => e.stage),
    ['round'],
  );
  await assertSameRun(resumed, whole);
  resumed.encoder.dispose();
  console.log(`# kill at the round boundary and resume: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});

test('a finished run resumed runs nothing; resumed with rounds: 3 runs round 3 from round 2’s encoder', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const t0 = performance.now();
  const { manifest, whole } = await prepare();
  const options = selfTrainOptions(join(dir, 'whole'), manifest);
  const events: SelfTrainProgress[] = [];
  const again = await selfTrain({ ...options, resume: true, onProgress: (p) => events.push(p) });
  assert.equal(
    events.map((e) => e.stage),
    ['round', 'round'],
  );
  await assertSameRun(again, whole);
  again.encoder.dispose();

  const more = await selfTrain({ ...options, rounds: 3, resume: true });
  assert.is(more.rounds.length, 3);
  assert.equal(more.rounds[2]!.resumed, { stage1: false, stage2: false, stage2FromEpoch: 0 });
  // Round 3 started from round 2's encoder: scored by its own head, as round 2's stage 2 scored it.
  assert.equal(more.rounds[2]!.encoderBefore, whole.rounds[1]!.stage2);
  assert.equal(changed(await more.encoder.stateDict(), await weightsOf(more.rounds[2]!.paths.encoder)), []);
  more.encoder.dispose();
  whole.encoder.dispose();
  console.log(`# resume a finished run, then a third round: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});

test.run();
