// XD-Violence test ground truth, from the per-video label files and from the annotation text.
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadXdViolenceGroundTruth } from '../lib/index.js';
import { expectCode, skip, sharedPath, tempDir, test } from './helpers.js';

const labelsDir = sharedPath('xd-violence', 'pel4vad_xd-gt');
const annotation = sharedPath('xd-violence', 'ur-dmu', 'XD_Annotation.txt');

test('label files: 800 videos, 2,330,384 frames, 537,805 violent', () => {
  if (!labelsDir) return skip('xd-violence/pel4vad_xd-gt');
  const gt = loadXdViolenceGroundTruth({ labelsDir });
  assert.is(gt.videos.length, 800);
  assert.is(gt.totalFrames, 2_330_384);
  assert.is(gt.anomalousFrames, 537_805);
  assert.is(gt.anomalousVideos, 500);
  // Every file is already 16·T long, so truncation changes nothing.
  assert.is(loadXdViolenceGroundTruth({ labelsDir, truncate: false }).totalFrames, 2_330_384);
});

test('annotation text plus frame counts gives the same labels for all 800 videos', () => {
  if (!(labelsDir && annotation)) return skip('xd-violence/pel4vad_xd-gt, xd-violence/ur-dmu');
  const files = loadXdViolenceGroundTruth({ labelsDir });
  const counts = new Map(files.videos.map((v) => [v.name, v.sourceFrames]));
  const ann = loadXdViolenceGroundTruth({ annotation, frameCounts: counts });
  assert.is(ann.videos.length, 800);
  assert.is(ann.totalFrames, 2_330_384);
  assert.is(ann.anomalousFrames, 537_805);
  assert.is(ann.anomalousVideos, 500);
  const byName = new Map(ann.videos.map((v) => [v.name, v]));
  for (const v of files.videos) {
    const a = byName.get(v.name)!;
    assert.ok(a, v.name);
    assert.is(a.anomalous, v.anomalous, v.name);
    assert.ok(Buffer.from(a.labels).equals(Buffer.from(v.labels)), v.name);
  }
});

test('errors: annotated video without frame count, malformed line, empty folder', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'ann.txt'), 'v=abc__#1_label_B1-0-0 10 20\n');
    const e = await expectCode(
      () => loadXdViolenceGroundTruth({ annotation: join(dir, 'ann.txt'), frameCounts: { other: 5 } }),
      'ERR_MIST_ARG',
    );
    assert.match(e.message, /v=abc/);
    writeFileSync(join(dir, 'bad.txt'), 'v=abc__#1_label_B1-0-0 10\n');
    await expectCode(
      () =>
        loadXdViolenceGroundTruth({ annotation: join(dir, 'bad.txt'), frameCounts: { 'v=abc__#1_label_B1-0-0': 32 } }),
      'ERR_MIST_FORMAT',
    );
    await expectCode(() => loadXdViolenceGroundTruth({ labelsDir: dir }), 'ERR_MIST_IO');
    await expectCode(() => loadXdViolenceGroundTruth({ labelsDir: join(dir, 'absent') }), 'ERR_MIST_IO');
    await expectCode(() => loadXdViolenceGroundTruth({ labelsDir: dir, annotation: 'x' } as never), 'ERR_MIST_ARG');
  } finally {
    cleanup();
  }
});

test.run();
