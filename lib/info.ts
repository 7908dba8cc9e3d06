import { native } from './native.js';

/** What info() reports about LibTorch in this process, plus a warning when its BLAS is slow. */
export interface RuntimeInfo {
  torchVersion: string;
  torchBuiltAgainst: string;
  torchSource: string;
  torchDir: string;
  cudaBuild: boolean;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  defaultDevice: 'cpu' | 'cuda';
  /** Intra-op threads configured. */
  threads: number;
  /** Distinct threads a parallel region really ran on. */
  threadsObserved: number;
  interopThreads: number;
  openmp: boolean;
  mkldnn: boolean;
  blas: { kind: 'openblas' | 'mkl' | 'reference' | 'unknown'; libraries: string[] };
  parallelInfo: string;
  buildConfig: string;
  /** Set when the loaded BLAS is the reference one (about 50x slower here than OpenBLAS). */
  blasWarning?: string;
}

/** The caching allocator of large CPU tensors (native/allocator.cc). */
export interface CpuCacheStats {
  enabled: boolean;
  cachedBytes: number;
  limitBytes: number;
  hits: number;
  misses: number;
}

export const SLOW_BLAS_FIX = 'sudo apt-get install -y libopenblas0-pthread';

/** Sync: LibTorch version, CUDA, threads (configured and observed) and the BLAS loaded. */
export function info(): RuntimeInfo {
  const i: RuntimeInfo = native().info();
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
