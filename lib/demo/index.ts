// The demo: MIST stage 1 on the real C3D features that ship with the package (12 UCF-Crime
// test videos, Sultani's 32-segment features), trained from video-level labels only, scored
// against the official frame-level annotation, with pseudo labels and a report written out.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { z } from 'zod';

import { readC3dTxt } from '../data/features.js';
import { loadUcfCrimeGroundTruth, packageDataPath } from '../eval/groundtruth.js';
import { DeviceSchema } from '../device.js';
import { info } from '../info.js';
import { parseOptions } from '../options.js';
import { writeDemoReport, type DemoRun } from '../report/demo-report.js';
import { GeneratorHyperparametersSchema, GeneratorTrainOptionsSchema } from '../stage1/presets.js';
import { generatePseudoLabels } from '../stage1/scoring.js';
import { writePseudoLabels } from '../data/pseudo-labels.js';
import { trainGenerator, type TrainProgress } from '../stage1/train.js';
import type { VideoFeatures } from '../data/types.js';

export const DemoOptionsSchema = z.strictObject({
  /** The folder the report, weights and pseudo labels go to. */
  out: z.string({ error: 'must be a folder path' }).min(1, { error: 'must be a folder path' }).default('mist-demo'),
  /** Training steps per seed. */
  steps: GeneratorHyperparametersSchema.shape.steps.default(200),
  /** One run per seed; the first seed's weights and pseudo labels are written. */
  seeds: z
    .array(GeneratorTrainOptionsSchema.shape.seed.unwrap())
    .min(1, { error: 'must name at least one seed' })
    .default([0]),
  device: DeviceSchema.optional(),
  onProgress: z.function().optional(),
});
export type DemoOptions = Omit<z.input<typeof DemoOptionsSchema>, 'onProgress'> & {
  onProgress?: (seed: number, p: TrainProgress) => void;
};

export interface DemoResult {
  runs: DemoRun[];
  meanAuc: number;
  stdAuc: number;
  reportPath: string;
}

/** The packaged real features: 12 UCF-Crime test videos (10 anomalous, 2 normal). Sync. */
export function loadDemoFeatures(): { normal: VideoFeatures[]; anomalous: VideoFeatures[] } {
  const dir = packageDataPath('ucf-crime', 'c3d_32seg');
  const videos = readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => ({ name: f.replace(/\.txt$/, ''), features: readC3dTxt(join(dir, f)) }));
  return {
    normal: videos.filter((v) => v.name.startsWith('Normal_Videos')),
    anomalous: videos.filter((v) => !v.name.startsWith('Normal_Videos')),
  };
}

/**
 * Async: trains the generator once per seed (UCF-Crime C3D preset, L2-normalised features,
 * video labels only), evaluates frame AUC / AP / FAR on the official ground truth through the
 * 32-segment layout, and writes generator.pt, pseudo-labels.json, report.json and report.md.
 * Throws ERR_MIST_ARG for bad options (validated before any work).
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const o = parseOptions(DemoOptionsSchema, options, 'demo options');
  const { steps, seeds } = o;
  const onProgress = options.onProgress;
  mkdirSync(o.out, { recursive: true });
  const { normal, anomalous } = loadDemoFeatures();
  const all = [...normal, ...anomalous];
  const groundTruth = loadUcfCrimeGroundTruth();
  const runs: DemoRun[] = [];
  for (const seed of seeds) {
    const t0 = performance.now();
    const r = await trainGenerator({
      preset: 'ucf-crime-c3d',
      steps,
      evalEvery: steps, // one evaluation, at the end: no model selection on the test videos
      batchSize: anomalous.length,
      seed,
      device: o.device,
      normal,
      anomalous,
      test: { videos: all, groundTruth, scoreLayout: 'segments' },
      onProgress: (p) => onProgress?.(seed, p),
    });
    const e = r.best!.evaluation;
    runs.push({ seed, auc: e.auc, far: e.far, ap: e.ap, step: r.best!.step, seconds: (performance.now() - t0) / 1000 });
    if (seed === seeds[0]) {
      await r.model.save(join(o.out, 'generator.pt'));
      const pls = await generatePseudoLabels(
        r.model,
        anomalous.map((v) => ({ ...v, anomalous: true })),
        { l2Normalize: true },
      );
      await writePseudoLabels(join(o.out, 'pseudo-labels.json'), pls, { dataset: 'ucf-crime', featureKind: 'c3d' });
    }
    r.model.dispose();
  }
  const aucs = runs.map((r) => r.auc);
  const meanAuc = aucs.reduce((a, b) => a + b, 0) / aucs.length;
  const stdAuc = Math.sqrt(aucs.reduce((a, b) => a + (b - meanAuc) ** 2, 0) / aucs.length);
  const i = info();
  const reportPath = writeDemoReport(o.out, {
    data: `${all.length} real UCF-Crime test videos (Sultani's C3D 32-segment features): ${anomalous.length} anomalous, ${normal.length} normal; video labels only`,
    steps,
    runs,
    meanAuc,
    stdAuc,
    machine: {
      torch: i.torchVersion,
      threads: i.threads,
      blas: i.blas.kind,
      cuda: i.cudaAvailable,
      blasWarning: i.blasWarning,
    },
  });
  return { runs, meanAuc, stdAuc, reportPath };
}
