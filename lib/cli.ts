#!/usr/bin/env node
// The `mist` command line. Each command is a small function over the public API.
import { parseArgs } from 'node:util';

import { ENVIRONMENT_VARIABLES } from './config.js';
import { MistError } from './errors.js';
import { runDemo } from './demo.js';
import { info } from './info.js';
import { progressBar, type ProgressBar } from './progress.js';
import { trainCommand } from './train-cli.js';

type Command = { summary: string; run: (argv: string[]) => Promise<void> };

const commands: Record<string, Command> = {
  info: {
    summary: 'LibTorch version, CUDA, threads and BLAS of this machine',
    async run(argv) {
      const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' } } });
      const i = info();
      if (values.json) {
        console.log(JSON.stringify(i, null, 2));
        return;
      }
      console.log(`LibTorch      ${i.torchVersion} (${i.torchSource}: ${i.torchDir})`);
      console.log(`CUDA          ${i.cudaAvailable ? `available, ${i.cudaDeviceCount} device(s)` : 'not available'}${i.cudaBuild ? '' : ' (CPU-only build)'}`);
      console.log(`threads       ${i.threads} configured, ${i.threadsObserved} observed in a parallel region`);
      console.log(`BLAS          ${i.blas.kind}: ${i.blas.libraries.join(', ') || 'none mapped'}`);
      console.log(`oneDNN        ${i.mkldnn ? 'yes' : 'no'}, OpenMP ${i.openmp ? 'yes' : 'no'}`);
      if (i.blasWarning) console.warn(`\nWARNING: ${i.blasWarning}`);
      console.log('\nenvironment:');
      for (const [k, v] of Object.entries(ENVIRONMENT_VARIABLES)) console.log(`  ${k.padEnd(17)} ${v}`);
    },
  },
  demo: {
    summary: 'train MIST stage 1 on the real UCF-Crime features that ship, and report frame AUC',
    async run(argv) {
      const { values } = parseArgs({
        args: argv,
        options: {
          out: { type: 'string', default: 'mist-demo' },
          steps: { type: 'string', default: '200' },
          seeds: { type: 'string', default: '0' },
          device: { type: 'string' },
          help: { type: 'boolean' },
        },
      });
      if (values.help) {
        console.log('mist demo [--out DIR] [--steps N] [--seeds 0,1,2] [--device cpu|cuda|cuda:N]');
        return;
      }
      const steps = Number(values.steps);
      const seeds = values.seeds.split(',').map(Number);
      const i = info();
      if (i.blasWarning) console.warn(`WARNING: ${i.blasWarning}`);
      let bar: ProgressBar | undefined;
      let current = -1;
      const r = await runDemo({
        out: values.out,
        steps,
        seeds,
        device: values.device,
        onProgress: (seed, p) => {
          if (seed !== current) {
            current = seed;
            bar = progressBar(`seed ${seed}`, p.steps);
          }
          bar!.update(p.step, `loss ${p.loss.toFixed(3)}`);
          if (p.step === p.steps) bar!.finish(p.evaluation ? `frame AUC ${p.evaluation.auc.toFixed(4)}` : '');
        },
      });
      for (const run of r.runs) console.log(`seed ${run.seed}: frame AUC ${run.auc.toFixed(4)}, AP ${run.ap.toFixed(4)}, ${run.seconds.toFixed(1)} s`);
      console.log(`mean frame AUC ${r.meanAuc.toFixed(4)} ± ${r.stdAuc.toFixed(4)}; report: ${r.reportPath}`);
    },
  },
  train: {
    summary: 'train the stage-1 generator on feature files (mist train --help)',
    run: trainCommand,
  },
};

export function registerCommand(name: string, command: Command): void {
  commands[name] = command;
}

function usage(): string {
  const lines = Object.entries(commands).map(([n, c]) => `  mist ${n.padEnd(10)} ${c.summary}`);
  return `usage: mist <command> [options]\n\n${lines.join('\n')}\n\nmist <command> --help for a command's options`;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`mist: unknown command '${name}'\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  await cmd.run(rest);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  const err = e as Error & { code?: string };
  // Coded errors are the user's to fix: one line. Anything else is a bug: show the stack.
  if (err instanceof MistError || (err.code && err.code.startsWith('ERR_MIST'))) {
    console.error(`mist: ${err.message} [${err.code}]`);
  } else if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    console.error(`mist: ${err.message}`);
  } else {
    console.error(err.stack ?? String(err));
  }
  process.exitCode = 1;
});
