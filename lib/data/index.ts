// Readers for the files the community publishes: clip features, split lists and videos.
export { readNpy, writeNpy, parseNpy, encodeNpy, shapeSize } from './npy.js';
export type { NpyArray, NpyData, NpyDtype } from './npy.js';
export {
  readFeatures,
  writeFeatures,
  readC3dTxt,
  readCropFeatures,
  toFeatureArray,
  meanOverCrops,
  FeatureMetaSchema,
  ReadFeaturesOptionsSchema,
} from './features.js';
export type { FeatureArray, Features, FeatureMeta, ReadFeaturesOptions } from './features.js';
export { openFeatureStore } from './hdf5.js';
export type { FeatureStore } from './hdf5.js';
export { readUcfCrimeList, readShanghaiTechList, readRtfmList, uniqueVideoNames, videoName } from './lists.js';
export type { VideoEntry } from './lists.js';
export { openVideo, OpenVideoOptionsSchema, ClipOptionsSchema } from './video.js';
export type { Clip, ClipOptions, OpenVideoOptions, VideoInfo, VideoReader } from './video.js';
