#!/usr/bin/env node
// npm install hook: use a local build, or the prebuilt binary of the LibTorch variant found
// here (scripts/libtorch-variant.cjs), when it loads; otherwise build from source, after
// checking that a compiler, CMake and LibTorch are there, and saying how to install whichever
// is missing. PREBUILDS_ONLY turns "build from source" into a failure that says what was found
// and what the prebuilds offer.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const variants = require('./libtorch-variant.cjs');

const root = path.resolve(__dirname, '..');

// True when a binary loads; false when a build from source is needed (after saying why); exits
// when PREBUILDS_ONLY forbids that build.
function tryLoad() {
  if (process.env.MIST_FORCE_BUILD) return false;
  const noPrebuild = (why) => {
    if (process.env.PREBUILDS_ONLY) {
      console.error(`mist-vad: PREBUILDS_ONLY is set but no prebuilt binary fits: ${why}`);
      process.exit(1);
    }
    console.log(`mist-vad: no prebuilt binary fits this machine: ${why}`);
    return false;
  };
  let r;
  try {
    r = variants.resolveAddon(root);
  } catch (e) {
    console.error(`mist-vad: ${e.message}`);
    process.exit(1);
  }
  if (r.kind === 'none') return noPrebuild(r.message);
  try {
    const { addon, origin } = variants.loadResolved(r);
    const info = addon.info();
    const what = origin.kind === 'build' ? 'the local build' : `the ${origin.variant} prebuild`;
    console.log(
      `mist-vad: using ${what} ${path.relative(root, origin.file)} (LibTorch ${info.torchVersion}, CUDA ${info.cudaAvailable})`,
    );
    if (origin.kind === 'prebuild') console.log(`  because: ${origin.reason}`);
    return true;
  } catch (e) {
    return noPrebuild(e.message);
  }
}

function has(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

function fail(what, how) {
  console.error(`\nmist-vad: cannot build the native addon: ${what} is missing.\n  Install it with: ${how}\n`);
  process.exit(1);
}

if (tryLoad()) process.exit(0);
if (!has('c++') && !has('g++')) fail('a C++17 compiler', 'sudo apt-get install -y g++');
if (!has('cmake')) fail('CMake (3.18 or newer)', 'sudo apt-get install -y cmake');
const lookup = variants.findLibtorch();
if (lookup.error) {
  console.error(`\nmist-vad: cannot build the native addon: ${lookup.error}\n`);
  process.exit(1);
}
if (!lookup.libtorch) {
  fail(
    'LibTorch',
    'sudo apt-get install -y libtorch-dev libopenblas0-pthread\n  (or download LibTorch from pytorch.org and set LIBTORCH=/path/to/libtorch)',
  );
}
console.log(`mist-vad: building from source against ${variants.describeLibtorch(lookup.libtorch)} (a few minutes)`);
const r = spawnSync(process.execPath, [path.join(__dirname, 'build-native.cjs')], { cwd: root, stdio: 'inherit' });
process.exit(r.status || 0);
