// Split and list files in each published form, on the real files.
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRtfmList, readShanghaiTechList, readUcfCrimeList, uniqueVideoNames, videoName } from '../lib/index.js';
import { expectCode, packageData, sharedData, tempDir, test } from './helpers.js';

test('UCF-Crime Anomaly_Test.txt: 290 videos, 140 anomalous in 13 classes, 150 normal', () => {
  const l = readUcfCrimeList(packageData('ucf-crime', 'Anomaly_Test.txt'));
  assert.is(l.length, 290);
  assert.equal(l[0], { name: 'Abuse028_x264', path: 'Abuse/Abuse028_x264.mp4', className: 'Abuse', label: 1 });
  assert.is(l.filter((e) => e.label === 1).length, 140);
  assert.is(l.filter((e) => e.className === 'Normal').length, 150);
  assert.is(new Set(l.filter((e) => e.label === 1).map((e) => e.className)).size, 13);
  const normal = l.find((e) => e.label === 0);
  assert.is(normal?.path?.startsWith('Testing_Normal_Videos_Anomaly/'), true);
});

test('UCF-Crime Anomaly_Train.txt: 1610 videos, 810 anomalous + 800 normal', () => {
  const p = sharedData('ucf-crime', 'official', 'Anomaly_Train.txt');
  if (!p) return;
  const l = readUcfCrimeList(p);
  assert.is(l.length, 1610);
  assert.is(l.filter((e) => e.label === 1).length, 810);
});

test('ShanghaiTech lists: plain (RTFM) and name,label[,frames] (MIST) agree', () => {
  const plain = readShanghaiTechList(packageData('shanghaitech', 'SH_Test.txt'));
  const mist = readShanghaiTechList(packageData('shanghaitech', 'SH_Test_NEW.txt'));
  assert.is(plain.length, 199);
  assert.is(mist.length, 199);
  assert.equal(new Set(plain.map((e) => e.name)), new Set(mist.map((e) => e.name)));
  assert.is(plain[0]!.label, undefined);
  assert.is(mist.filter((e) => e.label === 1).length, 44);
  assert.equal(mist[0], { name: '01_001', label: 0, frames: 764 });
  assert.equal(mist[1], { name: '01_0015', label: 1 }); // -1 = "use the frame mask"
  const train = readShanghaiTechList(packageData('shanghaitech', 'SH_Train_new.txt'));
  assert.is(train.length, 238);
  assert.is(train.filter((e) => e.label === 1).length, 63);
  assert.is(readShanghaiTechList(packageData('shanghaitech', 'SH_Train.txt')).length, 238);
  const csv = sharedData('shanghaitech', 's3r', 'shanghaitech.testing.csv');
  if (csv) assert.ok(readShanghaiTechList(csv).every((e) => e.name.length > 0 && e.name !== 'video-id'));
});

test('RTFM .list files: Windows paths with CRLF, Linux paths, and 5 crops per video', () => {
  const ucf = sharedData('ucf-crime', 'rtfm_lists', 'ucf-i3d-test.list');
  if (ucf) {
    const l = readRtfmList(ucf);
    assert.is(l.length, 290);
    assert.is(l[0]!.name, 'Abuse028_x264');
    assert.is(l.filter((e) => e.label === 0).length, 150);
    const official = readUcfCrimeList(packageData('ucf-crime', 'Anomaly_Test.txt')).map((e) => e.name);
    assert.equal(new Set(l.map((e) => e.name)), new Set(official));
  }
  const sh = sharedData('shanghaitech', 'rtfm_lists', 'shanghai-i3d-test-10crop.list');
  if (sh) {
    const l = readRtfmList(sh);
    assert.is(l.length, 199);
    assert.is(l[0]!.name, '01_0015');
    assert.is(l[0]!.path, '/home/yu/yu_ssd/SH_Test_ten_crop_i3d/01_0015_i3d.npy');
  }
  const xd = sharedData('xd-violence', 'pel4vad_lists', 'test.list');
  if (xd) {
    const l = readRtfmList(xd);
    assert.is(l.length, 4000);
    assert.equal(
      l.slice(0, 5).map((e) => e.crop),
      [0, 1, 2, 3, 4],
    );
    const names = uniqueVideoNames(l);
    assert.is(names.length, 800);
    assert.is(l[0]!.name, 'Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6');
    assert.is(l[0]!.label, 1);
    const normal = new Set(l.filter((e) => e.label === 0).map((e) => e.name));
    assert.is(normal.size, 300); // 500 of the 800 test videos are violent
  }
});

test('videoName keeps the dots of XD-Violence names and strips only known extensions', () => {
  assert.is(
    videoName('A.Beautiful.Mind.2001__#00-25-20_00-29-20_label_A'),
    'A.Beautiful.Mind.2001__#00-25-20_00-29-20_label_A',
  );
  assert.is(videoName('G:\\UCF_Test_ten_crop_i3d\\Abuse028_x264.mp4'), 'Abuse028_x264');
});

test('malformed list files give ERR_MIST_FORMAT, missing ones ERR_MIST_IO', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const p = (n: string, text: string): string => {
      writeFileSync(join(dir, n), text);
      return join(dir, n);
    };
    await expectCode(() => readUcfCrimeList(p('u.txt', 'Abuse/Abuse028_x264.mp4\nnot-a-path\n')), 'ERR_MIST_FORMAT');
    const bad = await expectCode(() => readShanghaiTechList(p('s1.txt', '01_001,2,764\n')), 'ERR_MIST_FORMAT');
    assert.match(bad.message, /label must be 0 or 1/);
    await expectCode(() => readShanghaiTechList(p('s2.txt', '01_001,0,764\n01_0015\n')), 'ERR_MIST_FORMAT');
    await expectCode(() => readShanghaiTechList(p('s3.txt', '01_001,0,many\n')), 'ERR_MIST_FORMAT');
    await expectCode(() => readShanghaiTechList(join(dir, 'absent.txt')), 'ERR_MIST_IO');
    await expectCode(() => readRtfmList(join(dir, 'absent.list')), 'ERR_MIST_IO');
  } finally {
    cleanup();
  }
});

/** Writes `text` to a file in a fresh temporary folder and passes its path to `fn`. */
function withFile(name: string, text: string, fn: (path: string) => void | Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  const path = join(dir, name);
  writeFileSync(path, text);
  return Promise.resolve(fn(path)).finally(cleanup);
}

test('readUcfCrimeList: spaces and CRLF around lines; the folder and the extension are both required', async () => {
  await withFile(
    'u.txt',
    '  Abuse/Abuse028_x264.mp4 \r\n\r\nTesting_Normal_Videos_Anomaly/Normal_Videos_003_x264.mp4\n',
    (p) => {
      assert.equal(readUcfCrimeList(p), [
        { name: 'Abuse028_x264', path: 'Abuse/Abuse028_x264.mp4', className: 'Abuse', label: 1 },
        {
          name: 'Normal_Videos_003_x264',
          path: 'Testing_Normal_Videos_Anomaly/Normal_Videos_003_x264.mp4',
          className: 'Normal',
          label: 0,
        },
      ]);
    },
  );
  await withFile('u.txt', 'Abuse/Abuse028_x264.mp4\nnot-a-path\n', async (p) => {
    const e = await expectCode(() => readUcfCrimeList(p), 'ERR_MIST_FORMAT');
    assert.is(e.message, `${p}:2: expected Class/Name.mp4, got "not-a-path"`);
  });
  await withFile('u.txt', 'Abuse028_x264.mp4\n', async (p) => {
    const e = await expectCode(() => readUcfCrimeList(p), 'ERR_MIST_FORMAT'); // no folder
    assert.is(e.message, `${p}:1: expected Class/Name.mp4, got "Abuse028_x264.mp4"`);
  });
  await withFile('u.txt', 'Abuse.old/Abuse028_x264\n', async (p) => {
    await expectCode(() => readUcfCrimeList(p), 'ERR_MIST_FORMAT'); // a dot, but no extension at the end
  });
  const long = 'x'.repeat(100);
  await withFile('u.txt', `${long}\n`, async (p) => {
    const e = await expectCode(() => readUcfCrimeList(p), 'ERR_MIST_FORMAT');
    assert.is(e.message, `${p}:1: expected Class/Name.mp4, got "${'x'.repeat(80)}"`);
  });
  const io = await expectCode(() => readUcfCrimeList('/nonexistent-dir/u.txt'), 'ERR_MIST_IO');
  assert.match(io.message, /^cannot read list file \/nonexistent-dir\/u\.txt: /);
});

test('videoName strips only a final known extension', () => {
  assert.is(videoName('feats/Abuse028_x264.mp4.npy'), 'Abuse028_x264.mp4');
  assert.is(videoName('01_0014.H5'), '01_0014');
  assert.is(videoName('01_0014.json'), '01_0014.json');
});

test('readShanghaiTechList: header lines, spaces in cells, frame counts 0 and -1', async () => {
  await withFile('s.csv', 'video-id\n01_0014\n01_0015\n', (p) => {
    assert.equal(readShanghaiTechList(p), [{ name: '01_0014' }, { name: '01_0015' }]);
  });
  for (const header of ['video_id', 'Video ID', 'videoid'])
    await withFile('s.csv', `${header}\n01_0014\n`, (p) =>
      assert.equal(readShanghaiTechList(p), [{ name: '01_0014' }]),
    );
  // Only a first line that is the header itself is dropped.
  for (const first of ['my_video_id', 'video_id_2'])
    await withFile('s.csv', `${first}\n01_0014\n`, (p) =>
      assert.equal(readShanghaiTechList(p), [{ name: first }, { name: '01_0014' }]),
    );
  await withFile('s.txt', '', (p) => assert.equal(readShanghaiTechList(p), []));
  await withFile('s.txt', '01_001 , 1 , 0\n01_0015,0,-1\n01_0016,1,12\n', (p) => {
    assert.equal(readShanghaiTechList(p), [
      { name: '01_001', label: 1, frames: 0 },
      { name: '01_0015', label: 0 },
      { name: '01_0016', label: 1, frames: 12 },
    ]);
  });
});

test('readShanghaiTechList: the message of each malformed line', async () => {
  await withFile('s.txt', '01_001,0,764\n01_0015\n', async (p) => {
    const e = await expectCode(() => readShanghaiTechList(p), 'ERR_MIST_FORMAT');
    assert.is(e.message, `${p}:2: expected the same form as line 1 (3 field(s)), got "01_0015"`);
  });
  await withFile('s.txt', '01_001,0,764,x\n01_0015,0,764,x\n', async (p) => {
    const e = await expectCode(() => readShanghaiTechList(p), 'ERR_MIST_FORMAT');
    assert.is(e.message, `${p}:1: expected the same form as line 1 (4 field(s)), got "01_001,0,764,x"`);
  });
  await withFile('s.txt', '01_001,0,764\n01_0015,1,-2\n', async (p) => {
    const e = await expectCode(() => readShanghaiTechList(p), 'ERR_MIST_FORMAT');
    assert.is(e.message, `${p}:2: bad frame count "-2"`);
  });
  await withFile('s.txt', '01_001,0,7.5\n', async (p) => {
    const e = await expectCode(() => readShanghaiTechList(p), 'ERR_MIST_FORMAT');
    assert.is(e.message, `${p}:1: bad frame count "7.5"`);
  });
  await withFile('s.txt', '01_001,yes\n', async (p) => {
    const e = await expectCode(() => readShanghaiTechList(p), 'ERR_MIST_FORMAT');
    assert.is(e.message, `${p}:1: label must be 0 or 1, got "yes"`);
  });
});

test('readRtfmList: crops, _i3d, and the labels the names carry', async () => {
  const text = [
    'G:\\UCF_Test_ten_crop_i3d\\Abuse028_x264_i3d.npy',
    '/data/UCF/Normal_Videos_003_x264__0.npy',
    '/data/UCF/Normal_Videos_003_x264__1.npy',
    '/xd/Show.2019__#00-01-02_00-01-30_label_A__3.npy',
    '/xd/Show.2019__#00-01-02_00-01-30_label_B2-0-0__12.npy',
    '/xd/Show__2019_label_A__4.npy',
    '/xd/Clip_label_A_x.npy',
    '/xd/Clip_label_A-1.npy',
    '/xd/Clip_label_AB.npy',
    '/sh/Test_i3d_v2_i3d.npy',
    '/x/Abnormal_Videos_001.npy',
  ].join('\r\n');
  await withFile('a.list', text, (p) => {
    const l = readRtfmList(p);
    const short = l.map((e) => [e.name, e.crop, e.label]);
    assert.equal(short, [
      ['Abuse028_x264', undefined, undefined],
      ['Normal_Videos_003_x264', 0, 0],
      ['Normal_Videos_003_x264', 1, 0],
      ['Show.2019__#00-01-02_00-01-30_label_A', 3, 0],
      ['Show.2019__#00-01-02_00-01-30_label_B2-0-0', 12, 1],
      ['Show__2019_label_A', 4, 0],
      ['Clip_label_A_x', undefined, 0],
      ['Clip_label_A-1', undefined, 0],
      ['Clip_label_AB', undefined, 1],
      ['Test_i3d_v2', undefined, undefined],
      ['Abnormal_Videos_001', undefined, undefined],
    ]);
    assert.is(l[0]!.path, 'G:\\UCF_Test_ten_crop_i3d\\Abuse028_x264_i3d.npy');
    assert.is(l[1]!.path, '/data/UCF/Normal_Videos_003_x264__0.npy');
    assert.equal(uniqueVideoNames(l.slice(0, 5)), [
      'Abuse028_x264',
      'Normal_Videos_003_x264',
      'Show.2019__#00-01-02_00-01-30_label_A',
      'Show.2019__#00-01-02_00-01-30_label_B2-0-0',
    ]);
  });
  assert.equal(uniqueVideoNames([]), []);
});

test.run();
