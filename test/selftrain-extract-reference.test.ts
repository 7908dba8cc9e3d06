// Ten-crop features of a real UCF-Crime video against PyTorch: torchvision's Resize(256) and
// TenCrop(224) on the same decoded frames, through the same weights
// (test/reference/make_tencrop_reference.py holds the recipe). Relative error is
// max |ours - PyTorch| / max |PyTorch| over each crop's features.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { cropViews, extractFeatures, openFrameSource, preprocessClips, SgaEncoder } from '../lib/index.js';
import { encodeVideo } from '../lib/selftrain/extract.js';
import { ROOT, hasFfmpeg, sharedData, skip, test } from './helpers.js';

const REF = join(ROOT, 'test', 'reference');
const ref = JSON.parse(readFileSync(join(REF, 'tencrop', 'reference.json'), 'utf8')) as {
  video: string;
  frames: number;
  clips: number;
  frameSize: [number, number];
  resized: [number, number];
  framesSha256: string;
  weights: string;
  width: number;
  featureDim: number;
  crops: { input: { sum: number; colSum: number; rowSum: number }[]; feature: number[][] }[];
};

async function encoder(options: { fold?: boolean } = {}): Promise<SgaEncoder> {
  const e = SgaEncoder.create({
    backbone: 'i3d',
    width: ref.width,
    inputSize: [16, 224, 224],
    device: 'cpu',
    ...options,
  });
  const r = await e.loadStateDict(join(REF, ref.weights));
  assert.equal(r.missing, []);
  return e;
}

test('the decoded frames are the bytes the reference was made from', async () => {
  const video = sharedData(ref.video);
  if (!video) return;
  if (!hasFfmpeg) return skip('ffmpeg');
  const source = await openFrameSource(video, { order: 'rgb' });
  assert.equal([source.height, source.width], ref.frameSize);
  const frames = await source.read(0, ref.frames);
  assert.is(createHash('sha256').update(frames.data).digest('hex'), ref.framesSha256, 'decoder output differs');
});

test("each crop's input equals torchvision's Resize(256) + TenCrop(224) (sums weighted by row and column)", async () => {
  const video = sharedData(ref.video);
  if (!video) return;
  if (!hasFfmpeg) return skip('ffmpeg');
  const source = await openFrameSource(video, { order: 'rgb' });
  const views = cropViews('i3d', source, { crops: 10 });
  assert.equal(views[0]!.resize, ref.resized);
  const frames = await source.read(0, ref.frames);
  const [H, W] = ref.frameSize;
  for (const [k, view] of views.entries()) {
    const x = (await preprocessClips(frames.data, [ref.clips, 16, H, W, 3], view)).data;
    const per = x.length / ref.clips;
    for (let c = 0; c < ref.clips; c++) {
      let sum = 0,
        colSum = 0,
        rowSum = 0;
      for (let i = 0; i < per; i++) {
        const v = x[c * per + i]!;
        sum += v;
        colSum += v * ((i % 224) + 1);
        rowSum += v * ((Math.floor(i / 224) % 224) + 1);
      }
      const want = ref.crops[k]!.input[c]!;
      // The inputs are k/128 - 1 for integers k: float64 sums of the same values agree to rounding.
      for (const [name, got, exp] of [
        ['sum', sum, want.sum],
        ['colSum', colSum, want.colSum],
        ['rowSum', rowSum, want.rowSum],
      ] as const) {
        assert.ok(
          Math.abs(got - exp) <= 1e-9 * Math.max(1, Math.abs(exp)),
          `crop ${k} clip ${c} ${name}: ${got} vs ${exp}`,
        );
      }
    }
  }
});

/** Worst relative error of each crop's features [clips, D] (clips c < ref.clips of [clips, 10, D]). */
function cropErrors(features: Float32Array): number[] {
  const D = ref.featureDim;
  return ref.crops.map((crop, k) => {
    let scale = 0,
      diff = 0;
    for (let c = 0; c < ref.clips; c++) {
      for (let d = 0; d < D; d++) {
        const want = crop.feature[c]![d]!;
        scale = Math.max(scale, Math.abs(want));
        diff = Math.max(diff, Math.abs(features[(c * 10 + k) * D + d]! - want));
      }
    }
    return diff / scale;
  });
}

test('ten-crop features equal PyTorch to 1e-5: extractFeatures (folded, the default) and the modules path', async () => {
  const video = sharedData(ref.video);
  if (!video) return;
  if (!hasFfmpeg) return skip('ffmpeg');
  const worst: Record<string, number> = {};
  // The public call on the whole video (21 clips), on the default folded path.
  const e = await encoder();
  const [r] = await extractFeatures([video], e, { crops: 10 });
  assert.equal([r!.clips, r!.crops, r!.featureDim], [21, 10, ref.featureDim]);
  assert.is(r!.features.length, 21 * 10 * ref.featureDim);
  e.dispose();
  // The same loop on the recorded clips only, through the modules (no folding): slower, and
  // PyTorch's own operators, so its bound is not loosened by a folding's reordered sums.
  const m = await encoder({ fold: false });
  m.setTraining(false);
  const source = await openFrameSource(video, { order: 'rgb' });
  const mod = await encodeVideo(source, ref.clips, m, { crops: 10, batchSize: 1, prefetch: 1 });
  m.dispose();
  for (const [path, features] of [
    ['folded (default)', r!.features],
    ['modules', mod.features],
  ] as const) {
    const errs = cropErrors(features);
    worst[path] = Math.max(...errs);
    errs.forEach((err, k) => assert.ok(err < 1e-5, `${path}: crop ${k} relative error ${err.toExponential(2)}`));
  }
  console.log(
    `  ten-crop features vs PyTorch, worst relative error: ${Object.entries(worst)
      .map(([k, v]) => `${k} ${v.toExponential(2)}`)
      .join(', ')}`,
  );
});

test.run();
