// `mist info`: LibTorch, the addon binary loaded and why, CUDA, threads and BLAS of this machine,
// and the environment variables.
import { z } from 'zod';

import { ENVIRONMENT_VARIABLES } from '../../config.js';
import { info } from '../../info.js';
import { flagHelp, parseFlags } from '../args.js';
import type { Command } from '../command.js';

const FLAGS = {
  json: { schema: z.boolean().optional(), switch: true, help: 'print info() as JSON' },
  help: { schema: z.boolean().optional(), switch: true, help: 'this text' },
};

export const infoCommand: Command = {
  summary: 'LibTorch version, CUDA, threads and BLAS of this machine',
  async run(argv) {
    const flags = parseFlags('info', argv, FLAGS);
    if (flags.help) {
      console.log(flagHelp('mist info [--json]', FLAGS));
      return;
    }
    const i = info();
    if (flags.json) {
      console.log(JSON.stringify(i, null, 2));
      return;
    }
    console.log(`LibTorch      ${i.torchVersion} (${i.torchSource}: ${i.torchDir})`);
    const kind = i.addon.kind === 'build' ? 'local build' : 'prebuild';
    console.log(`addon         ${i.addon.variant ?? 'unknown variant'} ${kind}: ${i.addon.file}`);
    console.log(`  because     ${i.addon.reason}`);
    console.log(
      `CUDA          ${i.cudaAvailable ? `available, ${i.cudaDeviceCount} device(s)` : 'not available'}${i.cudaBuild ? '' : ' (CPU-only build)'}`,
    );
    console.log(`threads       ${i.threads} configured, ${i.threadsObserved} observed in a parallel region`);
    console.log(`BLAS          ${i.blas.kind}: ${i.blas.libraries.join(', ') || 'none mapped'}`);
    console.log(`oneDNN        ${i.mkldnn ? 'yes' : 'no'}, OpenMP ${i.openmp ? 'yes' : 'no'}`);
    if (i.blasWarning) console.warn(`\nWARNING: ${i.blasWarning}`);
    console.log('\nenvironment:');
    for (const [k, v] of Object.entries(ENVIRONMENT_VARIABLES)) console.log(`  ${k.padEnd(22)} ${v}`);
  },
};
