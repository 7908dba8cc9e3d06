// What a stage-1 training checkpoint says about its run beside the native state: the run's
// description (the options that decide its results and a fingerprint of its data), where the
// batch sampler stands, the history and the best step, in a JSON that gives every number back
// exactly (NaN, infinities and -0 included), so that a resumed run ends where an uninterrupted
// one ends, bit for bit.
import { fingerprint } from '../data/fingerprint.js';
import type { BatchSamplerState } from './batch.js';
import type { VideoFeatures } from '../data/types.js';
import type { Evaluation } from '../eval/evaluate.js';
import type { GroundTruth } from '../eval/groundtruth.js';
import type { ResolvedGeneratorTrainOptions } from './presets.js';

export const TRAINING_FORMAT = 'mist-generator-training';
export const TRAINING_VERSION = 1;

/** One class (or the test set) of a run: how many videos, and one hash of names, shapes and values. */
export interface DataPrint {
  videos: number;
  fingerprint: string;
}

/** What decides a stage-1 run's results. */
export interface RunDescription {
  /** The resolved options less those that decide nothing written (device, checkpoint, preset name). */
  options: Record<string, unknown>;
  data: { normal: DataPrint; anomalous: DataPrint; test: DataPrint | null };
}

/** The meta string of a stage-1 training checkpoint, decoded. */
export interface TrainingMeta<H, B> {
  format: typeof TRAINING_FORMAT;
  version: typeof TRAINING_VERSION;
  run: RunDescription;
  /** Steps done. */
  step: number;
  sampler: BatchSamplerState;
  history: H[];
  best?: B;
}

function printVideos(videos: readonly VideoFeatures[], extra?: unknown): DataPrint {
  return {
    videos: videos.length,
    fingerprint: fingerprint([videos.map((v) => [v.name, v.features.shape, v.features.data]), extra]),
  };
}

/** The description of a run. Sync; hashes every feature value once (about 1 GB/s). */
export function describeRun(
  o: ResolvedGeneratorTrainOptions,
  normal: readonly VideoFeatures[],
  anomalous: readonly VideoFeatures[],
  test: { videos: readonly VideoFeatures[]; groundTruth: GroundTruth; scoreLayout?: string } | undefined,
): RunDescription {
  const { preset: _preset, device: _device, checkpoint: _checkpoint, ...options } = o;
  return {
    options,
    data: {
      normal: printVideos(normal),
      anomalous: printVideos(anomalous),
      test: test ? printVideos(test.videos, [test.groundTruth, test.scoreLayout ?? 'clips']) : null,
    },
  };
}

const show = (v: unknown): string => (v === undefined ? 'unset' : JSON.stringify(v));

/** What differs between the run of a checkpoint and this one, in words; empty when nothing does. Sync. */
export function runDifferences(saved: RunDescription, now: RunDescription): string[] {
  const out: string[] = [];
  const keys = [...new Set([...Object.keys(saved.options ?? {}), ...Object.keys(now.options)])].sort();
  for (const k of keys) {
    const a = saved.options?.[k];
    const b = now.options[k];
    if (encodeExactJson(a) !== encodeExactJson(b)) out.push(`${k} was ${show(a)}, now ${show(b)}`);
  }
  const parts = [
    ['normal', 'the normal training videos'],
    ['anomalous', 'the anomalous training videos'],
    ['test', 'the test set'],
  ] as const;
  for (const [part, words] of parts) {
    const a = saved.data?.[part] ?? null;
    const b = now.data[part];
    if (a?.fingerprint === b?.fingerprint) continue;
    if (a === null || b === null)
      out.push(a === null ? `the run had no test set, now one` : `the run had a test set, now none`);
    else if (a.videos !== b.videos) out.push(`${words} were ${a.videos}, now ${b.videos}`);
    else
      out.push(`${words} differ (names, order, shapes or feature values${part === 'test' ? ', or ground truth' : ''})`);
  }
  return out;
}

// ---- JSON that gives every number back ------------------------------------------------------
// JSON has no NaN, no infinities, no -0 and no undefined: a history entry's `far` may be
// undefined, an evaluation's gap NaN. They travel as {"$num": "NaN" | "Infinity" | "-Infinity"
// | "-0"} and {"$undefined": true}.

function encodeValue(this: unknown, _key: string, v: unknown): unknown {
  if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) {
    return { $num: Object.is(v, -0) ? '-0' : String(v) };
  }
  if (v === undefined && this !== undefined) return { $undefined: true };
  return v;
}

/** JSON.stringify that keeps NaN, ±Infinity, -0 and undefined properties. Sync. */
export function encodeExactJson(value: unknown): string {
  return JSON.stringify(value, encodeValue) ?? 'null';
}

function decodeValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeValue);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0] === '$num' && typeof o.$num === 'string') {
    return o.$num === '-0' ? -0 : Number(o.$num);
  }
  if (keys.length === 1 && keys[0] === '$undefined' && o.$undefined === true) return undefined;
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = decodeValue(o[k]);
  return out;
}

/** The value encodeExactJson() wrote. Sync. Throws SyntaxError for text that is not JSON. */
export function decodeExactJson(text: string): unknown {
  return decodeValue(JSON.parse(text));
}

/** A best step as trainGenerator records it. */
export interface BestStep {
  step: number;
  evaluation: Evaluation;
}
