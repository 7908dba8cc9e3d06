// Types of scripts/libtorch-variant.cjs (plain CommonJS, because the install hook runs it before
// anything is compiled), for lib/native.ts and the tests.

/** A LibTorch flavour a binary is built for: torch 'major.minor', CUDA major or null (CPU). */
export interface Variant {
  torch: string;
  cuda: string | null;
}

/** A LibTorch install, as findLibtorch found it. */
export interface Libtorch {
  source: 'LIBTORCH' | 'Torch_DIR' | 'CMAKE_PREFIX_PATH' | 'python torch' | 'system';
  /** The folder of TorchConfig.cmake. */
  cmakeDir: string;
  /** The folder of libtorch.so, or null when none was found beside it. */
  libDir: string | null;
  /** '1.13.0', '2.5.1+cu124', or null when no file of the install names it. */
  version: string | null;
  /** The file the version was read from. */
  versionFrom: string | null;
  cuda: boolean;
  /** '12.4' (or a major alone, '12', when only libcudart's soname says it); null for CPU. */
  cudaVersion: string | null;
}

export interface LibtorchLookup {
  libtorch: Libtorch | null;
  error: string | null;
  looked: string | null;
}

export interface LookupOptions {
  env?: NodeJS.ProcessEnv;
  python?: string;
  systemDirs?: string[];
  platform?: string;
  arch?: string;
}

export interface Prebuild {
  file: string;
  name: string;
  variant: Variant | null;
  info: Record<string, unknown> | null;
}

export type Selection =
  { ok: true; prebuild: Prebuild; variant: string; reason: string } | { ok: false; message: string };

export interface AddonOrigin {
  kind: 'build' | 'prebuild';
  file: string;
  variant: string | null;
  reason: string;
}

export type Resolution =
  | (AddonOrigin & { libtorch: Libtorch | null; preload: string | null })
  | { kind: 'none'; message: string; libtorch: Libtorch | null };

export const NAME: string;
export const SYSTEM_TORCH_DIRS: string[];
export function variantId(v: Variant): string;
export function parseVariantId(id: string): Variant | null;
export function variantOf(t: { version: string | null; cuda: boolean; cudaVersion?: string | null }): Variant | null;
export function prebuildName(v: Variant): string;
export function variantOfFile(file: string): Variant | null;
export function describeInstall(
  cmakeDir: string,
  source: Libtorch['source'],
  known?: { version?: string; versionFrom?: string; cudaVersion?: string },
): Libtorch | null;
export function findLibtorch(options?: LookupOptions): LibtorchLookup;
export function describeLibtorch(t: Libtorch): string;
export function listPrebuilds(root: string, platform?: string, arch?: string): Prebuild[];
export function selectPrebuild(prebuilds: Prebuild[], lookup: LibtorchLookup, force?: string): Selection;
export function resolveAddon(root: string, options?: LookupOptions): Resolution;
export function preloadLibtorch(libDir: string): void;
export function loadResolved(r: Resolution): { addon: Record<string, unknown>; origin: AddonOrigin };
export function loadAddon(
  root: string,
  options?: LookupOptions,
): { addon: Record<string, unknown>; origin: AddonOrigin };
