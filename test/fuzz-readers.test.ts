// Property-based fuzzing of every reader and option parser (test/fuzz-properties.ts), a bounded
// number of inputs each: arbitrary bytes and valid files with random byte flips, truncations,
// insertions and token swaps; arbitrary values for the options. The only outcomes allowed are a
// valid result or a MistError with a package code naming the file: never another exception, a
// hang (the harness kills a child that stops making progress) or a crash. MIST_FUZZ_SCALE=K
// runs K times as many inputs; scripts/fuzz.mjs runs the same for minutes.
import * as assert from 'uvu/assert';

import { runFuzz } from './fuzz-harness.js';
import { test } from './helpers.js';

test('every reader and option parser: a valid result or a coded MistError, for every input', async () => {
  const scale = Number(process.env.MIST_FUZZ_SCALE ?? 1);
  const summaries = await runFuzz({ scale, seed: Number(process.env.MIST_FUZZ_SEED ?? 20261202) });
  const findings = summaries.filter((s) => s.finding);
  for (const s of summaries) {
    const codes = Object.entries(s.outcomes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    console.log(`# fuzz ${s.target}: ${s.tried} inputs (${codes})${s.finding ? ` FOUND ${s.finding}` : ''}`);
  }
  assert.ok(summaries.length >= 30, `${summaries.length} targets ran`);
  assert.ok(
    summaries.every((s) => s.tried > 0),
    'every target tried inputs',
  );
  assert.equal(
    findings.map((s) => `${s.target}: ${s.finding} (input base64 ${s.input?.slice(0, 200)})`),
    [],
  );
});

test.run();
