// The one place configuration is read. Environment variables share the MIST_ prefix.
import { availableParallelism } from 'node:os';

import { ErrorCode, MistError } from './errors.js';

/** Intra-op threads LibTorch should use: MIST_NUM_THREADS, else every core of the machine. */
export function defaultThreadCount(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MIST_NUM_THREADS;
  if (raw === undefined || raw === '') return availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new MistError(ErrorCode.ARG, `MIST_NUM_THREADS must be a positive integer, got '${raw}'`);
  }
  return n;
}

/** Device asked for by MIST_DEVICE ('cpu' | 'cuda' | 'cuda:N'), if any. */
export function deviceFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const d = env.MIST_DEVICE;
  return d === undefined || d === '' ? undefined : d;
}

/** Every environment variable the package reads, for the README and `mist info`. */
export const ENVIRONMENT_VARIABLES: Record<string, string> = {
  MIST_NUM_THREADS: 'LibTorch intra-op threads (default: all cores)',
  MIST_DEVICE: "default device: 'cpu', 'cuda' or 'cuda:N' (default: CUDA when available)",
  LIBTORCH: 'build: a LibTorch folder to build against (checked first)',
  Torch_DIR: 'build: the folder holding TorchConfig.cmake (checked second, with CMAKE_PREFIX_PATH)',
  MIST_FORCE_BUILD: 'install: build from source even when a prebuilt binary loads',
  PREBUILDS_ONLY: 'install/load: only use prebuilds/, never compile',
};
