// Shared helpers for the uvu tests. Each test file runs in its own Node process
// (scripts/run-tests.mjs), so a native crash in one file cannot hide the others.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { test as uvuTest } from 'uvu';

import { sharedDataDir } from '../lib/config.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Small real files that ship with the package (see data/SOURCES.md). */
export function packageData(...parts: string[]): string {
  return join(ROOT, 'data', ...parts);
}

// ---- Tests that need the larger real files -------------------------------------------------
//
// Larger real files live in ../shared/data beside the clone (CI has it; MIST_SHARED_DATA
// overrides the folder). A test that needs one and finds it missing is reported as SKIPPED:
// `test` below (use it instead of uvu's) prints one `# SKIPPED test "<name>": ...` line, and
// scripts/run-tests.mjs counts such tests as skipped, not passed. Under CI=true a missing file
// fails the test instead: CI must not pass on tests that did not run.

let current: { name: string; missing: string[] } | undefined;

function missing(p: string): undefined {
  if (process.env.CI === 'true') {
    throw new Error(
      `${p} is absent: under CI=true every test runs (../shared/data beside the clone, the packages .ci/run installs)`,
    );
  }
  if (current) current.missing.push(p);
  else
    throw new Error(`sharedData(${p}) called outside a test: call it inside the test, or use sharedPath() and skip()`);
  return undefined;
}

/** The path of a shared file, or undefined when it is absent (records nothing: see need()). */
export function sharedPath(...parts: string[]): string | undefined {
  const p = join(sharedDataDir(ROOT), ...parts);
  return existsSync(p) ? p : undefined;
}

/**
 * Inside a test: the path of a shared file, or undefined after marking the running test as
 * skipped (or, under CI=true, failing it). The test should then return.
 */
export function sharedData(...parts: string[]): string | undefined {
  return sharedPath(...parts) ?? missing(join(sharedDataDir(ROOT), ...parts));
}

/**
 * Inside a test: marks it as skipped because `what` (a shared file, or a system package that
 * .ci/run installs) is absent; under CI=true, fails it.
 */
export function skip(what: string): void {
  missing(what);
}

// MIST_TEST_TAP=1 adds TAP lines (`ok 1 - name`) beside uvu's output, for the mutation-testing
// runner (stryker.config.json), which reads TAP and ignores the rest.
const tap = process.env.MIST_TEST_TAP === '1';
let tapCount = 0;
if (tap) {
  console.log('TAP version 13');
  process.on('exit', () => console.log(`\n1..${tapCount}`));
}

/**
 * uvu's test, which also reports a test that found a shared file missing as skipped. Same
 * signature as uvu's `test(name, handler)`; `test.run()` runs the file's tests.
 */
export const test = Object.assign(
  (name: string, handler: () => unknown) => {
    uvuTest(name, async () => {
      current = { name, missing: [] };
      let ok = false;
      try {
        await handler();
        ok = true;
      } finally {
        const gone = current.missing;
        current = undefined;
        if (gone.length > 0) console.log(`\n# SKIPPED test "${name}": needs ${gone.join(', ')} (absent)`);
        if (tap)
          console.log(
            `\n${ok ? 'ok' : 'not ok'} ${++tapCount} - ${name.replace(/#/g, '')}${gone.length ? ' # SKIP' : ''}`,
          );
      }
    });
  },
  { run: () => uvuTest.run(), before: uvuTest.before, after: uvuTest.after },
);

/** A fresh temporary folder, removed by the returned cleanup function. */
export function tempDir(prefix = 'mist-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Expect a promise (or function) to fail with a coded Error. Returns the error. */
export async function expectCode(fn: () => unknown, code: string): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code !== code) {
      throw new Error(`expected code ${code}, got ${String(err.code)}: ${err.message}`, { cause: e });
    }
    return err;
  }
  throw new Error(`expected an error with code ${code}, but nothing was thrown`);
}

/** AUC by counting pairs (ties count one half): a slow reference independent of lib/eval. */
export function pairwiseAuc(scores: number[], labels: number[]): number {
  const pos = scores.filter((_, i) => labels[i] === 1);
  const neg = scores.filter((_, i) => labels[i] === 0);
  let wins = 0;
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

/** Whether an `ffmpeg` runs from PATH (the video tests skip, visibly, without one). */
export const hasFfmpeg: boolean = (() => {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Runs ffmpeg quietly (errors only), overwriting its output; throws when it fails. Sync. */
export function ffmpeg(...args: string[]): void {
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);
}

/** ffmpeg's input arguments for a file of raw RGB frames of W x H at `fps`. */
export function rawVideoInput(file: string, W: number, H: number, fps = 25): string[] {
  return ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(fps), '-i', file];
}

/** Runs the `mist` CLI from the sources (through tsx) in the package root, as a user runs it. Sync. */
export function mist(args: string[], input?: Buffer) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'lib', 'cli', 'main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    ...(input ? { input } : {}),
    maxBuffer: 64 * 1024 * 1024,
  });
}
