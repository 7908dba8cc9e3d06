import { addonOrigin, native } from './native.js';
import type { AddonOrigin, CpuCacheStats, RuntimeInfo } from './types.js';

export type { AddonOrigin, CpuCacheStats, RuntimeInfo };

/** The command that replaces the reference BLAS with OpenBLAS on Debian. */
export const SLOW_BLAS_FIX = 'sudo apt-get install -y libopenblas0-pthread';

/** Sync: the binary loaded and why, LibTorch version, CUDA, threads (configured and observed) and the BLAS loaded. */
export function info(): RuntimeInfo {
  const i: RuntimeInfo = { addon: addonOrigin(), ...native().info() };
  if (i.blas.kind === 'reference') {
    i.blasWarning =
      'LibTorch is using the reference BLAS (about 50x slower than OpenBLAS for matrix products). ' +
      `Fix: ${SLOW_BLAS_FIX}`;
  }
  return i;
}

/** Sync: sets LibTorch's intra-op thread count for every later native call. */
export function setNumThreads(n: number): void {
  native().setNumThreads(n);
}

/** Sync: the large-tensor cache: bytes kept for reuse, its limit, hits and misses. */
export function cpuCache(): CpuCacheStats {
  return native().cpuCache();
}

/** Sync: frees every cached large CPU block (tensors in use are not affected). */
export function releaseCpuCache(): void {
  native().releaseCpuCache();
}
