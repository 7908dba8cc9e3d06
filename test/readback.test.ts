// What mist-vad writes, read back by the reference implementations themselves: PyTorch's
// torch.load for the generator and encoder checkpoints, numpy.load for .npy arrays and feature
// files, Python's json for the pseudo-label files (test/reference/read_back.py). Needs
// Debian's python3-torch (a test oracle only, never a dependency of the package).
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { MilGenerator, SgaEncoder, writeFeatures, writeNpy, writePseudoLabels } from '../lib/index.js';
import { ROOT, skip, tempDir, test } from './helpers.js';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;

interface Summary {
  shape: number[];
  sum: number;
  first: number[];
}

function summary(data: ArrayLike<number>, shape: number[]): Summary {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i]!;
  return { shape, sum, first: Array.from({ length: Math.min(4, data.length) }, (_, i) => data[i]!) };
}

function close(got: Summary, want: Summary, what: string): void {
  assert.equal(got.shape, want.shape, `${what}: shape`);
  // Both sides sum the same float32 values in float64, in different orders.
  assert.ok(
    Math.abs(got.sum - want.sum) <= 1e-9 * Math.max(1, Math.abs(want.sum)) + 1e-9,
    `${what}: sum ${got.sum} vs ${want.sum}`,
  );
  assert.equal(got.first, want.first, `${what}: first values`);
}

test('torch.load, numpy.load and json read back what we wrote, value for value', async () => {
  if (!hasTorch) return skip(`${PYTHON} with torch and numpy (apt-get install -y python3-torch)`);
  const { dir, cleanup } = tempDir();
  try {
    const g = MilGenerator.create({ featureDim: 12, hidden: [6, 3], device: 'cpu', seed: 3 });
    await g.save(join(dir, 'generator.pt'));
    const e = SgaEncoder.create({ backbone: 'c3d', width: 1 / 32, inputSize: [16, 32, 32], device: 'cpu', seed: 4 });
    await e.save(join(dir, 'encoder.pt'));
    const arr = Float64Array.from({ length: 24 }, (_, i) => Math.sin(i) * 1e3);
    writeNpy(join(dir, 'array.npy'), { data: arr, shape: [2, 3, 4] });
    const feats = Float32Array.from({ length: 5 * 7 }, (_, i) => Math.fround(Math.cos(i) / 3));
    writeFeatures(join(dir, 'video.npy'), { data: feats, shape: [5, 7] }, { encoder: 'c3d', clipLength: 16 });
    const labels = new Map([
      ['Arson011_x264', Float32Array.from([0, 0.25, 1, Math.fround(1 / 3)])],
      ['Normal_Videos_006_x264', new Float32Array(3)],
    ]);
    await writePseudoLabels(join(dir, 'pl.json'), labels, { dataset: 'ucf-crime', featureKind: 'c3d' });

    const out = JSON.parse(
      execFileSync(
        PYTHON,
        [
          join(ROOT, 'test', 'reference', 'read_back.py'),
          ...['generator.pt', 'encoder.pt', 'array.npy', 'video.npy', 'pl.json'].map((f) => join(dir, f)),
        ],
        {
          encoding: 'utf8',
        },
      ),
    ) as {
      generator: Record<string, Summary>;
      generatorMeta: Record<string, unknown>;
      encoder: Record<string, Summary>;
      encoderMeta: unknown;
      npy: Summary & { dtype: string };
      features: Summary & { dtype: string; fortran: boolean };
      pseudoLabels: { format: string; meta: { dataset: string }; videos: Record<string, number[]> };
    };

    const gp = await g.parameters();
    assert.equal(Object.keys(out.generator).sort(), Object.keys(gp).sort());
    for (const [k, v] of Object.entries(gp))
      close(out.generator[k]!, summary(v, out.generator[k]!.shape), `generator ${k}`);
    assert.equal(out.generator['fc1.weight']!.shape, [6, 12]);
    const sd = await e.stateDict();
    assert.equal(Object.keys(out.encoder).sort(), Object.keys(sd).sort());
    for (const [k, v] of Object.entries(sd)) close(out.encoder[k]!, summary(v, out.encoder[k]!.shape), `encoder ${k}`);
    assert.ok(out.encoderMeta !== null && out.encoderMeta !== undefined, 'the encoder checkpoint carries its config');
    assert.is(out.npy.dtype, 'float64');
    close(out.npy, summary(arr, [2, 3, 4]), 'npy');
    assert.is(out.features.dtype, 'float32');
    assert.is(out.features.fortran, false);
    close(out.features, summary(feats, [5, 7]), 'features');
    assert.is(out.pseudoLabels.format, 'mist-vad-pseudo-labels');
    assert.is(out.pseudoLabels.meta.dataset, 'ucf-crime');
    // Each label is the shortest decimal that reads back as the same float32.
    for (const [k, v] of labels)
      assert.equal(out.pseudoLabels.videos[k]!.map(Math.fround), Array.from(v), `pseudo labels ${k}`);
    g.dispose();
    e.dispose();
  } finally {
    cleanup();
  }
});

test.run();
