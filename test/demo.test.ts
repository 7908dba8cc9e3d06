// The demo (runDemo, `npm run demo`) in its quick form: every stage runs, the figures it prints
// are the ones its files hold, the last round's encoder saved on disk scores the test videos
// as self-training scored them, online scoring equals offline, and a second run with the
// same seed, through `mist demo`, gives the same table.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { runDemo } from '../lib/demo/index.js';
import { readPseudoLabels } from '../lib/data/pseudo-labels.js';
import { readReportData } from '../lib/report/html.js';
import { hasFfmpeg, mist, skip, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-demo-');
test.after(cleanup);

test('the quick demo runs every stage and writes what it reports', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const out = join(dir, 'a');
  const parts = new Set<string>();
  const r = await runDemo({ out, quick: true, seed: 1, rounds: 2, onProgress: (p) => parts.add(p.part) });
  assert.equal([...parts].sort(), ['real', 'score', 'self-train', 'stream', 'videos']);

  // Rows: the real-feature stage 1, the untrained head, and stage 1 and 2 of each round.
  assert.is(r.rows.length, 6);
  assert.match(r.rows[0]!.stage, /UCF-Crime/);
  for (const row of r.rows) assert.ok(row.auc >= 0 && row.auc <= 1, `${row.stage}: ${row.auc}`);

  // The saved round-2 encoder, rescored from its file, gives self-training's own evaluation.
  const state = JSON.parse(readFileSync(join(out, 'synthetic', 'run', 'round-2', 'metrics.json'), 'utf8'));
  const stage2 = state.stage2.evaluation;
  assert.ok(Math.abs(r.rows[5]!.auc - stage2.auc) < 1e-6, `${r.rows[5]!.auc} vs ${stage2.auc}`);

  // Online scoring of a test video equals offline (different batching: float rounding only).
  assert.ok(r.stream.clips >= 3);
  assert.ok(r.stream.maxAbsDiff < 1e-5, String(r.stream.maxAbsDiff));

  // The report and the table hold the same figures the result does.
  assert.ok(existsSync(r.reportPath));
  const data = readReportData(join(out, 'report.json'));
  assert.is(data.evaluations[0]!.auc, r.rows[0]!.auc);
  assert.ok(data.timelines!.length >= 4);
  assert.ok(data.attention!.length >= 1);
  const md = readFileSync(r.resultsPath, 'utf8');
  for (const row of r.rows) assert.ok(md.includes(row.auc.toFixed(4)), `${row.stage} in results.md`);
  const pl = await readPseudoLabels(join(out, 'ucf-crime', 'pseudo-labels.json'));
  assert.is(pl.labels.size, 10, 'one pseudo-label sequence per anomalous video');

  // Deterministic: the same seed again, from the command line, gives the same table (one
  // round: round 1 is the same run, and its rows are the first four).
  const cli = mist(['demo', '--quick', '--seed', '1', '--rounds', '1', '--out', join(dir, 'b'), '--json']);
  assert.is(cli.status, 0, cli.stderr);
  const lines = cli.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(
    lines.some((l) => l.event === 'progress' && l.part === 'stream'),
    'stream progress lines',
  );
  const last = lines[lines.length - 1];
  assert.is(last.event, 'result');
  assert.equal(
    last.rows.map((x: { auc: number }) => x.auc),
    r.rows.slice(0, 4).map((x) => x.auc),
  );
  assert.ok(existsSync(join(dir, 'b', 'report.html')));
});

test.run();
