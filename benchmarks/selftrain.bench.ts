// Two rounds of MIST self-training (selfTrain) on the synthetic surveillance set, with the
// settings of the end-to-end benchmark (benchmarks/stage2-synthetic.bench.ts, runSyntheticMist):
// frame AUC of the test videos after each stage of each round, over several seeds, and the
// paper's Table 3 comparison, the MIL generator trained on the untrained encoder's features vs
// on the fine-tuned encoder's (round 2's stage 1 is exactly that: same videos, same settings,
// same seed, other features).
// Run: npm run bench:selftrain [-- EPOCHS SEEDS]; writes benchmarks/results/selftrain.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { makeSyntheticVideos, readVideoManifest, selfTrain, type SelfTrainRound } from '../lib/index.js';
import { Results } from './results.js';

const epochs = Number(process.argv[2] ?? 60);
const seeds = (process.argv[3] ?? '0,1,2').split(',').map(Number);
const steps = 300;
const res = new Results('selftrain', 'MIST self-training: two rounds on the synthetic surveillance set');
const dir = mkdtempSync(join(tmpdir(), 'mist-selftrain-'));
res.line(
  `Per seed: 16 + 16 training and 12 + 12 test videos (64 x 64, 96-160 frames, 3 fixed cameras), a C3D of width 1/8 ` +
    `at 16 x 32 x 32 (PyTorch's default initialisation). Each round: features of the encoder that enters it ` +
    `(the untrained one in round 1, round 1's fine-tuned one in round 2), divided by their mean norm over the ` +
    `training videos; stage 1 ${steps} steps (a new generator each round, L = min(8, clips), T = 1, top-2); ` +
    `pseudo labels (smoothed twice, min-max normalised); stage 2 ${epochs} epochs (4 + 4 videos per step, lr 1e-3, ` +
    `dropout 0.5, the backbone trained from the first epoch, frames cached), round 2 from round 1's weights. ` +
    `Every round and stage uses the seed. No model selection: each stage is evaluated once, after its last step ` +
    `or epoch. Round 1 is runSyntheticMist's pipeline (test/selftrain-rounds-demo.test.ts checks they agree), so its ` +
    `figures are those of benchmarks/results/stage2-synthetic.md when the code has not changed in between.`,
);
res.line();

const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const f4 = (x: number) => x.toFixed(4);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;
const runs: { seed: number; rounds: SelfTrainRound[]; seconds: number }[] = [];
for (const seed of seeds) {
  const t0 = performance.now();
  const made = await makeSyntheticVideos(join(dir, `seed-${seed}`, 'videos'), {
    seed,
    normal: 16,
    anomalous: 16,
    testNormal: 12,
    testAnomalous: 12,
    frames: [96, 160],
    scenes: 3,
  });
  const manifest = { ...readVideoManifest(made.manifestPath), dataset: 'synthetic' };
  const minClips = Math.min(...made.videos.map((v) => Math.floor(v.frames / 16)));
  const r = await selfTrain({
    dir: join(dir, `seed-${seed}`, 'run'),
    rounds: 2,
    seed,
    videos: manifest,
    test: manifest,
    encoder: { backbone: 'c3d', width: 1 / 8, inputSize: [16, 32, 32], init: 'pytorch', dropout: 0.5 },
    stage1: {
      L: Math.min(8, minClips),
      T: 1,
      k: 2,
      lambdaSparsity: 0.01,
      lambdaSmoothness: 0,
      batchSize: 16,
      lr: 0.01,
      weightDecay: 0.001,
      gradClip: 10,
      steps,
      evalEvery: steps,
      l2Normalize: false,
      dropout: 0.6,
    },
    stage2: {
      preset: 'shanghaitech-c3d',
      epochs,
      videosPerClass: 4,
      freezeBackboneEpochs: 0,
      warmupEpochs: Math.min(5, epochs),
      lr: 1e-3,
      evalEvery: epochs,
      frameCacheMb: 512,
    },
    onProgress: (p) => {
      if (p.stage === 'round') {
        const x = p.result;
        console.log(
          `seed ${seed} round ${x.round}: encoder before ${f4(x.encoderBefore!.auc)}, stage 1 ${f4(x.stage1!.auc)}, ` +
            `stage 2 ${f4(x.stage2!.auc)} (${(p.elapsedMs / 1000).toFixed(0)} s)`,
        );
      }
    },
  });
  r.encoder.dispose();
  runs.push({ seed, rounds: r.rounds, seconds: (performance.now() - t0) / 1000 });
}

const auc = (pick: (rounds: SelfTrainRound[]) => number) => runs.map((x) => pick(x.rounds));
const cols = {
  untrained: auc((r) => r[0]!.encoderBefore!.auc),
  s1r1: auc((r) => r[0]!.stage1!.auc),
  s2r1: auc((r) => r[0]!.stage2!.auc),
  s1r2: auc((r) => r[1]!.stage1!.auc),
  s2r2: auc((r) => r[1]!.stage2!.auc),
};
res.line('## Frame AUC after each stage');
res.line();
res.table(
  ['seed', 'untrained encoder', 'round 1 stage 1', 'round 1 stage 2', 'round 2 stage 1', 'round 2 stage 2', 'time'],
  [
    ...runs.map((x, i) => [
      String(x.seed),
      f4(cols.untrained[i]!),
      f4(cols.s1r1[i]!),
      f4(cols.s2r1[i]!),
      f4(cols.s1r2[i]!),
      f4(cols.s2r2[i]!),
      `${x.seconds.toFixed(0)} s`,
    ]),
    ['mean', ...Object.values(cols).map((c) => f4(mean(c))), ''],
  ],
);
res.line();
res.line(
  '"untrained encoder": its own random head. Stage 1: the round\'s generator on the test videos\' features of the ' +
    "encoder that entered the round. Stage 2: the round's fine-tuned encoder's own scores.",
);
res.line();

res.line("## Table 3: the MIL generator on the untrained vs the fine-tuned encoder's features");
res.line();
res.table(
  ['seed', "untrained encoder's features (round 1 stage 1)", "fine-tuned encoder's features (round 2 stage 1)", 'change'],
  [
    ...runs.map((x, i) => [String(x.seed), f4(cols.s1r1[i]!), f4(cols.s1r2[i]!), signed(cols.s1r2[i]! - cols.s1r1[i]!)]),
    ['mean', f4(mean(cols.s1r1)), f4(mean(cols.s1r2)), signed(mean(cols.s1r2) - mean(cols.s1r1))],
  ],
);
res.line();

res.line('## What round 2 adds');
res.line();
const gain = runs.map((_, i) => cols.s2r2[i]! - cols.s2r1[i]!);
const overS1 = runs.map((_, i) => cols.s2r2[i]! - cols.s1r2[i]!);
res.table(
  ['seed', 'round 2 stage 2 − round 1 stage 2', 'round 2 stage 2 − round 2 stage 1'],
  [
    ...runs.map((x, i) => [String(x.seed), signed(gain[i]!), signed(overS1[i]!)]),
    ['mean', signed(mean(gain)), signed(mean(overS1))],
  ],
);
res.line();
res.line(
  `Round 2 fine-tuning beats round 1's in ${gain.filter((g) => g > 0).length} of ${runs.length} seeds ` +
    `(mean ${signed(mean(gain))}); the generator on fine-tuned features beats the one on untrained features in ` +
    `${runs.filter((_, i) => cols.s1r2[i]! > cols.s1r1[i]!).length} of ${runs.length}.`,
);
res.line();

res.line('## Seconds per stage (mean over seeds)');
res.line();
const sec = (k: 0 | 1, s: keyof SelfTrainRound['seconds']) => mean(runs.map((x) => x.rounds[k]!.seconds[s])).toFixed(1);
res.table(
  ['round', 'features', 'stage 1 (+ pseudo labels)', 'stage 2 (+ its evaluation)'],
  ([0, 1] as const).map((k) => [String(k + 1), sec(k, 'features'), sec(k, 'stage1'), sec(k, 'stage2')]),
);
res.write();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
