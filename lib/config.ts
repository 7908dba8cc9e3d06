// The one place configuration is read. Every environment variable the package or its build
// reads shares the MIST_ prefix (or is LibTorch's or prebuildify's own) and is listed in
// ENVIRONMENT_VARIABLES; the run-time ones are read here, when asked for, never at import. Those
// that choose the addon binary (LibTorch's lookup, PREBUILDS_ONLY, MIST_PREBUILD_VARIANT) are read
// by scripts/libtorch-variant.cjs instead, which the install hook shares before anything is compiled.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';

import { ErrorCode, MistError } from './errors.js';

type Env = NodeJS.ProcessEnv;

function nonEmpty(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** Intra-op threads LibTorch should use: MIST_NUM_THREADS, else every core of the machine. */
export function defaultThreadCount(env: Env = process.env): number {
  const raw = nonEmpty(env, 'MIST_NUM_THREADS');
  if (raw === undefined) return availableParallelism();
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isInteger(n) || n < 1) {
    throw new MistError(ErrorCode.ARG, `MIST_NUM_THREADS must be a positive integer, got '${raw}'`);
  }
  return n;
}

/** Device asked for by MIST_DEVICE ('cpu' | 'cuda' | 'cuda:N'), if any. */
export function deviceFromEnv(env: Env = process.env): string | undefined {
  return nonEmpty(env, 'MIST_DEVICE');
}

/** The ffmpeg and ffprobe binaries: MIST_FFMPEG / MIST_FFPROBE, else the ones on PATH. */
export function ffmpegBinaries(env: Env = process.env): { ffmpeg: string; ffprobe: string } {
  return { ffmpeg: nonEmpty(env, 'MIST_FFMPEG') ?? 'ffmpeg', ffprobe: nonEmpty(env, 'MIST_FFPROBE') ?? 'ffprobe' };
}

/** What to tell a user whose ffmpeg or ffprobe is missing. */
export const FFMPEG_FIX = 'install ffmpeg (sudo apt-get install -y ffmpeg), or set MIST_FFMPEG / MIST_FFPROBE';

/**
 * The bound of the large-tensor CPU cache in MiB: MIST_CPU_CACHE_MB, else 4096; 0 turns the
 * cache off. Applied once, when the addon loads (lib/native.ts).
 */
export function cpuCacheMb(env: Env = process.env): number {
  const raw = nonEmpty(env, 'MIST_CPU_CACHE_MB');
  if (raw === undefined) return 4096;
  if (!/^\d+$/.test(raw)) throw new MistError(ErrorCode.ARG, `MIST_CPU_CACHE_MB must be an integer >= 0, got '${raw}'`);
  return Number(raw);
}

/**
 * A cap on the memory the package plans to take, in MiB: MIST_MEMORY_LIMIT_MB, else undefined
 * (the machine's RAM). Read at every check (lib/memory.ts).
 */
export function memoryLimitMb(env: Env = process.env): number | undefined {
  const raw = nonEmpty(env, 'MIST_MEMORY_LIMIT_MB');
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) {
    throw new MistError(ErrorCode.ARG, `MIST_MEMORY_LIMIT_MB must be a positive integer (MiB), got '${raw}'`);
  }
  return Number(raw);
}

/** Tests only: the folder of the larger real data files, MIST_SHARED_DATA or ../shared/data. */
export function sharedDataDir(root: string, env: Env = process.env): string {
  return nonEmpty(env, 'MIST_SHARED_DATA') ?? resolve(root, '..', 'shared', 'data');
}

/** Every environment variable the package, its build and its tests read, for the README and `mist info`. */
export const ENVIRONMENT_VARIABLES: Record<string, string> = {
  MIST_NUM_THREADS: 'LibTorch intra-op threads (default: all cores)',
  MIST_DEVICE: "default device: 'cpu', 'cuda' or 'cuda:N' (default: CUDA when available)",
  MIST_CPU_CACHE_MB: 'memory kept for reusing large CPU tensors, MiB (default 4096; 0 turns the cache off)',
  MIST_MEMORY_LIMIT_MB:
    "memory the package may plan to take, MiB: larger reads and encoder calls fail with ERR_MIST_MEMORY (default: the machine's RAM)",
  MIST_FFMPEG: 'the ffmpeg binary used to decode videos (default: ffmpeg on PATH)',
  MIST_FFPROBE: 'the ffprobe binary used to read video streams (default: ffprobe on PATH)',
  LIBTORCH: 'build/load: a LibTorch folder to build against or to pick the prebuild for (checked first)',
  Torch_DIR: 'build/load: the folder holding TorchConfig.cmake (checked second, with CMAKE_PREFIX_PATH)',
  MIST_SKIP_PYTHON_TORCH: "build/load: do not look for a Python torch install's LibTorch (third lookup step)",
  MIST_DEBUG_BUILD: 'build: compile the addon with debug information and no optimisation',
  MIST_FORCE_BUILD: 'install: build from source even when a prebuilt binary loads',
  MIST_PREBUILD_VARIANT:
    "install/load: use this prebuild variant (e.g. 'cpu-torch1.13', 'cuda12-torch2.5') whatever LibTorch is found",
  MIST_ADDON_PATH:
    'load: an absolute path to the addon binary to load instead of any other (e.g. the AddressSanitizer build)',
  PREBUILDS_ONLY: 'install/load: only use prebuilds/ (the variant that fits the LibTorch found), never compile',
  MIST_TEST_TAP: 'tests: 1 adds TAP lines to the test output (read by the mutation-testing runner)',
  MIST_SHARED_DATA: 'tests: the folder of the larger real data files (default ../shared/data)',
  MIST_MATRIX_SOFT: 'tests: 1 lets the bad-input matrix record a failing case and go on, to list them all',
  MIST_MATRIX_PRINT: 'tests: 1 prints each bad-input case with the message it gave',
  MIST_FUZZ_SEED: "tests: the fuzz test's seed (default 20261202)",
  MIST_FUZZ_SCALE: "tests: multiplies the fuzz test's input counts (default 1; scripts/fuzz.mjs runs longer)",
  MIST_PYTHON:
    "benchmarks: the Python whose torch runs the PyTorch columns (default /usr/bin/python3, Debian's python3-torch)",
};
