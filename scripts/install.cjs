#!/usr/bin/env node
// npm install hook: use a matching prebuilt binary (prebuilds/) or an existing build when it
// loads; otherwise build from source, after checking that a compiler, CMake and LibTorch are
// there, and saying how to install whichever is missing.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function tryLoad() {
  if (process.env.MIST_FORCE_BUILD) return false;
  try {
    const addon = require('node-gyp-build')(root);
    const info = addon.info();
    console.log(`mist-vad: using the prebuilt addon (LibTorch ${info.torchVersion}, CUDA ${info.cudaAvailable})`);
    return true;
  } catch (e) {
    if (process.env.PREBUILDS_ONLY) {
      console.error(`mist-vad: PREBUILDS_ONLY is set but no prebuilt binary loads: ${e.message}`);
      process.exit(1);
    }
    return false;
  }
}

function has(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

function libtorchCandidates() {
  const c = [];
  if (process.env.LIBTORCH) c.push(path.join(process.env.LIBTORCH, 'share', 'cmake', 'Torch'));
  if (process.env.Torch_DIR) c.push(process.env.Torch_DIR);
  for (const p of (process.env.CMAKE_PREFIX_PATH || '').split(':').filter(Boolean)) {
    c.push(path.join(p, 'Torch'), path.join(p, 'share', 'cmake', 'Torch'));
  }
  const py = spawnSync('python3', ['-c', 'import torch.utils; print(torch.utils.cmake_prefix_path)'], {
    encoding: 'utf8',
  });
  if (py.status === 0 && py.stdout.trim()) c.push(path.join(py.stdout.trim(), 'Torch'));
  c.push(
    '/usr/lib/x86_64-linux-gnu/cmake/Torch',
    '/usr/lib/aarch64-linux-gnu/cmake/Torch',
    '/usr/share/cmake/Torch',
    '/usr/local/share/cmake/Torch',
    '/usr/lib/cmake/Torch',
  );
  return c;
}

function fail(what, how) {
  console.error(`\nmist-vad: cannot build the native addon: ${what} is missing.\n  Install it with: ${how}\n`);
  process.exit(1);
}

if (tryLoad()) process.exit(0);
if (!has('c++') && !has('g++')) fail('a C++17 compiler', 'sudo apt-get install -y g++');
if (!has('cmake')) fail('CMake (3.18 or newer)', 'sudo apt-get install -y cmake');
if (!libtorchCandidates().some((d) => fs.existsSync(path.join(d, 'TorchConfig.cmake')))) {
  fail(
    'LibTorch',
    'sudo apt-get install -y libtorch-dev libopenblas0-pthread\n  (or download LibTorch from pytorch.org and set LIBTORCH=/path/to/libtorch)',
  );
}
console.log('mist-vad: no prebuilt binary fits this machine; building from source (a few minutes)');
const r = spawnSync(process.execPath, [path.join(__dirname, 'build-native.cjs')], { cwd: root, stdio: 'inherit' });
process.exit(r.status || 0);
