// Atomic writes: many writers of one path at once (in this process and in another) all
// succeed, the file is always one writer's whole content, no temporary is left, and a write
// that fails says why (errno) and leaves nothing behind.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { writeFileAtomic, writeFileOrThrow } from '../lib/data/files.js';
import { ROOT, expectCode, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-atomic-');
test.after(cleanup);

const content = (k: number) => `writer ${k}\n${'x'.repeat(64 * 1024 + k)}\n`;
const isWhole = (text: string) => {
  const k = Number(/^writer (\d+)\n/.exec(text)?.[1]);
  return Number.isInteger(k) && text === content(k);
};

test('64 concurrent writes of one path, async and sync, with another process writing too', async () => {
  const path = join(dir, 'shared.txt');
  // Another process writes the same path 200 times meanwhile (writers 1000 to 1199).
  const script = `
    import { writeFileAtomic } from ${JSON.stringify(join(ROOT, 'lib', 'data', 'files.ts'))};
    const c = (k) => 'writer ' + k + '\\n' + 'x'.repeat(64 * 1024 + k) + '\\n';
    for (let k = 1000; k < 1200; k++) await writeFileAtomic(${JSON.stringify(path)}, c(k));
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<number | null>((done) => child.on('close', done));
  const writes: Promise<void>[] = [];
  for (let k = 0; k < 64; k++) {
    if (k % 4 === 0) writeFileOrThrow(path, content(k));
    else writes.push(writeFileAtomic(path, content(k)));
    if (k % 8 === 0) assert.ok(isWhole(readFileSync(path, 'utf8')), 'a reader sees a whole file');
  }
  await Promise.all(writes);
  assert.is(await exited, 0, 'the other writer succeeded');
  assert.ok(isWhole(readFileSync(path, 'utf8')));
  assert.equal(readdirSync(dir), ['shared.txt'], 'no temporary left');
});

test('a failed write names the path and errno and leaves no temporary', async () => {
  const missing = join(dir, 'no-such-folder', 'x.json');
  const e = await expectCode(() => writeFileAtomic(missing, 'x'), 'ERR_MIST_IO');
  assert.match(e.message, /no-such-folder\/x\.json/);
  assert.match(e.message, /ENOENT/);
  const s = await expectCode(() => writeFileOrThrow(missing, 'x'), 'ERR_MIST_IO');
  assert.match(s.message, /ENOENT/);
  // A folder where the file should go: the rename fails after the temporary was written.
  const folder = join(dir, 'a-folder');
  writeFileOrThrow(join(dir, 'keep.txt'), 'k');
  await import('node:fs/promises').then((fs) => fs.mkdir(join(folder, 'inside'), { recursive: true }));
  await expectCode(() => writeFileAtomic(folder, 'x'), 'ERR_MIST_IO');
  await expectCode(() => writeFileOrThrow(folder, 'x'), 'ERR_MIST_IO');
  assert.equal(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary left',
  );
});

test.run();
