// UCF-Crime test ground truth from the official annotation plus the frame counts.
// Expected totals: shared/data/README.md (and an independent numpy build in
// test/reference/sklearn_metrics.py, which finds the same numbers).
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadUcfCrimeGroundTruth, readFrameCounts } from '../lib/index.js';
import { expectCode, packageData, sharedData, tempDir, test } from './helpers.js';

test('MIST convention: 290 videos, 1,109,824 frames, 84,160 anomalous', () => {
  const gt = loadUcfCrimeGroundTruth();
  assert.is(gt.videos.length, 290);
  assert.is(gt.totalFrames, 1_109_824);
  assert.is(gt.anomalousFrames, 84_160);
  assert.is(gt.anomalousVideos, 140);
  assert.is(gt.videos.filter((v) => v.className === 'Normal').length, 150);
  assert.ok(gt.videos.every((v) => v.frames % 16 === 0 && v.frames === v.labels.length));
  assert.is(
    gt.videos.reduce((a, v) => a + v.sourceFrames, 0),
    1_111_808,
  );
});

test('the same from the shared files, and from ekosman frame counts', () => {
  const ann = sharedData('ucf-crime', 'official', 'Temporal_Anomaly_Annotation.txt');
  const mist = sharedData('ucf-crime', 'mist_official', 'Temporal_Anomaly_Annotation_New.txt');
  const ek = sharedData('ucf-crime', 'ekosman', 'Test_Annotation.txt');
  if (!ann || !mist || !ek) return;
  // MIST's file carries the annotation too (columns 1-6), so it can serve as both.
  for (const [annotation, frameCounts] of [
    [ann, mist],
    [mist, mist],
    [ann, ek],
  ] as const) {
    const gt = loadUcfCrimeGroundTruth({ annotation, frameCounts });
    assert.is(gt.totalFrames, 1_109_824);
    assert.is(gt.anomalousFrames, 84_160);
  }
  assert.equal(readFrameCounts(ek), readFrameCounts(mist));
});

test('conventions: inclusive [s, e] and Sultani [s-1, e); without truncation', () => {
  const inc = loadUcfCrimeGroundTruth({ convention: 'inclusive' });
  assert.is(inc.totalFrames, 1_109_824);
  assert.is(inc.anomalousFrames, 84_309);
  assert.is(loadUcfCrimeGroundTruth({ convention: 'sultani' }).anomalousFrames, 84_316);
  const full = loadUcfCrimeGroundTruth({ truncate: false });
  assert.is(full.totalFrames, 1_111_808);
  assert.is(full.anomalousFrames, 84_182);
});

test('RoadAccidents002 (347 frames, anomaly 240-300) in each convention', () => {
  const find = (gt: ReturnType<typeof loadUcfCrimeGroundTruth>) =>
    gt.videos.find((v) => v.name === 'RoadAccidents002_x264')!;
  const m = find(loadUcfCrimeGroundTruth());
  assert.is(m.sourceFrames, 347);
  assert.is(m.frames, 336);
  assert.is(m.className, 'RoadAccidents');
  assert.equal([m.labels[239], m.labels[240], m.labels[299], m.labels[300]], [0, 1, 1, 0]);
  const i = find(loadUcfCrimeGroundTruth({ convention: 'inclusive' }));
  assert.equal([i.labels[239], i.labels[240], i.labels[300], i.labels[301]], [0, 1, 1, 0]);
  const s = find(loadUcfCrimeGroundTruth({ convention: 'sultani' }));
  assert.equal([s.labels[238], s.labels[239], s.labels[299], s.labels[300]], [0, 1, 1, 0]);
});

test('annotations that end past the last frame are clipped (Arson011: 1267 > 1266)', () => {
  const gt = loadUcfCrimeGroundTruth({ truncate: false, convention: 'inclusive' });
  const v = gt.videos.find((x) => x.name === 'Arson011_x264')!;
  assert.is(v.sourceFrames, 1266);
  assert.is(v.labels.length, 1266);
  assert.is(v.labels[1265], 1);
});

test('frame counts as a map; a video without a count is ERR_MIST_ARG', async () => {
  const counts = readFrameCounts(packageData('ucf-crime', 'Temporal_Anomaly_Annotation_New.txt'));
  assert.is(counts.size, 290);
  assert.is(counts.get('Normal_Videos_006_x264'), 450);
  const gt = loadUcfCrimeGroundTruth({ frameCounts: Object.fromEntries(counts) });
  assert.is(gt.totalFrames, 1_109_824);
  counts.delete('Abuse028_x264');
  const e = await expectCode(() => loadUcfCrimeGroundTruth({ frameCounts: counts }), 'ERR_MIST_ARG');
  assert.match(e.message, /Abuse028_x264/);
});

test('malformed annotation lines, missing files, bad options', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const w = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const counts = { Abuse028_x264: 1412 };
    await expectCode(
      () =>
        loadUcfCrimeGroundTruth({ annotation: w('a.txt', 'Abuse028_x264.mp4 Abuse 165 240\n'), frameCounts: counts }),
      'ERR_MIST_FORMAT',
    );
    await expectCode(
      () =>
        loadUcfCrimeGroundTruth({
          annotation: w('b.txt', 'Abuse028_x264.mp4 Abuse 300 240 -1 -1\n'),
          frameCounts: counts,
        }),
      'ERR_MIST_FORMAT',
    );
    await expectCode(
      () =>
        loadUcfCrimeGroundTruth({
          annotation: w('c.txt', 'Abuse028_x264.mp4 Abuse x 240 -1 -1\n'),
          frameCounts: counts,
        }),
      'ERR_MIST_FORMAT',
    );
    await expectCode(
      () => loadUcfCrimeGroundTruth({ annotation: w('d.txt', '\n'), frameCounts: counts }),
      'ERR_MIST_FORMAT',
    );
    await expectCode(() => loadUcfCrimeGroundTruth({ annotation: join(dir, 'absent.txt') }), 'ERR_MIST_IO');
    await expectCode(
      () => loadUcfCrimeGroundTruth({ frameCounts: w('e.txt', 'Abuse028_x264.mp4 Abuse\n') }),
      'ERR_MIST_FORMAT',
    );
    const c = await expectCode(() => loadUcfCrimeGroundTruth({ convention: 'matlab' as never }), 'ERR_MIST_ARG');
    assert.match(c.message, /convention/);
    await expectCode(() => loadUcfCrimeGroundTruth({ frameCount: {} } as never), 'ERR_MIST_ARG');
  } finally {
    cleanup();
  }
});

test.run();
