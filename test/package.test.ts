// The shipping path: `npm run prebuild` packs the addon into prebuilds/, `npm pack` makes the
// tarball, and the tarball installs into an empty folder and loads with PREBUILDS_ONLY=1
// (node-gyp-build refuses to fall back to a compiled build/), with no compiler involved.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { ROOT, tempDir, test } from './helpers.js';

function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  assert.is(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test('the packed tarball installs in an empty folder and loads from prebuilds/', () => {
  sh('npm', ['run', 'prebuild'], ROOT);
  const prebuilt = join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
  assert.ok(
    readdirSync(prebuilt).some((f) => f.endsWith('.node')),
    'prebuildify wrote a binary',
  );
  const { dir, cleanup } = tempDir('mist-pack-');
  try {
    const out = sh('npm', ['pack', '--pack-destination', dir], ROOT).trim().split('\n');
    const tarball = join(dir, out[out.length - 1]!);
    assert.ok(existsSync(tarball));
    const app = join(dir, 'app');
    sh('mkdir', ['-p', app], dir);
    sh('npm', ['init', '-y'], app);
    sh('npm', ['install', '--no-audit', '--no-fund', tarball], app, { PREBUILDS_ONLY: '1' });
    const pkg = join(app, 'node_modules', 'mist-vad');
    assert.not.ok(existsSync(join(pkg, 'build')), 'nothing was compiled at install');
    const script =
      "import('mist-vad').then(async (m) => { const i = m.info(); " +
      "const g = m.MilGenerator.create({ featureDim: 4, device: 'cpu' }); " +
      'const y = await g.forward(new Float32Array(8), 2); console.log(JSON.stringify({ v: i.torchVersion, n: y.length })); })';
    // PATH without a compiler is not needed: PREBUILDS_ONLY makes node-gyp-build load only prebuilds/.
    const res = JSON.parse(sh(process.execPath, ['-e', script], app, { PREBUILDS_ONLY: '1' }).trim());
    assert.match(res.v, /^\d+\.\d+/);
    assert.is(res.n, 2);
  } finally {
    cleanup();
    rmSync(join(ROOT, 'prebuilds'), { recursive: true, force: true });
    // prebuildify moves the binary out of build/Release: put the (up-to-date) build back.
    sh(process.execPath, [join(ROOT, 'scripts', 'build-native.cjs')], ROOT);
  }
});

test.run();
