// Two rounds of MIST self-training (selfTrain) on the synthetic surveillance set, with the
// settings of the end-to-end benchmark (benchmarks/stage2-synthetic.bench.ts, runSyntheticMist):
// frame AUC of the test videos after each stage of each round, over several seeds, and the
// paper's Table 3 comparison, the MIL generator trained on the untrained encoder's features vs
// on the fine-tuned encoder's (round 2's stage 1 is exactly that: same videos, same settings,
// same seed, other features).
// Run: npm run bench:selftrain [-- EPOCHS SEEDS ROUNDS]; writes benchmarks/results/selftrain.md
// (other EPOCHS or ROUNDS than 60 and 2: selftrain-<ROUNDS>r-<EPOCHS>e.md). `-- 120 0,1,2 1` is
// the control of round 2: round 1 alone, trained as long as two rounds are.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { makeSyntheticVideos, readVideoManifest, selfTrain, type SelfTrainRound } from '../lib/index.js';
import { Results } from './results.js';

const epochs = Number(process.argv[2] ?? 60);
const seeds = (process.argv[3] ?? '0,1,2').split(',').map(Number);
const rounds = Number(process.argv[4] ?? 2);
const steps = 300;
const standard = epochs === 60 && rounds === 2;
const res = new Results(
  standard ? 'selftrain' : `selftrain-${rounds}r-${epochs}e`,
  `MIST self-training: ${rounds === 2 ? 'two rounds' : `${rounds} round(s)`} on the synthetic surveillance set`,
);
const dir = mkdtempSync(join(tmpdir(), 'mist-selftrain-'));
res.line(
  `Per seed: 16 + 16 training and 12 + 12 test videos (64 x 64, 96-160 frames, 3 fixed cameras), a C3D of width 1/8 ` +
    `at 16 x 32 x 32 (PyTorch's default initialisation). Each round: features of the encoder that enters it ` +
    `(the untrained one in round 1, the previous round's fine-tuned one after), divided by their mean norm over the ` +
    `training videos; stage 1 ${steps} steps (a new generator each round, L = min(8, clips), T = 1, top-2); ` +
    `pseudo labels (smoothed twice, min-max normalised); stage 2 ${epochs} epochs (4 + 4 videos per step, lr 1e-3, ` +
    `dropout 0.5, the backbone trained from the first epoch, frames cached), each round after the first from the previous round's weights. ` +
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
    rounds,
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
const untrained = auc((r) => r[0]!.encoderBefore!.auc);
const s1 = Array.from({ length: rounds }, (_, k) => auc((r) => r[k]!.stage1!.auc));
const s2 = Array.from({ length: rounds }, (_, k) => auc((r) => r[k]!.stage2!.auc));
const perRound = (i: number) => s1.flatMap((_, k) => [f4(s1[k]![i]!), f4(s2[k]![i]!)]);
res.line('## Frame AUC after each stage');
res.line();
res.table(
  ['seed', 'untrained encoder', ...s1.flatMap((_, k) => [`round ${k + 1} stage 1`, `round ${k + 1} stage 2`]), 'time'],
  [
    ...runs.map((x, i) => [String(x.seed), f4(untrained[i]!), ...perRound(i), `${x.seconds.toFixed(0)} s`]),
    ['mean', f4(mean(untrained)), ...s1.flatMap((_, k) => [f4(mean(s1[k]!)), f4(mean(s2[k]!))]), ''],
  ],
);
res.line();
res.line(
  '"untrained encoder": its own random head. Stage 1: the round\'s generator on the test videos\' features of the ' +
    "encoder that entered the round. Stage 2: the round's fine-tuned encoder's own scores.",
);
res.line();

if (rounds >= 2) {
  const [a1, a2] = [s1[0]!, s1[1]!];
  const [b1, b2] = [s2[0]!, s2[1]!];
  res.line("## Table 3: the MIL generator on the untrained vs the fine-tuned encoder's features");
  res.line();
  res.table(
    [
      'seed',
      "untrained encoder's features (round 1 stage 1)",
      "fine-tuned encoder's features (round 2 stage 1)",
      'change',
    ],
    [
      ...runs.map((x, i) => [String(x.seed), f4(a1[i]!), f4(a2[i]!), signed(a2[i]! - a1[i]!)]),
      ['mean', f4(mean(a1)), f4(mean(a2)), signed(mean(a2) - mean(a1))],
    ],
  );
  res.line();
  res.line(
    "The fine-tuned encoder's own head, for comparison (round 1 stage 2): " +
      `mean ${f4(mean(b1))}; the generator on its features minus its head: ` +
      runs.map((x, i) => `seed ${x.seed} ${signed(a2[i]! - b1[i]!)}`).join(', ') +
      '.',
  );
  res.line();
  res.line('## What round 2 adds');
  res.line();
  const gain = runs.map((_, i) => b2[i]! - b1[i]!);
  res.table(
    ['seed', 'round 2 stage 2 − round 1 stage 2', 'round 2 stage 2 − round 2 stage 1'],
    [
      ...runs.map((x, i) => [String(x.seed), signed(gain[i]!), signed(b2[i]! - a2[i]!)]),
      ['mean', signed(mean(gain)), signed(mean(b2) - mean(a2))],
    ],
  );
  res.line();
  // The control, when its file is there: round 1 alone, trained as long as the two rounds.
  const controlName = `selftrain-1r-${2 * epochs}e.md`;
  const controlPath = join(dirname(fileURLToPath(import.meta.url)), 'results', controlName);
  if (existsSync(controlPath)) {
    const text = readFileSync(controlPath, 'utf8');
    const ran = /^- run: (\S+),/m.exec(text)?.[1] ?? 'unknown date';
    const control = runs.map((x) =>
      Number(new RegExp(`^\\| ${x.seed} \\| [^|]+\\| [^|]+\\| ([0-9.]+) \\|`, 'm').exec(text)?.[1]),
    );
    if (control.every(Number.isFinite)) {
      res.line(
        `The control, read from benchmarks/results/${controlName} (run ${ran}, the same videos, settings and ` +
          `seeds): round 1 alone for ${2 * epochs} epochs, as long as round 1 + round 2 of fine-tuning together.`,
      );
      res.line();
      res.table(
        ['seed', 'round 2 stage 2', `round 1 alone, ${2 * epochs} epochs`, 'round 2 − control'],
        [
          ...runs.map((x, i) => [String(x.seed), f4(b2[i]!), f4(control[i]!), signed(b2[i]! - control[i]!)]),
          ['mean', f4(mean(b2)), f4(mean(control)), signed(mean(b2) - mean(control))],
        ],
      );
      res.line();
    }
  }
  res.line(
    `Round 2 fine-tuning beats round 1's in ${gain.filter((g) => g > 0).length} of ${runs.length} seeds ` +
      `(mean ${signed(mean(gain))}); the generator on fine-tuned features beats the one on untrained features in ` +
      `${runs.filter((_, i) => a2[i]! > a1[i]!).length} of ${runs.length}. Round 2's encoder has trained ` +
      `${2 * epochs} epochs in all, round 1's ${epochs}: \`npm run bench:selftrain -- ${2 * epochs} ` +
      `${seeds.join(',')} 1\` (round 1 alone, ${2 * epochs} epochs; selftrain-1r-${2 * epochs}e.md) is the ` +
      'control that tells the new pseudo labels from the longer training.',
  );
  res.line();
}

res.line('## Seconds per stage (mean over seeds)');
res.line();
const sec = (k: number, s: keyof SelfTrainRound['seconds']) =>
  mean(runs.map((x) => x.rounds[k]!.seconds[s])).toFixed(1);
res.table(
  ['round', 'features', 'stage 1 (+ pseudo labels)', 'stage 2 (+ its evaluation)'],
  s1.map((_, k) => [String(k + 1), sec(k, 'features'), sec(k, 'stage1'), sec(k, 'stage2')]),
);
res.write();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
