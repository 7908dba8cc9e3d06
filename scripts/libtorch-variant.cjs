// Which build of the addon fits this machine. A binary is tied to the LibTorch it was linked
// against (LibTorch has no stable C++ ABI across minor versions, and a CUDA build needs
// libtorch_cuda), so prebuilds/<platform>-<arch>/ holds one binary per variant, named with
// node-gyp-build-style tags: mist-vad.cpu.torch1_13.glibc.node, mist-vad.cuda12.torch2_5.glibc.node,
// each with a JSON beside it (its mist-build-info.json plus the variant).
//
// node-gyp-build ignores tags it does not know, so on its own it would load whichever variant
// it lists first; this module keeps its folder and libc/runtime matching (parseTuple,
// parseTags, matchTags) and adds the LibTorch match. The install hook (scripts/install.cjs),
// the packing script (scripts/prebuild.cjs) and the loader (lib/native.ts) all use it, so they
// find the same LibTorch, in the order the build (CMakeLists.txt) does.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const nodeGypBuild = require('node-gyp-build');

const NAME = 'mist-vad';
const SYSTEM_TORCH_DIRS = [
  '/usr/lib/x86_64-linux-gnu/cmake/Torch',
  '/usr/lib/aarch64-linux-gnu/cmake/Torch',
  '/usr/share/cmake/Torch',
  '/usr/local/share/cmake/Torch',
  '/usr/lib/cmake/Torch',
];
// glibc's RTLD_NODELETE (os.constants.dlopen does not list it): a preloaded LibTorch must stay
// mapped although process.dlopen() closes a library that registers no addon.
const RTLD_NODELETE = 0x01000;

function nonEmpty(env, name) {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function readFirstLine(file) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n')[0].trim() || undefined;
  } catch {
    return undefined;
  }
}

function listDir(dir) {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

// ---- Variants ----------------------------------------------------------------------------------

/** 'cpu-torch1.13' / 'cuda12-torch2.5' for { torch: '1.13', cuda: null } / { torch: '2.5', cuda: '12' }. */
function variantId(v) {
  return `${v.cuda ? `cuda${v.cuda}` : 'cpu'}-torch${v.torch}`;
}

/** The variant of an id ('cuda12-torch2.5'), or null when it is not one. */
function parseVariantId(id) {
  const m = /^(?:cpu|cuda(\d+))-torch(\d+\.\d+)$/.exec(id);
  return m ? { torch: m[2], cuda: m[1] ?? null } : null;
}

/**
 * The variant a LibTorch (or a build of the addon) needs: { torch: 'major.minor', cuda: CUDA
 * major or null }, from { version, cuda, cudaVersion }; null when the version, or for a CUDA
 * LibTorch the CUDA version, is unknown. The patch level is left out: LibTorch keeps its ABI
 * within a minor series, and CUDA within a major one (the soname is libcudart.so.<major>).
 */
function variantOf(t) {
  const m = /^(\d+)\.(\d+)/.exec(t.version || '');
  if (!m) return null;
  const cuda = t.cuda ? /^(\d+)/.exec(t.cudaVersion || '')?.[1] : null;
  if (cuda === undefined) return null;
  return { torch: `${m[1]}.${m[2]}`, cuda };
}

/** prebuildify's --name for a variant: the package name, then the variant's two tags. */
function prebuildName(v) {
  return [NAME, v.cuda ? `cuda${v.cuda}` : 'cpu', `torch${v.torch.replace('.', '_')}`].join('.');
}

/** The variant in a prebuild's file name tags (the dot in 1.13 is written 1_13), or null. */
function variantOfFile(file) {
  const tags = path.basename(file).split('.').slice(0, -1);
  const flavour = tags.map((t) => /^(?:cpu|cuda(\d+))$/.exec(t)).find(Boolean);
  const torch = tags.map((t) => /^torch(\d+)_(\d+)$/.exec(t)).find(Boolean);
  return flavour && torch ? { torch: `${torch[1]}.${torch[2]}`, cuda: flavour[1] ?? null } : null;
}

// ---- The LibTorch of this machine --------------------------------------------------------------

// Debian puts the libraries two levels above cmake/Torch; LibTorch folders and Python wheels
// put them in <prefix>/lib, three levels above share/cmake/Torch.
function libDirOf(cmakeDir) {
  for (const d of [path.resolve(cmakeDir, '../../../lib'), path.resolve(cmakeDir, '../..')]) {
    if (listDir(d).some((f) => /^lib(torch|c10)\.so/.test(f))) return d;
  }
  return null;
}

function cudaVersionOfTag(version) {
  const m = /\+cu(\d+)(\d)$/.exec(version || '');
  return m ? `${m[1]}.${m[2]}` : undefined;
}

/**
 * What the LibTorch whose TorchConfig.cmake is in `cmakeDir` is, or null when there is none.
 * The version is read from the files of the install, first found wins: `known` (a Python
 * torch's version.py), <prefix>/build-version and version.txt (LibTorch downloads:
 * '2.5.1+cu124'), TorchConfigVersion.cmake. CUDA: libtorch_cuda / libc10_cuda beside libtorch.
 */
function describeInstall(cmakeDir, source, known = {}) {
  if (!fs.existsSync(path.join(cmakeDir, 'TorchConfig.cmake'))) return null;
  const prefix = path.resolve(cmakeDir, '../../..');
  const libDir = libDirOf(cmakeDir);
  const libs = libDir ? listDir(libDir) : [];
  let version = known.version;
  let versionFrom = known.versionFrom;
  for (const f of [path.join(prefix, 'build-version'), path.join(prefix, 'version.txt')]) {
    if (version) break;
    version = readFirstLine(f);
    versionFrom = f;
  }
  if (!version) {
    versionFrom = path.join(cmakeDir, 'TorchConfigVersion.cmake');
    let text = '';
    try {
      text = fs.readFileSync(versionFrom, 'utf8');
    } catch {
      versionFrom = undefined;
    }
    version = /set\(PACKAGE_VERSION\s+"([^"]+)"\)/.exec(text)?.[1];
  }
  const cuda = libs.some((f) => /^lib(torch_cuda|c10_cuda)\.so/.test(f));
  const cudart = libs.map((f) => /^libcudart[-.\w]*\.so\.(\d+)$/.exec(f)?.[1]).find(Boolean);
  return {
    source,
    cmakeDir: path.resolve(cmakeDir),
    libDir,
    version: version ?? null,
    versionFrom: version ? versionFrom : null,
    cuda,
    cudaVersion: cuda ? (known.cudaVersion ?? cudaVersionOfTag(version) ?? cudart ?? null) : null,
  };
}

// Finds the torch package without importing it (an import of a CUDA torch takes seconds).
const FIND_TORCH = [
  'import importlib.util as u',
  "s = u.find_spec('torch')",
  "print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')",
].join('\n');

/** The Python torch package folder of `python` (a command), or null. */
function pythonTorchDir(python, env) {
  const r = spawnSync(python, ['-c', FIND_TORCH], { encoding: 'utf8', env, timeout: 30000 });
  const dir = r.status === 0 ? r.stdout.trim() : '';
  return dir || null;
}

/** __version__ and cuda of a torch package's version.py (what torch.__version__ and torch.version.cuda return). */
function pythonTorchVersion(torchDir) {
  let text = '';
  try {
    text = fs.readFileSync(path.join(torchDir, 'version.py'), 'utf8');
  } catch {
    return {};
  }
  const field = (name) => new RegExp(`^${name}\\s*(?::[^=\\n]*)?=\\s*['"]([^'"]+)['"]`, 'm').exec(text)?.[1];
  return { version: field('__version__'), versionFrom: path.join(torchDir, 'version.py'), cudaVersion: field('cuda') };
}

/**
 * Sync: the LibTorch the build would use, in its order: LIBTORCH, Torch_DIR, CMAKE_PREFIX_PATH,
 * a Python torch (unless MIST_SKIP_PYTHON_TORCH; only with its CMake files, as the build needs
 * them), the system folders. Options (for tests): env, python (command, default python3),
 * systemDirs. Returns { libtorch: the install or null, error: why LIBTORCH is unusable (the
 * build stops there too) or null, looked: where it looked when nothing was found }. Never throws.
 */
function findLibtorch(options = {}) {
  const env = options.env ?? process.env;
  const python = options.python ?? 'python3';
  const systemDirs = options.systemDirs ?? SYSTEM_TORCH_DIRS;
  const found = (libtorch) => ({ libtorch, error: null, looked: null });
  const first = (dirs, source, known) => {
    for (const d of dirs) {
      const t = describeInstall(d, source, known);
      if (t) return t;
    }
    return null;
  };

  const libtorch = nonEmpty(env, 'LIBTORCH');
  if (libtorch) {
    const t = first([libtorch, path.join(libtorch, 'share', 'cmake', 'Torch')], 'LIBTORCH');
    if (t) return found(t);
    return {
      libtorch: null,
      error: `LIBTORCH=${libtorch} holds no LibTorch (expected ${path.join(libtorch, 'share', 'cmake', 'Torch', 'TorchConfig.cmake')})`,
      looked: null,
    };
  }
  const torchDir = nonEmpty(env, 'Torch_DIR');
  if (torchDir) {
    const t = first([torchDir], 'Torch_DIR');
    if (t) return found(t);
  }
  const prefixes = (nonEmpty(env, 'CMAKE_PREFIX_PATH') ?? '').split(':').filter(Boolean);
  const t = first(
    prefixes.flatMap((p) => [
      path.join(p, 'Torch'),
      path.join(p, 'share', 'cmake', 'Torch'),
      path.join(p, 'lib', 'cmake', 'Torch'),
    ]),
    'CMAKE_PREFIX_PATH',
  );
  if (t) return found(t);
  let pythonNote = 'MIST_SKIP_PYTHON_TORCH is set';
  if (env.MIST_SKIP_PYTHON_TORCH === undefined) {
    const dir = pythonTorchDir(python, env);
    if (dir) {
      const t = describeInstall(path.join(dir, 'share', 'cmake', 'Torch'), 'python torch', pythonTorchVersion(dir));
      if (t) return found(t);
      pythonNote = `${python}'s torch at ${dir} has no CMake files`;
    } else {
      pythonNote = `${python} has no torch`;
    }
  }
  const s = first(systemDirs, 'system');
  if (s) return found(s);
  const unset = ['LIBTORCH', 'Torch_DIR', 'CMAKE_PREFIX_PATH'].filter((v) => !nonEmpty(env, v));
  const looked = [
    ...(unset.length ? [`${unset.join(', ')} unset`] : []),
    ...(torchDir ? [`no TorchConfig.cmake in Torch_DIR=${torchDir}`] : []),
    ...(prefixes.length ? ['no Torch in CMAKE_PREFIX_PATH'] : []),
    pythonNote,
    `none of ${systemDirs.join(', ')}`,
  ].join('; ');
  return { libtorch: null, error: null, looked };
}

/** 'LibTorch 2.5.1+cu124 (CUDA 12.4) at <dir> (LIBTORCH)': what was found, where, and by which lookup step. */
function describeLibtorch(t) {
  const kind = t.cuda ? `CUDA ${t.cudaVersion ?? 'version unknown'}` : 'CPU';
  return `LibTorch ${t.version ?? '(version unknown)'} (${kind}) at ${t.cmakeDir} (${t.source})`;
}

// ---- Prebuilds ---------------------------------------------------------------------------------

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Sync: the binaries of <root>/prebuilds/ that node-gyp-build would accept here (its folder
 * choice, and its tag matching for runtime, N-API and libc), each as { file, name, variant
 * (from the name tags, or null), info (the JSON beside it, or null) }.
 */
function listPrebuilds(root, platform = os.platform(), arch = os.arch()) {
  root = path.resolve(root);
  const tuple = listDir(path.join(root, 'prebuilds'))
    .map(nodeGypBuild.parseTuple)
    .filter(nodeGypBuild.matchTuple(platform, arch))
    .sort(nodeGypBuild.compareTuples)[0];
  if (!tuple) return [];
  const dir = path.join(root, 'prebuilds', tuple.name);
  return listDir(dir)
    .sort()
    .map(nodeGypBuild.parseTags)
    .filter(nodeGypBuild.matchTags('node', process.versions.modules))
    .map((tags) => ({
      file: path.join(dir, tags.file),
      name: tags.file,
      variant: variantOfFile(tags.file),
      info: readJson(path.join(dir, tags.file.replace(/\.node$/, '.json'))),
    }));
}

/**
 * Sync and pure: the prebuild for a LibTorch lookup (findLibtorch's result). `force` (a variant
 * id, MIST_PREBUILD_VARIANT) picks by id instead. Returns { ok: true, prebuild, variant, reason }
 * or { ok: false, message }; the message says what was found and what the prebuilds offer.
 */
function selectPrebuild(prebuilds, lookup, force) {
  const tagged = prebuilds.filter((p) => p.variant);
  const untagged = prebuilds.filter((p) => !p.variant).map((p) => `${p.name} (no variant tags)`);
  const have = `prebuilds have: ${[...tagged.map((p) => variantId(p.variant)), ...untagged].join(', ') || 'none'}`;
  if (force) {
    const p = tagged.find((q) => variantId(q.variant) === force);
    if (!p) return { ok: false, message: `MIST_PREBUILD_VARIANT=${force} names no prebuild; ${have}` };
    return { ok: true, prebuild: p, variant: force, reason: `MIST_PREBUILD_VARIANT=${force}` };
  }
  if (lookup.error) return { ok: false, message: `${lookup.error}; ${have}` };
  if (!lookup.libtorch) return { ok: false, message: `no LibTorch found (${lookup.looked}); ${have}` };
  const t = lookup.libtorch;
  const found = `found ${describeLibtorch(t)}`;
  const want = variantOf(t);
  if (!want) {
    const what = t.version && t.cuda ? 'its CUDA version is unknown' : 'its version is unknown';
    return { ok: false, message: `${found}, but ${what}; ${have}` };
  }
  const id = variantId(want);
  const p = tagged.find((q) => variantId(q.variant) === id);
  if (p) return { ok: true, prebuild: p, variant: id, reason: found };
  let message = `${found}; it needs ${id}; ${have}`;
  const cpu = variantId({ torch: want.torch, cuda: null });
  if (want.cuda && tagged.some((q) => variantId(q.variant) === cpu)) {
    message += `; the ${cpu} prebuild would run without CUDA (set MIST_PREBUILD_VARIANT=${cpu} to use it anyway)`;
  }
  return { ok: false, message };
}

/** A local build's variant, from the mist-build-info.json the build writes beside it (or null). */
function buildVariant(file) {
  const info = readJson(path.join(path.dirname(file), 'mist-build-info.json'));
  if (!info) return null;
  const v = variantOf({ version: info.torchVersion, cuda: Boolean(info.cuda), cudaVersion: info.cudaVersion });
  return v ? variantId(v) : null;
}

/**
 * Sync: which binary to load from the package at `root`. MIST_ADDON_PATH, an absolute path to a
 * mist_vad.node, wins over everything (a build in another folder, such as the sanitizer build of
 * scripts/asan.sh). Else a local build (build/Release, then
 * build/Debug, as node-gyp-build) comes first unless PREBUILDS_ONLY is set; then the prebuild
 * chosen by selectPrebuild. Options: as findLibtorch, plus platform and arch. Returns
 * { kind: 'build' | 'prebuild', file, variant (id or null), reason, libtorch, preload (the
 * library folder to load first, for a prebuild of the found LibTorch's version, else null) } or
 * { kind: 'none', message, libtorch }. Throws only for a malformed MIST_PREBUILD_VARIANT or MIST_ADDON_PATH.
 */
function resolveAddon(root, options = {}) {
  root = path.resolve(root);
  const env = options.env ?? process.env;
  const forced = nonEmpty(env, 'MIST_ADDON_PATH');
  if (forced) {
    if (!path.isAbsolute(forced) || !forced.endsWith('.node')) {
      throw new Error(`MIST_ADDON_PATH must be an absolute path to a .node file, got '${forced}'`);
    }
    const reason = `MIST_ADDON_PATH=${forced}`;
    return { kind: 'build', file: forced, variant: buildVariant(forced), reason, libtorch: null, preload: null };
  }
  if (!env.PREBUILDS_ONLY) {
    for (const sub of ['Release', 'Debug']) {
      const name = listDir(path.join(root, 'build', sub)).find((f) => f.endsWith('.node'));
      if (!name) continue;
      const file = path.join(root, 'build', sub, name);
      const reason = `a local build (build/${sub}) is used before prebuilds/ unless PREBUILDS_ONLY is set`;
      return { kind: 'build', file, variant: buildVariant(file), reason, libtorch: null, preload: null };
    }
  }
  const force = nonEmpty(env, 'MIST_PREBUILD_VARIANT');
  if (force && !parseVariantId(force)) {
    throw new Error(`MIST_PREBUILD_VARIANT must look like cpu-torch1.13 or cuda12-torch2.5, got '${force}'`);
  }
  const lookup = findLibtorch(options);
  const sel = selectPrebuild(listPrebuilds(root, options.platform, options.arch), lookup, force);
  if (!sel.ok) return { kind: 'none', message: sel.message, libtorch: lookup.libtorch };
  // Only a LibTorch of the prebuild's own version is preloaded: under MIST_PREBUILD_VARIANT it
  // may be another one, and two LibTorch versions in one process do not mix.
  const t = lookup.libtorch;
  const fits = t && t.libDir && variantOf(t)?.torch === sel.prebuild.variant.torch;
  return {
    kind: 'prebuild',
    file: sel.prebuild.file,
    variant: sel.variant,
    reason: sel.reason,
    libtorch: t,
    preload: fits ? t.libDir : null,
  };
}

/**
 * Sync: maps the LibTorch libraries of `libDir` into the process by their full paths. A
 * prebuild's RUNPATH names the folder of the machine that built it; the dynamic linker reuses
 * an already loaded library of the same soname, so this makes the prebuild use the LibTorch that
 * was found. Throws an Error naming the library that does not load.
 */
function preloadLibtorch(libDir) {
  const files = listDir(libDir);
  for (const base of ['libc10', 'libtorch_cpu', 'libc10_cuda', 'libtorch_cuda', 'libtorch']) {
    const name =
      files.find((f) => f === `${base}.so`) ??
      files.filter((f) => f.startsWith(`${base}.so.`)).sort((a, b) => a.length - b.length)[0];
    if (!name) continue;
    try {
      process.dlopen({ exports: {} }, path.join(libDir, name), os.constants.dlopen.RTLD_NOW | RTLD_NODELETE);
    } catch (e) {
      // Loaded: it is a plain library, not an addon.
      if (/did not self-register/.test(e.message)) continue;
      throw new Error(`cannot load ${path.join(libDir, name)}: ${e.message.split('\n')[0]}`, { cause: e });
    }
  }
}

/**
 * Sync: loads the binary a resolveAddon() result names (preloading the LibTorch found for a
 * prebuild). Returns { addon (the raw exports), origin: { kind, file, variant, reason } }.
 * Throws an Error with a one-line message when no binary fits or the chosen one does not load.
 */
function loadResolved(r) {
  if (r.kind === 'none') throw new Error(`no prebuilt binary fits this machine: ${r.message}`);
  if (r.kind === 'prebuild' && r.preload) preloadLibtorch(r.preload);
  let addon;
  try {
    addon = require(r.file);
  } catch (e) {
    throw new Error(`${r.file} does not load: ${String(e.message).split('\n')[0]}`, { cause: e });
  }
  return { addon, origin: { kind: r.kind, file: r.file, variant: r.variant, reason: r.reason } };
}

/** Sync: loadResolved(resolveAddon(root, options)); the same returns and throws. */
function loadAddon(root, options = {}) {
  return loadResolved(resolveAddon(root, options));
}

module.exports = {
  NAME,
  SYSTEM_TORCH_DIRS,
  variantId,
  parseVariantId,
  variantOf,
  prebuildName,
  variantOfFile,
  describeInstall,
  findLibtorch,
  describeLibtorch,
  listPrebuilds,
  selectPrebuild,
  resolveAddon,
  preloadLibtorch,
  loadResolved,
  loadAddon,
};
