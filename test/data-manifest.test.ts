// Video manifests: JSON and CSV files the tests write, every malformed row named by file and
// line, the ground truth they give to evaluate(), and the public layouts of UCF-Crime and
// ShanghaiTech built on the real split lists with placeholder video files.
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  maskIntervals,
  readUcfCrimeAnnotation,
  readVideoManifest,
  shanghaiTechVideoManifest,
  testVideos,
  trainVideos,
  ucfCrimeVideoManifest,
  writeVideoManifest,
  type ManifestEntry,
} from '../lib/data/manifest.js';
import { manifestGroundTruth } from '../lib/eval/groundtruth.js';
import {
  evaluate,
  loadShanghaiTechGroundTruth,
  loadUcfCrimeGroundTruth,
  readFrameCounts,
  readUcfCrimeList,
} from '../lib/index.js';
import { expectCode, packageData, sharedData, tempDir, test } from './helpers.js';

const ENTRIES: ManifestEntry[] = [
  { path: 'train/n1.mp4', label: 'normal', split: 'train' },
  { path: 'train/a1.mp4', label: 'anomalous', split: 'train' },
  {
    path: 'test/a2.avi',
    label: 'anomalous',
    split: 'test',
    intervals: [
      [120, 170],
      [300, 340],
    ],
  },
  { path: 'test/n2.mp4', label: 'normal', split: 'test', intervals: [] },
];

/** A JSON manifest with entry i on line 3 + i. */
function jsonText(entries: readonly unknown[]): string {
  return `{\n  "videos": [\n${entries.map((e) => `    ${JSON.stringify(e)}`).join(',\n')}\n  ]\n}\n`;
}

function write(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('JSON manifest: paths resolved against its folder, names, defaults, train and test views', () => {
  const { dir, cleanup } = tempDir();
  try {
    const abs = join(dir, 'elsewhere', 'x.mp4');
    const p = write(dir, 'm.json', jsonText([...ENTRIES, { path: abs, label: 'normal', split: 'train' }]));
    const m = readVideoManifest(p);
    assert.is(m.path, p);
    assert.is(m.videos.length, 5);
    assert.equal(m.videos[2], {
      name: 'a2',
      path: join(dir, 'test', 'a2.avi'),
      media: 'video',
      label: 'anomalous',
      split: 'test',
      intervals: [
        [120, 170],
        [300, 340],
      ],
    });
    assert.equal(m.videos[0]!.intervals, []);
    assert.equal(m.videos[1]!.intervals, []); // training anomalous videos need none
    assert.is(m.videos[4]!.path, abs);
    assert.equal(
      trainVideos(m).map((v) => v.name),
      ['n1', 'a1', 'x'],
    );
    assert.equal(
      testVideos(m).map((v) => v.name),
      ['a2', 'n2'],
    );
    // Optional fields, and the header written by writeVideoManifest.
    const q = write(
      dir,
      'q.json',
      JSON.stringify({
        format: 'mist-vad-video-manifest',
        version: 1,
        dataset: 'campus',
        videos: [
          { path: 'f/01_0014', label: 'normal', split: 'test', media: 'frames', frameCount: 265, className: 'c' },
        ],
      }),
    );
    const mq = readVideoManifest(q);
    assert.is(mq.dataset, 'campus');
    assert.equal(mq.videos[0], {
      name: '01_0014',
      path: join(dir, 'f', '01_0014'),
      media: 'frames',
      label: 'normal',
      split: 'test',
      intervals: [],
      frameCount: 265,
      className: 'c',
    });
  } finally {
    cleanup();
  }
});

test('CSV manifest: the same videos as the JSON one; quotes, CRLF, BOM, blank lines, optional columns', () => {
  const { dir, cleanup } = tempDir();
  try {
    const csv = write(
      dir,
      'm.csv',
      '\uFEFFpath,label,split,intervals\r\n' +
        'train/n1.mp4,normal,train,\r\n' +
        '\r\n' +
        'train/a1.mp4, anomalous ,train,\r\n' +
        'test/a2.avi,anomalous,test,120-170; 300 - 340\r\n' +
        'test/n2.mp4,normal,test,\r\n',
    );
    const json = write(dir, 'm.json', jsonText(ENTRIES));
    assert.equal(readVideoManifest(csv).videos, readVideoManifest(json).videos);
    // Quoted fields (a comma and a quote in a path), columns in another order, optional ones.
    const q = write(
      dir,
      'q.csv',
      'label,path,split,intervals,frameCount,media,className\n' +
        'anomalous,"odd, ""name"".mp4",test,0-16,32,video,Abuse\n' +
        'normal,frames/01_001,train,,,frames,\n',
    );
    const m = readVideoManifest(q);
    assert.equal(m.videos[0], {
      name: 'odd, "name"',
      path: join(dir, 'odd, "name".mp4'),
      media: 'video',
      label: 'anomalous',
      split: 'test',
      intervals: [[0, 16]],
      frameCount: 32,
      className: 'Abuse',
    });
    assert.is(m.videos[1]!.media, 'frames');
    assert.is(m.videos[1]!.frameCount, undefined);
    // A file without a known extension is sniffed: '{' means JSON.
    const sniffed = write(dir, 'manifest', jsonText(ENTRIES));
    assert.is(readVideoManifest(sniffed).videos.length, 4);
  } finally {
    cleanup();
  }
});

test('JSON errors: ERR_MIST_FORMAT naming the file, the line and the entry', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ok = ENTRIES[0]!;
    const cases: [unknown, string][] = [
      [{ ...ok, label: 'abnormal' }, 'label'],
      [{ ...ok, split: 'val' }, 'split'],
      [{ ...ok, path: '' }, 'path'],
      [{ ...ok, colour: 'red' }, 'colour: unknown option'],
      [{ ...ok, frameCount: 1.5 }, 'frameCount'],
      [{ ...ENTRIES[2], intervals: [[170, 120]] }, 'start must be below end'],
      [{ ...ENTRIES[2], intervals: [[120, 120]] }, 'start must be below end'],
      [{ ...ENTRIES[2], intervals: [[-5, 10]] }, 'intervals'],
      [{ ...ENTRIES[2], intervals: [[0, 10, 20]] }, 'intervals'],
      [
        {
          ...ENTRIES[2],
          intervals: [
            [300, 340],
            [120, 170],
          ],
        },
        'overlaps or comes before',
      ],
      [
        {
          ...ENTRIES[2],
          intervals: [
            [100, 200],
            [150, 250],
          ],
        },
        'overlaps or comes before',
      ],
      [{ ...ok, intervals: [[0, 16]] }, 'a normal video cannot have anomalous intervals'],
      [{ path: 'a.mp4', label: 'anomalous', split: 'test' }, 'needs its anomalous intervals'],
      [{ path: 'a.mp4', label: 'anomalous', split: 'test', intervals: [] }, 'needs its anomalous intervals'],
      [{ ...ENTRIES[1] }, 'listed twice (first at'],
      [{ ...ok, path: 'other/a1.avi' }, 'video name a1 is used twice'],
      ['a.mp4', 'video entry'],
    ];
    for (const [bad, words] of cases) {
      // The bad entry is the third: index 2, line 5.
      const p = write(dir, 'bad.json', jsonText([ENTRIES[0], ENTRIES[1], bad, ENTRIES[3]]));
      const e = await expectCode(() => readVideoManifest(p), 'ERR_MIST_FORMAT');
      assert.ok(e.message.startsWith(`${p}:5: videos[2]: `), e.message);
      assert.match(e.message, words);
    }
    // Not JSON at all: the line of the syntax error.
    const broken = write(dir, 'broken.json', '{\n  "videos": [\n    {"path": "a.mp4",,}\n  ]\n}\n');
    const b = await expectCode(() => readVideoManifest(broken), 'ERR_MIST_FORMAT');
    assert.ok(b.message.startsWith(`${broken}:3: not valid JSON`), b.message);
    // The top level: no videos, or an unknown key.
    for (const [text, words] of [
      ['{"video": []}', 'videos'],
      ['[]', 'video manifest'],
      ['{"videos": [], "version": 2}', 'version'],
    ] as const) {
      const p = write(dir, 'top.json', text);
      const e = await expectCode(() => readVideoManifest(p), 'ERR_MIST_FORMAT');
      assert.ok(e.message.startsWith(`${p}: `), e.message);
      assert.match(e.message, words);
    }
    await expectCode(() => readVideoManifest(join(dir, 'absent.json')), 'ERR_MIST_IO');
  } finally {
    cleanup();
  }
});

test('CSV errors: ERR_MIST_FORMAT naming the file and line', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const good = 'train/n1.mp4,normal,train,';
    const rows: [string, string][] = [
      ['a.mp4,abnormal,train,', 'label'],
      ['a.mp4,normal,train', '3 field(s), the header has 4'],
      ['a.mp4,normal,train,,x', '5 field(s)'],
      ['a.mp4,anomalous,test,120-', 'bad interval "120-"'],
      ['a.mp4,anomalous,test,-5-10', 'bad interval "-5-10"'],
      ['a.mp4,anomalous,test,10;20', 'bad interval "10"'],
      ['a.mp4,anomalous,test,170-120', 'start must be below end'],
      ['a.mp4,anomalous,test,100-200;150-250', 'overlaps'],
      ['a.mp4,anomalous,test,300-340;120-170', 'overlaps or comes before'],
      ['a.mp4,normal,test,0-16', 'a normal video cannot have anomalous intervals'],
      ['a.mp4,anomalous,test,', 'needs its anomalous intervals'],
      ['"a.mp4,normal,train,', 'unterminated quoted field'],
      ['a"b.mp4,normal,train,', 'a quote inside an unquoted field'],
      ['"a.mp4"x,normal,train,', 'text after a closing quote'],
      [good, 'listed twice (first at'],
      [',normal,train,', 'path'],
    ];
    for (const [row, words] of rows) {
      // The bad row is on line 3 (line 2 is a good one).
      const p = write(dir, 'bad.csv', `path,label,split,intervals\n${good}\n${row}\ntest/n2.mp4,normal,test,\n`);
      const e = await expectCode(() => readVideoManifest(p), 'ERR_MIST_FORMAT');
      assert.ok(e.message.startsWith(`${p}:3: `), `${row}: ${e.message}`);
      assert.match(e.message, words);
    }
    for (const [header, words] of [
      ['path,label,split', 'no intervals column'],
      ['path,label,split,intervals,colour', 'unknown column "colour"'],
      ['path,label,split,intervals,path', 'column path appears twice'],
    ] as const) {
      const p = write(dir, 'head.csv', `\n${header}\n${good}\n`);
      const e = await expectCode(() => readVideoManifest(p), 'ERR_MIST_FORMAT');
      assert.ok(e.message.startsWith(`${p}:2: `), e.message);
      assert.match(e.message, words);
    }
    const empty = write(dir, 'empty.csv', '\n\n');
    assert.match((await expectCode(() => readVideoManifest(empty), 'ERR_MIST_FORMAT')).message, 'empty manifest');
  } finally {
    cleanup();
  }
});

test('writeVideoManifest: atomic JSON that reads back the same; relative inside its folder; bad input is ERR_MIST_ARG', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const outside = join(dirname(dir), 'elsewhere.mp4');
    const p = join(dir, 'out.json');
    await writeVideoManifest(p, {
      dataset: 'synthetic',
      videos: [...ENTRIES, { path: outside, label: 'normal', split: 'train', frameCount: 90 }],
    });
    assert.equal(readdirSync(dir), ['out.json']); // no temporary left behind
    const text = readFileSync(p, 'utf8');
    assert.match(text, '"path":"test/a2.avi"');
    assert.match(text, `"path":${JSON.stringify(outside)}`);
    const m = readVideoManifest(p);
    assert.is(m.dataset, 'synthetic');
    assert.is(m.videos.length, 5);
    assert.equal(m.videos[2]!.intervals, [
      [120, 170],
      [300, 340],
    ]);
    assert.is(m.videos[4]!.frameCount, 90);
    // A read manifest writes back unchanged, to another folder too (paths are absolute in memory).
    mkdirSync(join(dir, 'sub'));
    const p2 = join(dir, 'sub', 'copy.json');
    await writeVideoManifest(p2, m);
    assert.equal(readVideoManifest(p2).videos, m.videos);
    assert.match(readFileSync(p2, 'utf8'), `"path":${JSON.stringify(join(dir, 'test', 'a2.avi'))}`);
    // Bad entries fail as arguments, before anything is written.
    const bad = join(dir, 'bad.json');
    const e = await expectCode(
      () => writeVideoManifest(bad, { videos: [ENTRIES[0]!, { ...ENTRIES[0]!, path: 'x/n1.avi' }] }),
      'ERR_MIST_ARG',
    );
    assert.match(e.message, 'videos[1]');
    await expectCode(
      () => writeVideoManifest(bad, { videos: [{ path: 'a.mp4', label: 'anomalous', split: 'test' }] }),
      'ERR_MIST_ARG',
    );
    await expectCode(() => writeVideoManifest(bad, { videos: [{ ...m.videos[0]!, name: 'other' }] }), 'ERR_MIST_ARG');
    assert.not.ok(existsSync(bad));
    await expectCode(() => writeVideoManifest(join(dir, 'no', 'such', 'dir.json'), { videos: [] }), 'ERR_MIST_IO');
  } finally {
    cleanup();
  }
});

test('ground truth of a manifest fed to evaluate(): a 2-video case worked by hand (AUC 295/414)', () => {
  const { dir, cleanup } = tempDir();
  try {
    // A: anomalous, 40 frames (32 labelled: two whole clips), intervals [8, 24) and [30, 50)
    // (clipped); B: normal, 32 frames. Clip scores A 0.2, 0.9; B 0.5, 0.1.
    const p = write(
      dir,
      'm.csv',
      'path,label,split,intervals\nA.mp4,anomalous,test,8-24;30-50\nB.mp4,normal,test,\nC.mp4,normal,train,\n',
    );
    const m = readVideoManifest(p);
    const gt = manifestGroundTruth(
      m,
      new Map([
        ['A', 40],
        ['B', 32],
      ]),
    );
    assert.is(gt.dataset, 'synthetic');
    assert.equal(
      gt.videos.map((v) => [v.name, v.anomalous, v.sourceFrames, v.frames]),
      [
        ['A', true, 40, 32],
        ['B', false, 32, 32],
      ],
    );
    const a = [...gt.videos[0]!.labels];
    assert.equal(a, [...Array(8).fill(0), ...Array(16).fill(1), ...Array(6).fill(0), 1, 1]);
    assert.is(gt.totalFrames, 64);
    assert.is(gt.anomalousFrames, 18);
    assert.is(gt.anomalousVideos, 1);
    // Positives: 8 frames at 0.2, 10 at 0.9. Negatives: 8 at 0.2, 6 at 0.9, 16 at 0.5, 16 at 0.1.
    // Pairs won (ties half): 10·(16 + 16 + 8 + 6/2) + 8·(16 + 8/2) = 430 + 160 = 590 of 18·46.
    const r = evaluate({
      groundTruth: gt,
      scores: new Map([
        ['A', [0.2, 0.9]],
        ['B', [0.5, 0.1]],
      ]),
    });
    assert.ok(Math.abs(r.auc - 590 / 828) < 1e-12, String(r.auc));
    assert.is(r.frames, 64);
    // The same from a function of the name and from the manifest's own counts.
    const byFn = manifestGroundTruth(m, (name) => (name === 'A' ? 40 : 32));
    assert.equal(byFn.videos, gt.videos);
    const own = manifestGroundTruth({ videos: m.videos.map((v) => ({ ...v, frameCount: v.name === 'A' ? 40 : 32 })) });
    assert.equal(own.videos, gt.videos);
    // Untruncated: 40 labelled frames, the second interval clipped at 40.
    const full = manifestGroundTruth(
      m,
      new Map([
        ['A', 40],
        ['B', 32],
      ]),
      { truncate: false },
    );
    assert.is(full.videos[0]!.labels.length, 40);
    assert.is(full.anomalousFrames, 16 + 10);
  } finally {
    cleanup();
  }
});

test('manifestGroundTruth errors: no frame count, a bad count, no test video', async () => {
  const m = {
    videos: [
      {
        name: 'A',
        path: '/A.mp4',
        media: 'video' as const,
        label: 'normal' as const,
        split: 'test' as const,
        intervals: [],
      },
    ],
  };
  assert.match((await expectCode(() => manifestGroundTruth(m), 'ERR_MIST_ARG')).message, 'no frame count for A');
  await expectCode(() => manifestGroundTruth(m, () => -1), 'ERR_MIST_ARG');
  await expectCode(() => manifestGroundTruth(m, () => 1.5), 'ERR_MIST_ARG');
  await expectCode(
    () => manifestGroundTruth({ videos: [{ ...m.videos[0]!, split: 'train' }] }, () => 32),
    'ERR_MIST_ARG',
  );
  await expectCode(() => manifestGroundTruth(m, () => 32, { truncate: 'yes' } as never), 'ERR_MIST_ARG');
});

test('maskIntervals: runs of 1s, half-open, at either end too', () => {
  assert.equal(maskIntervals([]), []);
  assert.equal(maskIntervals([0, 0]), []);
  assert.equal(maskIntervals(Uint8Array.from([1, 1, 0, 0, 1, 0, 1, 1])), [
    [0, 2],
    [4, 5],
    [6, 8],
  ]);
});

/** Empty files standing in for videos. */
function touch(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, '');
}

test('UCF-Crime layout: official lists + a folder of placeholder videos in three layouts', async () => {
  const trainList = sharedData('ucf-crime', 'official', 'Anomaly_Train.txt');
  if (!trainList) return;
  const testList = packageData('ucf-crime', 'Anomaly_Test.txt');
  const annotations = packageData('ucf-crime', 'Temporal_Anomaly_Annotation_for_Testing_Videos.txt');
  const { dir, cleanup } = tempDir();
  try {
    // Training videos as the lists name them (Class/Name.mp4); normal ones flat; anomalous
    // test videos as in the official archive (found by file name); normal test ones as listed.
    for (const e of readUcfCrimeList(trainList)) {
      touch(e.label === 1 ? join(dir, e.path!) : join(dir, e.path!.split('/').pop()!));
    }
    for (const e of readUcfCrimeList(testList)) {
      touch(e.label === 1 ? join(dir, 'Anomaly-Videos-Part-2', e.className!, `${e.name}.mp4`) : join(dir, e.path!));
    }
    const m = ucfCrimeVideoManifest({ trainList, testList, annotations, videoDir: dir });
    assert.is(m.dataset, 'ucf-crime');
    const train = trainVideos(m);
    const tests = testVideos(m);
    assert.is(train.length, 1610);
    assert.is(train.filter((v) => v.label === 'anomalous').length, 810);
    assert.ok(train.every((v) => v.intervals.length === 0 && existsSync(v.path)));
    assert.is(tests.length, 290);
    assert.is(tests.filter((v) => v.label === 'anomalous').length, 140);
    assert.is(tests.filter((v) => v.className === 'Normal').length, 150);
    const abuse = tests.find((v) => v.name === 'Abuse028_x264')!;
    assert.equal(abuse.intervals, [[165, 240]]); // "Abuse028_x264.mp4 Abuse 165 240 -1 -1"
    assert.is(abuse.path, join(dir, 'Anomaly-Videos-Part-2', 'Abuse', 'Abuse028_x264.mp4'));
    assert.is(train.find((v) => v.name === 'Normal_Videos001_x264')!.path, join(dir, 'Normal_Videos001_x264.mp4'));
    // Its ground truth equals the loader's, per-class AUC classes included.
    const counts = readFrameCounts(packageData('ucf-crime', 'Temporal_Anomaly_Annotation_New.txt'));
    const gt = manifestGroundTruth(m, counts);
    const ref = loadUcfCrimeGroundTruth({ annotation: annotations });
    assert.is(gt.dataset, 'ucf-crime');
    assert.equal(
      [gt.totalFrames, gt.anomalousFrames, gt.anomalousVideos],
      [ref.totalFrames, ref.anomalousFrames, ref.anomalousVideos],
    );
    const byName = new Map(ref.videos.map((v) => [v.name, v]));
    for (const v of gt.videos) assert.equal(v, byName.get(v.name), v.name);
    // The inclusive convention adds the end frame to each interval.
    const incl = ucfCrimeVideoManifest({ testList, annotations, videoDir: dir, convention: 'inclusive' });
    assert.equal(incl.videos.find((v) => v.name === 'Abuse028_x264')!.intervals, [[165, 241]]);
    assert.is(incl.videos.length, 290);
    // The annotation reader on its own.
    const ann = readUcfCrimeAnnotation(annotations);
    assert.is(ann.length, 290);
    assert.equal(ann[0], { name: 'Abuse028_x264', className: 'Abuse', spans: [[165, 240]], line: 1 });

    // Missing files: one ERR_MIST_IO naming the first five and the count, or skipped.
    const gone = train.filter((v) => v.label === 'normal').slice(0, 7);
    for (const v of gone) rmSync(v.path);
    const e = await expectCode(
      () => ucfCrimeVideoManifest({ trainList, testList, annotations, videoDir: dir }),
      'ERR_MIST_IO',
    );
    assert.match(e.message, '7 listed video(s) not found');
    assert.match(e.message, '(7 in all)');
    assert.match(e.message, 'Training_Normal_Videos_Anomaly/Normal_Videos001_x264.mp4');
    assert.match(e.message, "missing: 'skip'");
    const skipped = ucfCrimeVideoManifest({ trainList, testList, annotations, videoDir: dir, missing: 'skip' });
    assert.is(skipped.videos.length, 1900 - 7);
    assert.equal(
      skipped.skipped,
      gone.map((v) => v.name),
    );
    // A file found twice by name is ambiguous.
    touch(join(dir, 'Anomaly-Videos-Part-3', 'Abuse', 'Abuse028_x264.mp4'));
    assert.match(
      (await expectCode(() => ucfCrimeVideoManifest({ testList, annotations, videoDir: dir }), 'ERR_MIST_IO')).message,
      'Abuse028_x264.mp4 found in 2 places',
    );
    // Options: a test list needs the annotation; some list is needed; the folder must exist.
    await expectCode(() => ucfCrimeVideoManifest({ testList, videoDir: dir }), 'ERR_MIST_ARG');
    await expectCode(() => ucfCrimeVideoManifest({ videoDir: dir }), 'ERR_MIST_ARG');
    await expectCode(() => ucfCrimeVideoManifest({ trainList, videoDir: join(dir, 'absent') }), 'ERR_MIST_IO');
  } finally {
    cleanup();
  }
});

test('UCF-Crime layout: an anomalous test video the annotation does not cover is ERR_MIST_FORMAT', async () => {
  const { dir, cleanup } = tempDir();
  try {
    touch(join(dir, 'Abuse', 'Abuse999_x264.mp4'));
    touch(join(dir, 'Abuse', 'Abuse028_x264.mp4'));
    const list = write(dir, 'test.txt', 'Abuse/Abuse028_x264.mp4\nAbuse/Abuse999_x264.mp4\n');
    const annotations = packageData('ucf-crime', 'Temporal_Anomaly_Annotation_for_Testing_Videos.txt');
    const e = await expectCode(
      () => ucfCrimeVideoManifest({ testList: list, annotations, videoDir: dir }),
      'ERR_MIST_FORMAT',
    );
    assert.match(e.message, `no line for anomalous test video Abuse999_x264 (${list}:2)`);
    // A normal video the annotation gives an interval: named by list and annotation line.
    const ann = write(dir, 'ann.txt', 'Normal_Videos_001_x264.mp4  Normal  10  20  -1  -1\n');
    touch(join(dir, 'Testing_Normal_Videos_Anomaly', 'Normal_Videos_001_x264.mp4'));
    const nl = write(dir, 'normal.txt', 'Testing_Normal_Videos_Anomaly/Normal_Videos_001_x264.mp4\n');
    const n = await expectCode(
      () => ucfCrimeVideoManifest({ testList: nl, annotations: ann, videoDir: dir }),
      'ERR_MIST_FORMAT',
    );
    assert.match(n.message, `${nl}:1 (${ann}:1)`);
    assert.match(n.message, 'a normal video cannot have anomalous intervals');
    // A video in both lists.
    const one = write(dir, 'one.txt', 'Abuse/Abuse028_x264.mp4\n');
    const both = await expectCode(
      () => ucfCrimeVideoManifest({ trainList: one, testList: one, annotations, videoDir: dir }),
      'ERR_MIST_FORMAT',
    );
    assert.match(both.message, 'listed twice');
  } finally {
    cleanup();
  }
});

test('ShanghaiTech layout: lists + masks, training videos as .avi files, test videos as frame folders', async () => {
  const masks = sharedData('shanghaitech', 'test_frame_mask');
  if (!masks) return;
  const trainList = packageData('shanghaitech', 'SH_Train_new.txt');
  const testList = packageData('shanghaitech', 'SH_Test_NEW.txt');
  const { dir, cleanup } = tempDir();
  try {
    const videoDir = join(dir, 'videos');
    const frameDir = join(dir, 'frames');
    const trainNames = readFileSync(trainList, 'utf8')
      .trim()
      .split(/\r?\n/)
      .map((l) => l.split(',')[0]!);
    const testNames = readFileSync(testList, 'utf8')
      .trim()
      .split(/\r?\n/)
      .map((l) => l.split(',')[0]!);
    trainNames.forEach((n, i) => touch(join(videoDir, `${n}${i % 5 === 0 ? '.mp4' : '.avi'}`)));
    for (const n of testNames) touch(join(frameDir, n, '000.jpg'));
    const m = shanghaiTechVideoManifest({ trainList, testList, frameMasks: masks, videoDir, frameDir });
    assert.is(m.dataset, 'shanghaitech');
    const train = trainVideos(m);
    const tests = testVideos(m);
    assert.is(train.length, 238);
    assert.is(train.filter((v) => v.label === 'anomalous').length, 63);
    assert.ok(train.every((v) => v.media === 'video' && v.intervals.length === 0));
    assert.is(train[0]!.path, join(videoDir, '01_0014.mp4'));
    assert.is(tests.length, 199);
    assert.is(tests.filter((v) => v.label === 'anomalous').length, 44);
    assert.ok(tests.every((v) => v.media === 'frames' && v.frameCount !== undefined));
    assert.is(tests.find((v) => v.name === '01_001')!.frameCount, 764); // from the list
    assert.is(tests.find((v) => v.name === '01_0015')!.path, join(frameDir, '01_0015'));
    // Mask runs → intervals → labels: the loader's ground truth, frame for frame.
    const gt = manifestGroundTruth(m);
    const ref = loadShanghaiTechGroundTruth({ masks });
    assert.equal([gt.totalFrames, gt.anomalousFrames], [140_704, 7_932]);
    const byName = new Map(ref.videos.map((v) => [v.name, v]));
    for (const v of gt.videos) assert.equal(v, byName.get(v.name), v.name);
    // Plain lists: labels come from the masks.
    const plain = shanghaiTechVideoManifest({
      trainList: packageData('shanghaitech', 'SH_Train.txt'),
      testList: packageData('shanghaitech', 'SH_Test.txt'),
      frameMasks: masks,
      videoDir,
      frameDir,
    });
    assert.equal(
      plain.videos.map((v) => [v.name, v.label, v.split, v.intervals]),
      m.videos.map((v) => [v.name, v.label, v.split, v.intervals]),
    );
    // Errors: no masks for a test list with anomalous videos; a plain list and no masks;
    // missing videos (listed, or skipped); neither folder.
    await expectCode(() => shanghaiTechVideoManifest({ testList, videoDir, frameDir }), 'ERR_MIST_ARG');
    await expectCode(
      () => shanghaiTechVideoManifest({ trainList: packageData('shanghaitech', 'SH_Train.txt'), videoDir }),
      'ERR_MIST_ARG',
    );
    const e = await expectCode(
      () => shanghaiTechVideoManifest({ testList, frameMasks: masks, videoDir }),
      'ERR_MIST_IO',
    );
    assert.match(e.message, '199 listed video(s) not found');
    const onlyTrain = shanghaiTechVideoManifest({ trainList, testList, frameMasks: masks, videoDir, missing: 'skip' });
    assert.is(onlyTrain.videos.length, 238);
    assert.is(onlyTrain.skipped!.length, 199);
    await expectCode(() => shanghaiTechVideoManifest({ trainList }), 'ERR_MIST_ARG');
  } finally {
    cleanup();
  }
});

test('ShanghaiTech layout: a missing mask of an anomalous test video is ERR_MIST_IO', async () => {
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(join(dir, 'masks'));
    touch(join(dir, 'v', '01_0015.avi'));
    touch(join(dir, 'v', '01_001.avi'));
    const list = write(dir, 'test.txt', '01_0015,1,-1\n01_001,0,764\n');
    const e = await expectCode(
      () => shanghaiTechVideoManifest({ testList: list, frameMasks: join(dir, 'masks'), videoDir: join(dir, 'v') }),
      'ERR_MIST_IO',
    );
    assert.match(e.message, 'no frame mask');
    assert.match(e.message, '01_0015');
  } finally {
    cleanup();
  }
});

test.run();
