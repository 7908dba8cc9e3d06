// A stage-2 training call whose loss or gradient is not finite changes nothing: not the weights,
// not the BatchNorm statistics, not the Adam state, not the accumulated gradients, not the
// counters nor the dropout generator (saveTraining()'s file, which holds them all, is the same
// bytes). The error (ERR_MIST_TORCH) names the call and the update and says the step was not
// applied. A NaN in the clips is refused before that (test/reliability-nan.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { SgaEncoder } from '../lib/models/encoder.js';
import { expectCode, tempDir, test } from './helpers.js';

const SIZE: [number, number, number] = [16, 32, 32];
const CLIP = 3 * SIZE[0] * SIZE[1] * SIZE[2];

const clips = (n: number, seed: number): Float32Array =>
  Float32Array.from({ length: n * CLIP }, (_, i) => Math.sin(i * 0.37 + seed));
const targets = Float32Array.from([0, 1]);
// An update at lr 1e-3 x 1e13 leaves finite weights so large that the next loss is NaN.
const BLOW_UP = 1e13;

async function twins(accumulate: number): Promise<[SgaEncoder, SgaEncoder]> {
  const make = async () => {
    const e = SgaEncoder.create({ backbone: 'c3d', width: 1 / 8, inputSize: SIZE, seed: 11, dropout: 0.5 });
    await e.configureTraining({ accumulate, lr: 1e-3 });
    return e;
  };
  return [await make(), await make()];
}

async function sameState(a: SgaEncoder, b: SgaEncoder, what: string): Promise<void> {
  const [x, y] = [await a.stateDict(), await b.stateDict()];
  assert.equal(Object.keys(x).sort(), Object.keys(y).sort());
  for (const k of Object.keys(x)) {
    const u = new Uint8Array(x[k]!.buffer, x[k]!.byteOffset, x[k]!.byteLength);
    const v = new Uint8Array(y[k]!.buffer, y[k]!.byteOffset, y[k]!.byteLength);
    assert.ok(u.length === v.length && u.every((c, i) => c === v[i]), `${what}: ${k} differs`);
  }
}

/** saveTraining()'s file (weights, statistics, Adam state, gradients, counters, generator). */
async function trainingBytes(e: SgaEncoder, dir: string, name: string): Promise<Buffer> {
  const path = join(dir, name);
  await e.saveTraining(path, 'm');
  return readFileSync(path);
}

test('a refused update leaves weights, statistics, Adam state and counters as they were', async () => {
  const t = tempDir();
  try {
    const [a, b] = await twins(1);
    for (const e of [a, b]) await e.trainStep(clips(2, 1), targets, { lrFactor: BLOW_UP });
    const before = await trainingBytes(a, t.dir, 'before.pt');
    const e = await expectCode(() => a.trainStep(clips(2, 2), targets), 'ERR_MIST_TORCH');
    assert.match(e.message, /^trainStep call 2 \(update 2\): the loss is not finite \(NaN\)/);
    assert.match(e.message, /the step was not applied/);
    const after = await trainingBytes(a, t.dir, 'after.pt');
    assert.ok(before.equals(after), 'the training checkpoint changed');
    await sameState(a, b, 'after the refused step');
    // Refused again with the same counters: nothing moved, not even the call count.
    const again = await expectCode(() => a.trainStep(clips(2, 3), targets), 'ERR_MIST_TORCH');
    assert.match(again.message, /^trainStep call 2 \(update 2\)/);
    a.dispose();
    b.dispose();
  } finally {
    t.cleanup();
  }
});

test('a refused call inside an accumulation leaves the counters and the gradients as they were', async () => {
  const t = tempDir();
  try {
    const [a] = await twins(2);
    assert.is((await a.trainStep(clips(2, 1), targets)).stepped, false);
    assert.is((await a.trainStep(clips(2, 2), targets, { lrFactor: BLOW_UP })).stepped, true);
    const before = await trainingBytes(a, t.dir, 'before.pt');
    const e = await expectCode(() => a.trainStep(clips(2, 3), targets), 'ERR_MIST_TORCH');
    assert.match(e.message, /^trainStep call 3 \(update 2\)/);
    assert.ok(before.equals(await trainingBytes(a, t.dir, 'after.pt')), 'the training checkpoint changed');
    a.dispose();
  } finally {
    t.cleanup();
  }
});

test.run();
