// `mist extract`: clip features of videos (a manifest or paths) to files in the community's
// layouts, through extractFeatureFiles: resumable, and a bad video is reported, not fatal.
import { z } from 'zod';

import { readVideoManifest } from '../../data/manifest.js';
import { ErrorCode, MistError } from '../../errors.js';
import {
  ExtractFeatureFilesOptionsSchema,
  extractFeatureFiles,
  type ExtractFilesProgress,
} from '../../selftrain/extract-files.js';
import { flagHelp, numberFlag, parseFlags, required, splitPositionals, type FlagSpecs } from '../args.js';
import { DEVICE_FLAG, ENCODER_FLAGS, encoderFromFlags, testSizeFlag } from '../encoder.js';
import type { Command } from '../command.js';
import { progressBar, type ProgressBar } from '../progress.js';

const X = ExtractFeatureFilesOptionsSchema.shape;
const path = z.string().min(1, { error: 'must be a path' });
const FLAGS = {
  out: { schema: required(X.dir), arg: 'DIR', help: 'where the features and the list go (made when missing)' },
  manifest: { schema: path.optional(), arg: 'FILE', help: 'a video manifest (.json or .csv); or give video paths' },
  split: {
    schema: z.enum(['train', 'test', 'all']).default('all'),
    arg: 'train|test|all',
    help: "the manifest's videos to extract (default all)",
  },
  crops: {
    schema: numberFlag(X.crops.unwrap()).optional(),
    arg: '1|5|10',
    help: 'views per clip: the test-time transform (default), 5 or 10 crops of 224 (C3D 112)',
  },
  format: {
    schema: X.format.unwrap().optional(),
    arg: 'npy|npy-per-crop|hdf5',
    help: '<video>.npy (default), <video>__<k>.npy per crop, or one HDF5 store',
  },
  store: {
    schema: X.store.unwrap().optional(),
    arg: 'NAME',
    help: 'the HDF5 store file in --out (default features.h5)',
  },
  list: { schema: X.list.unwrap().optional(), arg: 'NAME', help: 'the .list file in --out (default features.list)' },
  ...ENCODER_FLAGS,
  'test-size': testSizeFlag(
    'one view: the whole-frame resize (I3D default 256,340); crops: the resize before cropping',
  ),
  'batch-size': {
    schema: numberFlag(X.batchSize.unwrap()).optional(),
    arg: 'N',
    help: 'clips per encoder call (default 8, 2 for 5 crops, 1 for 10)',
  },
  device: DEVICE_FLAG,
  help: { schema: z.boolean().optional(), switch: true, help: 'this text' },
} satisfies FlagSpecs;

export const EXTRACT_USAGE = flagHelp(
  'mist extract --out DIR (--manifest FILE | VIDEO ...) [options]\n\n' +
    'Writes one feature per non-overlapping 16-frame clip; a video whose output is complete is skipped.',
  FLAGS,
);

function parseExtractFlags(argv: string[]) {
  return parseFlags('extract', argv, FLAGS);
}

const seconds = (s: number) => (Number.isFinite(s) ? `${s.toFixed(0)}s` : '-');

/** Runs `mist extract` with its command-line arguments. Async. */
async function run(argv: string[]): Promise<void> {
  const { flags, positionals: paths } = splitPositionals(argv, FLAGS);
  if (flags.includes('--help')) {
    console.log(EXTRACT_USAGE);
    return;
  }
  const f = parseExtractFlags(flags);
  if (f.manifest && paths.length > 0) throw new MistError(ErrorCode.ARG, 'give --manifest or video paths, not both');
  if (!f.manifest && paths.length === 0)
    throw new MistError(ErrorCode.ARG, 'no videos: give --manifest FILE or video paths');
  const videos = f.manifest
    ? readVideoManifest(f.manifest).videos.filter((v) => f.split === 'all' || v.split === f.split)
    : paths;
  if (videos.length === 0) throw new MistError(ErrorCode.ARG, `${f.manifest}: no ${f.split} videos`);
  const encoder = await encoderFromFlags(f, 'features');
  const stderr = process.stderr;
  const tty = stderr.isTTY === true;
  const bar: ProgressBar | undefined = tty ? progressBar('extract', videos.length, stderr) : undefined;
  // A line of its own, above the bar on a terminal.
  const say = (text: string) => stderr.write(tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  const onProgress = (p: ExtractFilesProgress) => {
    const at = `[${p.index + 1}/${p.videos}] ${p.video}`;
    if (p.event === 'skipped') say(`${at}: complete already, skipped`);
    else if (p.event === 'failed') say(`${at}: FAILED, left out: ${p.error?.message ?? ''} [${p.error?.code ?? ''}]`);
    else if (p.event === 'written' && !tty) {
      say(`${at}: ${p.clips} clips, ${p.clipsPerSecond.toFixed(2)} clips/s, eta ${seconds(p.etaSeconds)}`);
    }
    const done = p.index + (p.event === 'start' || p.event === 'batch' ? 0 : 1);
    bar?.update(
      done,
      `${p.video} ${p.clipsDone}/${p.clips} clips, ${p.clipsPerSecond.toFixed(2)} clips/s, eta ${seconds(p.etaSeconds)}`,
    );
  };
  try {
    const r = await extractFeatureFiles(videos, encoder, {
      dir: f.out,
      ...(f.crops ? { crops: f.crops } : {}),
      ...(f.format ? { format: f.format } : {}),
      ...(f.store ? { store: f.store } : {}),
      ...(f.list ? { list: f.list } : {}),
      ...(f['batch-size'] ? { batchSize: f['batch-size'] } : {}),
      ...(f['test-size'] ? { testSize: f['test-size'] } : {}),
      onProgress,
    });
    bar?.finish();
    const rate = r.seconds > 0 ? r.clips / r.seconds : 0;
    console.log(
      `wrote ${r.written.length} videos (${r.clips} clips, ${rate.toFixed(2)} clips/s) to ${f.out}; ` +
        `skipped ${r.skipped.length} (complete already); failed ${r.failed.length}`,
    );
    if (r.store) console.log(`store: ${r.store}`);
    if (r.list) console.log(`list: ${r.list}`);
    for (const x of r.failed) console.log(`failed: ${x.path}: ${x.error.message} [${x.error.code}]`);
    if (r.failed.length > 0) process.exitCode = 1;
  } finally {
    encoder.dispose();
  }
}

export const extractCommand: Command = {
  summary: 'extract clip features of videos to .npy / per-crop .npy / HDF5 (mist extract --help)',
  run,
};
