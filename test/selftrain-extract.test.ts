// Multi-crop feature extraction and its files: the crop geometry of torchvision's Resize(256)
// + TenCrop(224) written out by hand, each crop against a hand-built ClipSpec through
// preprocessClips and forward, the three file layouts read back (readNpy, readCropFeatures,
// openFeatureStore, h5py), the .list read back by readRtfmList, resuming (nothing rewritten),
// a corrupt video in the middle of a run, and an abort. The PyTorch comparison on a real
// video is test/selftrain-extract-reference.test.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import {
  clipTransform,
  cropViews,
  extractFeatureFiles,
  extractFeatures,
  openFeatureStore,
  openFrameSource,
  preprocessClips,
  readCropFeatures,
  readNpy,
  readRtfmList,
  SgaEncoder,
  type ExtractFilesProgress,
  type ExtractedVideo,
} from '../lib/index.js';
import { makeSyntheticVideos } from '../lib/stage2/synthetic-videos.js';
import { expectCode, hasFfmpeg, skip, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-extract-files-');
test.after(cleanup);

const INPUT = [16, 32, 32] as const;
// The modules path (no folding), the closest to PyTorch's own operators; the hand-built
// forwards below take batches of another size than extraction does, which can change the
// last bits of a sum, hence their 1e-6 tolerance. Files are compared bit for bit with an
// extraction in the same batches.
const encoder = SgaEncoder.create({
  backbone: 'i3d',
  width: 1 / 16,
  inputSize: INPUT,
  init: 'kaiming',
  seed: 5,
  fold: false,
});
const D = encoder.featureDim;

let made: string[] | undefined;
/** Three videos of 40 frames (2 clips and 8 frames left over), 64 x 48. */
async function videos(): Promise<string[]> {
  made ??= (
    await makeSyntheticVideos(join(dir, 'videos'), {
      seed: 9,
      normal: 2,
      anomalous: 1,
      testNormal: 0,
      testAnomalous: 0,
      frames: 40,
      width: 64,
      height: 48,
    })
  ).videos.map((v) => v.file);
  return made;
}
const name = (file: string) => file.split('/').pop()!.slice(0, -4);

const tenCrop = new Map<string, ExtractedVideo>();
/** extractFeatures(..., { crops: 10 }) of each video, once. */
async function tenCropFeatures(): Promise<Map<string, ExtractedVideo>> {
  if (tenCrop.size === 0)
    for (const r of await extractFeatures(await videos(), encoder, { crops: 10 })) tenCrop.set(r.name, r);
  return tenCrop;
}

/** The boxes by hand, [y, x, flip]: Resize(256) then TenCrop(224), see each case. */
type Box = [number, number, boolean];
/**
 * Ten crops of a 64 x 48 frame for an encoder of side 32, by hand: resize [37, 49], 32 x 32
 * boxes at y 0 / 5, x 0 / 17, centre (2, 8); the mirrored five are the mirrored boxes of the
 * flipped frame, whose centre starts at 49 - 32 - 8 = 9.
 */
const SMALL_TEN_CROPS: readonly Box[] = [
  [0, 0, false],
  [0, 17, false],
  [5, 0, false],
  [5, 17, false],
  [2, 8, false],
  [0, 17, true],
  [0, 0, true],
  [5, 17, true],
  [5, 0, true],
  [2, 9, true],
];
function boxes(views: ReturnType<typeof cropViews>): Box[] {
  return views.map((v) => [v.crop.y, v.crop.x, v.flip]);
}

test("cropViews: torchvision's Resize(256) + TenCrop(224) boxes, by hand, for the real frame sizes", () => {
  // UCF-Crime 320 x 240: short side 256, long int(256 * 320 / 240) = 341. Corners at 256 - 224
  // = 32 and 341 - 224 = 117; centre (16, round(58.5) = 58, half to even). The flipped frame's
  // boxes in TenCrop's order are the mirrors: its top left is our top right (x 117), ..., its
  // centre x = 341 - 224 - 58 = 59.
  const ucf = cropViews('i3d', { width: 320, height: 240 }, { crops: 10 });
  for (const v of ucf) {
    assert.equal(
      [v.resize, v.outSize, v.order, v.mean, v.scale],
      [[256, 341], [224, 224], 'rgb', [128, 128, 128], 128],
    );
    assert.equal([v.crop.h, v.crop.w], [224, 224]);
  }
  assert.equal(boxes(ucf), [
    [0, 0, false],
    [0, 117, false],
    [32, 0, false],
    [32, 117, false],
    [16, 58, false],
    [0, 117, true],
    [0, 0, true],
    [32, 117, true],
    [32, 0, true],
    [16, 59, true],
  ]);
  // ShanghaiTech 856 x 480: long int(256 * 856 / 480) = int(456.53) = 456; 456 - 224 = 232 is
  // even, so the flipped centre is the centre.
  const sht = cropViews('i3d', { width: 856, height: 480 }, { crops: 10 });
  assert.equal(sht[0]!.resize, [256, 456]);
  assert.equal(boxes(sht)[4], [16, 116, false]);
  assert.equal(boxes(sht)[9], [16, 116, true]);
  // A portrait frame: the width is the short side.
  assert.equal(cropViews('i3d', { width: 240, height: 320 }, { crops: 5 })[0]!.resize, [341, 256]);
  // Five crops are the first five of ten.
  assert.equal(cropViews('i3d', { width: 320, height: 240 }, { crops: 5 }), ucf.slice(0, 5));
  // One view: the test-time transform of clipTransform, whatever the frame.
  assert.equal(cropViews('i3d', { width: 320, height: 240 }), [clipTransform('i3d', { train: false })]);
  // C3D: 128 x 171 (aspect not kept) and 112 crops; centre (8, round(29.5) = 30), flipped
  // centre x = 171 - 112 - 30 = 29; BGR minus the Sports-1M mean.
  const c3d = cropViews('c3d', { width: 320, height: 240 }, { crops: 10 });
  assert.equal(
    [c3d[0]!.resize, c3d[0]!.outSize, c3d[0]!.order, c3d[0]!.mean],
    [[128, 171], [112, 112], 'bgr', [90.25, 97.66, 101.41]],
  );
  assert.equal(boxes(c3d)[1], [0, 59, false]);
  assert.equal(boxes(c3d)[4], [8, 30, false]);
  assert.equal(boxes(c3d)[9], [8, 29, true]);
  // An encoder of input side 32 scales the short side: round(256 * 32 / 224) = 37, and the
  // long side follows torchvision: int(37 * 64 / 48) = 49.
  const small = cropViews('i3d', { width: 64, height: 48 }, { crops: 10, inputSize: INPUT });
  assert.equal(small[0]!.resize, [37, 49]);
  assert.equal(boxes(small), SMALL_TEN_CROPS);
});

test('cropViews rejects crops that do not fit and crop counts other than 1, 5, 10', async () => {
  await expectCode(
    () => cropViews('i3d', { width: 320, height: 240 }, { crops: 10, testSize: [200, 300] }),
    'ERR_MIST_ARG',
  );
  await expectCode(() => cropViews('i3d', { width: 320, height: 240 }, { crops: 3 as never }), 'ERR_MIST_ARG');
});

test('layouts [T, D], [T, 5, D], [T, 10, D]; crop k equals a hand-built ClipSpec through preprocessClips + forward', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const files = await videos();
  const one = await extractFeatures(files, encoder);
  const five = await extractFeatures(files, encoder, { crops: 5, batchSize: 1 });
  const ten = await tenCropFeatures();
  for (const [i, f] of files.entries()) {
    assert.equal([one[i]!.clips, one[i]!.crops, one[i]!.features.length, one[i]!.scores.length], [2, 1, 2 * D, 2]);
    assert.equal([five[i]!.crops, five[i]!.features.length, five[i]!.scores.length], [5, 2 * 5 * D, 2 * 5]);
    const r = ten.get(name(f))!;
    assert.equal([r.clips, r.crops, r.features.length, r.scores.length], [2, 10, 2 * 10 * D, 2 * 10]);
    // The hand-made boxes of the scaled case above: resize [37, 49], 32 x 32 crops.
    const source = await openFrameSource(f, { order: 'rgb' });
    const frames = await source.read(0, 32);
    for (const [k, [y, x, flip]] of SMALL_TEN_CROPS.entries()) {
      const spec = { resize: [37, 49], crop: { y, x, h: 32, w: 32 }, flip, mean: [128, 128, 128], scale: 128 } as const;
      const clips = await preprocessClips(frames.data, [2, 16, 48, 64, 3], spec);
      const o = await encoder.forward(clips.data, 2);
      let scale = 0,
        diff = 0;
      for (let c = 0; c < 2; c++) {
        for (let d = 0; d < D; d++) {
          const want = o.feature[c * D + d]!;
          scale = Math.max(scale, Math.abs(want));
          diff = Math.max(diff, Math.abs(r.features[(c * 10 + k) * D + d]! - want));
          if (k < 5) assert.is(five[i]!.features[(c * 5 + k) * D + d], r.features[(c * 10 + k) * D + d]);
        }
        assert.ok(Math.abs(r.scores[c * 10 + k]! - o.score[c]!) < 1e-6, `crop ${k} clip ${c} score`);
      }
      assert.ok(diff <= 1e-6 * scale, `crop ${k}: relative difference ${diff / scale}`);
      // Crops differ from each other (a layout that repeated one view would pass the rest).
      if (k > 0) assert.not.equal(r.features.subarray(k * D, (k + 1) * D), r.features.subarray(0, D));
    }
  }
});

/** Every file under a folder with its mtime (ms), recursively. */
function mtimes(root: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(p, statSync(p).mtimeMs);
    }
  };
  walk(root);
  return out;
}

test('npy [T, 10, D] read back with readNpy, the .list with readRtfmList, progress per batch; a rerun rewrites nothing', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const files = await videos();
  const ten = await tenCropFeatures();
  const out = join(dir, 'npy10');
  const events: ExtractFilesProgress[] = [];
  const r = await extractFeatureFiles(files, encoder, { dir: out, crops: 10, onProgress: (p) => events.push(p) });
  assert.equal(r.written, files.map(name));
  assert.equal([r.skipped, r.failed, r.clips], [[], [], 6]);
  for (const f of files) {
    const a = readNpy(join(out, `${name(f)}.npy`));
    assert.equal([a.dtype, a.shape], ['float32', [2, 10, D]]);
    assert.equal(Array.from(a.data as Float32Array), Array.from(ten.get(name(f))!.features));
  }
  const list = readRtfmList(r.list!);
  assert.equal(
    list.map((e) => [e.name, e.path]),
    files.map((f) => [name(f), join(out, `${name(f)}.npy`)]),
  );
  // batchSize 1 (ten crops): start, a batch per clip, written, per video.
  assert.equal(
    events.map((e) => `${e.index}/${e.videos} ${e.event} ${e.clipsDone}/${e.clips} ${e.totalClips}`),
    [0, 1, 2].flatMap((i) => [
      `${i}/3 start 0/2 ${2 * i}`,
      `${i}/3 batch 1/2 ${2 * i + 1}`,
      `${i}/3 batch 2/2 ${2 * i + 2}`,
      `${i}/3 written 2/2 ${2 * i + 2}`,
    ]),
  );
  for (const e of events.filter((x) => x.event === 'batch')) {
    assert.ok(e.clipsPerSecond > 0 && Number.isFinite(e.etaSeconds) && e.etaSeconds >= 0, JSON.stringify(e));
    // ETA = clips left (this video's, then one more video of 2 clips per video left) / rate.
    const left = 2 - e.clipsDone + 2 * (2 - e.index);
    assert.ok(Math.abs(e.etaSeconds - left / e.clipsPerSecond) < 1e-9, JSON.stringify(e));
  }
  assert.is(events.at(-1)!.etaSeconds, 0);

  const before = mtimes(out);
  const again: ExtractFilesProgress[] = [];
  const r2 = await extractFeatureFiles(files, encoder, { dir: out, crops: 10, onProgress: (p) => again.push(p) });
  assert.equal([r2.written, r2.skipped, r2.clips], [[], files.map(name), 0]);
  assert.equal(
    again.map((e) => e.event),
    ['skipped', 'skipped', 'skipped'],
  );
  assert.equal(mtimes(out), before, 'the rerun rewrote a file');
  // Another layout in the same folder is not "complete": crops 1 rewrites the files as [T, D].
  const r3 = await extractFeatureFiles(files.slice(0, 1), encoder, { dir: out, list: false });
  assert.equal(r3.written, [name(files[0]!)]);
  assert.equal(readNpy(join(out, `${name(files[0]!)}.npy`)).shape, [2, D]);
});

test('npy-per-crop: <video>__<k>.npy [T, D] per crop, stacked back by readCropFeatures; the list names every crop', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const files = await videos();
  const ten = await tenCropFeatures();
  const out = join(dir, 'per-crop');
  const r = await extractFeatureFiles(files, encoder, { dir: out, crops: 10, format: 'npy-per-crop' });
  assert.equal(r.written, files.map(name));
  for (const f of files) {
    const want = ten.get(name(f))!.features;
    for (let k = 0; k < 10; k++) {
      const a = readNpy(join(out, `${name(f)}__${k}.npy`)) as { data: Float32Array; shape: number[] };
      assert.equal(a.shape, [2, D]);
      for (let c = 0; c < 2; c++) {
        assert.equal(
          Array.from(a.data.subarray(c * D, (c + 1) * D)),
          Array.from(want.subarray((c * 10 + k) * D, (c * 10 + k + 1) * D)),
        );
      }
    }
    const stacked = readCropFeatures(join(out, name(f)));
    assert.equal([stacked.shape, Array.from(stacked.data)], [[2, 10, D], Array.from(want)]);
  }
  const list = readRtfmList(r.list!);
  assert.equal(
    list.map((e) => `${e.name}#${e.crop}`),
    files.flatMap((f) => Array.from({ length: 10 }, (_, k) => `${name(f)}#${k}`)),
  );
  const before = mtimes(out);
  const r2 = await extractFeatureFiles(files, encoder, { dir: out, crops: 10, format: 'npy-per-crop' });
  assert.equal([r2.written.length, r2.skipped.length], [0, 3]);
  assert.equal(mtimes(out), before);
});

/** h5py's view of a store: each dataset's shape, dtype and float64 sum. */
function h5pyRead(path: string): Record<string, { shape: number[]; dtype: string; sum: number }> | undefined {
  const script =
    'import h5py, json, sys\n' +
    'f = h5py.File(sys.argv[1], "r")\n' +
    'print(json.dumps({k: {"shape": list(f[k].shape), "dtype": str(f[k].dtype), "sum": float(f[k][()].astype("float64").sum())} for k in f.keys()}))\n';
  try {
    return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, path], { encoding: 'utf8' })) as never;
  } catch {
    return undefined;
  }
}
const hasH5py = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import h5py'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('hdf5: one store of <video>.npy datasets, read by openFeatureStore and by h5py; aborted and resumed', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const files = await videos();
  const ten = await tenCropFeatures();
  const out = join(dir, 'hdf5');
  // Stopped in the second video: the first is staged (complete), no store yet, no temporaries.
  const ac = new AbortController();
  await expectCode(
    () =>
      extractFeatureFiles(files, encoder, {
        dir: out,
        crops: 10,
        format: 'hdf5',
        signal: ac.signal,
        onProgress: (p) => {
          if (p.index === 1 && p.event === 'batch') ac.abort();
        },
      }),
    'ERR_MIST_ABORTED',
  );
  assert.equal(
    [...mtimes(out).keys()].map((p) => p.slice(out.length + 1)),
    [`.features.h5.parts/${name(files[0]!)}.npy`],
  );
  const r = await extractFeatureFiles(files, encoder, { dir: out, crops: 10, format: 'hdf5' });
  assert.equal([r.skipped, r.written, r.clips], [[name(files[0]!)], files.slice(1).map(name), 4]);
  assert.equal([...mtimes(out).keys()].map((p) => p.slice(out.length + 1)).sort(), ['features.h5', 'features.list']);
  const store = await openFeatureStore(r.store!);
  try {
    assert.equal(store.names().sort(), files.map(name).sort());
    for (const f of files) {
      const a = store.read(name(f));
      assert.equal([a.shape, Array.from(a.data)], [[2, 10, D], Array.from(ten.get(name(f))!.features)]);
    }
  } finally {
    store.close();
  }
  assert.equal(
    readRtfmList(r.list!).map((e) => [e.name, e.path]),
    files.map((f) => [name(f), `${name(f)}.npy`]),
  );
  const before = mtimes(out);
  const r2 = await extractFeatureFiles(files, encoder, { dir: out, crops: 10, format: 'hdf5' });
  assert.equal([r2.written.length, r2.skipped.length], [0, 3]);
  assert.equal(mtimes(out), before, 'the rerun rewrote the store or the list');

  if (!hasH5py) return skip('h5py (Debian python3-h5py) for /usr/bin/python3');
  const h5 = h5pyRead(r.store!);
  assert.ok(h5, 'h5py could not read the store');
  for (const f of files) {
    const want = ten.get(name(f))!.features.reduce((a, b) => a + b, 0);
    const got = h5[`${name(f)}.npy`]!;
    assert.equal([got.shape, got.dtype], [[2, 10, D], 'float32']);
    assert.ok(Math.abs(got.sum - want) <= 1e-9 * Math.abs(want) + 1e-9, `${name(f)} sum ${got.sum} vs ${want}`);
  }
});

test('a corrupt video in the middle is reported and left out; the others are written', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const files = await videos();
  const bad = join(dir, 'corrupt.mp4');
  let seed = 12345;
  writeFileSync(
    bad,
    Uint8Array.from({ length: 20000 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed >> 23;
    }),
  );
  const out = join(dir, 'with-corrupt');
  const events: ExtractFilesProgress[] = [];
  const list = [files[0]!, bad, files[1]!];
  const r = await extractFeatureFiles(list, encoder, { dir: out, onProgress: (p) => events.push(p) });
  assert.equal(r.written, [name(files[0]!), name(files[1]!)]);
  assert.equal(
    r.failed.map((f) => [f.video, f.path, f.error.code]),
    [['corrupt', bad, 'ERR_MIST_VIDEO']],
  );
  const failed = events.filter((e) => e.event === 'failed');
  assert.equal(
    failed.map((e) => [e.index, e.video, e.error?.code]),
    [[1, 'corrupt', 'ERR_MIST_VIDEO']],
  );
  assert.ok(!existsSync(join(out, 'corrupt.npy')));
  for (const f of [files[0]!, files[1]!]) assert.equal(readNpy(join(out, `${name(f)}.npy`)).shape, [2, D]);
  assert.equal(
    readRtfmList(r.list!).map((e) => e.name),
    [name(files[0]!), name(files[1]!)],
  );
  // The failure is tried again on the next run (and fails again); the rest is skipped.
  const r2 = await extractFeatureFiles(list, encoder, { dir: out });
  assert.equal([r2.skipped.length, r2.written.length, r2.failed.length], [2, 0, 1]);
});

test('bad options: a name used twice, a crop count, a store name with a folder', async () => {
  const out = join(dir, 'bad');
  await expectCode(() => extractFeatureFiles(['a/v.mp4', 'b/v.mp4'], encoder, { dir: out }), 'ERR_MIST_ARG');
  await expectCode(() => extractFeatureFiles([], encoder, { dir: out, crops: 2 as never }), 'ERR_MIST_ARG');
  await expectCode(
    () => extractFeatureFiles([], encoder, { dir: out, format: 'hdf5', store: 'x/y.h5' }),
    'ERR_MIST_ARG',
  );
  await expectCode(() => extractFeatureFiles([], encoder, { dir: out, crops: 10, testSize: [20, 20] }), 'ERR_MIST_ARG');
});

test.run();
