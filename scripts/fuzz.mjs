#!/usr/bin/env node
// Fuzzes the file readers and the option parsers for a while (the same properties as
// test/fuzz-readers.test.ts, which runs a bounded number of inputs of each):
//
//   node scripts/fuzz.mjs --seconds 10          # 10 s per target (about 6 minutes in all)
//   node scripts/fuzz.mjs --scale 20 --seed 7   # 20 times the suite's inputs, seed 7
//   node scripts/fuzz.mjs --targets npy,hdf5 --seconds 60
//
// Each finding (an exception that is not a coded MistError, a message that does not name the
// file, an invalid value, a hang, a crash) is printed and its input written under --out
// (default .scratch/fuzz-findings/). Exits 1 when something was found.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', join(root, 'test', 'fuzz-harness.ts'), ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
process.exit(r.status ?? 1);
