// Benchmark: the encoder's memory estimate (lib/models/footprint.ts, what ERR_MIST_MEMORY is
// decided on) beside the peak resident set measured for the same work. Each configuration runs
// in a fresh child process: it allocates its clips, reads its resident set (VmRSS), builds the
// encoder, runs three forwards (inference, eval mode) or three training steps (train mode,
// Adam), then reads its high-water mark (VmHWM). Measured = VmHWM - VmRSS before the encoder
// existed, which is what the estimate counts (the runtime that loading LibTorch brings up,
// parameters with their copies, the clips' copy and activations); the clips' own array and
// Node itself are in the baseline. The fitted configurations are marked; the others were not
// used to set the estimate's constants.
//
// Run (from the repository root): npm run bench:memory [-- --quick]   (writes
// benchmarks/results/memory.md; --quick runs the three small configurations and writes nothing).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { estimateEncoderMemory, SgaEncoder } from '../lib/index.js';
import type { EncoderWork } from '../lib/models/footprint.js';
import type { InputSize } from '../lib/types.js';
import { Results } from './results.js';

const MiB = 2 ** 20;

export interface PeakConfig {
  backbone: 'i3d' | 'c3d';
  width: number;
  inputSize: InputSize;
  clips: number;
  work: EncoderWork;
  /** One of the measurements the estimate's constants were fitted to. */
  fitted?: boolean;
}

export interface Peak {
  config: PeakConfig;
  /** Bytes: VmHWM after the work minus VmRSS before the encoder was built. */
  measured: number;
  estimated: number;
}

function procStatus(): { rss: number; hwm: number } {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** In the child: runs the work and prints `{"measured": bytes}`. */
async function child(c: PeakConfig): Promise<void> {
  const [T, H, W] = c.inputSize;
  const x = new Float32Array(c.clips * 3 * T * H * W);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i);
  const before = procStatus().rss;
  const e = await SgaEncoder.createAsync({
    backbone: c.backbone,
    width: c.width,
    inputSize: c.inputSize,
    device: 'cpu',
  });
  if (c.work === 'training') {
    await e.configureTraining({});
    e.setTraining(true);
    const y = new Float32Array(c.clips).fill(0.5);
    for (let i = 0; i < 3; i++) await e.trainStep(x, y);
  } else {
    for (let i = 0; i < 3; i++) await e.forward(x);
  }
  console.log(JSON.stringify({ measured: procStatus().hwm - before }));
}

/** Measures one configuration in a fresh process (Linux: reads /proc/self/status). */
export async function measurePeak(c: PeakConfig): Promise<Peak> {
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', JSON.stringify(c)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, MIST_MEMORY_LIMIT_MB: '' },
      },
    );
    let text = '';
    p.stdout.on('data', (d: Buffer) => (text += d.toString()));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`child for ${JSON.stringify(c)} exited ${code}`)),
    );
  });
  const { measured } = JSON.parse(out.trim().split('\n').pop()!) as { measured: number };
  const estimated = estimateEncoderMemory(
    { backbone: c.backbone, width: c.width, expandK: 8 },
    c.work,
    c.clips,
    c.inputSize,
  ).bytes;
  return { config: c, measured, estimated };
}

/** Small configurations (seconds each): what the test measures. */
export const QUICK: PeakConfig[] = [
  { backbone: 'c3d', width: 0.5, inputSize: [16, 112, 112], clips: 8, work: 'inference' },
  { backbone: 'i3d', width: 0.5, inputSize: [16, 112, 112], clips: 8, work: 'training' },
  { backbone: 'i3d', width: 0.25, inputSize: [16, 160, 160], clips: 6, work: 'inference' },
];

const FULL: PeakConfig[] = [
  ...QUICK,
  { backbone: 'c3d', width: 0.25, inputSize: [16, 112, 112], clips: 16, work: 'training', fitted: true },
  { backbone: 'i3d', width: 0.25, inputSize: [16, 112, 112], clips: 16, work: 'inference', fitted: true },
  { backbone: 'i3d', width: 1, inputSize: [16, 224, 224], clips: 8, work: 'inference', fitted: true },
  { backbone: 'i3d', width: 1, inputSize: [16, 224, 224], clips: 3, work: 'training', fitted: true },
  { backbone: 'c3d', width: 1, inputSize: [16, 112, 112], clips: 8, work: 'inference', fitted: true },
  { backbone: 'c3d', width: 1, inputSize: [16, 112, 112], clips: 3, work: 'training', fitted: true },
  { backbone: 'c3d', width: 1, inputSize: [16, 112, 112], clips: 6, work: 'training' },
  { backbone: 'i3d', width: 1, inputSize: [16, 224, 224], clips: 16, work: 'inference' },
  { backbone: 'i3d', width: 0.5, inputSize: [16, 224, 224], clips: 4, work: 'training' },
];

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const r = new Results('memory', 'Encoder memory: the estimate beside the measured peak');
  const rows: string[][] = [];
  const ratios: number[] = [];
  for (const c of quick ? QUICK : FULL) {
    const p = await measurePeak(c);
    const ratio = p.measured / p.estimated;
    if (!c.fitted) ratios.push(ratio);
    rows.push([
      `${c.backbone.toUpperCase()} width ${c.width}`,
      c.inputSize.join('x'),
      String(c.clips),
      c.work,
      (p.estimated / MiB).toFixed(0),
      (p.measured / MiB).toFixed(0),
      ratio.toFixed(2),
      c.fitted ? 'fitted' : 'held out',
    ]);
    console.error(`# ${rows.at(-1)!.join('  ')}`);
  }
  r.table(['encoder', 'input', 'clips', 'work', 'estimate MiB', 'measured MiB', 'measured / estimate', 'role'], rows);
  r.line();
  r.line(
    `Held-out configurations: measured / estimate from ${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)}.`,
  );
  if (!quick) r.write();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--child');
  if (i > 0) await child(JSON.parse(process.argv[i + 1]!) as PeakConfig);
  else await main();
}
