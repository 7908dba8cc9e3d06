// PyTorch's zip checkpoints (torch.save since 1.6, and every file the addon writes) store a
// CRC-32 of each record, but LibTorch does not check them: it builds its zip reader (miniz) with
// MINIZ_DISABLE_ZIP_READER_CRC32_CHECKS, so a byte changed inside a tensor's data loads as a
// different weight, silently. verifyCheckpointZip checks the archive's structure and every
// record's CRC-32 here, before a file is handed to the native loader.
import { open, type FileHandle } from 'node:fs/promises';
import * as zlib from 'node:zlib';

import { ErrorCode, MistError, ioError } from '../errors.js';
import { checkAllocation } from '../memory.js';

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const END64 = 0x06064b50;
const END64_LOCATOR = 0x07064b50;
const CHUNK = 1 << 20;

// ---- CRC-32 (IEEE, as zip stores it): zlib's where Node has it (20.15+), else a table. ------
let table: Uint32Array | undefined;
function crc32Table(data: Uint8Array, crc: number): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = (table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)) >>> 0;
  return ~c >>> 0;
}
const zlibCrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
/** CRC-32 of `data` continuing from `crc` (0 to start). Sync. */
export function crc32(data: Uint8Array, crc = 0): number {
  return zlibCrc ? zlibCrc(data, crc) >>> 0 : crc32Table(data, crc);
}

function damaged(path: string, why: string): MistError {
  return new MistError(ErrorCode.WEIGHTS, `${path}: damaged or truncated checkpoint: ${why}`);
}

async function readAt(fh: FileHandle, path: string, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    let n: number;
    try {
      ({ bytesRead: n } = await fh.read(buf, got, length - got, offset + got));
    } catch (e) {
      throw ioError(e, 'read checkpoint', path);
    }
    if (n === 0) throw damaged(path, `ends at byte ${offset + got}, a record needs ${offset + length}`);
    got += n;
  }
  return buf;
}

interface Entry {
  name: string;
  method: number;
  crc: number;
  compressed: number;
  size: number;
  local: number;
}

/** The 64-bit little-endian number at `o`, refused beyond 2^53 (no real file is that large). */
function u64(b: Buffer, o: number, path: string): number {
  const v = b.readBigUInt64LE(o);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw damaged(path, 'a zip64 size beyond 2^53');
  return Number(v);
}

/** The central directory's entries, with zip64 sizes resolved. */
function entries(cd: Buffer, count: number, path: string): Entry[] {
  const out: Entry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL)
      throw damaged(path, `central directory entry ${i} is malformed`);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    if (p + 46 + nameLen + extraLen + commentLen > cd.length)
      throw damaged(path, `central directory entry ${i} overruns the directory`);
    const e: Entry = {
      name: cd.toString('utf8', p + 46, p + 46 + nameLen),
      method: cd.readUInt16LE(p + 10),
      crc: cd.readUInt32LE(p + 16),
      compressed: cd.readUInt32LE(p + 20),
      size: cd.readUInt32LE(p + 24),
      local: cd.readUInt32LE(p + 42),
    };
    // The zip64 extra field holds, in this order, the fields whose 32-bit value is all ones.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = cd.readUInt16LE(x);
      const len = cd.readUInt16LE(x + 2);
      if (x + 4 + len > xEnd) throw damaged(path, `record ${e.name}: an extra field overruns its entry`);
      if (id === 0x0001) {
        let q = x + 4;
        const take = (): number => {
          if (q + 8 > x + 4 + len) throw damaged(path, `record ${e.name}: a short zip64 field`);
          const v = u64(cd, q, path);
          q += 8;
          return v;
        };
        if (e.size === 0xffffffff) e.size = take();
        if (e.compressed === 0xffffffff) e.compressed = take();
        if (e.local === 0xffffffff) e.local = take();
      }
      x += 4 + len;
    }
    out.push(e);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/**
 * Checks a PyTorch zip checkpoint before it is loaded: the end record and central directory are
 * where they say, every record's local header matches its directory entry and lies inside the
 * file, and every record's CRC-32 matches its data (stored records are read in 1 MiB chunks;
 * deflated ones are inflated to their declared size). A file that does not start as a zip (the
 * legacy pre-1.6 format, which has no checksum, or not a checkpoint at all) is left to the
 * native loader. Async. Throws ERR_MIST_IO (unreadable file) or ERR_MIST_WEIGHTS naming the
 * file and the record (`damaged or truncated checkpoint: record archive/data/3 fails its
 * CRC-32 check ...`).
 */
export async function verifyCheckpointZip(path: string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw ioError(e, 'read checkpoint', path);
  }
  try {
    const size = (await fh.stat()).size;
    if (size < 4) return;
    const head = await readAt(fh, path, 0, 4);
    if (head.readUInt32LE(0) !== LOCAL) return; // not a zip: the native loader says what it is
    // The end record: 22 bytes and a comment of up to 65535, at the very end.
    const tailLen = Math.min(size, 22 + 0xffff + 20);
    const tail = await readAt(fh, path, size - tailLen, tailLen);
    let at = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === END && i + 22 + tail.readUInt16LE(i + 20) === tailLen) {
        at = i;
        break;
      }
    }
    if (at < 0) throw damaged(path, 'the zip archive has no end record (cut short?)');
    const endPos = size - tailLen + at;
    let count = tail.readUInt16LE(at + 10);
    let cdSize = tail.readUInt32LE(at + 12);
    let cdOffset = tail.readUInt32LE(at + 16);
    let cdLimit = endPos;
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      if (at < 20 || tail.readUInt32LE(at - 20) !== END64_LOCATOR)
        throw damaged(path, 'the zip64 end locator is missing');
      const end64 = u64(tail, at - 12, path);
      if (end64 + 56 > endPos - 20) throw damaged(path, 'the zip64 end record lies outside the file');
      const rec = await readAt(fh, path, end64, 56);
      if (rec.readUInt32LE(0) !== END64) throw damaged(path, 'the zip64 end record is malformed');
      count = u64(rec, 32, path);
      cdSize = u64(rec, 40, path);
      cdOffset = u64(rec, 48, path);
      cdLimit = end64;
    }
    if (cdOffset + cdSize > cdLimit) throw damaged(path, 'the central directory lies outside the file');
    if (count * 46 > cdSize) throw damaged(path, `the central directory is too small for ${count} records`);
    checkAllocation(cdSize, 1, `reading the zip directory of ${path}`);
    const list = entries(await readAt(fh, path, cdOffset, cdSize), count, path);
    const names = new Set<string>();
    for (const e of list) {
      if (names.has(e.name)) throw damaged(path, `record ${e.name} appears twice`);
      names.add(e.name);
      if (e.local + 30 > cdOffset) throw damaged(path, `record ${e.name}: its header lies outside the file`);
      const lh = await readAt(fh, path, e.local, 30);
      if (lh.readUInt32LE(0) !== LOCAL) throw damaged(path, `record ${e.name}: no local header at byte ${e.local}`);
      const nameLen = lh.readUInt16LE(26);
      const extraLen = lh.readUInt16LE(28);
      const localName = (await readAt(fh, path, e.local + 30, nameLen)).toString('utf8');
      if (localName !== e.name)
        throw damaged(path, `record ${e.name}: its local header names ${JSON.stringify(localName.slice(0, 80))}`);
      // The local header repeats the method, and without a data descriptor (flag bit 3) the CRC
      // and sizes (all ones where zip64 holds them); with one, they are zero (PyTorch's writer)
      // or repeat the directory's. A change there is damage too.
      const flags = lh.readUInt16LE(6);
      const descriptor = (flags & 8) !== 0;
      const same = (local: number, central: number): boolean =>
        local === central || local === 0xffffffff || (descriptor && local === 0);
      if (
        lh.readUInt16LE(8) !== e.method ||
        !same(lh.readUInt32LE(14), e.crc) ||
        !same(lh.readUInt32LE(18), e.compressed) ||
        !same(lh.readUInt32LE(22), e.size)
      ) {
        throw damaged(path, `record ${e.name}: its local header differs from its directory entry`);
      }
      const start = e.local + 30 + nameLen + extraLen;
      if (start + e.compressed > cdOffset)
        throw damaged(path, `record ${e.name}: its data runs past the end of the records`);
      let crc = 0;
      if (e.method === 0) {
        if (e.compressed !== e.size)
          throw damaged(path, `record ${e.name}: stored with ${e.compressed} bytes for ${e.size}`);
        for (let o = 0; o < e.size; o += CHUNK) {
          crc = crc32(await readAt(fh, path, start + o, Math.min(CHUNK, e.size - o)), crc);
        }
      } else if (e.method === 8) {
        checkAllocation(e.compressed + e.size, 1, `inflating record ${e.name} of ${path}`);
        let out: Buffer;
        try {
          out = zlib.inflateRawSync(await readAt(fh, path, start, e.compressed), {
            maxOutputLength: Math.max(1, e.size),
          });
        } catch (err) {
          throw new MistError(
            ErrorCode.WEIGHTS,
            `${path}: damaged or truncated checkpoint: record ${e.name} does not inflate`,
            { cause: err },
          );
        }
        if (out.length !== e.size)
          throw damaged(path, `record ${e.name} inflates to ${out.length} bytes, not ${e.size}`);
        crc = crc32(out);
      } else {
        throw damaged(path, `record ${e.name} uses zip compression method ${e.method} (PyTorch writes 0, stored)`);
      }
      if (descriptor) {
        // The data descriptor after the data: [signature] crc, sizes (32-bit, or 64-bit in zip64).
        const end = start + e.compressed;
        const d = await readAt(fh, path, end, Math.min(24, cdOffset - end));
        const o = d.length >= 4 && d.readUInt32LE(0) === 0x08074b50 ? 4 : 0;
        if (d.length < o + 4 || d.readUInt32LE(o) !== e.crc) {
          throw damaged(path, `record ${e.name}: its data descriptor differs from its directory entry`);
        }
      }
      if (crc !== e.crc) {
        const hex = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;
        throw damaged(path, `record ${e.name} fails its CRC-32 check (stored ${hex(e.crc)}, computed ${hex(crc)})`);
      }
    }
  } finally {
    await fh.close();
  }
}

/**
 * Runs a native load of the checkpoint `path` and gives its failures the file's name: a
 * LibTorch failure on the file's content (ERR_MIST_TORCH, such as a number that does not parse
 * in a damaged pickle) becomes ERR_MIST_WEIGHTS, and every message names the file. Async.
 */
export async function loadingCheckpoint<T>(path: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (!(e instanceof MistError)) throw e;
    if (e.code === ErrorCode.TORCH) {
      throw new MistError(ErrorCode.WEIGHTS, `${path}: not a readable checkpoint (${e.message.slice(0, 200)})`, {
        cause: e,
      });
    }
    if (!e.message.includes(path)) throw new MistError(e.code, `${path}: ${e.message}`, { cause: e });
    throw e;
  }
}
