// The demo's report: report.json (every figure, machine-readable) and report.md (the same in
// words and a table), written beside the demo's weights and pseudo labels.
import { join } from 'node:path';

import { writeFileOrThrow } from '../data/files.js';

/** One training run of the demo. */
export interface DemoRun {
  seed: number;
  auc: number;
  far: number | undefined;
  ap: number;
  step: number;
  seconds: number;
}

/** What the report says. */
export interface DemoReport {
  /** The data, in one sentence. */
  data: string;
  steps: number;
  runs: DemoRun[];
  meanAuc: number;
  stdAuc: number;
  machine: { torch: string; threads: number; blas: string; cuda: boolean; blasWarning?: string };
}

/** Writes report.json and report.md into `out`. Sync. Returns the path of report.md. Throws ERR_MIST_IO. */
export function writeDemoReport(out: string, r: DemoReport): string {
  const { blasWarning, ...machine } = r.machine;
  const json = {
    task: 'MIST stage 1 (pseudo-label generator), UCF-Crime C3D preset',
    data: r.data,
    steps: r.steps,
    runs: r.runs,
    meanAuc: r.meanAuc,
    stdAuc: r.stdAuc,
    machine,
  };
  writeFileOrThrow(join(out, 'report.json'), `${JSON.stringify(json, null, 2)}\n`);
  const md = [
    '# mist-vad demo: MIST stage 1 on real UCF-Crime features',
    '',
    r.data + '.',
    `Preset ucf-crime-c3d (L = 32, T = 3, top-3, λ sparsity 0.01), ${r.steps} steps, scored on the official`,
    'frame-level annotation (MIST convention) through the 32-segment layout. Trained and evaluated on the',
    'same 12 videos (the only real features that ship): this shows the method learns *where* the',
    'anomaly is from video labels alone; it is not a benchmark number.',
    '',
    '| seed | frame AUC | AP | FAR (normal frames > 0.5) | seconds |',
    '| --- | --- | --- | --- | --- |',
    ...r.runs.map(
      (x) =>
        `| ${x.seed} | ${x.auc.toFixed(4)} | ${x.ap.toFixed(4)} | ${x.far === undefined ? '-' : x.far.toFixed(4)} | ${x.seconds.toFixed(1)} |`,
    ),
    '',
    `Mean frame AUC ${r.meanAuc.toFixed(4)} ± ${r.stdAuc.toFixed(4)} over ${r.runs.length} seed(s).`,
    '',
    `LibTorch ${machine.torch}, ${machine.threads} threads, BLAS ${machine.blas}${blasWarning ? ` (WARNING: ${blasWarning})` : ''}.`,
    '',
    'Files: generator.pt (PyTorch-readable weights), pseudo-labels.json (refined clip pseudo labels of the anomalous videos), report.json.',
    '',
  ].join('\n');
  const path = join(out, 'report.md');
  writeFileOrThrow(path, md);
  return path;
}
