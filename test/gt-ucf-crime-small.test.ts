// UCF-Crime ground truth on small annotation and frame-count files written here, where every
// label can be counted by hand; and the package's default files, loaded once.
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadUcfCrimeGroundTruth, readFrameCounts } from '../lib/index.js';
import { expectCode, tempDir, test } from './helpers.js';

test('the default files in data/: 290 videos, 1,109,824 frames, 84,160 anomalous', () => {
  const gt = loadUcfCrimeGroundTruth();
  assert.equal(
    [gt.videos.length, gt.totalFrames, gt.anomalousFrames, gt.anomalousVideos],
    [290, 1_109_824, 84_160, 140],
  );
});

test('a small annotation written here, in each convention', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const annotation = join(dir, 'ann.txt');
    // V1: 35 frames, anomalous [5, 10) and [20, 40) (past the end); N1: 20 normal frames.
    writeFileSync(annotation, 'Abuse/V1_x264.mp4  Abuse 5 10 20 40\r\n\r\n  Normal_1_x264.mp4 Normal -1 -1 -1 -1 \n');
    const frameCounts = { V1_x264: 35, Normal_1_x264: 20 };
    const ones = (l: Uint8Array): number[] => [...l.keys()].filter((i) => l[i] === 1);
    const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
    const m = loadUcfCrimeGroundTruth({ annotation, frameCounts });
    assert.equal(
      m.videos.map((v) => [v.name, v.className, v.anomalous, v.sourceFrames, v.frames]),
      [
        ['V1_x264', 'Abuse', true, 35, 32],
        ['Normal_1_x264', 'Normal', false, 20, 16],
      ],
    );
    assert.equal(ones(m.videos[0]!.labels), [...range(5, 10), ...range(20, 32)]);
    assert.equal([m.dataset, m.totalFrames, m.anomalousFrames, m.anomalousVideos], ['ucf-crime', 48, 17, 1]);
    assert.equal(loadUcfCrimeGroundTruth({ annotation, frameCounts, convention: 'mist' }), m);
    const inc = loadUcfCrimeGroundTruth({ annotation, frameCounts, convention: 'inclusive' });
    assert.equal(ones(inc.videos[0]!.labels), [...range(5, 11), ...range(20, 32)]);
    const sul = loadUcfCrimeGroundTruth({ annotation, frameCounts, convention: 'sultani' });
    assert.equal(ones(sul.videos[0]!.labels), [...range(4, 10), ...range(19, 32)]);
    const full = loadUcfCrimeGroundTruth({ annotation, frameCounts, truncate: false });
    assert.equal(ones(full.videos[0]!.labels), [...range(5, 10), ...range(20, 35)]);
    assert.equal([full.totalFrames, full.anomalousFrames], [55, 20]);
    // s = e is allowed: empty in MIST's convention, the one frame s - 1 in Sultani's (MATLAB's
    // GT(7:7)); an interval starting at frame 0 stays at 0 in Sultani's.
    writeFileSync(annotation, 'V1_x264.mp4 Abuse 0 3 7 7\n');
    const zero = loadUcfCrimeGroundTruth({ annotation, frameCounts, convention: 'sultani' });
    assert.equal(ones(zero.videos[0]!.labels), [0, 1, 2, 6]);
    assert.equal(ones(loadUcfCrimeGroundTruth({ annotation, frameCounts }).videos[0]!.labels), [0, 1, 2]);
  } finally {
    cleanup();
  }
});

test('readFrameCounts: MIST, ekosman and plain lines; the messages of bad files', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const w = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const c = readFrameCounts(
      w(
        'c.txt',
        [
          'Abuse028_x264.mp4  Abuse  165  240  -1  -1  1412', // MIST: the 7th column
          'Arson/Arson011_x264.mp4 1266 Arson 0 0 -1 -1', // ekosman: path, frames, class, intervals
          'Normal_Videos_006_x264 450', // plain
          ' Leading_x264\t12',
          '  ',
          'header',
          'Burglary005_x264.mp4 0',
        ].join('\n'),
      ),
    );
    assert.equal(
      [...c],
      [
        ['Abuse028_x264', 1412],
        ['Arson011_x264', 1266],
        ['Normal_Videos_006_x264', 450],
        ['Leading_x264', 12],
        ['Burglary005_x264', 0],
      ],
    );
    const neg = w('n.txt', 'a 10\nb -3\n');
    const e = await expectCode(() => readFrameCounts(neg), 'ERR_MIST_FORMAT');
    assert.is(e.message, `${neg}:2: no frame count on this line`);
    for (const bad of ['a many', 'a x12', 'a 12x', 'a 1.5']) {
      const word = w('w.txt', `${bad}\n`);
      const m = (await expectCode(() => readFrameCounts(word), 'ERR_MIST_FORMAT')).message;
      assert.is(m, `${word}:1: no frame count on this line`);
    }
    const none = w('e.txt', 'header\n\n');
    assert.is((await expectCode(() => readFrameCounts(none), 'ERR_MIST_FORMAT')).message, `${none}: no frame counts`);
    const io = await expectCode(() => readFrameCounts(join(dir, 'absent.txt')), 'ERR_MIST_IO');
    assert.match(io.message, /^cannot read frame-count file /);
  } finally {
    cleanup();
  }
});

test('the messages of malformed annotations and frame-count maps', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const w = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const frameCounts = { Abuse028_x264: 1412 };
    const msg = async (
      annotation: string,
      code: string,
      message: string,
      counts: object = frameCounts,
    ): Promise<void> => {
      const e = await expectCode(() => loadUcfCrimeGroundTruth({ annotation, frameCounts: counts as never }), code);
      assert.is(e.message, message);
    };
    const short = w('a.txt', 'Abuse028_x264.mp4 Abuse 165 240\n');
    await msg(
      short,
      'ERR_MIST_FORMAT',
      `${short}:1: expected "name class s1 e1 s2 e2", got "Abuse028_x264.mp4 Abuse 165 240"`,
    );
    const long = w('l.txt', `  ${'x'.repeat(90)} Abuse 1 2 x 4\n`);
    await msg(long, 'ERR_MIST_FORMAT', `${long}:1: expected "name class s1 e1 s2 e2", got "${'x'.repeat(80)}"`);
    const rev = w('b.txt', '\nAbuse028_x264.mp4 Abuse 300 240 -1 -1\n');
    await msg(rev, 'ERR_MIST_FORMAT', `${rev}:2: bad interval 300 240`);
    for (const [s, e] of [
      [-1, 240],
      [0, -1],
      [-1, 0],
    ]) {
      const half = w('h.txt', `Abuse028_x264.mp4 Abuse 1 2 ${s} ${e}\n`);
      await msg(half, 'ERR_MIST_FORMAT', `${half}:1: bad interval ${s} ${e}`);
    }
    const absent = join(dir, 'absent.txt');
    const io = await expectCode(() => loadUcfCrimeGroundTruth({ annotation: absent }), 'ERR_MIST_IO');
    assert.match(io.message, /^cannot read annotation .*absent\.txt: /);
    const opt = await expectCode(() => loadUcfCrimeGroundTruth({ truncate: 'x' as never }), 'ERR_MIST_ARG');
    assert.match(opt.message, /^invalid UCF-Crime ground-truth options: truncate: /);
    const empty = w('d.txt', '\n');
    await msg(empty, 'ERR_MIST_FORMAT', `${empty}: no videos`);
    const other = w('o.txt', 'Arson011_x264.mp4 Arson 1 2 -1 -1\n');
    await msg(other, 'ERR_MIST_ARG', `no frame count for Arson011_x264 (${other}:1)`);
    for (const [counts, shown] of [
      [{ Abuse028_x264: -1 }, 'Abuse028_x264 → -1'],
      [{ Abuse028_x264: 2.5 }, 'Abuse028_x264 → 2.5'],
      [new Map([[3, 10]]), '3 → 10'],
      [new Map([['Abuse028_x264', '10']]), 'Abuse028_x264 → 10'],
    ] as const) {
      await msg(short, 'ERR_MIST_ARG', `frameCounts: need video name → non-negative integer, got ${shown}`, counts);
    }
    // A map's keys may carry a folder and an extension.
    const ok = w('k.txt', 'Abuse028_x264.mp4 Abuse 1 3 -1 -1\n');
    const gt = loadUcfCrimeGroundTruth({ annotation: ok, frameCounts: new Map([['Abuse/Abuse028_x264.mp4', 16]]) });
    assert.equal([...gt.videos[0]!.labels].slice(0, 4), [0, 1, 1, 0]);
    const empty0 = loadUcfCrimeGroundTruth({ annotation: ok, frameCounts: { Abuse028_x264: 0 } });
    assert.equal([empty0.videos[0]!.frames, empty0.totalFrames], [0, 0]);
  } finally {
    cleanup();
  }
});

test.run();
