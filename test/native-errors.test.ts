// Every error a native call raises arrives as the package's one MistError: its stable code,
// the native message, the caller's stack (also for promises, whose rejection has no JS frames
// of its own), the native error as `cause`; and every code native/errors.h can raise is one
// of ErrorCode.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as assert from 'uvu/assert';

import { ErrorCode, MilGenerator, MistError, SgaEncoder, milRankingLoss } from '../lib/index.js';
import { ROOT, tempDir, test } from './helpers.js';

const HERE = basename(fileURLToPath(import.meta.url));

/** The error a promise rejects with (or a function throws). */
async function failure(fn: () => unknown): Promise<MistError> {
  try {
    await fn();
  } catch (e) {
    assert.instance(e, MistError, `not a MistError: ${String(e)}`);
    return e as MistError;
  }
  throw new Error('expected a failure, got none');
}

function assertNative(e: MistError, code: string) {
  assert.is(e.code, code, e.message);
  assert.is(e.name, 'MistError');
  assert.ok(e.stack?.startsWith(`MistError: ${e.message}`), e.stack);
  assert.ok(e.stack?.includes(HERE), `the stack names the call site (${HERE}):\n${e.stack}`);
  assert.not.match(e.message, /Exception raised from|frame #/);
  assert.ok(e.cause instanceof Error, 'the native error is the cause');
  assert.is((e.cause as Error & { code?: string }).code, code);
}

test('a garbage checkpoint rejects with ERR_MIST_WEIGHTS, from MilGenerator.load and SgaEncoder.loadStateDict', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const garbage = join(dir, 'garbage.pt');
    writeFileSync(garbage, randomBytes(4096));
    const g = await failure(() => MilGenerator.load(garbage, { device: 'cpu' }));
    assertNative(g, ErrorCode.WEIGHTS);
    const e = SgaEncoder.create({ backbone: 'i3d', width: 1 / 32, inputSize: [16, 32, 32], device: 'cpu' });
    const s = await failure(() => e.loadStateDict(garbage));
    assertNative(s, ErrorCode.WEIGHTS);
    e.dispose();
  } finally {
    cleanup();
  }
});

test('synchronous native failures and free functions are MistErrors too', async () => {
  const g = MilGenerator.create({ featureDim: 8, device: 'cpu' });
  // Thrown by the binding before any work is queued.
  assertNative(await failure(() => g.forward(new Float64Array(16) as unknown as Float32Array, 2)), ErrorCode.DTYPE);
  assertNative(
    await failure(() => milRankingLoss(new Float32Array(8), { normal: 1, anomalous: 1, clips: 3 })),
    ErrorCode.SHAPE,
  );
  g.dispose();
});

test('every code native/errors.h can raise is an ErrorCode', () => {
  const header = readFileSync(join(ROOT, 'native', 'errors.h'), 'utf8');
  const codes = [...header.matchAll(/constexpr const char\* k\w+ = "(ERR_MIST_\w+)"/g)].map((m) => m[1]!);
  assert.ok(codes.length >= 9, `found ${codes.length} codes in native/errors.h`);
  const known = new Set<string>(Object.values(ErrorCode));
  for (const c of codes) assert.ok(known.has(c), `${c} (native/errors.h) is not in ErrorCode`);
});

test.run();
