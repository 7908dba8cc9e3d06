#!/usr/bin/env node
// Builds the addon with cmake-js (the one real build) and copies the binary to the folder
// node-gyp-build searches (build/Release by default, or the folder given as argv[2], which
// is node-gyp's PRODUCT_DIR when binding.gyp runs this).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dest = path.resolve(process.argv[2] || path.join(root, 'build', 'Release'));
const out = path.join(root, 'build-cmake');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const args = [cmakeJs, 'compile', '--out', out];
if (process.env.MIST_DEBUG_BUILD) args.push('--debug');
const jobs = process.env.CMAKE_BUILD_PARALLEL_LEVEL || String(require('node:os').availableParallelism());
const r = spawnSync(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: jobs },
});
if (r.status !== 0) {
  console.error('mist-vad: the native build failed (see the messages above).');
  process.exit(r.status || 1);
}
const built = path.join(out, process.env.MIST_DEBUG_BUILD ? 'Debug' : 'Release');
fs.mkdirSync(dest, { recursive: true });
for (const f of ['mist_vad.node', 'mist-build-info.json']) {
  // Copy beside, then rename: a process that has the old binary loaded keeps its own copy
  // (overwriting a mapped shared object in place crashes whoever runs it).
  const tmp = path.join(dest, `.${f}.${process.pid}.tmp`);
  fs.copyFileSync(path.join(built, f), tmp);
  fs.renameSync(tmp, path.join(dest, f));
}
console.log(`mist-vad: built ${path.join(dest, 'mist_vad.node')}`);
