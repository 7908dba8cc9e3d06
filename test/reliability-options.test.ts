// Entry points given something that is not an options object: ERR_MIST_ARG, not a TypeError
// from destructuring it (found by the fuzzer, test/fuzz-readers.test.ts).
import * as assert from 'uvu/assert';

import { evaluate, finetuneEncoder, readFeatures, trainGenerator } from '../lib/index.js';
import { expectCode, test } from './helpers.js';

test('trainGenerator, finetuneEncoder and evaluate refuse null, numbers and strings as options', async () => {
  for (const bad of [null, undefined, 5, 'preset', true]) {
    const t = await expectCode(() => trainGenerator(bad as never), 'ERR_MIST_ARG');
    assert.not.match(t.message, /Cannot destructure/);
    const f = await expectCode(() => finetuneEncoder(bad as never), 'ERR_MIST_ARG');
    assert.not.match(f.message, /Cannot destructure/);
    await expectCode(() => evaluate(bad as never), 'ERR_MIST_ARG');
  }
  await expectCode(() => readFeatures('x.npy', { allowNonFinite: 'yes' } as never), 'ERR_MIST_ARG');
});

test.run();
