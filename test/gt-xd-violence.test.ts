// XD-Violence test ground truth, from the per-video label files and from the annotation text.
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadXdViolenceGroundTruth, writeNpy } from '../lib/index.js';
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

test('small label files and annotation written here', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const A = 'Movie.2001__#00-01_label_A';
    const B = 'Film.1999__#00-02_label_B1-0-0';
    const C = 'Show_label_G-0-0';
    // B: 33 frames, violent at 3-9 and 20-32; A: 20 normal frames; C: 16 frames, no crop suffix.
    const b = new Uint8Array(33);
    b.fill(1, 3, 10).fill(1, 20);
    writeNpy(join(dir, `${B}__0.npy`), { data: b, shape: [33] });
    writeNpy(join(dir, `${A}__0.npy`), { data: new Uint8Array(20), shape: [20] });
    writeNpy(join(dir, `${C}.npy`), { data: new Uint8Array(16).fill(1), shape: [16] });
    // Only a final __<k> is a crop suffix (k may have two digits).
    writeNpy(join(dir, 'Show__2019_label_A__12.npy'), { data: new Uint8Array(16), shape: [16] });
    writeFileSync(join(dir, 'notes.txt'), 'not a label file');
    const gt = loadXdViolenceGroundTruth({ labelsDir: dir });
    assert.equal(
      gt.videos.map((v) => [v.name, v.anomalous, v.sourceFrames, v.frames]),
      [
        [B, true, 33, 32],
        [A, false, 20, 16],
        ['Show__2019_label_A', false, 16, 16],
        [C, true, 16, 16],
      ],
    );
    assert.equal(
      [gt.dataset, gt.totalFrames, gt.anomalousFrames, gt.anomalousVideos],
      ['xd-violence', 80, 7 + 12 + 16, 2],
    );
    assert.equal(loadXdViolenceGroundTruth({ labelsDir: dir, truncate: false }).totalFrames, 85);
    // The annotation: 0-based half-open spans, the last one clipped to the video.
    const ann = join(dir, 'ann.txt');
    writeFileSync(ann, `${B} 3 10 20 40\n\n  ${C}.mp4  0 4 \n`);
    const counts = { [A]: 20, [B]: 33, [C]: 16 };
    const t = loadXdViolenceGroundTruth({ annotation: ann, frameCounts: counts, truncate: false });
    assert.equal(
      t.videos.map((v) => [v.name, v.anomalous, v.sourceFrames, v.frames]),
      [
        [B, true, 33, 33],
        [A, false, 20, 20],
        [C, true, 16, 16],
      ],
    );
    assert.equal([...t.videos[0]!.labels], [...b]);
    assert.equal([...t.videos[2]!.labels], [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal([t.totalFrames, t.anomalousFrames, t.anomalousVideos], [69, 7 + 13 + 4, 2]);
    const truncated = loadXdViolenceGroundTruth({ annotation: ann, frameCounts: counts });
    assert.equal([truncated.totalFrames, truncated.anomalousFrames], [64, 7 + 12 + 4]);
    const missing = join(dir, 'absent.txt');
    const io = await expectCode(
      () => loadXdViolenceGroundTruth({ annotation: missing, frameCounts: counts }),
      'ERR_MIST_IO',
    );
    assert.match(io.message, /^cannot read annotation .*absent\.txt: /);
    const opt = await expectCode(
      () => loadXdViolenceGroundTruth({ labelsDir: dir, truncate: 'x' as never }),
      'ERR_MIST_ARG',
    );
    assert.match(opt.message, /^invalid XD-Violence ground-truth options: /);
    const e = await expectCode(
      () => loadXdViolenceGroundTruth({ annotation: ann, frameCounts: { [B]: 33 } }),
      'ERR_MIST_ARG',
    );
    assert.is(e.message, `no frame count for annotated video ${C} (${ann}:3)`);
    writeFileSync(ann, `${B} 3 x\n`);
    const f = await expectCode(
      () => loadXdViolenceGroundTruth({ annotation: ann, frameCounts: counts }),
      'ERR_MIST_FORMAT',
    );
    assert.is(f.message, `${ann}:1: expected "name s1 e1 [s2 e2 ...]"`);
    writeFileSync(ann, `${B}\n`);
    await expectCode(() => loadXdViolenceGroundTruth({ annotation: ann, frameCounts: counts }), 'ERR_MIST_FORMAT');
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const none0 = await expectCode(() => loadXdViolenceGroundTruth({ labelsDir: empty }), 'ERR_MIST_IO');
    assert.is(none0.message, `${empty}: no .npy label files`);
    const none = await expectCode(() => loadXdViolenceGroundTruth({} as never), 'ERR_MIST_ARG');
    assert.is(none.message, 'invalid XD-Violence ground-truth options: give labelsDir, or annotation and frameCounts');
    await expectCode(() => loadXdViolenceGroundTruth(undefined as never), 'ERR_MIST_ARG');
  } finally {
    cleanup();
  }
});

test.run();
