// Synthetic videos for stage 2: real files that decode to the stated frame counts, a manifest
// that lists them with their labels and intervals, raw frames that depend only on the seed,
// and anomalous intervals whose motion is measurably stronger than the rest of the video.
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type VideoReader, openVideo } from '../lib/data/video.js';
import { makeSyntheticVideos } from '../lib/stage2/synthetic-videos.js';
import { readVideoManifest } from '../lib/data/manifest.js';
import { expectCode, hasFfmpeg, skip, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-synthetic-');
test.after(cleanup);
// One default data set, made once for the tests below.
let made: Awaited<ReturnType<typeof makeSyntheticVideos>> | undefined;
const progress: number[] = [];
async function dataset(): Promise<NonNullable<typeof made>> {
  made ??= await makeSyntheticVideos(join(dir, 'a'), { seed: 7, onProgress: (p) => progress.push(p.done) });
  return made;
}

test('the default set: 8 + 8 train and 4 + 4 test videos, listed in manifest.json', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const t0 = performance.now();
  const r = await dataset();
  console.log(`# 24 videos made in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const m = JSON.parse(readFileSync(join(dir, 'a', 'manifest.json'), 'utf8')) as typeof r.manifest;
  assert.equal(m, r.manifest);
  assert.is(r.manifestPath, join(dir, 'a', 'manifest.json'));
  const count = (split: string, label: string): number =>
    m.videos.filter((v) => v.split === split && v.label === label).length;
  assert.equal(
    [count('train', 'normal'), count('train', 'anomalous'), count('test', 'normal'), count('test', 'anomalous')],
    [8, 8, 4, 4],
  );
  assert.equal(
    progress,
    Array.from({ length: 24 }, (_, i) => i + 1),
  );
  // Exactly the manifest's keys, paths relative to the folder, no temporary files left.
  for (const v of m.videos) {
    assert.equal(Object.keys(v).sort(), ['intervals', 'label', 'path', 'split']);
    assert.ok(v.path.startsWith(`${v.split}/${v.split === 'test' ? 'test_' : ''}${v.label}_`), v.path);
    assert.ok(existsSync(join(dir, 'a', v.path)));
  }
  assert.equal(readdirSync(join(dir, 'a')).sort(), ['manifest.json', 'test', 'train']);
  // The manifest reader takes it as it is: names are unique across the splits.
  assert.is(readVideoManifest(r.manifestPath).videos.length, 24);
  assert.ok(readdirSync(join(dir, 'a', 'train')).every((n) => n.endsWith('.mp4') && !n.includes('tmp')));
  // Normal videos have no interval; anomalous ones one, half-open, 20-40 % of their frames.
  for (const v of r.videos) {
    if (v.label === 'normal') {
      assert.equal([v.intervals, v.event], [[], 'none']);
      continue;
    }
    assert.is(v.intervals.length, 1);
    const [s, e] = v.intervals[0]!;
    assert.ok(s >= 0 && e <= v.frames && s < e, `${v.path}: [${s}, ${e}) of ${v.frames}`);
    const share = (e - s) / v.frames;
    assert.ok(share >= 0.19 && share <= 0.41, `${v.path}: share ${share}`);
    assert.ok(v.event === 'erratic' || v.event === 'intruder');
  }
  assert.ok(r.videos.some((v) => v.event === 'erratic') && r.videos.some((v) => v.event === 'intruder'));
});

// The opened videos, probed once for the tests below.
const readers = new Map<string, VideoReader>();

test('every file decodes to its stated frame count and size', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const r = await dataset();
  for (const v of r.videos) {
    const info = await openVideo(v.file);
    readers.set(v.file, info);
    assert.equal([info.frames, info.width, info.height, info.fps], [v.frames, 64, 64, 25], v.path);
    assert.ok(v.frames >= 96 && v.frames <= 160);
  }
});

test('the anomalous interval has much more motion than the rest (measured on the decoded video)', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const r = await dataset();
  for (const v of r.videos.filter((x) => x.label === 'anomalous')) {
    // Mean absolute difference between consecutive decoded frames, per transition f-1 -> f.
    const diffs: number[] = [];
    let prev: Uint8Array | undefined;
    for await (const c of (readers.get(v.file) ?? (await openVideo(v.file))).clips({ clipLength: 1 })) {
      if (prev) {
        let s = 0;
        for (let i = 0; i < c.data.length; i++) s += Math.abs(c.data[i]! - prev[i]!);
        diffs.push(s / c.data.length);
      }
      prev = c.data;
    }
    const [a, b] = v.intervals[0]!;
    const mean = (x: number[]): number => x.reduce((p, q) => p + q, 0) / x.length;
    // Transition f-1 -> f is diffs[f - 1]; inside: both frames in [a, b).
    const inside = mean(diffs.filter((_, i) => i + 1 > a && i + 1 < b));
    const outside = mean(diffs.filter((_, i) => i + 1 < a || i + 1 > b));
    assert.ok(
      inside > 2.5 * outside,
      `${v.path} (${v.event}): inside ${inside.toFixed(2)}, outside ${outside.toFixed(2)}`,
    );
  }
  // Normal videos move slowly all along.
  for (const v of r.videos.filter((x) => x.label === 'normal').slice(0, 2)) {
    let prev: Uint8Array | undefined;
    let max = 0;
    for await (const c of (readers.get(v.file) ?? (await openVideo(v.file))).clips({ clipLength: 1 })) {
      if (prev) {
        let s = 0;
        for (let i = 0; i < c.data.length; i++) s += Math.abs(c.data[i]! - prev[i]!);
        max = Math.max(max, s / c.data.length);
      }
      prev = c.data;
    }
    assert.ok(max < 4, `${v.path}: largest frame difference ${max.toFixed(2)}`);
  }
});

test('raw frames are deterministic in the seed; other seeds, other videos', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const small = { normal: 2, anomalous: 2, testNormal: 0, testAnomalous: 0, frames: 40, width: 32, height: 24 };
  const a = await makeSyntheticVideos(join(dir, 's1'), { ...small, seed: 3 });
  const b = await makeSyntheticVideos(join(dir, 's2'), { ...small, seed: 3 });
  const c = await makeSyntheticVideos(join(dir, 's3'), { ...small, seed: 4 });
  assert.equal(
    a.videos.map((v) => v.rawSha256),
    b.videos.map((v) => v.rawSha256),
  );
  assert.equal(a.manifest, b.manifest);
  assert.ok(a.videos.every((v, i) => v.rawSha256 !== c.videos[i]!.rawSha256));
  assert.ok(new Set(a.videos.map((v) => v.rawSha256)).size === 4, 'the videos of one set differ');
  // The same encoder on the same frames gives the same file here.
  assert.ok(readFileSync(a.videos[0]!.file).equals(readFileSync(b.videos[0]!.file)));
  const info = await openVideo(a.videos[2]!.file);
  assert.equal([info.frames, info.width, info.height], [40, 32, 24]);
  // mpeg4 when asked (the fallback when libx264 is missing) decodes the same way.
  const m = await makeSyntheticVideos(join(dir, 'mpeg4'), {
    ...small,
    anomalous: 0,
    normal: 1,
    codec: 'mpeg4',
    seed: 3,
  });
  const mi = await openVideo(m.videos[0]!.file);
  assert.equal([mi.frames, mi.codec], [40, 'mpeg4']);
});

test('bad options, abort', async () => {
  await expectCode(() => makeSyntheticVideos(join(dir, 'x'), { frames: [50, 20] }), 'ERR_MIST_ARG');
  await expectCode(() => makeSyntheticVideos(join(dir, 'x'), { width: 8 }), 'ERR_MIST_ARG');
  await expectCode(() => makeSyntheticVideos(join(dir, 'x'), { intervalFraction: [0.5, 0.2] }), 'ERR_MIST_ARG');
  await expectCode(() => makeSyntheticVideos(join(dir, 'x'), { videos: 3 } as never), 'ERR_MIST_ARG');
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const ac = new AbortController();
  ac.abort();
  await expectCode(() => makeSyntheticVideos(join(dir, 'x'), { signal: ac.signal }), 'ERR_MIST_ABORTED');
  const missing = await expectCode(
    () =>
      makeSyntheticVideos(join(dir, 'y'), {
        normal: 1,
        anomalous: 0,
        testNormal: 0,
        testAnomalous: 0,
        ffmpegPath: '/nonexistent/ffmpeg',
        codec: 'mpeg4',
      }),
    'ERR_MIST_VIDEO',
  );
  assert.match(missing.message, /not found/);
});

test.run();
