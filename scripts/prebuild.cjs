#!/usr/bin/env node
// npm run prebuild: packs the addon for the LibTorch of this machine into prebuilds/, named
// with its variant so that the variants of several build machines sit side by side
// (mist-vad.cpu.torch1_13.glibc.node, mist-vad.cuda12.torch2_5.glibc.node), each with a JSON
// beside it. prebuildify does the build (through binding.gyp) and the naming: its --name
// carries the variant tags, --tag-libc adds the libc tag node-gyp-build matches on.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const variants = require('./libtorch-variant.cjs');

const root = path.resolve(__dirname, '..');

function fail(message) {
  console.error(`mist-vad: cannot pack a prebuild: ${message}`);
  process.exit(1);
}

const lookup = variants.findLibtorch();
if (!lookup.libtorch) fail(lookup.error ?? `no LibTorch found (${lookup.looked})`);
const want = variants.variantOf(lookup.libtorch);
if (!want) fail(`the version of ${variants.describeLibtorch(lookup.libtorch)} is unknown`);
const id = variants.variantId(want);
const name = variants.prebuildName(want);
console.log(`mist-vad: packing the ${id} prebuild for ${variants.describeLibtorch(lookup.libtorch)}`);

const r = spawnSync(
  process.execPath,
  [require.resolve('prebuildify/bin.js'), '--napi', '--strip', '--tag-libc', '--name', name],
  { cwd: root, stdio: 'inherit' },
);
if (r.status !== 0) fail(`prebuildify exited with ${r.status}`);

const dir = path.join(root, 'prebuilds', `${os.platform()}-${os.arch()}`);
const file = fs.readdirSync(dir).find((f) => f.startsWith(`${name}.`) && f.endsWith('.node'));
if (!file) fail(`prebuildify left no ${name}.*.node in ${dir}`);
// The build's own record says which LibTorch it really linked: it must be the variant named.
const info = JSON.parse(fs.readFileSync(path.join(root, 'build', 'Release', 'mist-build-info.json'), 'utf8'));
const cudaVersion = info.cudaVersion || lookup.libtorch.cudaVersion;
const built = variants.variantOf({ version: info.torchVersion, cuda: Boolean(info.cuda), cudaVersion });
if (!built || variants.variantId(built) !== id) {
  fs.rmSync(path.join(dir, file));
  const what = built ? variants.variantId(built) : 'unknown variant';
  fail(`the build linked LibTorch ${info.torchVersion} from ${info.torchDir} (${what}), not ${id}`);
}
const sidecar = { ...info, cudaVersion: cudaVersion || null, variant: id, libtorchVersion: lookup.libtorch.version };
fs.writeFileSync(path.join(dir, file.replace(/\.node$/, '.json')), `${JSON.stringify(sidecar, null, 2)}\n`);
console.log(`mist-vad: packed ${path.relative(root, path.join(dir, file))} (${id})`);
