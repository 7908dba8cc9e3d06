// `mist extract` as a user runs it: a manifest or video paths in, an HDF5 store or .npy files
// out with the weights of a saved encoder, plain progress lines without a terminal, a rerun
// that skips, a corrupt video reported with a non-zero exit, and one-line errors for bad flags.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { extractFeatures, openFeatureStore, readNpy, SgaEncoder } from '../lib/index.js';
import { makeSyntheticVideos } from '../lib/stage2/synthetic-videos.js';
import { hasFfmpeg, mist, skip, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-extract-cli-');
test.after(cleanup);

let setup: { manifest: string; files: string[]; weights: string; encoder: SgaEncoder } | undefined;
async function prepare(): Promise<NonNullable<typeof setup>> {
  if (setup) return setup;
  const made = await makeSyntheticVideos(join(dir, 'videos'), {
    seed: 3,
    normal: 1,
    anomalous: 1,
    testNormal: 0,
    testAnomalous: 0,
    frames: 36,
    width: 48,
    height: 48,
  });
  const encoder = SgaEncoder.create({
    backbone: 'c3d',
    width: 1 / 16,
    inputSize: [16, 32, 32],
    init: 'kaiming',
    seed: 2,
  });
  const weights = join(dir, 'encoder.pt');
  await encoder.save(weights);
  setup = { manifest: made.manifestPath, files: made.videos.map((v) => v.file), weights, encoder };
  return setup;
}

test('mist extract --manifest ... --crops 10 --format hdf5 --weights: the store holds what extractFeatures gives', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const { manifest, files, weights, encoder } = await prepare();
  const out = join(dir, 'h5');
  // A checkpoint names its backbone and width; the clip size is the user's (as for the API).
  const args = [
    'extract',
    '--manifest',
    manifest,
    '--out',
    out,
    '--crops',
    '10',
    '--format',
    'hdf5',
    '--weights',
    weights,
    '--input-size',
    '16,32,32',
  ];
  const r = mist(args);
  assert.is(r.status, 0, r.stderr);
  // Not a terminal: one plain line per video, with its clips and the rate.
  assert.match(r.stderr, /^\[1\/2\] normal_000: 2 clips, \d+\.\d\d clips\/s, eta \d+s$/m);
  assert.match(r.stderr, /^\[2\/2\] anomalous_000: 2 clips, \d+\.\d\d clips\/s, eta 0s$/m);
  assert.match(
    r.stdout,
    /^wrote 2 videos \(4 clips, \d+\.\d\d clips\/s\) to .*; skipped 0 \(complete already\); failed 0$/m,
  );
  const want = await extractFeatures(files, encoder, { crops: 10 });
  const store = await openFeatureStore(join(out, 'features.h5'));
  try {
    for (const v of want) {
      const a = store.read(v.name);
      assert.equal(a.shape, [2, 10, encoder.featureDim]);
      let diff = 0,
        scale = 0;
      for (let i = 0; i < a.data.length; i++) {
        diff = Math.max(diff, Math.abs(a.data[i]! - v.features[i]!));
        scale = Math.max(scale, Math.abs(v.features[i]!));
      }
      // The CLI's encoder is the one loaded from the file: the same weights, another process.
      assert.ok(diff <= 1e-5 * scale, `${v.name}: relative difference ${diff / scale}`);
    }
  } finally {
    store.close();
  }
  const again = mist(args);
  assert.is(again.status, 0, again.stderr);
  assert.match(again.stderr, /^\[1\/2\] normal_000: complete already, skipped$/m);
  assert.match(again.stdout, /wrote 0 videos \(0 clips, 0\.00 clips\/s\) .*; skipped 2 \(complete already\); failed 0/);
});

test('mist extract VIDEO ...: a corrupt video is reported, the rest written, exit status 1', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const { files, weights } = await prepare();
  const bad = join(dir, 'broken.mp4');
  writeFileSync(bad, Buffer.from('this is not a video file, only some bytes named .mp4'.repeat(50)));
  const out = join(dir, 'npy');
  const r = mist([
    'extract',
    '--out',
    out,
    '--weights',
    weights,
    '--input-size',
    '16,32,32',
    files[0]!,
    bad,
    files[1]!,
  ]);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /^\[2\/3\] broken: FAILED, left out: .* \[ERR_MIST_VIDEO\]$/m);
  assert.match(r.stdout, /failed 1$/m);
  assert.match(r.stdout, new RegExp(`^failed: ${bad}: .*\\[ERR_MIST_VIDEO\\]$`, 'm'));
  for (const n of ['normal_000', 'anomalous_000']) assert.equal(readNpy(join(out, `${n}.npy`)).shape.length, 2);
});

test('mist extract: bad flags and missing inputs give one line and exit status 1; --help', () => {
  for (const [args, message] of [
    [['--out', dir, '--crops', '3', 'a.mp4'], /--crops: must be 1, 5 or 10/],
    [['--out', dir, '--format', 'zip', 'a.mp4'], /--format: /],
    [['--out', dir], /no videos: give --manifest FILE or video paths/],
    [['a.mp4'], /--out: is required/],
    [['--out', dir, '--batch-size', 'x', 'a.mp4'], /--batch-size: must be a decimal number/],
    [['--out', dir, '--bogus', 'a.mp4'], /Unknown option '--bogus'/],
    [['--out', dir, '--input-size', '16,32', 'a.mp4'], /--input-size: /],
  ] as const) {
    const r = mist(['extract', ...args]);
    assert.is(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const h = mist(['extract', '--help']);
  assert.is(h.status, 0);
  assert.match(h.stdout, /--crops 1\|5\|10/);
  assert.match(h.stdout, /--format npy\|npy-per-crop\|hdf5/);
});

test.run();
