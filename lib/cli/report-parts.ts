// What `--report FILE.html` of eval, finetune and self-train puts in a report beyond their own
// figures: an encoder's scores of a manifest's test videos with their curves, score timelines
// and the attention maps of the highest-scoring anomalous video; and the one way a report is
// written and announced.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import type { VideoManifest } from '../data/manifest.js';
import { ioError } from '../errors.js';
import { manifestGroundTruth, type GroundTruth } from '../eval/groundtruth.js';
import type { SgaEncoder } from '../models/encoder.js';
import { attentionEntries, evaluationEntry, reportMachine, timelineEntry } from '../report/build.js';
import { writeHtmlReport } from '../report/html.js';
import type { ReportAttention, ReportData, ReportEvaluation, ReportTimeline } from '../report/types.js';
import { scoreVideo } from '../score/video.js';

/** Timelines of a report: at most this many anomalous and normal test videos. */
const TIMELINES = { anomalous: 8, normal: 4 };

/**
 * The timelines of the scored videos of a ground truth: the first anomalous and normal ones,
 * each with every series' clip scores (or frame scores with clipLength 1). Sync.
 */
export function timelines(
  groundTruth: GroundTruth,
  series: readonly { name: string; scores: ReadonlyMap<string, ArrayLike<number>> }[],
  clipLength = 16,
): ReportTimeline[] {
  const out: ReportTimeline[] = [];
  const left = { ...TIMELINES };
  for (const v of groundTruth.videos) {
    const kind = v.anomalous ? 'anomalous' : 'normal';
    if (left[kind] === 0) continue;
    const s = series.filter((x) => x.scores.has(v.name));
    if (s.length === 0) continue;
    left[kind]--;
    out.push(
      timelineEntry(
        v,
        s.map((x) => ({ name: x.name, clipScores: x.scores.get(v.name)! })),
        { clipLength },
      ),
    );
  }
  return out;
}

/** The attention maps of a video's 3 highest-scoring clips. Async. */
export function attentionOf(
  encoder: SgaEncoder,
  video: { name: string; path: string },
  testSize?: readonly [number, number],
): Promise<ReportAttention[]> {
  return attentionEntries(
    encoder,
    { name: video.name, path: video.path },
    { top: 3, ...(testSize ? { testSize } : {}) },
  );
}

/** An encoder on a manifest's test videos: its metrics with curves, timelines and attention maps. */
export interface EncoderReportParts {
  evaluation: ReportEvaluation;
  timelines: ReportTimeline[];
  attention: ReportAttention[];
}

/**
 * Scores the manifest's test videos with the encoder and builds the report's parts: the
 * evaluation with its ROC and PR curves, timelines, and the attention maps of the 3
 * highest-scoring clips of the anomalous test video that scores highest. Async.
 */
export async function encoderReportParts(
  name: string,
  encoder: SgaEncoder,
  manifest: VideoManifest,
  options: { testSize?: readonly [number, number] | undefined; signal?: AbortSignal } = {},
): Promise<EncoderReportParts> {
  const tests = manifest.videos.filter((v) => v.split === 'test');
  const scores = new Map<string, Float32Array>();
  const frames = new Map<string, number>();
  for (const v of tests) {
    const r = await scoreVideo(v.path, encoder, {
      name: v.name,
      ...(options.testSize ? { testSize: options.testSize } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    scores.set(v.name, r.clipScores);
    frames.set(v.name, r.frames);
  }
  const groundTruth = manifestGroundTruth({ ...manifest, videos: tests }, frames);
  const evaluation = evaluationEntry(name, { scores, groundTruth, scoreLayout: 'clips' });
  const top = tests
    .filter((v) => v.label === 'anomalous')
    .map((v) => ({ v, max: Math.max(...(scores.get(v.name) ?? [0])) }))
    .sort((a, b) => b.max - a.max)[0];
  const attention = top ? await attentionOf(encoder, top.v, options.testSize) : [];
  return { evaluation, timelines: timelines(groundTruth, [{ name, scores }]), attention };
}

/**
 * Writes the report (and its data beside it as .json) with the machine table and the time,
 * and says where on stderr. Async. Throws as writeHtmlReport.
 */
export async function writeReport(
  path: string,
  data: Omit<ReportData, 'format' | 'version' | 'createdAt' | 'machine'>,
): Promise<{ html: string; json: string }> {
  try {
    mkdirSync(dirname(resolve(path)), { recursive: true });
  } catch (e) {
    throw ioError(e, 'create the folder of', path);
  }
  const written = await writeHtmlReport(path, {
    format: 'mist-vad-report',
    version: 1,
    createdAt: new Date().toISOString(),
    machine: reportMachine(),
    ...data,
  });
  console.error(`report: ${written.html} (data: ${written.json})`);
  return written;
}
