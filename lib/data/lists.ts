// Split and list files of the benchmarks, in the forms they are published:
//   UCF-Crime  Anomaly_Train.txt / Anomaly_Test.txt   "Class/Name_x264.mp4"
//   ShanghaiTech SH_Train.txt / SH_Test.txt           "01_0014"            (RTFM, plain)
//               SH_Train_new.txt / SH_Test_NEW.txt    "01_0014,1[,frames]" (MIST)
//   RTFM-style .list files                             one feature path a line, often absolute
//                                                      Windows or Linux paths of the authors
import { existsSync } from 'node:fs';

import { ErrorCode, MistError } from '../errors.js';
import { readFileOrThrow, writeFileAtomic } from './files.js';

/**
 * The most frames a video may have in a list, an annotation or a manifest: 2^30 (about 1.1
 * billion, 500 days at 25 fps). Frame labels cost a byte and a pass per frame, so a count read
 * from a damaged file (2^32, 10^15) is refused instead of taking minutes or all memory.
 */
export const MAX_FRAMES = 2 ** 30;

/** One video of a split or list file; fields the file does not carry are absent. */
export interface VideoEntry {
  /** Video name without folder or extension, e.g. `Abuse028_x264`, `01_0014`. */
  name: string;
  /** The line as given, when it names a file (`Abuse/Abuse028_x264.mp4`, a feature path). */
  path?: string;
  /** UCF-Crime class (`Abuse`, ..., `Normal`). */
  className?: string;
  /** Video-level label: 1 anomalous, 0 normal. */
  label?: 0 | 1;
  /** Frame count, when the list gives it. */
  frames?: number;
  /** Crop index of a `<video>__<k>.npy` feature file. */
  crop?: number;
}

/**
 * The non-blank lines of a text file, trimmed. Sync. Throws ERR_MIST_FORMAT for bytes that are
 * not UTF-8 text or a control character inside a line (a binary or damaged file), naming the
 * line.
 */
export function textLines(path: string, what: string): { text: string; line: number }[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(readFileOrThrow(path, what));
  } catch (e) {
    if (e instanceof MistError) throw e;
    throw new MistError(ErrorCode.FORMAT, `${path}: not a text file (its bytes are not UTF-8)`, { cause: e });
  }
  const out: { text: string; line: number }[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const l = raw.trim();
      if (l.length === 0) return;
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(l)) {
        throw new MistError(ErrorCode.FORMAT, `${path}:${i + 1}: a control character in the line (a binary or damaged file)`);
      }
      out.push({ text: l, line: i + 1 });
    });
  return out;
}

function lines(path: string): { text: string; line: number }[] {
  return textLines(path, 'list file');
}

function named(name: string, where: string, line: string): string {
  if (name.length === 0) throw new MistError(ErrorCode.FORMAT, `${where}: no video name in ${JSON.stringify(line.slice(0, 80))}`);
  return name;
}

/** Strips folders (either slash) and a known media or feature extension. */
export function videoName(pathOrName: string): string {
  const base = pathOrName.split(/[\\/]/).pop() ?? pathOrName;
  return base.replace(/\.(mp4|avi|mkv|mov|webm|npy|txt|h5)$/i, '');
}

/**
 * Reads a UCF-Crime split file (`Anomaly_Train.txt`, `Anomaly_Test.txt`). Sync. Normal
 * videos (folders `*Normal*`) get class `Normal` and label 0. Throws ERR_MIST_IO, or
 * ERR_MIST_FORMAT for a line that is not `Class/Name.mp4`.
 */
export function readUcfCrimeList(path: string): VideoEntry[] {
  return lines(path).map(({ text: line, line: n }) => {
    const parts = line.split(/[\\/]/);
    const folder = parts[parts.length - 2];
    if (parts.length < 2 || !/\.\w+$/.test(line) || !folder) {
      throw new MistError(ErrorCode.FORMAT, `${path}:${n}: expected Class/Name.mp4, got ${JSON.stringify(line.slice(0, 80))}`);
    }
    const normal = /normal/i.test(folder);
    const name = named(videoName(line), `${path}:${n}`, line);
    return { name, path: line, className: normal ? 'Normal' : folder, label: normal ? 0 : 1 };
  });
}

/**
 * Reads a ShanghaiTech split list: plain names (`SH_Test.txt`), `name,label[,frames]`
 * (`SH_Test_NEW.txt`; frames -1 means "use the frame mask" and is left out), or S3R's csv
 * with a `video-id` header. Sync. Throws ERR_MIST_IO, or ERR_MIST_FORMAT for a bad label or
 * frame count, or lines of different forms.
 */
export function readShanghaiTechList(path: string): VideoEntry[] {
  let all = lines(path);
  if (/^video[-_ ]?id$/i.test(all[0]?.text ?? '')) all = all.slice(1);
  let columns = 0; // the field count of line 1 (a line always has at least one)
  return all.map(({ text: line, line: n }) => {
    const cells = line.split(',').map((c) => c.trim());
    if (columns === 0) columns = cells.length;
    const where = `${path}:${n}`;
    if (cells.length !== columns || cells.length > 3) {
      throw new MistError(ErrorCode.FORMAT, `${where}: expected the same form as line 1 (${columns} field(s)), got ${JSON.stringify(line.slice(0, 80))}`);
    }
    const entry: VideoEntry = { name: named(videoName(cells[0] as string), where, line) };
    if (cells.length >= 2) {
      if (cells[1] !== '0' && cells[1] !== '1') throw new MistError(ErrorCode.FORMAT, `${where}: label must be 0 or 1, got ${JSON.stringify(cells[1])}`);
      entry.label = cells[1] === '1' ? 1 : 0;
    }
    if (cells.length === 3) {
      const frames = Number(cells[2]);
      if (!/^-?\d+$/.test(cells[2] as string) || !Number.isSafeInteger(frames) || frames < -1 || frames > MAX_FRAMES) {
        throw new MistError(ErrorCode.FORMAT, `${where}: bad frame count ${JSON.stringify(cells[2]?.slice(0, 40))}`);
      }
      if (frames >= 0) entry.frames = frames;
    }
    return entry;
  });
}

/**
 * Reads an RTFM-style `.list` file (one feature path a line). Sync. The name drops folders,
 * `.npy`, the crop suffix `__<k>` (kept in `crop`) and RTFM's `_i3d`. The label is set when
 * the name says it: UCF-Crime `Normal_Videos*` (0), XD-Violence `label_A` (0) or other
 * `label_*` (1). Throws ERR_MIST_IO, or ERR_MIST_FORMAT for a line without a video name.
 */
export function readRtfmList(path: string): VideoEntry[] {
  return lines(path).map(({ text: line, line: n }) => {
    let name = videoName(line);
    const entry: VideoEntry = { name, path: line };
    const crop = /__(\d+)$/.exec(name);
    if (crop) {
      entry.crop = Number(crop[1]);
      name = name.slice(0, crop.index);
    }
    name = named(name.replace(/_i3d$/i, ''), `${path}:${n}`, line);
    entry.name = name;
    if (/^Normal_Videos/i.test(name)) entry.label = 0;
    else if (/_label_A(?![A-Za-z0-9])/.test(name)) entry.label = 0;
    else if (/_label_/.test(name)) entry.label = 1;
    return entry;
  });
}

/**
 * Writes an RTFM-style `.list` file, one path a line (what readRtfmList reads), atomically; a
 * file that already holds exactly these lines is left untouched (its mtime too), so that a
 * resumed extraction rewrites nothing. Async. Returns whether it wrote. Throws ERR_MIST_ARG (a
 * path with a line break), ERR_MIST_IO.
 */
export async function writeRtfmList(path: string, paths: readonly string[]): Promise<boolean> {
  if (paths.some((p) => /[\r\n]/.test(p))) throw new MistError(ErrorCode.ARG, `${path}: a listed path holds a line break`);
  const text = paths.map((p) => `${p}\n`).join('');
  if (existsSync(path) && readFileOrThrow(path, 'list file').toString('utf8') === text) return false;
  await writeFileAtomic(path, text);
  return true;
}

/** Names in first-seen order, one per video (drops the repeated crop lines). Sync. */
export function uniqueVideoNames(entries: readonly VideoEntry[]): string[] {
  return [...new Set(entries.map((e) => e.name))];
}
