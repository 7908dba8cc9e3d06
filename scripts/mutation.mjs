#!/usr/bin/env node
// Mutation testing of the pure TypeScript modules with fast unit tests (StrykerJS): one run per
// module, each with only the test files that exercise that module (the TAP runner counts a
// test file as one test, so narrowing the files is what keeps a run short), then one table of
// scores. Usage: npm run mutation [-- MODULE ...]   (e.g. -- refine metrics)
// Reports: reports/mutation/<module>.json (Stryker's mutation-testing-report schema).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const base = JSON.parse(readFileSync(join(root, 'stryker.config.json'), 'utf8'));

// module -> the test files that exercise it
const MODULES = {
  sampling: ['lib/stage1/sampling.ts', ['stage1-sampling', 'stage1-batch']],
  batch: ['lib/stage1/batch.ts', ['stage1-batch']],
  refine: ['lib/stage1/refine.ts', ['stage1-refine']],
  presets: ['lib/stage1/presets.ts', ['stage1-presets']],
  // metrics-sklearn is left out: it loads 3.5 M frames of ground truth, and one run of it per
  // mutant took the run past 20 minutes. About 40 mutants of the metrics loop forever, each
  // until its timeout: 5 seconds here (a test file runs in about one second), not 20.
  metrics: ['lib/eval/metrics.ts', ['metrics-basic', 'metrics-evaluate'], { timeoutMS: 5000 }],
  segments: ['lib/eval/segments.ts', ['metrics-segments']],
  // gt-ucf-crime is left out: it builds the 1.1 M frames of UCF-Crime about ten times for
  // every mutant it covers; gt-ucf-crime-small checks the same code on small files.
  // (The tests that need ../shared/data skip in Stryker's sandbox, which has none beside it.)
  groundtruth: [
    'lib/eval/groundtruth.ts',
    ['gt-ucf-crime-small', 'gt-shanghaitech', 'gt-rtfm', 'gt-xd-violence', 'gt-manifest'],
  ],
  lists: ['lib/data/lists.ts', ['data-lists']],
  npy: ['lib/data/npy.ts', ['data-npy']],
};

const wanted = process.argv.slice(2);
const names = Object.keys(MODULES).filter((m) => wanted.length === 0 || wanted.includes(m));
const outDir = join(root, 'reports', 'mutation');
mkdirSync(outDir, { recursive: true });
const rows = [];
const started = Date.now();
for (const name of names) {
  const [file, tests, overrides = {}] = MODULES[name];
  const config = {
    ...base,
    ...overrides,
    mutate: [file],
    tap: { ...base.tap, testFiles: tests.map((t) => `test/${t}.test.ts`) },
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
    reporters: ['clear-text', 'json'],
    incremental: false,
  };
  const path = join(outDir, `stryker.${name}.json`);
  writeFileSync(path, JSON.stringify(config, null, 2));
  const t0 = Date.now();
  const r = spawnSync(
    process.execPath,
    [join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js'), 'run', path],
    {
      cwd: root,
      env: { ...process.env, MIST_TEST_TAP: '1' },
      encoding: 'utf8',
    },
  );
  writeFileSync(join(outDir, `${name}.log`), r.stdout + r.stderr);
  if (r.status !== 0) {
    console.log(`${name}: stryker failed (exit ${r.status}); see reports/mutation/${name}.log`);
    continue;
  }
  const report = JSON.parse(readFileSync(join(outDir, `${name}.json`), 'utf8'));
  const count = {};
  for (const f of Object.values(report.files)) for (const m of f.mutants) count[m.status] = (count[m.status] ?? 0) + 1;
  const killed = (count.Killed ?? 0) + (count.Timeout ?? 0);
  const valid = killed + (count.Survived ?? 0) + (count.NoCoverage ?? 0);
  const row = {
    module: file,
    mutants: valid,
    killed,
    survived: count.Survived ?? 0,
    noCoverage: count.NoCoverage ?? 0,
  };
  row.score = valid ? (100 * killed) / valid : 100;
  row.seconds = (Date.now() - t0) / 1000;
  rows.push(row);
  console.log(
    `${file}: ${row.score.toFixed(1)} % (${killed} killed of ${valid}, ${row.survived} survived, ` +
      `${row.noCoverage} without coverage) in ${row.seconds.toFixed(0)} s`,
  );
}
console.log(`\n| module | mutants | killed | survived | no coverage | score |`);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.module} | ${r.mutants} | ${r.killed} | ${r.survived} | ${r.noCoverage} | ${r.score.toFixed(1)} % |`,
  );
}
console.log(
  `\n${((Date.now() - started) / 60000).toFixed(1)} minutes in all; survivors: reports/mutation/<module>.log`,
);
