// The parent side of the fuzzer: runs test/fuzz-child.ts in a child process and watches its
// heartbeat file, so that an input that hangs a synchronous reader, or crashes the process (a
// native fault, an abort), is still reported, with the input. After a crash or a hang the
// remaining targets run in a fresh child.
//
// As a program (scripts/fuzz.mjs runs it): node --import tsx test/fuzz-harness.ts
//   [--seconds S] (per target; default: the suite's run counts) [--scale K] [--seed N]
//   [--targets a,b] [--out DIR] (findings are written there as <target>-<n>.bin + .json)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface TargetSummary {
  target: string;
  tried: number;
  runs?: number;
  ms: number;
  outcomes: Record<string, number>;
  /** What went wrong, in words, when something did. */
  finding?: string;
  /** The input that showed it, base64. */
  input?: string | null;
  seed?: number;
  path?: string | null;
}

export interface FuzzOptions {
  targets?: string[];
  /** Runs per target: the suite's counts times this (default 1). */
  scale?: number;
  /** Seconds per target instead (0: counts). */
  seconds?: number;
  seed?: number;
  /** Extra seconds past an input's own limit before the child counts as hung (default 10). */
  graceSeconds?: number;
  /** Called with each target's summary as it arrives. */
  onSummary?: (s: TargetSummary) => void;
}

interface Heartbeat {
  target: string;
  index: number;
  started: number;
  timeoutMs: number;
  input: string;
}

function readHeartbeat(path: string): Heartbeat | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Heartbeat;
  } catch {
    return undefined; // not written yet, or being written
  }
}

/** One child: runs `targets`; resolves with the summaries and, when it died or hung, why. */
function runChild(
  targets: string[] | undefined,
  o: Required<Omit<FuzzOptions, 'targets' | 'onSummary'>> & Pick<FuzzOptions, 'onSummary'>,
  dir: string,
): Promise<{ summaries: TargetSummary[]; order: string[]; died?: { why: string; heartbeat?: Heartbeat } }> {
  const heartbeat = join(dir, 'heartbeat.json');
  rmSync(heartbeat, { force: true });
  const config = { heartbeat, dir, seed: o.seed, scale: o.scale, seconds: o.seconds, ...(targets ? { targets } : {}) };
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test', 'fuzz-child.ts'), JSON.stringify(config)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const summaries: TargetSummary[] = [];
  let order: string[] = [];
  let done = false;
  let stderr = '';
  let buffered = '';
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('# FUZZ {')) {
        const s = JSON.parse(line.slice(7)) as TargetSummary;
        summaries.push(s);
        o.onSummary?.(s);
      } else if (line.startsWith('# FUZZ-TARGETS ')) order = JSON.parse(line.slice(15)) as string[];
      else if (line.startsWith('# FUZZ-DONE')) done = true;
    }
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let hung: Heartbeat | undefined;
  const watch = setInterval(() => {
    const hb = readHeartbeat(heartbeat);
    if (hb && Date.now() - hb.started > hb.timeoutMs + o.graceSeconds * 1000) {
      hung = hb;
      child.kill('SIGKILL');
    }
  }, 250);
  return new Promise((resolveRun) => {
    child.on('close', (code, signal) => {
      clearInterval(watch);
      if (done && code === 0) {
        resolveRun({ summaries, order });
        return;
      }
      const hb = hung ?? readHeartbeat(heartbeat);
      const why = hung
        ? `hang: input ${hung.index} of ${hung.target} ran past ${hung.timeoutMs} ms (a synchronous loop: the child was killed)`
        : `the process died (${signal ?? `exit ${code}`}) on input ${hb?.index ?? '?'} of ${hb?.target ?? '?'}: ${stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`;
      resolveRun({ summaries, order, died: { why, ...(hb ? { heartbeat: hb } : {}) } });
    });
  });
}

/** Runs the fuzz targets to the end, restarting the child after a crash or a hang. Async. */
export async function runFuzz(options: FuzzOptions = {}): Promise<TargetSummary[]> {
  const o = {
    scale: options.scale ?? 1,
    seconds: options.seconds ?? 0,
    seed: options.seed ?? 1,
    graceSeconds: options.graceSeconds ?? 10,
    onSummary: options.onSummary,
  };
  const dir = mkdtempSync(join(tmpdir(), 'mist-fuzz-'));
  const all: TargetSummary[] = [];
  try {
    let targets = options.targets;
    for (let attempt = 0; attempt < 50; attempt++) {
      const r = await runChild(targets, o, dir);
      all.push(...r.summaries);
      if (!r.died) break;
      const hb = r.died.heartbeat;
      const crashed: TargetSummary = {
        target: hb?.target ?? '?',
        tried: hb?.index ?? 0,
        ms: 0,
        outcomes: {},
        finding: r.died.why,
        input: hb?.input ?? null,
      };
      all.push(crashed);
      o.onSummary?.(crashed);
      if (!hb) break; // died before any input: nothing to go on with
      // Go on with the targets after the one that crashed (the child runs them in order);
      // each is named exactly, so that a name that is part of another picks only itself.
      const i = r.order.indexOf(hb.target);
      if (i < 0 || i + 1 >= r.order.length) break;
      targets = r.order.slice(i + 1).map((t) => `=${t}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return all;
}

// ---- As a program -----------------------------------------------------------------------------

async function main(argv: string[]): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const seconds = Number(arg('seconds') ?? 0);
  const seed = Number(arg('seed') ?? Date.now() % 2 ** 31);
  const out = resolve(arg('out') ?? join(ROOT, '.scratch', 'fuzz-findings'));
  const targets = arg('targets')?.split(',');
  console.log(
    `# fuzz: seed ${seed}, ${seconds > 0 ? `${seconds} s per target` : `suite counts x ${arg('scale') ?? 1}`}`,
  );
  const t0 = Date.now();
  let found = 0;
  const summaries = await runFuzz({
    seconds,
    seed,
    scale: Number(arg('scale') ?? 1),
    ...(targets ? { targets } : {}),
    onSummary: (s) => {
      const codes = Object.entries(s.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      console.log(
        `${s.finding ? 'FOUND' : 'ok   '} ${s.target}: ${s.tried} inputs in ${(s.ms / 1000).toFixed(1)} s (${codes})`,
      );
      if (s.finding) {
        console.log(`      ${s.finding}`);
        if (!existsSync(out)) mkdirSync(out, { recursive: true });
        const base = join(out, `${s.target.replace(/[^a-z0-9]+/gi, '-')}-${seed}-${++found}`);
        if (s.input) writeFileSync(`${base}.bin`, Buffer.from(s.input, 'base64'));
        writeFileSync(`${base}.json`, JSON.stringify(s, null, 2));
        console.log(`      input: ${base}.bin`);
      }
    },
  });
  const tried = summaries.reduce((a, s) => a + s.tried, 0);
  console.log(
    `# fuzz: ${tried} inputs over ${summaries.length} targets in ${((Date.now() - t0) / 1000).toFixed(0)} s, ${found} finding(s)`,
  );
  if (found > 0) process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
