// The shape of the package as a user sees it: the public entry exports a curated list (no
// internals), nothing imports the CLI's bin module, and no layer imports from a layer above it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

import * as assert from 'uvu/assert';

import * as api from '../lib/index.js';
import { ROOT, test } from './helpers.js';

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}
const LIB = files(join(ROOT, 'lib'));

/** The lib/ files a file imports (relative imports only), as paths relative to lib/. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)\.js'/g)].map((m) =>
    relative(join(ROOT, 'lib'), resolve(dirname(file), `${m[1]}.ts`)),
  );
}

test('internals do not leak through the public entry', () => {
  for (const name of [
    'unpickle',
    'NdArray',
    'VideoCycler',
    'decodePickledNpy',
    'readPickledNpy',
    'parseNpyHeader',
    'native',
    'parseOptions',
    'readFileOrThrow',
    'ioError',
  ]) {
    assert.not.ok(name in api, `${name} is exported`);
  }
  for (const name of [
    'trainGenerator',
    'MilGenerator',
    'SgaEncoder',
    'evaluate',
    'readNpy',
    'openVideo',
    'MistError',
    'ErrorCode',
    'makeSyntheticFeatures',
    'renderHtmlReport',
    'writeHtmlReport',
    'readReportData',
  ]) {
    assert.ok(name in api, `${name} is not exported`);
  }
});

test('nothing imports the bin module (lib/cli/main.ts)', () => {
  const importers = [
    ...LIB,
    ...files(join(ROOT, 'test')),
    ...files(join(ROOT, 'benchmarks')).filter((p) => !p.includes('node_modules')),
  ].filter((f) =>
    f.startsWith(join(ROOT, 'lib'))
      ? imports(f).includes(join('cli', 'main.ts'))
      : /cli\/main\.js'/.test(readFileSync(f, 'utf8')),
  );
  assert.equal(
    importers.map((f) => relative(ROOT, f)),
    [],
  );
});

test('each layer imports only from the layers below it', () => {
  // From the top down; a file may import its own folder, anything lower, and the root files.
  const order = ['cli', 'demo', 'report', 'selftrain', 'stage2', 'stage1', 'score', 'models', 'eval', 'data'];
  const layer = (p: string) => (p.includes('/') ? p.split('/')[0]! : 'root');
  const bad: string[] = [];
  for (const f of LIB) {
    const from = layer(relative(join(ROOT, 'lib'), f));
    for (const to of imports(f).map(layer)) {
      if (to === from || (from === 'root' && to === 'root')) continue;
      if (from === 'root') {
        // The cross-cutting files import nothing from the layers (index.ts re-exports them all).
        if (relative(join(ROOT, 'lib'), f) !== 'index.ts') bad.push(`${relative(ROOT, f)} -> ${to}`);
        continue;
      }
      if (to !== 'root' && order.indexOf(to) <= order.indexOf(from)) bad.push(`${relative(ROOT, f)} -> ${to}`);
    }
  }
  assert.equal(bad, []);
});

test.run();
