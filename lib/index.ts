// The public API of mist-vad.
export * from './errors.js';
export { info, setNumThreads, cpuCache, releaseCpuCache, SLOW_BLAS_FIX, type RuntimeInfo } from './info.js';
export { DeviceSchema, resolveDevice, type Device } from './device.js';
export { ENVIRONMENT_VARIABLES, defaultThreadCount } from './config.js';
export {
  MilGenerator,
  milRankingLoss,
  GeneratorOptionsSchema,
  MilLossOptionsSchema,
  type GeneratorOptions,
  type GeneratorBatch,
  type MilLossOptions,
  type MilLossTerms,
} from './generator.js';
export * from './data/index.js';
export * from './eval/index.js';
export * from './stage1/index.js';
export * from './encoder.js';
