// Prebuilt binaries per LibTorch flavour (scripts/libtorch-variant.cjs): which LibTorch is found,
// in the build's order, what version and CUDA it has, and which prebuild that selects, on fake
// LibTorch installs and fake prebuild folders made here; then one real load of the real CPU
// binary as a prebuild, through a LibTorch folder other than the system's.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import * as assert from 'uvu/assert';

import variants from '../scripts/libtorch-variant.cjs';
import { ROOT, skip, tempDir, test } from './helpers.js';

const { dir: TMP, cleanup } = tempDir('mist-variants-');
test.after(cleanup);

const PLATFORM_DIR = `${process.platform}-${process.arch}`;
const nodeGypBuild = createRequire(import.meta.url)('node-gyp-build') as {
  parseTags(file: string): { libc?: string } | undefined;
};

function touch(file: string, text = ''): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

interface FakeTorch {
  /** TorchConfigVersion.cmake's PACKAGE_VERSION. */
  cmakeVersion: string;
  /** The content of build-version (LibTorch downloads), if any. */
  buildVersion?: string;
  cuda?: boolean;
  extraLibs?: string[];
}

/** A LibTorch download's layout: share/cmake/Torch, lib/, build-version. Returns its folder. */
function fakeDownload(name: string, t: FakeTorch): string {
  const dir = join(TMP, name);
  const cmake = join(dir, 'share', 'cmake', 'Torch');
  touch(join(cmake, 'TorchConfig.cmake'), '# fake\n');
  touch(join(cmake, 'TorchConfigVersion.cmake'), `set(PACKAGE_VERSION "${t.cmakeVersion}")\n`);
  if (t.buildVersion) touch(join(dir, 'build-version'), `${t.buildVersion}\n`);
  const libs = [
    'libtorch.so',
    'libc10.so',
    'libtorch_cpu.so',
    ...(t.cuda ? ['libtorch_cuda.so', 'libc10_cuda.so'] : []),
  ];
  for (const lib of [...libs, ...(t.extraLibs ?? [])]) touch(join(dir, 'lib', lib));
  return dir;
}

/** Debian's layout: <libdir>/cmake/Torch beside versioned libraries. Returns the cmake folder. */
function fakeDebian(name: string, version: string): string {
  const libdir = join(TMP, name, 'usr', 'lib', 'x86_64-linux-gnu');
  const cmake = join(libdir, 'cmake', 'Torch');
  touch(join(cmake, 'TorchConfig.cmake'), '# fake\n');
  touch(join(cmake, 'TorchConfigVersion.cmake'), `set(PACKAGE_VERSION "${version}")\n`);
  touch(join(libdir, 'libtorch.so.1.13'));
  return cmake;
}

/** A Python torch package (PYTHONPATH=<returned folder>), never imported: version.py is read. */
function fakePythonTorch(name: string, versionPy: string, cuda: boolean): string {
  const site = join(TMP, name);
  const torch = join(site, 'torch');
  touch(join(torch, '__init__.py'), 'raise ImportError("a fake torch must not be imported")\n');
  touch(join(torch, 'version.py'), versionPy);
  touch(join(torch, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '# fake\n');
  touch(join(torch, 'lib', 'libtorch.so'));
  if (cuda) touch(join(torch, 'lib', 'libtorch_cuda.so'));
  return site;
}

/** A package root whose prebuilds/ holds these (empty) files. */
function fakePackage(name: string, files: string[]): string {
  const root = join(TMP, name);
  touch(join(root, 'package.json'), '{"name":"mist-vad"}\n');
  for (const f of files) touch(join(root, 'prebuilds', PLATFORM_DIR, f));
  return root;
}

/** This process's environment without anything that steers the LibTorch lookup or the choice. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of [
    'LIBTORCH',
    'Torch_DIR',
    'CMAKE_PREFIX_PATH',
    'MIST_SKIP_PYTHON_TORCH',
    'PREBUILDS_ONLY',
    'MIST_ADDON_PATH',
  ])
    delete env[k];
  delete env.MIST_PREBUILD_VARIANT;
  return { ...env, ...extra };
}

// Nothing of this machine leaks in: no Python torch, no system LibTorch unless a test adds one.
const NO_PYTHON = { MIST_SKIP_PYTHON_TORCH: '1' };
const NO_SYSTEM: string[] = [join(TMP, 'no-system')];

const CPU_113 = 'mist-vad.cpu.torch1_13.glibc.node';
const CPU_25 = 'mist-vad.cpu.torch2_5.glibc.node';
const CUDA12_25 = 'mist-vad.cuda12.torch2_5.glibc.node';

const cuda251 = fakeDownload('libtorch-2.5.1-cu124', {
  cmakeVersion: '2.5.1',
  buildVersion: '2.5.1+cu124',
  cuda: true,
});
const cpu250 = fakeDownload('libtorch-2.5.0-cpu', { cmakeVersion: '2.5.0', buildVersion: '2.5.0+cpu' });
const cpu210 = fakeDownload('libtorch-2.1.0-cpu', { cmakeVersion: '2.1.0' });

test('variant names: prebuildify --name tags that node-gyp-build still parses (libc) and ignores (ours)', () => {
  assert.is(variants.prebuildName({ torch: '1.13', cuda: null }), 'mist-vad.cpu.torch1_13');
  assert.is(variants.prebuildName({ torch: '2.5', cuda: '12' }), 'mist-vad.cuda12.torch2_5');
  assert.equal(variants.variantOfFile(CUDA12_25), { torch: '2.5', cuda: '12' });
  assert.equal(variants.variantOfFile(`/x/${CPU_113}`), { torch: '1.13', cuda: null });
  assert.is(variants.variantOfFile('mist-vad.glibc.node'), null);
  assert.is(variants.variantId({ torch: '2.11', cuda: '13' }), 'cuda13-torch2.11');
  assert.equal(variants.parseVariantId('cuda13-torch2.11'), { torch: '2.11', cuda: '13' });
  assert.is(variants.parseVariantId('cuda-torch2'), null);
  assert.is(nodeGypBuild.parseTags(CPU_113)?.libc, 'glibc');
});

test('version and CUDA come from the files of the install', () => {
  const cuda = variants.describeInstall(join(cuda251, 'share', 'cmake', 'Torch'), 'LIBTORCH')!;
  assert.is(cuda.version, '2.5.1+cu124');
  assert.is(cuda.versionFrom, join(cuda251, 'build-version'));
  assert.is(cuda.libDir, join(cuda251, 'lib'));
  assert.is(cuda.cuda, true);
  assert.is(cuda.cudaVersion, '12.4');
  const cpu = variants.describeInstall(join(cpu210, 'share', 'cmake', 'Torch'), 'LIBTORCH')!;
  assert.is(cpu.version, '2.1.0');
  assert.is(cpu.versionFrom, join(cpu210, 'share', 'cmake', 'Torch', 'TorchConfigVersion.cmake'));
  assert.is(cpu.cuda, false);
  assert.is(cpu.cudaVersion, null);
  // No build-version: only libcudart's soname tells the CUDA major; without it, nothing does.
  const cudart = fakeDownload('cudart-only', {
    cmakeVersion: '2.4.0',
    cuda: true,
    extraLibs: ['libcudart-9335f6a2.so.12'],
  });
  assert.is(variants.describeInstall(join(cudart, 'share', 'cmake', 'Torch'), 'LIBTORCH')!.cudaVersion, '12');
  const unknown = fakeDownload('cuda-unknown', { cmakeVersion: '2.4.0', cuda: true });
  assert.is(variants.describeInstall(join(unknown, 'share', 'cmake', 'Torch'), 'LIBTORCH')!.cudaVersion, null);
  const debian = variants.describeInstall(fakeDebian('debian', '1.13.0'), 'system')!;
  assert.is(debian.libDir, join(TMP, 'debian', 'usr', 'lib', 'x86_64-linux-gnu'));
  assert.is(debian.version, '1.13.0');
  assert.is(variants.describeInstall(join(TMP, 'nothing-here'), 'system'), null);
});

test('exact match: a CUDA 12 LibTorch 2.5 loads the cuda12-torch2.5 prebuild, not the CPU one listed first', () => {
  const root = fakePackage('pkg-both-25', [CPU_25, CUDA12_25]);
  const r = variants.resolveAddon(root, { env: cleanEnv({ LIBTORCH: cuda251, ...NO_PYTHON }), systemDirs: NO_SYSTEM });
  assert.is(r.kind, 'prebuild');
  if (r.kind === 'none') return;
  assert.is(r.file, join(root, 'prebuilds', PLATFORM_DIR, CUDA12_25));
  assert.is(r.variant, 'cuda12-torch2.5');
  assert.is(
    r.reason,
    `found LibTorch 2.5.1+cu124 (CUDA 12.4) at ${join(cuda251, 'share', 'cmake', 'Torch')} (LIBTORCH)`,
  );
  assert.is(r.preload, join(cuda251, 'lib'));
});

test('a CPU LibTorch with CPU and CUDA prebuilds of its version gets the CPU one', () => {
  const root = fakePackage('pkg-both-25', [CPU_25, CUDA12_25]);
  const env = cleanEnv({ Torch_DIR: join(cpu250, 'share', 'cmake', 'Torch'), ...NO_PYTHON });
  const r = variants.resolveAddon(root, { env, systemDirs: NO_SYSTEM });
  assert.is(r.kind === 'prebuild' && r.file, join(root, 'prebuilds', PLATFORM_DIR, CPU_25));
  assert.is(r.kind === 'prebuild' && r.variant, 'cpu-torch2.5');
});

test('a CUDA LibTorch with only a CPU prebuild: no match, and the message offers MIST_PREBUILD_VARIANT', () => {
  const root = fakePackage('pkg-cpu-25', [CPU_25]);
  const env = cleanEnv({ LIBTORCH: cuda251, ...NO_PYTHON });
  const r = variants.resolveAddon(root, { env, systemDirs: NO_SYSTEM });
  assert.is(r.kind, 'none');
  assert.is(
    r.kind === 'none' && r.message,
    `found LibTorch 2.5.1+cu124 (CUDA 12.4) at ${join(cuda251, 'share', 'cmake', 'Torch')} (LIBTORCH); ` +
      'it needs cuda12-torch2.5; prebuilds have: cpu-torch2.5; the cpu-torch2.5 prebuild would run without CUDA ' +
      '(set MIST_PREBUILD_VARIANT=cpu-torch2.5 to use it anyway)',
  );
  const forced = variants.resolveAddon(root, { env: { ...env, MIST_PREBUILD_VARIANT: 'cpu-torch2.5' } });
  assert.is(forced.kind === 'prebuild' && forced.file, join(root, 'prebuilds', PLATFORM_DIR, CPU_25));
  assert.is(forced.kind === 'prebuild' && forced.reason, 'MIST_PREBUILD_VARIANT=cpu-torch2.5');
  assert.is(forced.kind === 'prebuild' && forced.preload, join(cuda251, 'lib'));
  // Forced onto another LibTorch version: the one found is not loaded beside it.
  const other = fakePackage('pkg-cpu-113', [CPU_113]);
  const mixed = variants.resolveAddon(other, { env: { ...env, MIST_PREBUILD_VARIANT: 'cpu-torch1.13' } });
  assert.is(mixed.kind === 'prebuild' && mixed.file, join(other, 'prebuilds', PLATFORM_DIR, CPU_113));
  assert.is(mixed.kind === 'prebuild' && mixed.preload, null);
  const absent = variants.resolveAddon(root, { env: { ...env, MIST_PREBUILD_VARIANT: 'cuda13-torch2.11' } });
  assert.is(
    absent.kind === 'none' && absent.message,
    'MIST_PREBUILD_VARIANT=cuda13-torch2.11 names no prebuild; prebuilds have: cpu-torch2.5',
  );
  assert.throws(
    () => variants.resolveAddon(root, { env: { ...env, MIST_PREBUILD_VARIANT: 'torch2.5' } }),
    /MIST_PREBUILD_VARIANT must look like cpu-torch1.13 or cuda12-torch2.5, got 'torch2.5'/,
  );
});

test('version mismatch: LibTorch 2.1 against prebuilds for 1.13 and 2.5 is no match; a patch level is', () => {
  const root = fakePackage('pkg-113-25', [CPU_113, CUDA12_25, 'mist-vad.glibc.node']);
  const system = join(cpu210, 'share', 'cmake', 'Torch');
  const r = variants.resolveAddon(root, { env: cleanEnv(NO_PYTHON), systemDirs: [system] });
  assert.is(
    r.kind === 'none' && r.message,
    `found LibTorch 2.1.0 (CPU) at ${system} (system); it needs cpu-torch2.1; ` +
      'prebuilds have: cpu-torch1.13, cuda12-torch2.5, mist-vad.glibc.node (no variant tags)',
  );
  const debian = fakeDebian('debian-1131', '1.13.1');
  const ok = variants.resolveAddon(root, { env: cleanEnv(NO_PYTHON), systemDirs: [debian] });
  assert.is(ok.kind === 'prebuild' && ok.file, join(root, 'prebuilds', PLATFORM_DIR, CPU_113));
  const unknown = fakeDownload('cuda-unknown-2', { cmakeVersion: '2.5.1', cuda: true });
  const u = variants.resolveAddon(root, { env: cleanEnv({ LIBTORCH: unknown, ...NO_PYTHON }) });
  assert.match(u.kind === 'none' ? u.message : '', /\(CUDA version unknown\) at .*, but its CUDA version is unknown;/);
});

test('lookup order: LIBTORCH, then Torch_DIR, then CMAKE_PREFIX_PATH, then a Python torch, then the system', () => {
  const lib = fakeDownload('order-libtorch', { cmakeVersion: '2.3.0' });
  const dir = fakeDownload('order-torch-dir', { cmakeVersion: '2.2.0' });
  const prefix = fakeDownload('order-prefix', { cmakeVersion: '2.4.0' });
  const site = fakePythonTorch(
    'order-python',
    "__version__ = '2.1.0+cu121'\ndebug = False\ncuda: Optional[str] = '12.1'\n",
    true,
  );
  const system = [join(fakeDownload('order-system', { cmakeVersion: '2.0.0' }), 'share', 'cmake', 'Torch')];
  const all = {
    LIBTORCH: lib,
    Torch_DIR: join(dir, 'share', 'cmake', 'Torch'),
    CMAKE_PREFIX_PATH: `${join(TMP, 'nothing')}:${join(prefix, 'share', 'cmake')}`,
    PYTHONPATH: site,
  };
  const find = (env: Record<string, string>) => variants.findLibtorch({ env: cleanEnv(env), systemDirs: system });
  const seen = (env: Record<string, string>) => {
    const t = find(env).libtorch;
    return t && `${t.source} ${t.version}`;
  };
  assert.is(seen(all), 'LIBTORCH 2.3.0');
  const { LIBTORCH: _l, ...noLibtorch } = all;
  assert.is(seen(noLibtorch), 'Torch_DIR 2.2.0');
  const { Torch_DIR: _d, ...noDir } = noLibtorch;
  assert.is(seen(noDir), 'CMAKE_PREFIX_PATH 2.4.0');
  const { CMAKE_PREFIX_PATH: _p, ...noPrefix } = noDir;
  const py = find(noPrefix).libtorch!;
  assert.is(`${py.source} ${py.version} ${py.cudaVersion}`, 'python torch 2.1.0+cu121 12.1');
  assert.is(py.cmakeDir, join(site, 'torch', 'share', 'cmake', 'Torch'));
  assert.is(seen({ ...noPrefix, ...NO_PYTHON }), 'system 2.0.0');
  // A Torch_DIR without TorchConfig.cmake falls through, as CMake's find_package does ...
  assert.is(seen({ ...noDir, Torch_DIR: join(TMP, 'nothing') }), 'CMAKE_PREFIX_PATH 2.4.0');
  // ... but a LIBTORCH without LibTorch stops the lookup, as it stops the build.
  const bad = find({ ...all, LIBTORCH: join(TMP, 'nothing') });
  assert.is(bad.libtorch, null);
  assert.is(
    bad.error,
    `LIBTORCH=${join(TMP, 'nothing')} holds no LibTorch (expected ${join(TMP, 'nothing', 'share', 'cmake', 'Torch', 'TorchConfig.cmake')})`,
  );
  const noPython = join(TMP, 'no-python3');
  const nowhere = variants.findLibtorch({
    env: cleanEnv({ Torch_DIR: join(TMP, 'nothing') }),
    python: noPython,
    systemDirs: NO_SYSTEM,
  });
  assert.is(
    nowhere.looked,
    `LIBTORCH, CMAKE_PREFIX_PATH unset; no TorchConfig.cmake in Torch_DIR=${join(TMP, 'nothing')}; ` +
      `${noPython} has no torch; none of ${NO_SYSTEM[0]}`,
  );
  const none = variants.findLibtorch({ env: cleanEnv(NO_PYTHON), systemDirs: NO_SYSTEM });
  assert.is(none.libtorch, null);
  assert.is(
    none.looked,
    `LIBTORCH, Torch_DIR, CMAKE_PREFIX_PATH unset; MIST_SKIP_PYTHON_TORCH is set; none of ${NO_SYSTEM[0]}`,
  );
});

/** A package root whose scripts/ are copies of the real install hook and variant module. */
function installablePackage(name: string, files: string[]): string {
  const root = fakePackage(name, files);
  for (const f of ['install.cjs', 'libtorch-variant.cjs']) {
    mkdirSync(join(root, 'scripts'), { recursive: true });
    copyFileSync(join(ROOT, 'scripts', f), join(root, 'scripts', f));
  }
  return root;
}

function runInstall(root: string, env: Record<string, string>) {
  return spawnSync(process.execPath, [join(root, 'scripts', 'install.cjs')], {
    cwd: root,
    encoding: 'utf8',
    env: cleanEnv({ NODE_PATH: join(ROOT, 'node_modules'), PREBUILDS_ONLY: '1', ...NO_PYTHON, ...env }),
  });
}

test('PREBUILDS_ONLY: the install hook fails saying what it found and what the prebuilds have', () => {
  const root = installablePackage('pkg-install', [CPU_113]);
  const r = runInstall(root, { LIBTORCH: cuda251 });
  assert.is(r.status, 1);
  assert.is(
    r.stderr.trim(),
    'mist-vad: PREBUILDS_ONLY is set but no prebuilt binary fits: found LibTorch 2.5.1+cu124 (CUDA 12.4) at ' +
      `${join(cuda251, 'share', 'cmake', 'Torch')} (LIBTORCH); it needs cuda12-torch2.5; prebuilds have: cpu-torch1.13`,
  );
  // A prebuild that fits but does not load (its LibTorch here is empty files) fails too, saying why.
  const fake113 = fakeDownload('libtorch-1.13-empty', { cmakeVersion: '1.13.0' });
  const broken = runInstall(root, { LIBTORCH: fake113 });
  assert.is(broken.status, 1);
  assert.match(
    broken.stderr,
    `PREBUILDS_ONLY is set but no prebuilt binary fits: cannot load ${join(fake113, 'lib', 'libc10.so')}: `,
  );
});

test('lib/native.ts: no fitting prebuild is ERR_MIST_NATIVE with the same words', () => {
  const script =
    "import('./lib/native.ts').then((m) => m.native()).catch((e) => { console.log(`${e.code} ${e.message}`); })";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: cleanEnv({ LIBTORCH: cuda251, PREBUILDS_ONLY: '1' }),
  });
  assert.match(
    r.stdout,
    'ERR_MIST_NATIVE the mist-vad native addon could not be loaded (no prebuilt binary fits this machine: found ' +
      `LibTorch 2.5.1+cu124 (CUDA 12.4) at ${join(cuda251, 'share', 'cmake', 'Torch')} (LIBTORCH); it needs cuda12-torch2.5; prebuilds have: `,
  );
});

test('a real CPU binary loads as the cpu-torch1.13 prebuild, with the LibTorch of LIBTORCH rather than its RUNPATH', () => {
  const candidates = [join(ROOT, 'build', 'Release', 'mist_vad.node'), join(ROOT, 'prebuilds', PLATFORM_DIR, CPU_113)];
  const binary = candidates.find((f) => existsSync(f));
  const system = '/usr/lib/x86_64-linux-gnu';
  if (!binary || !existsSync(join(system, 'libtorch_cpu.so.1.13'))) {
    skip(`${candidates.join(' or ')}, and Debian's libtorch1.13`);
    return;
  }
  const root = fakePackage('pkg-real', []);
  mkdirSync(join(root, 'prebuilds', PLATFORM_DIR), { recursive: true });
  copyFileSync(binary, join(root, 'prebuilds', PLATFORM_DIR, CPU_113));
  // A LibTorch folder of its own: copies of Debian's libraries, laid out as Debian does.
  const lib = fakeDownload('libtorch-1.13-copy', { cmakeVersion: '1.13.0' });
  for (const so of ['libc10.so.1.13', 'libtorch_cpu.so.1.13', 'libtorch.so.1.13']) {
    copyFileSync(join(system, so), join(lib, 'lib', so));
  }
  for (const so of ['libc10.so', 'libtorch_cpu.so', 'libtorch.so']) {
    rmSync(join(lib, 'lib', so));
    symlinkSync(`${so}.1.13`, join(lib, 'lib', so));
  }
  const script = [
    `const v = require(${JSON.stringify(join(ROOT, 'scripts', 'libtorch-variant.cjs'))});`,
    `const { addon, origin } = v.loadAddon(${JSON.stringify(root)});`,
    "const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');",
    "const mapped = [...new Set(maps.split('\\n').map((l) => l.slice(l.indexOf('/'))).filter((p) => /libtorch_cpu/.test(p)))];",
    'console.log(JSON.stringify({ origin, torch: addon.info().torchVersion, mapped }));',
  ].join('\n');
  const r = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: cleanEnv({ LIBTORCH: lib, PREBUILDS_ONLY: '1', ...NO_PYTHON }),
  });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { origin: Record<string, string>; torch: string; mapped: string[] };
  assert.is(out.origin.kind, 'prebuild');
  assert.is(out.origin.variant, 'cpu-torch1.13');
  assert.is(out.origin.file, join(root, 'prebuilds', PLATFORM_DIR, CPU_113));
  assert.match(out.torch, /^1\.13/);
  assert.equal(out.mapped, [join(lib, 'lib', 'libtorch_cpu.so.1.13')]);
});

test('mist info says which binary loaded, from which file, and why', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', 'info'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: cleanEnv(),
  });
  assert.is(r.status, 0, r.stderr);
  const local = join(ROOT, 'build', 'Release', 'mist_vad.node');
  if (existsSync(local)) {
    assert.match(r.stdout, `\naddon         cpu-torch1.13 local build: ${local}\n`);
    assert.match(
      r.stdout,
      '\n  because     a local build (build/Release) is used before prebuilds/ unless PREBUILDS_ONLY is set\n',
    );
  } else {
    assert.match(
      r.stdout,
      `\naddon         cpu-torch1.13 prebuild: ${join(ROOT, 'prebuilds', PLATFORM_DIR, CPU_113)}\n`,
    );
    assert.match(r.stdout, /\n {2}because {5}found LibTorch 1\.13\.\d+ \(CPU\) at \S+ \(\w[\w ]*\)\n/);
  }
});

test('MIST_ADDON_PATH names the binary outright (a build in another folder); a relative path is refused', () => {
  const root = fakePackage('pkg-addon-path', [CPU_25]);
  const file = join(TMP, 'elsewhere', 'Release', 'mist_vad.node');
  touch(file);
  touch(join(dirname(file), 'mist-build-info.json'), JSON.stringify({ torchVersion: '1.13.0', cuda: 0 }));
  const r = variants.resolveAddon(root, { env: cleanEnv({ MIST_ADDON_PATH: file, PREBUILDS_ONLY: '1' }) });
  assert.is(r.kind, 'build');
  assert.is(r.kind === 'build' && r.file, file);
  assert.is(r.kind === 'build' && r.variant, 'cpu-torch1.13');
  assert.is(r.kind === 'build' && r.reason, `MIST_ADDON_PATH=${file}`);
  assert.throws(
    () => variants.resolveAddon(root, { env: cleanEnv({ MIST_ADDON_PATH: 'build-asan/mist_vad.node' }) }),
    /MIST_ADDON_PATH must be an absolute path to a \.node file, got 'build-asan\/mist_vad\.node'/,
  );
});

test.run();
