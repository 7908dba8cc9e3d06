// The HTML report and its builders, on a report made from real computations on small data
// (test/fixtures/report-data.ts): the builders' parts equal what the package computes, the
// page holds one SVG per chart with the data's marks (a shaded rect per ground-truth interval,
// a path per ROC curve, a heatmap cell per attention value), makes no reference to the
// network, escapes its text, and its JSON round-trips through readReportData, which names the
// file and the field of anything wrong.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import {
  attentionEntries,
  evaluate,
  evaluationEntry,
  evaluationFromResult,
  makeSyntheticVideos,
  openFrameSource,
  prCurve,
  pseudoLabelEntry,
  readReportData,
  renderHtmlReport,
  rocCurve,
  scoreVideo,
  SgaEncoder,
  timelineEntry,
  trainingCurve,
  writeHtmlReport,
  type FinetuneHistoryEntry,
  type HistoryEntry,
  type ReportAttention,
  type ReportData,
} from '../lib/index.js';
import { thinCurve, thinTimeline } from '../lib/report/thin.js';
import {
  buildReport,
  handAuc,
  HAND,
  LONG,
  longScores,
  STAGE1_SCORES,
  STAGE2_SCORES,
  videoTruth,
  type BuiltReport,
} from './fixtures/report-data.js';
import { expectCode, hasFfmpeg, skip, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-report-html-');
test.after(cleanup);

let built: Promise<{ report: BuiltReport; html: string }> | undefined;
/** The fixture's report and its HTML, made once for the tests that read them. */
const rendered = () =>
  (built ??= (async () => {
    const report = await buildReport(dir);
    return { report, html: await renderHtmlReport(report.data) };
  })());

/** Each chart figure of a page: its id, kind and inner HTML (the SVG and the caption). */
function figures(html: string): { id: string; kind: string; body: string }[] {
  return [...html.matchAll(/<figure class="chart" id="([^"]+)" data-chart="([^"]+)"[^>]*>([\s\S]*?)<\/figure>/g)].map(
    (m) => ({ id: m[1]!, kind: m[2]!, body: m[3]! }),
  );
}

/** The items of each Vega mark group named `name` in an SVG (a multi-series line has one group per series). */
function markGroups(svg: string, name: string): string[][] {
  return [...svg.matchAll(new RegExp(`<g class="mark-\\w+ role-mark ${name}_marks"[^>]*>([\\s\\S]*?)</g>`, 'g'))].map(
    (m) => [...m[1]!.matchAll(/<(path|image)\b[^>]*>/g)].map((x) => x[0]),
  );
}

const near = (a: number, b: number, tol = 1e-9) => Math.abs(a - b) <= tol;

test('evaluationEntry: the metrics of evaluate(), the AUC counted by pairs, its ROC and PR curves', () => {
  const e = evaluationEntry('stage 1', { scores: STAGE1_SCORES, groundTruth: HAND }, { paperAuc: 0.8 });
  const want = evaluate({ scores: STAGE1_SCORES, groundTruth: HAND });
  assert.ok(near(e.auc, handAuc(STAGE1_SCORES), 1e-12), `AUC ${e.auc} vs ${handAuc(STAGE1_SCORES)} by pairs`);
  assert.equal(
    [e.auc, e.ap, e.prAuc, e.far, e.scoreGap, e.frames, e.videos, e.paperAuc],
    [want.auc, want.ap, want.prAuc, want.far, want.scoreGap, want.frames, want.videos, 0.8],
  );
  assert.equal(e.perClassAuc, want.perClassAuc);
  // The same frames, concatenated in ground-truth order, give the curves.
  const labels: number[] = [];
  const scores: number[] = [];
  for (const v of HAND.videos)
    for (let f = 0; f < v.frames; f++) {
      labels.push(v.labels[f]!);
      scores.push(STAGE1_SCORES.get(v.name)![Math.floor(f / 16)]!);
    }
  const roc = rocCurve(labels, Float32Array.from(scores));
  const pr = prCurve(labels, Float32Array.from(scores));
  assert.equal(e.roc, { fpr: [...roc.fpr], tpr: [...roc.tpr] });
  assert.equal(e.pr, { recall: [...pr.recall], precision: [...pr.precision] });
  // Without curves: the figures only.
  const r = evaluationFromResult('x', want);
  assert.is(r.roc, undefined);
  assert.is(r.pr, undefined);
  assert.is(r.paperAuc, undefined);
});

test('evaluate(curve: true) returns the precision–recall curve of its frames beside the ROC', () => {
  const e = evaluate({ scores: longScores(), groundTruth: LONG, scoreLayout: 'frames', curve: true });
  const labels = Uint8Array.from([...LONG.videos[0]!.labels, ...LONG.videos[1]!.labels]);
  const s = longScores();
  const scores = Float32Array.from([...s.get('Long_anomalous')!, ...s.get('Long_normal')!]);
  const pr = prCurve(labels, scores);
  assert.equal([...e.pr!.recall], [...pr.recall]);
  assert.equal([...e.pr!.precision], [...pr.precision]);
  assert.is(evaluate({ scores: longScores(), groundTruth: LONG, scoreLayout: 'frames' }).pr, undefined);
});

test('long curves are thinned to at most 500 points, ends kept, the full count recorded', () => {
  const e = evaluationEntry('long', { scores: longScores(), groundTruth: LONG, scoreLayout: 'frames' });
  const full = evaluate({ scores: longScores(), groundTruth: LONG, scoreLayout: 'frames', curve: true });
  assert.ok(full.roc!.fpr.length > 500 && full.pr!.recall.length > 500, 'the fixture is long enough to thin');
  assert.ok(e.roc!.fpr.length <= 500 && e.pr!.recall.length <= 500);
  assert.is(e.roc!.points, full.roc!.fpr.length);
  assert.is(e.pr!.points, full.pr!.recall.length);
  assert.equal([e.roc!.fpr[0], e.roc!.tpr[0], e.roc!.fpr.at(-1), e.roc!.tpr.at(-1)], [0, 0, 1, 1]);
  assert.equal([e.pr!.recall.at(-1), e.pr!.precision.at(-1)], [0, 1]);
  // Every kept point is a point of the full curve, in order.
  let j = 0;
  for (let i = 0; i < e.roc!.fpr.length; i++) {
    while (j < full.roc!.fpr.length && !(full.roc!.fpr[j] === e.roc!.fpr[i] && full.roc!.tpr[j] === e.roc!.tpr[i])) j++;
    assert.ok(j < full.roc!.fpr.length, `ROC point ${i} is not on the curve`);
  }
});

test('thinCurve and thinTimeline: bounded, ends and peaks kept, gaps stay gaps', () => {
  const n = 10_000;
  const x = Array.from({ length: n }, (_, i) => i / (n - 1));
  const y = x.map((v) => Math.sqrt(v));
  const t = thinCurve(x, y);
  assert.ok(t.x.length <= 500 && t.x.length > 400, `${t.x.length} points`);
  assert.equal([t.x[0], t.y[0], t.x.at(-1), t.y.at(-1)], [0, 0, 1, 1]);
  assert.equal(thinCurve([0, 1], [0, 1]), { x: [0, 1], y: [0, 1] });

  const scores: (number | null)[] = Array.from({ length: 9000 }, (_, f) => (f % 7) / 10);
  scores[4321] = 0.99; // one peak
  for (let f = 8000; f < 9000; f++) scores[f] = null; // an unscored tail
  const p = thinTimeline(scores);
  assert.ok(p.length <= 2000, `${p.length} points`);
  assert.ok(
    p.some((q) => q.frame === 4321 && q.score === 0.99),
    'the peak survives',
  );
  assert.ok(
    p.every((q, i) => i === 0 || q.frame > p[i - 1]!.frame),
    'frames in order',
  );
  assert.ok(
    p.some((q) => q.score === null && q.frame >= 8000),
    'the tail is a gap',
  );
  assert.ok(p.filter((q) => q.frame >= 8000).every((q) => q.score === null));
  assert.is(thinTimeline([0.1, null, 0.3]).length, 3);
});

test('timelineEntry: clip scores over the frames, null past the last whole clip, intervals from the labels', async () => {
  const v = HAND.videos[0]!; // 70 source frames, 64 labelled, frames 16-47 anomalous
  const t = timelineEntry(v, [
    { name: 'a', clipScores: [0.1, 0.8, 0.6, 0.3] },
    { name: 'short', clipScores: new Float32Array([0.5, 0.25]) },
    { name: 'long', clipScores: [1, 2, 3, 4, 5, 6] },
  ]);
  assert.equal([t.video, t.label, t.frames], ['Abuse001', 'anomalous', 70]);
  assert.equal(t.intervals, [[16, 48]]);
  const [a, short, long] = t.series;
  assert.is(a!.scores.length, 70);
  assert.equal(a!.scores.slice(14, 18), [0.1, 0.1, 0.8, 0.8]);
  assert.equal(a!.scores.slice(62, 66), [0.3, 0.3, null, null]);
  assert.equal(short!.scores.slice(30, 34), [0.25, 0.25, null, null]);
  assert.equal(long!.scores.slice(63), [4, null, null, null, null, null, null]);
  const two = timelineEntry(HAND.videos[1]!, [{ name: 'a', clipScores: [1, 0] }], { clipLength: 24 });
  assert.equal(two.intervals, [
    [0, 16],
    [32, 48],
  ]);
  assert.equal([two.series[0]!.scores[23], two.series[0]!.scores[24], two.series[0]!.scores[47]], [1, 0, 0]);
  assert.equal(timelineEntry(HAND.videos[2]!, []).intervals, []);
  assert.is(timelineEntry(HAND.videos[2]!, []).label, 'normal');
  assert.equal(
    timelineEntry(videoTruth('x', 'X', 32, [[0, 32]]), [{ name: 'n', clipScores: [NaN, 1] }]).series[0]!.scores[0],
    null,
  );
  await expectCode(() => timelineEntry(v, [], { clipLength: 0 }), 'ERR_MIST_ARG');
});

test('trainingCurve: stage 1 by step with its AUCs, stage 2 by epoch with its evaluations', () => {
  const h = (step: number, loss: number, auc?: number): HistoryEntry => ({
    step,
    loss,
    rank: 0,
    sparsity: 0,
    smoothness: 0,
    gradNorm: 1,
    ...(auc === undefined ? {} : { auc }),
  });
  assert.equal(trainingCurve('s1', [h(1, 0.9), h(2, NaN), h(3, 0.5, 0.7)]), {
    name: 's1',
    unit: 'step',
    points: [
      { x: 1, loss: 0.9 },
      { x: 3, loss: 0.5, auc: 0.7 },
    ],
  });
  const evaluation = evaluate({ scores: STAGE2_SCORES, groundTruth: HAND });
  const e = (epoch: number, loss: number, withEval: boolean): FinetuneHistoryEntry => ({
    epoch,
    loss,
    mainLoss: loss,
    guidedLoss: 0,
    updates: epoch,
    lr: 1e-4,
    seconds: 1,
    waitShare: 0,
    ...(withEval ? { evaluation } : {}),
  });
  assert.equal(trainingCurve('s2', [e(1, 0.7, false), e(2, 0.6, true)]), {
    name: 's2',
    unit: 'epoch',
    points: [
      { x: 1, loss: 0.7 },
      { x: 2, loss: 0.6, auc: evaluation.auc },
    ],
  });
  assert.equal(trainingCurve('none', [] as HistoryEntry[]).points, []);
});

test('pseudoLabelEntry: plain arrays; unequal lengths and non-finite values fail', async () => {
  assert.equal(pseudoLabelEntry('v', new Float32Array([0.5, 0.25]), [0, 1]), {
    video: 'v',
    raw: [0.5, 0.25],
    refined: [0, 1],
  });
  await expectCode(() => pseudoLabelEntry('v', [1, 2], [1]), 'ERR_MIST_SHAPE');
  const e = await expectCode(() => pseudoLabelEntry('v', [1, NaN], [1, 2]), 'ERR_MIST_ARG');
  assert.match(e.message, 'clip 1');
});

test('attentionEntries: the top clips by score, each map averaged over time and scaled to [0, 1], its middle frame as PNG', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const made = await makeSyntheticVideos(join(dir, 'attention'), {
    seed: 3,
    normal: 0,
    anomalous: 1,
    testNormal: 0,
    testAnomalous: 0,
    frames: 72,
    width: 80,
    height: 64,
  });
  const path = made.videos[0]!.file;
  const encoder = SgaEncoder.create({ backbone: 'c3d', width: 1 / 8, inputSize: [16, 32, 32], seed: 4 });
  try {
    const entries = await attentionEntries(encoder, { name: 'v', path }, { top: 2 });
    const r = await scoreVideo(path, encoder, { attention: true });
    assert.is(r.clips, 4);
    const order = [0, 1, 2, 3].sort((a, b) => r.clipScores[b]! - r.clipScores[a]!);
    assert.equal(
      entries.map((e) => e.clip),
      order.slice(0, 2),
    );
    const [Tp, Hp, Wp] = r.attentionShape!;
    for (const e of entries) {
      assert.is(e.score, r.clipScores[e.clip]!);
      assert.equal([e.map.width, e.map.height, e.map.values.length], [Wp, Hp, Hp! * Wp!]);
      // The map by hand: mean over T', then min-max.
      const mean = Array.from({ length: Hp! * Wp! }, (_, k) => {
        let s = 0;
        for (let t = 0; t < Tp!; t++) s += r.attention![e.clip * Tp! * Hp! * Wp! + t * Hp! * Wp! + k]!;
        return s / Tp!;
      });
      const lo = Math.min(...mean);
      const hi = Math.max(...mean);
      mean.forEach((m, k) => assert.ok(near(e.map.values[k]!, (m - lo) / (hi - lo), 1e-6), `cell ${k}`));
      assert.equal([Math.min(...e.map.values), Math.max(...e.map.values)], [0, 1]);
      // The middle frame, losslessly: the PNG decodes to the frame the video reader gives.
      assert.is(e.frameIndex, e.clip * 16 + 8);
      assert.equal([e.frame.width, e.frame.height], [80, 64]);
      const png = Buffer.from(e.frame.png, 'base64');
      assert.equal([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
      const decoded = execFileSync(
        'ffmpeg',
        ['-v', 'error', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
        {
          input: png,
        },
      );
      const src = await openFrameSource(path, { order: 'rgb' });
      const frame = await src.read(e.frameIndex!, 1);
      assert.ok(Buffer.from(frame.data).equals(decoded), 'the PNG holds the middle frame');
      // C3D sees a centre crop of its resize: the box lies inside the frame, centred.
      const b = e.box!;
      assert.ok(b.x > 0 && b.y >= 0 && b.x + b.width <= 80 && b.y + b.height <= 64, JSON.stringify(b));
      assert.ok(near(b.x + b.width / 2, 40, 1), `box centred: ${JSON.stringify(b)}`);
    }
    const small = await attentionEntries(encoder, { name: 'v', path }, { top: 9, frameWidth: 40 });
    assert.is(small.length, 4);
    assert.equal([small[0]!.frame.width, small[0]!.frame.height], [40, 32]);
    await expectCode(() => attentionEntries(encoder, { name: 'v', path }, { top: 0 }), 'ERR_MIST_ARG');
  } finally {
    encoder.dispose();
  }
});

test('the page: one SVG per chart, with the data as marks', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const { report, html } = await rendered();
  const figs = figures(html);
  const byKind: Record<string, number> = {};
  for (const f of figs) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
  assert.equal(byKind, report.charts);
  assert.is((html.match(/<svg\b/g) ?? []).length, figs.length, 'an SVG per chart and no other');
  for (const f of figs) {
    assert.is((f.body.match(/<svg\b/g) ?? []).length, 1, `${f.id}: one SVG`);
    assert.match(f.body, /<figcaption>[^<]{20,}<\/figcaption>/, `${f.id}: a caption`);
  }
  // Timelines: one shaded rect per ground-truth interval, and a line per series.
  const timelines = figs.filter((f) => f.kind === 'timeline');
  timelines.forEach((f, k) => {
    const rects = markGroups(f.body, 'intervals');
    assert.is(rects.flat().length, report.intervals[k]!, `${f.id}: shaded intervals`);
    assert.is(markGroups(f.body, 'scores').length, report.data.timelines![k]!.series.length, `${f.id}: lines`);
  });
  // Abuse001's interval [16, 48) of 70 frames on a 720-pixel axis.
  assert.match(markGroups(timelines[0]!.body, 'intervals')[0]![0]!, /d="M164\.57\d*,0h329\.14\d*v150h-329\.14\d*Z"/);
  // ROC: a path per evaluation that has the curve, and the chance diagonal; PR likewise.
  const roc = figs.find((f) => f.kind === 'roc')!.body;
  const curves = markGroups(roc, 'roc');
  assert.is(curves.length, report.data.evaluations.filter((e) => e.roc).length);
  for (const [p] of curves) assert.match(p!, /d="M[\d.]+,[\d.]+(L[\d.]+,[\d.]+){2,}/);
  assert.match(markGroups(roc, 'chance')[0]![0]!, /d="M0,300L300,0"/);
  assert.is(markGroups(figs.find((f) => f.kind === 'pr')!.body, 'pr').length, curves.length);
  // Training and pseudo labels: their lines.
  for (const kind of ['loss', 'auc'])
    for (const f of figs.filter((g) => g.kind === kind)) assert.ok(markGroups(f.body, kind).length > 0);
  for (const f of figs.filter((g) => g.kind === 'pseudo-labels')) assert.is(markGroups(f.body, 'labels').length, 2);
  // Attention: the frame as a data: URL, a heatmap cell per map value at half opacity.
  figs
    .filter((f) => f.kind === 'attention')
    .forEach((f, k) => {
      const [image] = markGroups(f.body, 'frame').flat();
      assert.match(image!, /href="data:image\/png;base64,iVBORw0KGgo/);
      const cells = markGroups(f.body, 'heatmap').flat();
      assert.is(cells.length, report.mapCells[k]!);
      assert.ok(cells.every((c) => /opacity="0\.5"/.test(c)));
    });
  // The metrics table shows the AUC counted by pairs, and the per-class table is there.
  const row = /<tr><td>stage 1 \(hand scores\)<\/td><td class="num">([\d.]+)<\/td>/.exec(html);
  assert.is(row?.[1], handAuc(STAGE1_SCORES).toFixed(4));
  assert.match(
    html,
    /<tr><td>stage 2 \(hand scores\)<\/td><td class="num">1\.0000<\/td>(<td[^>]*>[^<]*<\/td>){6}<td class="num">0\.8275<\/td>/,
  );
  assert.match(html, /<table id="per-class-table">[\s\S]*<td>Arson<\/td><td class="num">0\.9000<\/td>/);
});

test('the page is self-contained: no URL but the SVG namespaces, ids unique, no script, text escaped', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const { html } = await rendered();
  const stripped = html.replace(/ xmlns(:\w+)?="http:\/\/www\.w3\.org\/[^"]*"/g, '');
  assert.not.match(stripped, /https?:\/\//);
  assert.not.match(stripped, /\b(src|href)="(?!data:|#)/);
  assert.not.match(html, /<script/i);
  assert.not.match(html, /<link(?![^>]*href="data:)/);
  assert.match(
    html,
    /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">/,
  );
  const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]!);
  assert.is(new Set(ids).size, ids.length, 'ids are unique');
  // Every url(#...) and href="#..." points at an id of the page.
  for (const m of html.matchAll(/(?:url\(#|href="#)([^)"]+)/g)) assert.ok(ids.includes(m[1]!), `#${m[1]} is defined`);
  assert.match(html, /<title>Report &lt;test&gt; &amp; &quot;checks&quot;<\/title>/);
  assert.match(html, /<h1>Report &lt;test&gt; &amp; &quot;checks&quot;<\/h1>/);
  assert.match(html, /<p>Text with &lt;b&gt;markup&lt;\/b&gt; &amp; ampersands is shown as text\.<\/p>/);
  assert.match(html, /<td>odd &lt;key&gt;<\/td><td>a &amp; b<\/td>/);
  assert.not.match(html, /<b>markup/);
});

test('the attention map lies on the frame row by row: a hot cell is drawn where it is', async () => {
  const attention: ReportAttention = {
    video: 'v',
    clip: 0,
    score: 0.9,
    frame: {
      width: 60,
      height: 40,
      png: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
    },
    // 3 wide, 2 high: the hot cell is row 1 (the bottom), column 2 (the right).
    map: { width: 3, height: 2, values: [0, 0.2, 0.4, 0.6, 0.8, 1] },
  };
  const html = await renderHtmlReport({
    format: 'mist-vad-report',
    version: 1,
    title: 't',
    evaluations: [],
    attention: [attention],
  });
  const [fig] = figures(html);
  const cells = markGroups(fig!.body, 'heatmap').flat();
  assert.is(cells.length, 6);
  // Drawn at 256 x 171 (the frame's aspect): cell (row 1, col 2) spans x 170.67-256, y 85.5-171.
  const hot = cells.find((c) => /attention: 1"/.test(c))!;
  assert.match(hot, /d="M170\.66\d*,85\.5h85\.33\d*v85\.5h-85\.33\d*Z"/);
  const cold = cells.find((c) => /attention: 0"/.test(c))!;
  assert.match(cold, /d="M0,0h85\.33\d*v85\.5h-85\.33\d*Z"/);
  // A box puts the map on part of the frame only.
  const boxed = await renderHtmlReport({
    format: 'mist-vad-report',
    version: 1,
    title: 't',
    evaluations: [],
    attention: [{ ...attention, box: { x: 15, y: 0, width: 30, height: 40 } }],
  });
  const first = markGroups(figures(boxed)[0]!.body, 'heatmap').flat()[0]!;
  assert.match(first, /d="M64,0h42\.66\d*v85\.5h-42\.66\d*Z"/);
});

test('sections appear only with their data', async () => {
  const e = evaluationFromResult('only', evaluate({ scores: STAGE1_SCORES, groundTruth: HAND }));
  const html = await renderHtmlReport({ format: 'mist-vad-report', version: 1, title: 'Plain', evaluations: [e] });
  assert.match(html, /<section id="metrics">/);
  for (const id of ['curves', 'timelines', 'training', 'pseudo-labels', 'attention', 'machine'])
    assert.not.match(html, new RegExp(`<section id="${id}"`), id);
  assert.not.match(html, /<svg/);
  assert.match(html, /<h3>Per-class AUC<\/h3>/);
  const bare = await renderHtmlReport({ format: 'mist-vad-report', version: 1, title: 'Bare', evaluations: [] });
  assert.not.match(bare, /<section/);
  assert.not.match(bare, /<nav>/);
  const noClasses = evaluationFromResult('x', {
    ...evaluate({ scores: STAGE1_SCORES, groundTruth: HAND }),
    perClassAuc: undefined,
  });
  assert.not.match(
    await renderHtmlReport({ format: 'mist-vad-report', version: 1, title: 'x', evaluations: [noClasses] }),
    /Per-class/,
  );
});

test('renderHtmlReport rejects data that is not a report, naming the field', async () => {
  const e = evaluationFromResult('x', evaluate({ scores: STAGE1_SCORES, groundTruth: HAND }));
  const err = await expectCode(
    () => renderHtmlReport({ format: 'mist-vad-report', version: 1, title: 't', evaluations: [{ ...e, auc: NaN }] }),
    'ERR_MIST_ARG',
  );
  assert.match(err.message, 'evaluations.0.auc');
});

test('writeHtmlReport writes the page and its data beside it; readReportData reads the data back', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const { report, html } = await rendered();
  const out = await writeHtmlReport(join(dir, 'run report.html'), report.data);
  assert.equal(out, { html: join(dir, 'run report.html'), json: join(dir, 'run report.json') });
  assert.is(readFileSync(out.html, 'utf8'), html);
  const back = readReportData(out.json);
  assert.equal(back, JSON.parse(JSON.stringify(report.data)) as ReportData);
  assert.is(await renderHtmlReport(back), html);
  await expectCode(() => writeHtmlReport(join(dir, 'report.json'), report.data), 'ERR_MIST_ARG');
});

test('readReportData: not JSON, a wrong field, an unknown field, a missing file', async () => {
  const good: ReportData = {
    format: 'mist-vad-report',
    version: 1,
    title: 't',
    evaluations: [evaluationEntry('e', { scores: STAGE1_SCORES, groundTruth: HAND })],
    timelines: [timelineEntry(HAND.videos[0]!, [{ name: 's', clipScores: STAGE1_SCORES.get('Abuse001')! }])],
  };
  const file = join(dir, 'bad.json');
  const fails = async (content: string, ...words: string[]) => {
    writeFileSync(file, content);
    const e = await expectCode(() => readReportData(file), 'ERR_MIST_FORMAT');
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    for (const w of words) assert.match(e.message, w);
    assert.not.match(e.message, '\n');
  };
  writeFileSync(file, JSON.stringify(good));
  assert.equal(readReportData(file), good);
  await fails('{"format": ', 'not valid JSON');
  const wrong = structuredClone(good) as unknown as { evaluations: { auc: unknown }[] };
  wrong.evaluations[0]!.auc = 'high';
  await fails(JSON.stringify(wrong), 'evaluations.0.auc', '"high"');
  await fails(JSON.stringify({ ...good, colour: 'red' }), 'colour: unknown option');
  await fails(JSON.stringify({ ...good, format: 'other' }), 'format');
  await fails(JSON.stringify({ ...good, version: 2 }), 'version');
  const short = structuredClone(good);
  short.timelines![0]!.series[0]!.scores.pop();
  await fails(JSON.stringify(short), 'timelines.0.series', 'one score (or null) per frame');
  const { title: _title, ...untitled } = good;
  await fails(JSON.stringify(untitled), 'title');
  await expectCode(() => readReportData(join(dir, 'missing.json')), 'ERR_MIST_IO');
});

test.run();
