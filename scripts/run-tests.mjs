#!/usr/bin/env node
// Runs every test/*.test.ts in its own Node process (native crashes stay contained) and
// prints one summary. Usage: node scripts/run-tests.mjs [filter-substring ...]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);
const files = readdirSync(join(root, 'test'))
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

const failed = [];
const started = Date.now();
for (const f of files) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join('test', f)], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '0' },
  });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const status = r.status === 0 ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`;
  console.log(`# ${f}: ${status} in ${secs} s`);
  if (r.status !== 0) failed.push(f);
}
const total = ((Date.now() - started) / 1000).toFixed(1);
console.log(`\n# ${files.length - failed.length}/${files.length} test files passed in ${total} s`);
if (failed.length) {
  console.log(`# failed: ${failed.join(', ')}`);
  process.exit(1);
}
