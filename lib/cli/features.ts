// Clip features on disk, as the stage-1 commands read them: a folder of <video>.npy,
// <video>__<k>.npy crop files or Sultani's <video>.txt, or one HDF5 store; and the split lists
// of UCF-Crime, ShanghaiTech and RTFM that name the videos and their labels.
import { existsSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

import { z } from 'zod';

import { readC3dTxt, readCropFeatures, readFeatures, type FeatureArray } from '../data/features.js';
import { openFeatureStore, type FeatureStore } from '../data/hdf5.js';
import { readRtfmList, readShanghaiTechList, readUcfCrimeList, type VideoEntry } from '../data/lists.js';
import type { VideoFeatures } from '../data/types.js';
import { ErrorCode, MistError } from '../errors.js';
import { required } from './args.js';

/** A feature source: a folder, or an open HDF5 store. */
export interface FeatureSource {
  path: string;
  store?: FeatureStore;
  /** Whether the source holds features of this video. */
  has(name: string): boolean;
  read(name: string): Promise<FeatureArray>;
  close(): void;
}

/** A video with features and its video-level label. */
export type LabelledFeatures = VideoFeatures & { anomalous: boolean };

/** Reads a split list by its form: `.list` (RTFM), Anomaly_Train/Test (UCF-Crime), else `name,label`. Sync. */
export function readList(path: string): VideoEntry[] {
  const text = path.toLowerCase();
  if (text.endsWith('.list')) return readRtfmList(path);
  if (/anomaly_(train|test)/.test(text)) return readUcfCrimeList(path);
  return readShanghaiTechList(path);
}

const CANDIDATES = (name: string) => [`${name}.npy`, `${name}_i3d.npy`, `${name}.txt`];

/** Opens a folder of feature files or an HDF5 store. Async. Throws ERR_MIST_IO when it does not exist. */
export async function openFeatures(path: string, flag = '--features'): Promise<FeatureSource> {
  if (!existsSync(path)) throw new MistError(ErrorCode.IO, `${flag} ${path} does not exist`);
  const store = statSync(path).isFile() ? await openFeatureStore(path) : undefined;
  if (store) {
    const names = new Set(store.names());
    return {
      path,
      store,
      has: (name) => names.has(name),
      read: async (name) => store.read(name),
      close: () => store.close(),
    };
  }
  return {
    path,
    has: (name) => CANDIDATES(name).some((c) => existsSync(join(path, c))) || existsSync(join(path, `${name}__0.npy`)),
    async read(name) {
      for (const candidate of CANDIDATES(name)) {
        const p = join(path, candidate);
        if (existsSync(p)) return extname(p) === '.txt' ? readC3dTxt(p) : await readFeatures(p);
      }
      if (existsSync(join(path, `${name}__0.npy`))) return readCropFeatures(join(path, name));
      throw new MistError(
        ErrorCode.IO,
        `no features for ${name} in ${path} (looked for ${name}.npy, ${name}__0.npy, ${name}.txt)`,
      );
    },
    close: () => undefined,
  };
}

/**
 * The labelled videos of a split list, each once, with their features. Async. Throws
 * ERR_MIST_ARG for a video without a label, ERR_MIST_IO for one without features.
 */
export async function loadSplit(list: string, source: FeatureSource): Promise<LabelledFeatures[]> {
  const seen = new Set<string>();
  const videos: LabelledFeatures[] = [];
  for (const e of readList(list)) {
    if (seen.has(e.name)) continue;
    seen.add(e.name);
    // RTFM's UCF-Crime lists mark only the normal videos by name; the rest are anomalous.
    if (e.label === undefined && /_x264$/.test(e.name)) e.label = 1;
    if (e.label === undefined) {
      throw new MistError(ErrorCode.ARG, `${list}: no video label for ${e.name} (use a name,label list)`);
    }
    videos.push({ name: e.name, features: await source.read(e.name), anomalous: e.label === 1 });
  }
  return videos;
}

/** The --features flag of the commands that read feature files. */
export const FEATURES_FLAG = {
  schema: required(z.string().min(1, { error: 'must be a path' })),
  arg: 'PATH',
  help: 'a folder of <video>.npy / <video>__<k>.npy / <video>.txt, or an HDF5 store',
};
