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

test.run();
