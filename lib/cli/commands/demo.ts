// `mist demo`: MIST stage 1 on the real UCF-Crime features that ship, with a report.
import { z } from 'zod';

import { DemoOptionsSchema, runDemo } from '../../demo/index.js';
import { info } from '../../info.js';
import { flagHelp, listFlag, numberFlag, parseFlags } from '../args.js';
import type { Command } from '../command.js';
import { progressBar, type ProgressBar } from '../progress.js';

const S = DemoOptionsSchema.shape;
const FLAGS = {
  out: {
    schema: S.out.unwrap().optional(),
    arg: 'DIR',
    help: 'where the report, weights and pseudo labels go (default mist-demo)',
  },
  steps: { schema: numberFlag(S.steps.unwrap()).optional(), arg: 'N', help: 'training steps per seed (default 200)' },
  seeds: {
    schema: listFlag(S.seeds.unwrap().element, 'a comma-separated list of seeds').optional(),
    arg: '0,1,2',
    help: 'one run per seed (default 0)',
  },
  device: { schema: S.device, arg: 'cpu|cuda|cuda:N', help: 'where to train (default: CUDA when available)' },
  help: { schema: z.boolean().optional(), switch: true, help: 'this text' },
};

export const demoCommand: Command = {
  summary: 'train MIST stage 1 on the real UCF-Crime features that ship, and report frame AUC',
  async run(argv) {
    const { help, ...options } = parseFlags('demo', argv, FLAGS);
    if (help) {
      console.log(flagHelp('mist demo [options]', FLAGS));
      return;
    }
    const i = info();
    if (i.blasWarning) console.warn(`WARNING: ${i.blasWarning}`);
    let bar: ProgressBar | undefined;
    let current = -1;
    const r = await runDemo({
      ...options,
      onProgress: (seed, p) => {
        if (seed !== current) {
          current = seed;
          bar = progressBar(`seed ${seed}`, p.steps);
        }
        bar!.update(p.step, `loss ${p.loss.toFixed(3)}`);
        if (p.step === p.steps) bar!.finish(p.evaluation ? `frame AUC ${p.evaluation.auc.toFixed(4)}` : '');
      },
    });
    for (const run of r.runs)
      console.log(
        `seed ${run.seed}: frame AUC ${run.auc.toFixed(4)}, AP ${run.ap.toFixed(4)}, ${run.seconds.toFixed(1)} s`,
      );
    console.log(`mean frame AUC ${r.meanAuc.toFixed(4)} ± ${r.stdAuc.toFixed(4)}; report: ${r.reportPath}`);
  },
};
