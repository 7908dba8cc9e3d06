// `mist report`: a saved report's data rendered to HTML again (beside it, or at --out), and a
// one-line error with a non-zero exit for a missing file, a file that is not a report, or a
// bad flag.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { evaluationEntry, renderHtmlReport, timelineEntry, type ReportData } from '../lib/index.js';
import { HAND, STAGE1_SCORES } from './fixtures/report-data.js';
import { mist, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-report-cli-');
test.after(cleanup);

const DATA: ReportData = {
  format: 'mist-vad-report',
  version: 1,
  title: 'Saved report',
  evaluations: [evaluationEntry('stage 1', { scores: STAGE1_SCORES, groundTruth: HAND })],
  timelines: [timelineEntry(HAND.videos[0]!, [{ name: 'stage 1', clipScores: STAGE1_SCORES.get('Abuse001')! }])],
};

/** A failed run: non-zero exit, nothing on stdout, one line on stderr. Returns that line. */
function fails(args: string[]): string {
  const r = mist(['report', ...args]);
  assert.is.not(r.status, 0, r.stdout);
  assert.is(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 1, r.stderr);
  return lines[0]!;
}

test('mist report renders the saved data beside it, or at --out', async () => {
  const json = join(dir, 'run.json');
  writeFileSync(json, JSON.stringify(DATA));
  const r = mist(['report', json]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), `wrote ${join(dir, 'run.html')}`);
  const html = readFileSync(join(dir, 'run.html'), 'utf8');
  assert.is(html, await renderHtmlReport(DATA));
  assert.match(html, /<h1>Saved report<\/h1>/);
  assert.is((html.match(/<svg\b/g) ?? []).length, 3, 'ROC, PR and the timeline');

  const out = join(dir, 'elsewhere.html');
  const o = mist(['report', '--out', out, json]);
  assert.is(o.status, 0, o.stderr);
  assert.is(readFileSync(out, 'utf8'), html);
});

test('mist report: one-line errors for a missing file, bad JSON, a bad field, bad flags', () => {
  assert.match(
    fails([join(dir, 'missing.json')]),
    /^mist: cannot read report .*missing\.json: no such file or directory \(ENOENT\) \[ERR_MIST_IO\]$/,
  );
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"format": "mist-vad-report", ');
  assert.match(fails([bad]), /^mist: .*bad\.json: not valid JSON: .*\[ERR_MIST_FORMAT\]$/);
  writeFileSync(bad, JSON.stringify({ ...DATA, evaluations: [{ ...DATA.evaluations[0], frames: -1 }] }));
  assert.match(fails([bad]), /^mist: .*bad\.json: invalid report: evaluations\.0\.frames: .*\[ERR_MIST_FORMAT\]$/);
  assert.ok(!existsSync(join(dir, 'bad.html')), 'nothing written for a bad report');
  assert.match(fails([]), /no report: give the \.json of a report/);
  assert.match(fails(['a.json', 'b.json']), /one report at a time \(got 2\)/);
  assert.match(fails(['--out', 'x.png', 'a.json']), /--out: must end in \.html/);
  assert.match(fails(['--colour', 'a.json']), /Unknown option '--colour'/);
});

test('mist report --help, and mist --help lists it', () => {
  const h = mist(['report', '--help']);
  assert.is(h.status, 0);
  assert.match(h.stdout, /^mist report <report\.json> \[--out report\.html\]/);
  assert.match(h.stdout, /--out FILE/);
  assert.match(mist(['--help']).stdout, /mist report\s+an HTML report from its saved data/);
});

test.run();
