// The bad-input matrix of the readers, part 2: ground truth (UCF-Crime, ShanghaiTech,
// XD-Violence and RTFM annotations, frame counts and frame masks) and video manifests (JSON and
// CSV). Every case must end in a coded MistError naming the file (test/reliability-helpers.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import {
  encodeNpy,
  loadRtfmGroundTruth,
  loadShanghaiTechGroundTruth,
  loadUcfCrimeGroundTruth,
  loadXdViolenceGroundTruth,
  readFrameCounts,
  readVideoManifest,
  shanghaiTechVideoManifest,
} from '../lib/index.js';
import { tempDir, test } from './helpers.js';
import { refuses } from './reliability-helpers.js';

const { dir, cleanup } = tempDir('mist-reliability-');
test.after(cleanup);

let n = 0;
function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, `${++n}-${name}`);
  writeFileSync(p, content);
  return p;
}

// ---- UCF-Crime ------------------------------------------------------------------------------

test('UCF-Crime annotation: reversed, past the video, non-integers, unknown video, huge counts', async () => {
  const counts = { Abuse028_x264: 1000, Normal_Videos_003_x264: 500 };
  const ok = file('ann.txt', 'Abuse028_x264.mp4 Abuse 165 240 -1 -1\nNormal_Videos_003_x264.mp4 Normal -1 -1 -1 -1\n');
  assert.is(loadUcfCrimeGroundTruth({ annotation: ok, frameCounts: counts }).anomalousFrames, 75);
  const cases: [string, string, string, RegExp][] = [
    [
      'interval end before start',
      'Abuse028_x264.mp4 Abuse 240 165 -1 -1\n',
      'ERR_MIST_FORMAT',
      /:1: bad interval 240 165/,
    ],
    [
      'interval starting past the 1000 frames',
      'Abuse028_x264.mp4 Abuse 1200 1300 -1 -1\n',
      'ERR_MIST_FORMAT',
      /starts past its 1000 frames/,
    ],
    [
      'a non-integer bound',
      'Abuse028_x264.mp4 Abuse 165.5 240 -1 -1\n',
      'ERR_MIST_FORMAT',
      /:1: expected "name class s1 e1 s2 e2"/,
    ],
    ['a missing column', 'Abuse028_x264.mp4 Abuse 165 240 -1\n', 'ERR_MIST_FORMAT', /:1: expected/],
    [
      'a video without a frame count',
      'Arson011_x264.mp4 Arson 1 2 -1 -1\n',
      'ERR_MIST_ARG',
      /no frame count for Arson011_x264/,
    ],
    ['an empty file', '\n\n', 'ERR_MIST_FORMAT', /no videos/],
  ];
  for (const [input, text, code, message] of cases) {
    const p = file('ann.txt', text);
    const e = await refuses(
      'loadUcfCrimeGroundTruth',
      input,
      () => loadUcfCrimeGroundTruth({ annotation: p, frameCounts: counts }),
      code,
      p,
    );
    assert.match(e.message, message, input);
  }
  // Frame counts read from a file are bounded (2^30) before labels are allocated for them.
  const huge = file('counts.txt', 'Abuse028_x264 4294967296\n');
  const m = await refuses(
    'loadUcfCrimeGroundTruth',
    'a frame count of 2^32 in the frame-count file',
    () => loadUcfCrimeGroundTruth({ annotation: ok, frameCounts: huge }),
    'ERR_MIST_FORMAT',
    huge,
  );
  assert.match(m.message, /frame count 4294967296 is beyond 1073741824/);
  let p = file('counts.txt', 'Abuse028_x264 123456789012345678901234567890\n');
  await refuses('readFrameCounts', 'a count beyond 2^53', () => readFrameCounts(p), 'ERR_MIST_FORMAT', p);
  p = file('counts.txt', 'Abuse028_x264 100\nAbuse028_x264 200\n');
  await refuses('readFrameCounts', 'one video with two counts', () => readFrameCounts(p), 'ERR_MIST_FORMAT', p);
  p = file('counts.txt', 'Abuse028_x264 many\n');
  await refuses('readFrameCounts', 'a count that is a word', () => readFrameCounts(p), 'ERR_MIST_FORMAT', p);
});

// ---- ShanghaiTech ---------------------------------------------------------------------------

test('ShanghaiTech masks: not 0/1, wrong length, 2-D, missing; list counts beyond memory', async () => {
  const masks = join(dir, 'masks');
  mkdirSync(masks);
  const mask = (name: string, data: Uint8Array | Float32Array, shape = [data.length]) =>
    writeFileSync(join(masks, `${name}.npy`), encodeNpy({ data, shape }));
  const list = file('SH_Test_NEW.txt', '01_0015,1,-1\n01_001,0,64\n');
  mask(
    '01_0015',
    Uint8Array.from({ length: 64 }, (_, i) => (i >= 16 && i < 32 ? 1 : 0)),
  );
  assert.is(loadShanghaiTechGroundTruth({ masks, list }).anomalousFrames, 16);
  const where = join(masks, '01_0015.npy');
  mask(
    '01_0015',
    Uint8Array.from({ length: 64 }, (_, i) => (i === 20 ? 2 : 0)),
  );
  const v = await refuses(
    'loadShanghaiTechGroundTruth',
    'a mask value of 2',
    () => loadShanghaiTechGroundTruth({ masks, list }),
    'ERR_MIST_FORMAT',
    where,
  );
  assert.match(v.message, /got 2 at frame 20/);
  mask(
    '01_0015',
    Float32Array.from({ length: 64 }, (_, i) => (i === 3 ? NaN : 0)),
  );
  await refuses(
    'loadShanghaiTechGroundTruth',
    'a NaN in a float mask',
    () => loadShanghaiTechGroundTruth({ masks, list }),
    'ERR_MIST_FORMAT',
    where,
  );
  mask('01_0015', new Uint8Array(64), [8, 8]);
  await refuses(
    'loadShanghaiTechGroundTruth',
    'a 2-D mask',
    () => loadShanghaiTechGroundTruth({ masks, list }),
    'ERR_MIST_SHAPE',
    where,
  );
  mask('01_0015', new Uint8Array(90));
  const withCount = file('SH_Test_NEW.txt', '01_0015,1,100\n');
  const l = await refuses(
    'loadShanghaiTechGroundTruth',
    'a mask of 90 frames for a video the list gives 100',
    () => loadShanghaiTechGroundTruth({ masks, list: withCount }),
    'ERR_MIST_FORMAT',
    where,
  );
  assert.match(l.message, /the mask has 90 frames, .* says 01_0015 has 100/);
  const absent = file('SH_Test_NEW.txt', '01_0099,1,-1\n');
  await refuses(
    'loadShanghaiTechGroundTruth',
    'the mask of an anomalous video missing',
    () => loadShanghaiTechGroundTruth({ masks, list: absent }),
    'ERR_MIST_IO',
    '01_0099.npy',
  );
  const huge = file('SH_Test_NEW.txt', '01_001,0,4294967296\n');
  await refuses(
    'loadShanghaiTechGroundTruth',
    'a normal video of 2^32 frames in the list',
    () => loadShanghaiTechGroundTruth({ masks, list: huge }),
    'ERR_MIST_FORMAT',
    huge,
  );
  // The manifest built from the same layout checks the same.
  const videos = join(dir, 'videos');
  mkdirSync(videos);
  writeFileSync(join(videos, '01_0015.avi'), '');
  await refuses(
    'shanghaiTechVideoManifest',
    'a mask of 90 frames for a video the list gives 100',
    () => shanghaiTechVideoManifest({ testList: withCount, frameMasks: masks, videoDir: videos }),
    'ERR_MIST_FORMAT',
    where,
  );
});

// ---- XD-Violence and RTFM -------------------------------------------------------------------

test('XD-Violence annotation: reversed, past the video, overlapping, non-integers; RTFM lengths', async () => {
  const B = 'v=abc__#1_label_B1-0-0';
  const counts = { [B]: 320, 'v=def__#1_label_A': 160 };
  const ok = file('XD_Annotation.txt', `${B} 16 48 100 140\n`);
  assert.is(loadXdViolenceGroundTruth({ annotation: ok, frameCounts: counts }).anomalousFrames, 72);
  const cases: [string, string, RegExp][] = [
    ['interval end before start', `${B} 48 16\n`, /:1: bad interval 48 16/],
    ['an empty interval', `${B} 16 16\n`, /:1: bad interval 16 16/],
    ['interval starting past the 320 frames', `${B} 400 500\n`, /starts past its 320 frames/],
    ['intervals out of order', `${B} 100 140 16 48\n`, /:1: interval 16 48 starts before the previous one ends/],
    ['a non-integer bound', `${B} 16 4.5e1\n`, /:1: expected "name s1 e1/],
    ['an odd number of bounds', `${B} 16 48 100\n`, /:1: expected "name s1 e1/],
    ['a video annotated twice', `${B} 16 48\n${B} 100 140\n`, /:2: .* is annotated twice/],
  ];
  for (const [input, text, message] of cases) {
    const p = file('XD_Annotation.txt', text);
    const e = await refuses(
      'loadXdViolenceGroundTruth',
      input,
      () => loadXdViolenceGroundTruth({ annotation: p, frameCounts: counts }),
      'ERR_MIST_FORMAT',
      p,
    );
    assert.match(e.message, message, input);
  }
  const labels = join(dir, 'xd-labels');
  mkdirSync(labels);
  const lf = join(labels, `${B}__0.npy`);
  writeFileSync(lf, encodeNpy({ data: Uint8Array.from([0, 1, 3]), shape: [3] }));
  await refuses(
    'loadXdViolenceGroundTruth',
    'a label file with a 3',
    () => loadXdViolenceGroundTruth({ labelsDir: labels }),
    'ERR_MIST_FORMAT',
    lf,
  );
  // RTFM's concatenated ground truth: lengths that do not add up to the file's frames.
  const gt = file('gt-sh.npy', encodeNpy({ data: new Uint8Array(48), shape: [48] }));
  const rlist = file('sh-test.list', '/x/01_0015_i3d.npy\n/x/01_001_i3d.npy\n');
  const r = await refuses(
    'loadRtfmGroundTruth',
    'lengths adding up to 64 for a 48-frame file',
    () => loadRtfmGroundTruth({ gt, list: rlist, lengths: [32, 32] }),
    'ERR_MIST_SHAPE',
    gt,
  );
  assert.match(r.message, /add up to 64 frames/);
  const bad = file('gt-sh.npy', encodeNpy({ data: Uint8Array.from([0, 1, 7]), shape: [3] }));
  await refuses('loadRtfmGroundTruth', 'a label of 7', () => loadRtfmGroundTruth({ gt: bad }), 'ERR_MIST_FORMAT', bad);
});

// ---- Video manifests ------------------------------------------------------------------------

test('manifest (JSON): bad label, bad split, reversed, overlapping, unsorted, path missing, duplicates', async () => {
  const entry = (e: Record<string, unknown>): string =>
    JSON.stringify({ videos: [{ path: 'a.mp4', label: 'anomalous', split: 'test', intervals: [[10, 20]], ...e }] });
  const okPath = file('manifest.json', entry({}));
  assert.is(readVideoManifest(okPath).videos.length, 1);
  const cases: [string, string, RegExp][] = [
    ['label "bad"', entry({ label: 'bad' }), /videos\[0\]: .*label: must be "normal" or "anomalous"/],
    ['split "val"', entry({ split: 'val' }), /split: must be "train" or "test"/],
    ['interval end before start', entry({ intervals: [[20, 10]] }), /interval 20-10: start must be below end/],
    [
      'overlapping intervals',
      entry({
        intervals: [
          [10, 20],
          [15, 30],
        ],
      }),
      /overlaps or comes before/,
    ],
    [
      'unsorted intervals',
      entry({
        intervals: [
          [40, 50],
          [10, 20],
        ],
      }),
      /overlaps or comes before/,
    ],
    ['a fractional bound', entry({ intervals: [[10.5, 20]] }), /must be a non-negative integer/],
    ['a bound beyond 2^53', entry({ intervals: [[10, 2 ** 60]] }), /must be a non-negative integer/],
    ['an interval past frameCount', entry({ frameCount: 15 }), /interval 10-20 ends past the video's 15 frames/],
    [
      'path missing',
      JSON.stringify({ videos: [{ label: 'normal', split: 'train' }] }),
      /path: must be a non-empty string/,
    ],
    ['an unknown field', entry({ lable: 'x' }), /lable: unknown option/],
    ['intervals on a normal video', entry({ label: 'normal' }), /a normal video cannot have anomalous intervals/],
    [
      'one video listed twice',
      JSON.stringify({
        videos: [
          { path: 'a.mp4', label: 'normal', split: 'train' },
          { path: 'a.mp4', label: 'normal', split: 'test' },
        ],
      }),
      /videos\[1\]: .* is listed twice/,
    ],
    [
      'two paths of one video name',
      JSON.stringify({
        videos: [
          { path: 'x/a.mp4', label: 'normal', split: 'train' },
          { path: 'y/a.mp4', label: 'normal', split: 'test' },
        ],
      }),
      /video name a is used twice/,
    ],
    ['not JSON (cut short)', entry({}).slice(0, 30), /not valid JSON/],
    ['videos not an array', '{"videos": {"a": 1}}', /videos: must be an array of video entries/],
  ];
  for (const [input, text, message] of cases) {
    const p = file('manifest.json', text);
    const e = await refuses('readVideoManifest (JSON)', input, () => readVideoManifest(p), 'ERR_MIST_FORMAT', p);
    assert.match(e.message, message, input);
  }
});

test('manifest (CSV): bad label, bad split, bad intervals, duplicates, columns', async () => {
  const head = 'path,label,split,intervals\n';
  const cases: [string, string, RegExp][] = [
    ['label "bad"', `${head}a.mp4,bad,test,10-20\n`, /:2: .*label: must be "normal" or "anomalous"/],
    ['split "val"', `${head}a.mp4,normal,val,\n`, /:2: .*split: must be "train" or "test"/],
    ['interval end before start', `${head}a.mp4,anomalous,test,20-10\n`, /:2: interval 20-10: start must be below end/],
    ['overlapping intervals', `${head}a.mp4,anomalous,test,10-20;15-30\n`, /:2: interval 15-30 overlaps/],
    ['an interval that is not start-end', `${head}a.mp4,anomalous,test,10..20\n`, /:2: bad interval "10\.\.20"/],
    ['a negative bound', `${head}a.mp4,anomalous,test,-5-20\n`, /:2: bad interval/],
    [
      'a bound beyond 2^53',
      `${head}a.mp4,anomalous,test,10-99999999999999999999\n`,
      /:2: .*must be a non-negative integer/,
    ],
    ['path missing (empty)', `${head},normal,train,\n`, /:2: .*path: must be a non-empty string/],
    ['one video listed twice', `${head}a.mp4,normal,train,\na.mp4,normal,test,\n`, /:3: .* is listed twice/],
    ['a row of 3 fields', `${head}a.mp4,normal,train\n`, /:2: 3 field\(s\), the header has 4/],
    ['no split column', 'path,label,intervals\na.mp4,normal,\n', /:1: no split column/],
    ['an unknown column', `path,label,split,intervals,colour\na.mp4,normal,train,,red\n`, /unknown column "colour"/],
    [
      'a frameCount that is a word',
      'path,label,split,intervals,frameCount\na.mp4,normal,train,,many\n',
      /frameCount: must be a non-negative integer/,
    ],
    ['an unterminated quote', `${head}"a.mp4,normal,train,\n`, /:2: unterminated quoted field/],
    ['an empty file', '', /empty manifest/],
  ];
  for (const [input, text, message] of cases) {
    const p = file('manifest.csv', text);
    const e = await refuses('readVideoManifest (CSV)', input, () => readVideoManifest(p), 'ERR_MIST_FORMAT', p);
    assert.match(e.message, message, input);
  }
  const p = join(dir, 'absent.csv');
  await refuses('readVideoManifest', 'a missing file', () => readVideoManifest(p), 'ERR_MIST_IO', p);
});

test.run();
