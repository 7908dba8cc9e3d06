// The shipping path: `npm run prebuild` packs the addon into prebuilds/ under its variant's name
// (mist-vad.cpu.torch1_13.glibc.node here, Debian's CPU LibTorch 1.13), `npm pack` makes the
// tarball, and the tarball installs into an empty folder and loads with PREBUILDS_ONLY=1 (no
// fallback to a compiled build/), with no compiler involved. A second variant packed beside it
// (a CUDA one, as a build machine with a CUDA LibTorch would add) is left alone.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { ROOT, tempDir, test } from './helpers.js';

function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  assert.is(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test('the packed tarball installs in an empty folder and loads the prebuild of its LibTorch variant', () => {
  sh('npm', ['run', 'prebuild'], ROOT);
  const prebuilt = join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
  const cpu = join(prebuilt, 'mist-vad.cpu.torch1_13.glibc.node');
  assert.ok(existsSync(cpu), 'prebuild wrote the cpu-torch1.13 binary');
  const record = JSON.parse(readFileSync(cpu.replace(/\.node$/, '.json'), 'utf8')) as Record<string, unknown>;
  assert.is(record.variant, 'cpu-torch1.13');
  assert.match(String(record.torchVersion), /^1\.13\./);
  assert.is(record.cuda, 0);
  // Another machine's variant beside it: must not be the one chosen on this CPU machine.
  const cuda = join(prebuilt, 'mist-vad.cuda12.torch2_5.glibc.node');
  copyFileSync(cpu, cuda);
  writeFileSync(cuda.replace(/\.node$/, '.json'), '{"variant": "cuda12-torch2.5"}\n');
  const { dir, cleanup } = tempDir('mist-pack-');
  try {
    const out = sh('npm', ['pack', '--pack-destination', dir], ROOT).trim().split('\n');
    const tarball = join(dir, out[out.length - 1]!);
    assert.ok(existsSync(tarball));
    const app = join(dir, 'app');
    sh('mkdir', ['-p', app], dir);
    sh('npm', ['init', '-y'], app);
    const installed = sh('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts', tarball], app, {
      PREBUILDS_ONLY: '1',
    });
    assert.match(installed, 'mist-vad: using the cpu-torch1.13 prebuild prebuilds/');
    const pkg = join(app, 'node_modules', 'mist-vad');
    assert.not.ok(existsSync(join(pkg, 'build')), 'nothing was compiled at install');
    assert.ok(
      existsSync(join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, 'mist-vad.cuda12.torch2_5.glibc.node')),
    );
    const script =
      "import('mist-vad').then(async (m) => { const i = m.info(); " +
      "const g = m.MilGenerator.create({ featureDim: 4, device: 'cpu' }); " +
      'const y = await g.forward(new Float32Array(8), 2); console.log(JSON.stringify({ v: i.torchVersion, n: y.length, addon: i.addon })); })';
    // PREBUILDS_ONLY: only prebuilds/ may load, never a compiled build/.
    const res = JSON.parse(sh(process.execPath, ['-e', script], app, { PREBUILDS_ONLY: '1' }).trim());
    assert.match(res.v, /^1\.13/);
    assert.is(res.n, 2);
    assert.is(res.addon.kind, 'prebuild');
    assert.is(res.addon.variant, 'cpu-torch1.13');
    assert.is(
      res.addon.file,
      join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, 'mist-vad.cpu.torch1_13.glibc.node'),
    );
    const cli = sh(process.execPath, [join(pkg, 'dist', 'cli', 'main.js'), 'info'], app, { PREBUILDS_ONLY: '1' });
    assert.match(cli, `addon         cpu-torch1.13 prebuild: ${res.addon.file}\n  because     found LibTorch 1.13`);
  } finally {
    cleanup();
    rmSync(join(ROOT, 'prebuilds'), { recursive: true, force: true });
    // prebuildify moves the binary out of build/Release: put the (up-to-date) build back.
    sh(process.execPath, [join(ROOT, 'scripts', 'build-native.cjs')], ROOT);
  }
});

test.run();
