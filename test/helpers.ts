// Shared helpers for the uvu tests. Each test file runs in its own Node process
// (scripts/run-tests.mjs), so a native crash in one file cannot hide the others.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { sharedDataDir } from '../lib/config.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Small real files that ship with the package (see data/SOURCES.md). */
export function packageData(...parts: string[]): string {
  return join(ROOT, 'data', ...parts);
}

/**
 * Larger real files live in ../shared/data beside the clone (CI has it). Returns the path,
 * or undefined after printing a plain "SKIPPED" line when the file is absent.
 * Override the folder with MIST_SHARED_DATA.
 */
export function sharedData(...parts: string[]): string | undefined {
  const base = sharedDataDir(ROOT);
  const p = join(base, ...parts);
  if (!existsSync(p)) {
    console.log(`SKIPPED: ${p} is absent (needs ../shared/data beside the clone)`);
    return undefined;
  }
  return p;
}

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
