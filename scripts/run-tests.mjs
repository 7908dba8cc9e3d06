#!/usr/bin/env node
// Runs every test/*.test.ts in its own Node process (native crashes stay contained) and
// prints one summary. Usage: node scripts/run-tests.mjs [filter-substring ...]
//
// Counts are of tests, not files: uvu's own totals per file, where a test that found a file of
// ../shared/data missing (the `# SKIPPED test` line test/helpers.ts prints) counts as skipped,
// not passed. The last line is `tests: N passed, N failed, N skipped`.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);
const files = readdirSync(join(root, 'test'))
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

/** Runs one test file, echoing its output; resolves with its exit status and output. */
function runFile(f) {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join('test', f)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on('close', (code, signal) => done({ code, signal, out }));
  });
}

/** uvu's totals from a file's output, with the shared-data skips moved from passed to skipped. */
function count(out, code) {
  const num = (label) => Number(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(out)?.[1] ?? NaN);
  const total = num('Total');
  const passed = num('Passed');
  const skippedByUvu = num('Skipped');
  const skippedShared = (out.match(/# SKIPPED test "/g) ?? []).length;
  if (![total, passed, skippedByUvu].every(Number.isFinite)) {
    // The process died before uvu printed its summary: one failure we can count.
    return { passed: 0, failed: 1, skipped: 0 };
  }
  const failed = total - passed - skippedByUvu + (code !== 0 && passed + skippedByUvu === total ? 1 : 0);
  return { passed: passed - skippedShared, failed, skipped: skippedByUvu + skippedShared };
}

const failedFiles = [];
const sum = { passed: 0, failed: 0, skipped: 0 };
const started = Date.now();
for (const f of files) {
  const t0 = Date.now();
  const r = await runFile(f);
  const c = count(r.out, r.code);
  for (const k of Object.keys(sum)) sum[k] += c[k];
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const status = r.code === 0 ? 'ok' : `FAILED (exit ${r.code ?? r.signal})`;
  const skipped = c.skipped ? `, ${c.skipped} skipped` : '';
  console.log(`# ${f}: ${status} in ${secs} s (${c.passed} passed${skipped})`);
  if (r.code !== 0) failedFiles.push(f);
}
const total = ((Date.now() - started) / 1000).toFixed(1);
console.log(`\n# ${files.length - failedFiles.length}/${files.length} test files passed in ${total} s`);
if (failedFiles.length) console.log(`# failed: ${failedFiles.join(', ')}`);
if (sum.skipped)
  console.log(
    '# a skipped test needs a file of ../shared/data (or MIST_SHARED_DATA) or a system package; under CI=true it fails',
  );
console.log(`tests: ${sum.passed} passed, ${sum.failed} failed, ${sum.skipped} skipped`);
if (failedFiles.length || files.length === 0) process.exit(1);
