// The command line as a user runs it: info and train write what they say (the demo's run is
// test/demo.test.ts), and a wrong
// argument gets a one-line coded message and a non-zero exit.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { readPseudoLabels } from '../lib/index.js';
import { mist, packageData, tempDir, test } from './helpers.js';

test('mist info names LibTorch, threads and the BLAS', () => {
  const r = mist(['info']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /LibTorch +\d+\.\d+/);
  assert.match(r.stdout, /threads +\d+ configured, \d+ observed/);
  assert.match(r.stdout, /BLAS +(openblas|mkl|reference|unknown)/);
});

test('mist train-generator on feature files and a name,label list', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const features = packageData('ucf-crime', 'c3d_32seg');
    const list = join(dir, 'split.csv');
    writeFileSync(
      list,
      readdirSync(features)
        .map((f) => {
          const name = f.replace(/\.txt$/, '');
          return `${name},${name.startsWith('Normal') ? 0 : 1}`;
        })
        .join('\n'),
    );
    const out = join(dir, 'run');
    const r = mist([
      'train-generator',
      '--preset',
      'ucf-crime-c3d',
      '--features',
      features,
      '--train',
      list,
      '--test',
      list,
      '--layout',
      'segments',
      '--steps',
      '20',
      '--eval-every',
      '10',
      '--batch-size',
      '10',
      '--out',
      out,
    ]);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /best frame AUC 0\.\d{4} at step (10|20)/);
    const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8'));
    assert.is(history.history.length, 20);
    assert.is(history.history.filter((h: { auc?: number }) => h.auc !== undefined).length, 2);
    const pl = await readPseudoLabels(join(out, 'pseudo-labels.json'));
    for (const [, v] of pl.labels) {
      assert.is(v.length, 32);
      // Refined pseudo labels of an anomalous video are min-max normalised to [0, 1].
      assert.is(Math.min(...v), 0);
      assert.is(Math.max(...v), 1);
    }
  } finally {
    cleanup();
  }
});

test('bad arguments: one line, a code, exit status 1 or 2', () => {
  let r = mist(['train', '--preset', 'ucf-crime-c3d', '--features', '/nonexistent', '--train', 'x']);
  assert.is(r.status, 1);
  assert.match(r.stderr, /^mist: --features \/nonexistent does not exist \[ERR_MIST_IO\]/);
  assert.not.match(r.stderr, /    at /);
  r = mist(['frobnicate']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  r = mist(['demo', '--stpes', '3']);
  assert.is(r.status, 1);
  assert.match(r.stderr, /Unknown option '--stpes'/);
});

test.run();
