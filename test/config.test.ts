// Configuration has one home: every environment variable the package, its build or its tests
// (or its benchmarks) read is listed in ENVIRONMENT_VARIABLES, lib/ reads process.env only in config.ts, and the
// run-time variables are read when used, not when a module is imported.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

import * as assert from 'uvu/assert';

import { ENVIRONMENT_VARIABLES, MistError, openVideo } from '../lib/index.js';
import { ROOT, expectCode, test } from './helpers.js';

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (/\.(ts|cjs|mjs|js|cc|h|sh)$|^CMakeLists\.txt$/.test(name)) out.push(p);
  }
  return out;
}

const SOURCES = [
  ...files(join(ROOT, 'lib')),
  ...files(join(ROOT, 'native')),
  ...files(join(ROOT, 'scripts')),
  ...files(join(ROOT, 'benchmarks')).filter((p) => !p.includes('node_modules')),
  ...files(join(ROOT, 'test')).filter((p) => !p.includes(`${join('test', 'reference')}`)),
  join(ROOT, 'CMakeLists.txt'),
];

// The ways our sources read an environment variable: JS, config.ts's helper, C++, CMake.
const READS = [
  /process\.env\.(MIST_[A-Z0-9_]+)/g,
  /process\.env\[['"](MIST_[A-Z0-9_]+)/g,
  /nonEmpty\(env, '(MIST_[A-Z0-9_]+)'\)/g,
  /getenv\("(MIST_[A-Z0-9_]+)"\)/g,
  /ENV\{(MIST_[A-Z0-9_]+)\}/g,
];

test('every MIST_* variable that any source reads is listed, and nothing listed is unread', () => {
  const read = new Set<string>();
  for (const f of SOURCES) {
    const text = readFileSync(f, 'utf8');
    for (const re of READS) for (const m of text.matchAll(re)) read.add(m[1]!);
  }
  const listed = Object.keys(ENVIRONMENT_VARIABLES).filter((k) => k.startsWith('MIST_'));
  for (const v of read) assert.ok(listed.includes(v), `${v} is read somewhere but not listed in ENVIRONMENT_VARIABLES`);
  for (const v of listed) assert.ok(read.has(v), `${v} is listed but nothing reads it`);
  assert.ok(read.size >= 8, `found ${read.size} variables: ${[...read].join(', ')}`);
});

test('the README lists every variable of ENVIRONMENT_VARIABLES', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Environment variables'), readme.indexOf('## Troubleshooting'));
  for (const v of Object.keys(ENVIRONMENT_VARIABLES)) assert.ok(table.includes(`\`${v}\``), `README lacks ${v}`);
});

test('lib/ reads process.env in config.ts only', () => {
  const readers = files(join(ROOT, 'lib'))
    .filter((f) => /process\.env\b/.test(readFileSync(f, 'utf8')))
    .map((f) => relative(ROOT, f));
  assert.equal(readers, [join('lib', 'config.ts')]);
});

test('MIST_FFPROBE is read when a video opens, not at import', async () => {
  const before = process.env.MIST_FFPROBE;
  process.env.MIST_FFPROBE = '/nonexistent/ffprobe-from-env';
  try {
    const e = await expectCode(() => openVideo(join(ROOT, 'package.json')), 'ERR_MIST_VIDEO');
    assert.ok(e instanceof MistError);
    assert.match(e.message, /cannot run \/nonexistent\/ffprobe-from-env: not found \(install ffmpeg/);
  } finally {
    if (before === undefined) delete process.env.MIST_FFPROBE;
    else process.env.MIST_FFPROBE = before;
  }
});

test('MIST_CPU_CACHE_MB, read by config.ts, sets the cache the addon installs (0: none; junk: an error)', () => {
  const child = (value: string) =>
    spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "import('./lib/index.ts').then(m => console.log(JSON.stringify(m.cpuCache()))).catch(e => console.log(e.code))",
      ],
      {
        cwd: ROOT,
        env: { ...process.env, MIST_CPU_CACHE_MB: value },
        encoding: 'utf8',
      },
    ).stdout.trim();
  assert.equal(JSON.parse(child('0')), { enabled: false, cachedBytes: 0, limitBytes: 0, hits: 0, misses: 0 });
  assert.is(JSON.parse(child('100')).limitBytes, 100 * 2 ** 20);
  assert.is(JSON.parse(child('')).limitBytes, 4096 * 2 ** 20);
  assert.is(child('0x10'), 'ERR_MIST_ARG');
});

test.run();
