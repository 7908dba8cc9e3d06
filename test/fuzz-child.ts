// Runs fuzz targets (test/fuzz-properties.ts) with fast-check, in a process of its own so that
// the parent (test/fuzz-harness.ts) can kill it when an input hangs or crashes the process.
// Before each input it writes the input and the time to the heartbeat file; at the end of each
// target it prints one `# FUZZ {json}` line: inputs tried, outcomes by code, time, and a
// finding (with its input) when there is one.
//
// Usage: node --import tsx test/fuzz-child.ts '{"heartbeat": "...", "dir": "...", "seed": 1,
//        "scale": 1, "seconds": 0, "targets": ["npy", ...]}'
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';

import { MistError } from '../lib/errors.js';
import { judge, makeSeeds, optionTargets, readerTargets, type Target } from './fuzz-properties.js';

interface Config {
  heartbeat: string;
  dir: string;
  seed: number;
  /** Multiplies each target's runs (count mode). */
  scale: number;
  /** When > 0: seconds per target instead of a number of runs. */
  seconds: number;
  targets?: string[];
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;

const EXT: [RegExp, string][] = [
  [/npy|pickle|official|mask/, '.npy'],
  [/hdf5/, '.h5'],
  [/json/, '.json'],
  [/csv/, '.csv'],
  [/checkpoint|native/, '.pt'],
  [/video/, '.mp4'],
  [/rtfm/, '.list'],
];

class Timeout extends Error {}

async function within<T>(p: Promise<T> | T, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve(p),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Timeout(`no answer in ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function runTarget(target: Target): Promise<void> {
  const ext = EXT.find(([re]) => re.test(target.name))?.[1] ?? '.txt';
  const file = join(config.dir, `input-${target.name.replace(/[^a-z0-9]+/gi, '-')}${ext}`);
  const outcomes: Record<string, number> = {};
  let tried = 0;
  const t0 = Date.now();
  const property = fc.asyncProperty(target.arbitrary, async (input) => {
    tried++;
    writeFileSync(
      config.heartbeat,
      JSON.stringify({
        target: target.name,
        index: tried,
        started: Date.now(),
        timeoutMs: target.timeoutMs,
        input: Buffer.from(target.encode(input)).toString('base64'),
      }),
    );
    let outcome: { value?: unknown; error?: unknown; threw: boolean };
    try {
      outcome = { value: await within(target.run(input, file), target.timeoutMs), threw: false };
    } catch (e) {
      if (e instanceof Timeout) throw new Error(`hang: ${e.message}`, { cause: e });
      outcome = { error: e, threw: true };
    }
    const key = outcome.threw ? (outcome.error instanceof MistError ? outcome.error.code : 'other') : 'value';
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    const finding = judge(target, file, outcome);
    if (finding) throw new Error(finding);
  });
  const timed = config.seconds > 0;
  const details = await fc.check(property, {
    seed: config.seed,
    numRuns: timed ? 1e9 : Math.max(1, Math.round(target.runs * config.scale)),
    ...(timed ? { plugins: [fc.interruptAfterTimeLimit(config.seconds * 1000)] } : {}),
  });
  const summary: Record<string, unknown> = {
    target: target.name,
    tried,
    runs: details.numRuns,
    shrinks: details.numShrinks,
    ms: Date.now() - t0,
    outcomes,
  };
  if (details.failed) {
    const input = (details.counterexample as unknown[] | null)?.[0];
    summary.finding = String((details.errorInstance as Error)?.message ?? details.errorInstance).slice(0, 600);
    summary.input = input === undefined ? null : Buffer.from(target.encode(input)).toString('base64');
    summary.seed = details.seed;
    summary.path = details.counterexamplePath;
  }
  console.log(`# FUZZ ${JSON.stringify(summary)}`);
}

const seeds = await makeSeeds(join(config.dir, 'seeds'));
const all = [...readerTargets(seeds), ...optionTargets(seeds)];
// A name matches a target that contains it; `=name` only the target of that name.
const matches = (t: Target, n: string): boolean => (n.startsWith('=') ? t.name === n.slice(1) : t.name.includes(n));
const chosen = config.targets ? all.filter((t) => config.targets!.some((n) => matches(t, n))) : all;
if (chosen.length === 0) {
  console.error(`no target matches ${JSON.stringify(config.targets)}; targets: ${all.map((t) => t.name).join(', ')}`);
  process.exit(2);
}
console.log(`# FUZZ-TARGETS ${JSON.stringify(chosen.map((t) => t.name))}`);
for (const t of chosen) await runTarget(t);
seeds.encoder.dispose();
console.log('# FUZZ-DONE');
