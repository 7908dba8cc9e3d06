// The bad-input matrix of the readers, part 3: checkpoints. LibTorch's zip reader does not
// check the CRC-32 each record of a PyTorch zip stores (miniz is built with
// MINIZ_DISABLE_ZIP_READER_CRC32_CHECKS), so a byte changed inside a tensor used to load as a
// different weight; the loaders now verify the archive first (lib/models/zip-check.ts). Each
// case is a tiny model saved here and then damaged.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { MilGenerator, SgaEncoder } from '../lib/index.js';
import { crc32, verifyCheckpointZip } from '../lib/models/zip-check.js';
import { tempDir, test } from './helpers.js';
import { refuses } from './reliability-helpers.js';

const { dir, cleanup } = tempDir('mist-reliability-');
test.after(cleanup);

const encoderOptions = { backbone: 'c3d', width: 1 / 8, inputSize: [16, 32, 32], device: 'cpu' } as const;
let n = 0;
function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, `${++n}-${name}`);
  writeFileSync(p, content);
  return p;
}

/** The data span of each record of a zip, from its central directory (enough for our files). */
function records(zip: Uint8Array): { name: string; start: number; size: number }[] {
  const b = Buffer.from(zip);
  const end = b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let p = b.readUInt32LE(end + 16);
  let count = b.readUInt16LE(end + 10);
  if (p === 0xffffffff || count === 0xffff) {
    const rec = Number(b.readBigUInt64LE(end - 20 + 8));
    count = Number(b.readBigUInt64LE(rec + 32));
    p = Number(b.readBigUInt64LE(rec + 48));
  }
  const out: { name: string; start: number; size: number }[] = [];
  for (let i = 0; i < count; i++) {
    const nameLen = b.readUInt16LE(p + 28);
    const name = b.toString('utf8', p + 46, p + 46 + nameLen);
    let size = b.readUInt32LE(p + 20);
    let local = b.readUInt32LE(p + 42);
    const extraLen = b.readUInt16LE(p + 30);
    for (let x = p + 46 + nameLen; x < p + 46 + nameLen + extraLen; x += 4 + b.readUInt16LE(x + 2)) {
      if (b.readUInt16LE(x) !== 1) continue;
      let q = x + 4;
      if (b.readUInt32LE(p + 24) === 0xffffffff) q += 8;
      if (size === 0xffffffff) {
        size = Number(b.readBigUInt64LE(q));
        q += 8;
      }
      if (local === 0xffffffff) local = Number(b.readBigUInt64LE(q));
    }
    const start = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
    out.push({ name, start, size });
    p += 46 + nameLen + extraLen + b.readUInt16LE(p + 32);
  }
  return out;
}

function flipped(bytes: Uint8Array, at: number): Uint8Array {
  const c = Uint8Array.from(bytes);
  c[at]! ^= 0x10;
  return c;
}

test("crc32 is zip's CRC-32 (IEEE)", () => {
  assert.is(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.is(crc32(Buffer.from('6789'), crc32(Buffer.from('12345'))), 0xcbf43926);
});

test('generator checkpoints: empty, random bytes, truncated, a byte changed in a tensor or the pickle', async () => {
  const g = MilGenerator.create({ featureDim: 16, hidden: [8, 4], device: 'cpu' });
  const path = join(dir, 'generator.pt');
  await g.save(path);
  const before = await g.parameters();
  g.dispose();
  const bytes = readFileSync(path);
  const back = await MilGenerator.load(path);
  back.dispose();
  await verifyCheckpointZip(path);
  let p = file('empty.pt', '');
  await refuses('MilGenerator.load', 'an empty file', () => MilGenerator.load(p), 'ERR_MIST_WEIGHTS', p);
  p = file(
    'random.pt',
    Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24),
  );
  await refuses('MilGenerator.load', '4 KiB of random bytes', () => MilGenerator.load(p), 'ERR_MIST_WEIGHTS', p);
  p = file(
    'random-zip.pt',
    Uint8Array.from({ length: 4096 }, (_, i) => (i < 4 ? [0x50, 0x4b, 3, 4][i]! : (i * 40503) & 0xff)),
  );
  await refuses(
    'MilGenerator.load',
    "random bytes after a zip's magic",
    () => MilGenerator.load(p),
    'ERR_MIST_WEIGHTS',
    p,
  );
  p = file('cut.pt', bytes.subarray(0, Math.floor(bytes.length / 2)));
  const cut = await refuses(
    'MilGenerator.load',
    'cut to half its size',
    () => MilGenerator.load(p),
    'ERR_MIST_WEIGHTS',
    p,
  );
  assert.match(cut.message, /no end record/);
  p = file('cut-end.pt', bytes.subarray(0, bytes.length - 1));
  await refuses('MilGenerator.load', 'its last byte cut', () => MilGenerator.load(p), 'ERR_MIST_WEIGHTS', p);
  const fc1 = records(bytes).reduce((a, b) => (b.size > a.size ? b : a)); // fc1.weight, the largest
  p = file('flip-tensor.pt', flipped(bytes, fc1.start + (fc1.size >> 1)));
  const t = await refuses(
    'MilGenerator.load',
    `a byte flipped in the middle of ${fc1.name} (a weight)`,
    () => MilGenerator.load(p),
    'ERR_MIST_WEIGHTS',
    p,
  );
  assert.match(t.message, new RegExp(`record ${fc1.name} fails its CRC-32 check`));
  const pkl = records(bytes).find((r) => r.name.endsWith('data.pkl'))!;
  p = file('flip-pickle.pt', flipped(bytes, pkl.start + (pkl.size >> 1)));
  await refuses(
    'MilGenerator.load',
    'a byte flipped in the middle of data.pkl',
    () => MilGenerator.load(p),
    'ERR_MIST_WEIGHTS',
    p,
  );
  p = file('flip-directory.pt', flipped(bytes, bytes.length - 60));
  await refuses(
    'MilGenerator.load',
    'a byte flipped in the central directory',
    () => MilGenerator.load(p),
    'ERR_MIST_WEIGHTS',
    p,
  );
  // Nothing above changed what the good file loads.
  const again = await MilGenerator.load(path);
  assert.equal(Object.keys(await again.parameters()), Object.keys(before));
  again.dispose();
});

test('encoder checkpoints: empty, random bytes, truncated, a byte changed in the middle, the wrong model', async () => {
  const e = SgaEncoder.create(encoderOptions);
  const path = join(dir, 'encoder.pt');
  await e.save(path);
  const bytes = readFileSync(path);
  (await SgaEncoder.load(path)).dispose();
  let p = file('empty.pt', '');
  await refuses('SgaEncoder.load', 'an empty file', () => SgaEncoder.load(p), 'ERR_MIST_WEIGHTS', p);
  p = file(
    'random.pt',
    Uint8Array.from({ length: 65536 }, (_, i) => (i * 2246822519) >>> 24),
  );
  await refuses('SgaEncoder.load', '64 KiB of random bytes', () => SgaEncoder.load(p), 'ERR_MIST_WEIGHTS', p);
  p = file('cut.pt', bytes.subarray(0, Math.floor(bytes.length * 0.7)));
  await refuses('SgaEncoder.load', 'cut to 70 % of its size', () => SgaEncoder.load(p), 'ERR_MIST_WEIGHTS', p);
  // The middle byte of the file: inside the largest tensor of a saved C3D.
  const mid = Math.floor(bytes.length / 2);
  const inRecord = records(bytes).find((r) => r.start <= mid && mid < r.start + r.size);
  assert.ok(inRecord, 'the middle byte lies in a record');
  p = file('flip-middle.pt', flipped(bytes, mid));
  const f = await refuses(
    'SgaEncoder.load',
    `the middle byte of the file flipped (in ${inRecord!.name})`,
    () => SgaEncoder.load(p),
    'ERR_MIST_WEIGHTS',
    p,
  );
  assert.match(f.message, /fails its CRC-32 check/);
  await refuses('SgaEncoder.loadStateDict', 'the middle byte flipped', () => e.loadStateDict(p), 'ERR_MIST_WEIGHTS', p);
  const pkl = records(bytes).find((r) => r.name.endsWith('data.pkl'))!;
  p = file('flip-pickle.pt', flipped(bytes, pkl.start + (pkl.size >> 1)));
  await refuses(
    'SgaEncoder.load',
    'a byte flipped in the middle of data.pkl',
    () => SgaEncoder.load(p),
    'ERR_MIST_WEIGHTS',
    p,
  );
  const g = MilGenerator.create({ featureDim: 16, device: 'cpu' });
  const gp = join(dir, 'a-generator.pt');
  await g.save(gp);
  g.dispose();
  await refuses('SgaEncoder.load', "a generator's checkpoint", () => SgaEncoder.load(gp), 'ERR_MIST_WEIGHTS', gp);
  await refuses(
    'MilGenerator.load',
    "an encoder's checkpoint",
    () => MilGenerator.load(path),
    'ERR_MIST_WEIGHTS',
    path,
  );
  p = join(dir, 'absent.pt');
  await refuses('SgaEncoder.load', 'a missing file', () => SgaEncoder.load(p), 'ERR_MIST_IO', p);
  e.dispose();
});

test('a damaged pickle whose CRC was made right again reaches the native loader, and its error names the file', async () => {
  // Found by the fuzzer (scripts/fuzz.mjs): a memo index that is not a number made LibTorch's
  // std::stoull fail, reported as ERR_MIST_TORCH with the message "stoull" and no file.
  const g = MilGenerator.create({ featureDim: 8, hidden: [4, 2], device: 'cpu' });
  const path = join(dir, 'g-for-stoull.pt');
  await g.save(path);
  g.dispose();
  const b = Buffer.from(readFileSync(path));
  const pkl = records(b).find((r) => r.name.endsWith('data.pkl'))!;
  const at = b.indexOf(0x71, pkl.start + 2); // the first BINPUT
  assert.ok(at > 0 && at < pkl.start + pkl.size - 3);
  b.write('px\n', at, 'latin1'); // PUT with the text "x" for its memo index
  const crc = crc32(b.subarray(pkl.start, pkl.start + pkl.size));
  // The directory entry's CRC, and the data descriptor's (PyTorch's writer uses one).
  const end = b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  for (
    let p = b.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    p >= 0 && p < end;
    p = b.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), p + 4)
  ) {
    if (b.toString('utf8', p + 46, p + 46 + b.readUInt16LE(p + 28)).endsWith('data.pkl')) b.writeUInt32LE(crc, p + 16);
  }
  const d = pkl.start + pkl.size;
  b.writeUInt32LE(crc, b.readUInt32LE(d) === 0x08074b50 ? d + 4 : d);
  const p = file('stoull.pt', b);
  await verifyCheckpointZip(p); // the archive itself is sound now
  const e = await refuses(
    'MilGenerator.load',
    'a PUT opcode whose memo index is "x" (CRC recomputed)',
    () => MilGenerator.load(p),
    'ERR_MIST_WEIGHTS',
    p,
  );
  assert.match(e.message, /not a readable checkpoint/);
});

test('training checkpoints: a byte changed in the middle is refused by restoreTraining', async () => {
  const e = SgaEncoder.create(encoderOptions);
  await e.configureTraining({});
  const path = join(dir, 'last.pt');
  await e.saveTraining(path, { epoch: 1 });
  const bytes = readFileSync(path);
  const p = file('flip-last.pt', flipped(bytes, Math.floor(bytes.length / 2)));
  await refuses(
    'SgaEncoder.restoreTraining',
    'the middle byte flipped',
    () => e.restoreTraining(p),
    'ERR_MIST_WEIGHTS',
    p,
  );
  assert.equal(await e.restoreTraining(path), { epoch: 1 });
  e.dispose();
});

test.run();
