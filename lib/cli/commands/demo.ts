// `mist demo`: every stage of MIST on data that ships with the package (runDemo), a results
// table on stdout and the report in --out.
import { z } from 'zod';

import { DemoOptionsSchema, demoTable, DEMO_CAVEAT, runDemo, type DemoProgress } from '../../demo/index.js';
import { info } from '../../info.js';
import { flagHelp, numberFlag, parseFlags } from '../args.js';
import type { Command } from '../command.js';
import { progressBar, type ProgressBar } from '../progress.js';
import { emit, interruptible } from '../run.js';

const S = DemoOptionsSchema.shape;
const FLAGS = {
  out: {
    schema: S.out.unwrap().optional(),
    arg: 'DIR',
    help: 'where the report, results, weights and runs go (default mist-demo)',
  },
  seed: { schema: numberFlag(S.seed.unwrap()).optional(), arg: 'N', help: 'seed of every stage (default 0)' },
  steps: {
    schema: numberFlag(S.steps.unwrap()).optional(),
    arg: 'N',
    help: 'stage-1 steps on the real features (default 100)',
  },
  rounds: { schema: numberFlag(S.rounds.unwrap()).optional(), arg: 'N', help: 'self-training rounds (default 2)' },
  epochs: { schema: numberFlag(S.epochs.unwrap()).optional(), arg: 'N', help: 'stage-2 epochs per round (default 40)' },
  quick: { schema: z.boolean().optional(), switch: true, help: 'a first look in seconds (tiny settings)' },
  resume: { schema: z.boolean().optional(), switch: true, help: 'continue a stopped demo in --out' },
  device: { schema: S.device, arg: 'cpu|cuda|cuda:N', help: 'where to run (default: CUDA when available)' },
  json: { schema: z.boolean().optional(), switch: true, help: 'one JSON line per progress event and the result' },
  help: { schema: z.boolean().optional(), switch: true, help: 'this text' },
};

/** The terminal view of the demo's progress: one bar per part. */
function progressView(): (p: DemoProgress) => void {
  let bar: ProgressBar | undefined;
  let current = '';
  const open = (key: string, label: string, total: number) => {
    if (key !== current) {
      current = key;
      bar = progressBar(label, total);
    }
    return bar!;
  };
  return (p) => {
    switch (p.part) {
      case 'real': {
        const x = p.progress;
        const b = open('real', 'stage 1, real UCF-Crime features', x.steps);
        b.update(x.step, `loss ${x.loss.toFixed(3)}`);
        if (x.evaluation) b.finish(`frame AUC ${x.evaluation.auc.toFixed(4)}`);
        return;
      }
      case 'videos':
        open('videos', 'synthetic videos', p.total).update(p.done);
        if (p.done === p.total) bar!.finish();
        return;
      case 'self-train': {
        const x = p.progress;
        const at = `round ${x.round}/${x.rounds}`;
        if (x.stage === 'stage1') {
          const b = open(`${at} s1`, `${at} stage 1`, x.steps);
          b.update(x.step, `loss ${x.loss.toFixed(3)}`);
          if (x.evaluation) b.finish(`test AUC ${x.evaluation.auc.toFixed(4)}`);
        } else if (x.stage === 'stage2') {
          const b = open(`${at} s2`, `${at} stage 2`, x.epochs);
          if (x.evaluation) b.finish(`test AUC ${x.evaluation.auc.toFixed(4)}`);
          else if (x.step === x.steps) b.update(x.epoch, `loss ${x.loss.toFixed(3)}`);
        } else if (x.stage === 'features' && x.done === x.total) {
          console.error(`${at} features of ${x.total} videos`);
        }
        return;
      }
      case 'score':
        open('score', 'scoring the test videos', p.total).update(p.done);
        if (p.done === p.total) bar!.finish();
        return;
      case 'stream':
        if (current !== 'stream') {
          current = 'stream';
          console.error('online scoring, clip by clip:');
        }
        console.error(`  clip ${p.clip} score ${p.score.toFixed(4)} (${p.latencyMs} ms after its last frame)`);
    }
  };
}

export const demoCommand: Command = {
  summary: 'every stage of MIST on data that ships (real UCF-Crime features, synthetic videos), with a report',
  async run(argv) {
    const { help, json, ...options } = parseFlags('demo', argv, FLAGS);
    if (help) {
      console.log(flagHelp('mist demo [options]', FLAGS));
      return;
    }
    const i = info();
    if (i.blasWarning) console.warn(`WARNING: ${i.blasWarning}`);
    const view = json ? undefined : progressView();
    const r = await interruptible(
      (signal) =>
        runDemo({
          ...options,
          signal,
          onProgress: (p) => {
            if (!json) return view!(p);
            if (p.part === 'self-train') emit('progress', { part: p.part, ...p.progress });
            else emit('progress', p);
          },
        }),
      () => `the finished stages are kept in ${options.out ?? 'mist-demo'}; rerun with --resume to continue`,
    );
    if (json) {
      emit('result', r);
      return;
    }
    console.log(demoTable(r.rows));
    console.log();
    console.log(DEMO_CAVEAT.join('\n'));
    console.log();
    console.log(
      `online scoring of ${r.stream.video}: ${r.stream.clips} clips, largest difference from offline ${r.stream.maxAbsDiff.toExponential(2)}`,
    );
    console.log(`${r.seconds.total.toFixed(0)} s; report: ${r.reportPath}; table: ${r.resultsPath}`);
  },
};
