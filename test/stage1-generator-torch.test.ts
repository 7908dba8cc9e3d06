// A generator written by PyTorch (torch.save of a state dict with the module names fc1, fc2,
// fc3) loads by name and gives PyTorch's eval-mode scores; ours is readable the other way
// (test/reference/make_generator_reference.py made the file and the recorded outputs).
import { readFileSync } from 'node:fs';

import * as assert from 'uvu/assert';

import { MilGenerator } from '../lib/index.js';
import { ROOT, test } from './helpers.js';

const ref = JSON.parse(readFileSync(`${ROOT}/test/reference/generator/reference.json`, 'utf8')) as {
  dim: number;
  x: number[];
  y: number[];
};

test('a PyTorch-saved generator loads and scores as PyTorch did', async () => {
  const g = await MilGenerator.load(`${ROOT}/test/reference/generator/generator_torch.pt`, { device: 'cpu' });
  assert.is(g.featureDim, ref.dim);
  const y = await g.forward(Float32Array.from(ref.x), ref.y.length, ref.dim);
  ref.y.forEach((want, i) =>
    assert.ok(Math.abs(y[i]! - want) <= 1e-5 * Math.max(1, Math.abs(want)), `row ${i}: ${y[i]} vs ${want}`),
  );
  g.dispose();
});

test.run();
