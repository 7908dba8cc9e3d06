// The HTML report: one self-contained file (inline CSS, charts as inline SVG, frames as data:
// URLs) that opens offline and makes no request at all. Every chart is a Vega-Lite spec,
// compiled by vega-lite and rendered to SVG by vega's headless View (no canvas, no browser).
import type * as VegaModule from 'vega';
import type * as VegaLiteModule from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

import { readFileOrThrow, writeFileAtomic } from '../data/files.js';
import { ErrorCode, MistError } from '../errors.js';
import { parseOptions } from '../options.js';
import { ReportDataSchema } from './schema.js';
import { MAX_CURVE_POINTS, MAX_TIMELINE_POINTS, thinCurve, thinTimeline } from './thin.js';
import type {
  ReportAttention,
  ReportData,
  ReportEvaluation,
  ReportPseudoLabels,
  ReportTimeline,
  ReportTrainingCurve,
} from './types.js';

// ---- Text --------------------------------------------------------------------------------------

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text made safe for HTML content and attribute values. */
const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
const dp = (v: number | undefined, digits = 4): string => (v === undefined ? '–' : v.toFixed(digits));
const int = (v: number): string => v.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`): string => `${int(n)} ${n === 1 ? one : many}`;

// ---- Charts ------------------------------------------------------------------------------------

/** The look every chart shares. */
const CONFIG = {
  background: 'white',
  font: 'sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', titleColor: '#333', gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 11, labelLimit: 360, symbolStrokeWidth: 2 },
  title: { fontSize: 13, subtitleFontSize: 11, anchor: 'start', subtitleColor: '#555' },
  range: { category: { scheme: 'tableau10' } },
} as const;

type Vega = typeof VegaModule;
type VegaLite = typeof VegaLiteModule;
let libraries: Promise<[Vega, VegaLite]> | undefined;
/** vega and vega-lite, loaded on the first chart (they take a fifth of a second to import). */
const charting = (): Promise<[Vega, VegaLite]> => (libraries ??= Promise.all([import('vega'), import('vega-lite')]));

/**
 * One chart: the Vega-Lite spec compiled and rendered to an SVG string by a headless View.
 * Every id in the SVG (gradients, clip paths) is prefixed with `id`, so that many charts can
 * live in one page. The View's loader refuses to fetch anything: all data is inline.
 */
async function renderChart(spec: TopLevelSpec, id: string): Promise<string> {
  const [vega, vl] = await charting();
  const logger = {
    level: () => 0,
    error: (...m: unknown[]) => {
      throw new MistError(ErrorCode.ARG, `chart ${id}: ${m.map(String).join(' ')}`);
    },
    // Vega-Lite's warnings are about spec style, not about the data: the page does not show them.
    warn: () => undefined,
    info: () => undefined,
    debug: () => undefined,
  };
  const compiled = vl.compile({ ...spec, config: CONFIG } as TopLevelSpec, { logger: logger as never }).spec;
  const offline = vega.loader();
  offline.load = (uri: string) => Promise.reject(new Error(`the report loads nothing (asked for ${uri})`));
  const sanitize = offline.sanitize.bind(offline);
  offline.sanitize = (uri, options) =>
    uri.startsWith('data:') ? sanitize(uri, options) : Promise.reject(new Error(`not inline: ${uri}`));
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: offline, logLevel: vega.Error });
  try {
    const svg = await view.toSVG();
    // Vega numbers gradients and clips by a counter of its own (it grows from chart to chart):
    // they are renamed by their order in this chart, so the same data gives the same page.
    const ids = new Map<string, string>();
    for (const m of svg.matchAll(/ id="([^"]+)"/g)) if (!ids.has(m[1]!)) ids.set(m[1]!, `${id}-${ids.size}`);
    const named = (old: string): string => ids.get(old) ?? old;
    return svg
      .replace(/ id="([^"]+)"/g, (_, k: string) => ` id="${named(k)}"`)
      .replace(/url\(#([^)]+)\)/g, (_, k: string) => `url(#${named(k)})`)
      .replace(/href="#([^"]+)"/g, (_, k: string) => `href="#${named(k)}"`);
  } finally {
    view.finalize();
  }
}

/** A chart in its figure, with the caption saying what it shows. */
interface Figure {
  kind: string;
  spec: TopLevelSpec;
  caption: string;
}

const LEGEND_BELOW = { orient: 'bottom', direction: 'vertical', title: null } as const;

function rocFigures(evaluations: ReportEvaluation[]): Figure[] {
  const withRoc = evaluations.filter((e) => e.roc && e.roc.fpr.length > 0);
  const withPr = evaluations.filter((e) => e.pr && e.pr.recall.length > 0);
  const out: Figure[] = [];
  // Colours follow the evaluations' order in both charts; each legend lists the curves it draws.
  const colour = (label: (e: ReportEvaluation) => string, drawn: ReportEvaluation[]) => ({
    field: 'model',
    type: 'nominal',
    scale: { domain: evaluations.map(label) },
    legend: { ...LEGEND_BELOW, values: drawn.map(label) },
  });
  const rocLabel = (e: ReportEvaluation) => `${e.name} (AUC ${e.auc.toFixed(3)})`;
  const prLabel = (e: ReportEvaluation) => `${e.name} (AP ${e.ap.toFixed(3)})`;
  const thinnedNote = (list: { name: string; shown: number; points: number }[]): string => {
    const thinned = list.filter((c) => c.points > c.shown);
    return thinned.length === 0
      ? ''
      : ` Drawn with at most ${MAX_CURVE_POINTS} points a curve (evenly spaced along it): ${thinned
          .map((c) => `${c.name} ${int(c.shown)} of ${int(c.points)}`)
          .join(', ')}.`;
  };
  if (withRoc.length > 0) {
    const notes: { name: string; shown: number; points: number }[] = [];
    const rows = withRoc.flatMap((e) => {
      const t = thinCurve(e.roc!.fpr, e.roc!.tpr);
      notes.push({ name: e.name, shown: t.x.length, points: Math.max(e.roc!.points ?? 0, e.roc!.fpr.length) });
      return t.x.map((fpr, i) => ({ model: rocLabel(e), i, fpr, tpr: t.y[i]! }));
    });
    const axis = (title: string) => ({
      type: 'quantitative',
      title,
      scale: { domain: [0, 1] },
      axis: { tickCount: 5 },
    });
    out.push({
      kind: 'roc',
      caption:
        `ROC curves: the share of anomalous frames detected (true positive rate) against the share of normal frames ` +
        `flagged (false positive rate) as the threshold falls, all test frames concatenated; the dashed diagonal ` +
        `is chance (AUC 0.5).${thinnedNote(notes)}`,
      spec: {
        width: 300,
        height: 300,
        layer: [
          {
            name: 'chance',
            data: {
              values: [
                { fpr: 0, tpr: 0 },
                { fpr: 1, tpr: 1 },
              ],
            },
            mark: { type: 'line', strokeDash: [4, 4], color: '#999', strokeWidth: 1 },
            encoding: {
              x: { field: 'fpr', ...axis('false positive rate') },
              y: { field: 'tpr', ...axis('true positive rate') },
            },
          },
          {
            name: 'roc',
            data: { values: rows },
            mark: { type: 'line', strokeWidth: 2 },
            encoding: {
              x: { field: 'fpr', ...axis('false positive rate') },
              y: { field: 'tpr', ...axis('true positive rate') },
              color: colour(rocLabel, withRoc),
              order: { field: 'i', type: 'quantitative' },
            },
          },
        ],
      } as TopLevelSpec,
    });
  }
  if (withPr.length > 0) {
    const notes: { name: string; shown: number; points: number }[] = [];
    const rows = withPr.flatMap((e) => {
      const t = thinCurve(e.pr!.recall, e.pr!.precision);
      notes.push({ name: e.name, shown: t.x.length, points: Math.max(e.pr!.points ?? 0, e.pr!.recall.length) });
      return t.x.map((recall, i) => ({ model: prLabel(e), i, recall, precision: t.y[i]! }));
    });
    out.push({
      kind: 'pr',
      caption:
        `Precision–recall curves of the same frames: the share of flagged frames that are anomalous (precision) ` +
        `against the share of anomalous frames found (recall); AP in the metrics table is the step area under it.` +
        thinnedNote(notes),
      spec: {
        width: 300,
        height: 300,
        name: 'pr',
        data: { values: rows },
        mark: { type: 'line', strokeWidth: 2 },
        encoding: {
          x: { field: 'recall', type: 'quantitative', title: 'recall', scale: { domain: [0, 1] } },
          y: { field: 'precision', type: 'quantitative', title: 'precision', scale: { domain: [0, 1] } },
          color: colour(prLabel, withPr),
          order: { field: 'i', type: 'quantitative' },
        },
      } as TopLevelSpec,
    });
  }
  return out;
}

/**
 * A timeline's points in drawing order: every frame, each scored run closed by one more point
 * at its end frame (drawn as steps, frame f's score holds until f + 1), or the thinned points
 * when that would be more than MAX_TIMELINE_POINTS.
 */
function timelinePoints(scores: readonly (number | null)[]): { frame: number; score: number | null }[] | undefined {
  const ends = scores.filter((v, f) => v !== null && (scores[f + 1] ?? null) === null).length;
  if (scores.length + ends > MAX_TIMELINE_POINTS) return undefined;
  const out: { frame: number; score: number | null }[] = [];
  scores.forEach((score, frame) => {
    out.push({ frame, score });
    if (score !== null && (scores[frame + 1] ?? null) === null) out.push({ frame: frame + 1, score });
  });
  return out;
}

function timelineFigure(t: ReportTimeline): Figure {
  const full = t.series.map((s) => timelinePoints(s.scores));
  const thinned = full.some((p) => p === undefined);
  const rows = t.series.flatMap((s, k) =>
    (thinned ? thinTimeline(s.scores) : full[k]!).map((p, i) => ({ series: s.name, i, ...p })),
  );
  const domain = [0, Math.max(1, t.frames)];
  const x = { type: 'quantitative', title: 'frame', scale: { domain, nice: false, zero: true } };
  const layers: unknown[] = [];
  if (t.intervals.length > 0) {
    layers.push({
      name: 'intervals',
      data: { values: t.intervals.map(([start, end]) => ({ start, end })) },
      mark: { type: 'rect', color: '#e45756', opacity: 0.2 },
      encoding: { x: { field: 'start', ...x }, x2: { field: 'end' } },
    });
  }
  layers.push({
    name: 'scores',
    data: { values: rows },
    mark: {
      type: 'line',
      strokeWidth: 1.5,
      invalid: 'break-paths-show-path-domains',
      // Every frame drawn: frame f's score holds until f + 1, so clips show as the steps they are.
      ...(thinned ? {} : { interpolate: 'step-after' }),
    },
    encoding: {
      x: { field: 'frame', ...x },
      y: {
        field: 'score',
        type: 'quantitative',
        title: 'anomaly score',
        scale: { domain: [0, 1] },
        axis: { tickCount: 5 },
      },
      color: {
        field: 'series',
        type: 'nominal',
        scale: { domain: t.series.map((s) => s.name) },
        legend: { orient: 'top', direction: 'horizontal', title: null },
      },
      order: { field: 'i', type: 'quantitative' },
    },
  });
  const unscored = t.series.some((s) => s.scores.some((v) => v === null));
  const gt =
    t.intervals.length > 0
      ? `Shaded: the ${plural(t.intervals.length, 'ground-truth anomalous interval')} (${t.intervals
          .map(([a, b]) => `frames ${int(a)}–${int(b - 1)}`)
          .join(', ')}).`
      : t.label === 'normal'
        ? 'A normal video: no frame is anomalous.'
        : 'No frame of this video is labelled anomalous.';
  return {
    kind: 'timeline',
    caption:
      `${t.video} (${t.label}, ${plural(t.frames, 'frame')}): anomaly score per frame, each clip's score over its frames. ${gt}` +
      (unscored ? ' Breaks in a line are unscored frames (past the last whole clip).' : '') +
      (thinned
        ? ` Lines thinned to at most ${int(MAX_TIMELINE_POINTS)} points (the lowest and highest score of each run of frames).`
        : ''),
    spec: {
      width: 720,
      height: 150,
      title: { text: t.video, subtitle: `${t.label}, ${plural(t.frames, 'frame')}` },
      layer: layers,
    } as TopLevelSpec,
  };
}

function trainingFigures(curves: ReportTrainingCurve[]): Figure[] {
  const out: Figure[] = [];
  for (const unit of ['step', 'epoch'] as const) {
    const group = curves.filter((c) => c.unit === unit && c.points.length > 0);
    if (group.length === 0) continue;
    const names = group.map((c) => c.name);
    // One curve is named by the caption; several by a legend.
    const color = {
      field: 'curve',
      type: 'nominal',
      scale: { domain: names },
      legend: names.length > 1 ? LEGEND_BELOW : null,
    };
    const xs = group.flatMap((c) => c.points.map((p) => p.x));
    const x = {
      field: 'x',
      type: 'quantitative',
      title: unit,
      scale: { domain: [Math.min(...xs), Math.max(...xs)] },
      axis: { format: 'd', tickMinStep: 1 },
    };
    const rows = group.flatMap((c) => c.points.map((p) => ({ curve: c.name, x: p.x, loss: p.loss })));
    const dense = rows.length > 80 * group.length;
    out.push({
      kind: 'loss',
      caption: `Training loss per ${unit} of ${names.join(', ')}.`,
      spec: {
        width: 420,
        height: 220,
        name: 'loss',
        data: { values: rows },
        mark: { type: 'line', strokeWidth: 1.5, point: !dense },
        encoding: {
          x,
          y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } },
          color,
        },
      } as TopLevelSpec,
    });
    const aucRows = group.flatMap((c) =>
      c.points.filter((p) => p.auc !== undefined).map((p) => ({ curve: c.name, x: p.x, auc: p.auc! })),
    );
    if (aucRows.length === 0) continue;
    out.push({
      kind: 'auc',
      caption: `Test frame AUC where it was measured during training, per ${unit}.`,
      spec: {
        width: 420,
        height: 220,
        name: 'auc',
        data: { values: aucRows },
        mark: { type: 'line', strokeWidth: 1.5, point: true },
        encoding: {
          x,
          y: { field: 'auc', type: 'quantitative', title: 'test frame AUC', scale: { zero: false } },
          color,
        },
      } as TopLevelSpec,
    });
  }
  return out;
}

/** The most videos whose pseudo labels are drawn. */
const PSEUDO_LABEL_VIDEOS = 6;

function pseudoLabelFigure(p: ReportPseudoLabels): Figure {
  const rows = [
    ...p.raw.map((value, clip) => ({ clip, value, kind: 'raw' })),
    ...p.refined.map((value, clip) => ({ clip, value, kind: 'refined' })),
  ];
  const values = [...p.raw, ...p.refined];
  const lo = Math.min(0, ...values);
  const hi = Math.max(1, ...values);
  return {
    kind: 'pseudo-labels',
    caption: `${p.video}: the generator's clip scores (raw) and the pseudo labels stage 2 trains on (refined), per clip.`,
    spec: {
      width: 240,
      height: 130,
      title: { text: p.video },
      name: 'labels',
      data: { values: rows },
      mark: { type: 'line', strokeWidth: 1.5, point: p.raw.length <= 48 },
      encoding: {
        x: { field: 'clip', type: 'quantitative', title: 'clip', axis: { format: 'd', tickMinStep: 1 } },
        y: {
          field: 'value',
          type: 'quantitative',
          title: 'pseudo label',
          scale: { domain: [lo, hi] },
          axis: { tickCount: 3 },
        },
        color: {
          field: 'kind',
          type: 'nominal',
          scale: { domain: ['raw', 'refined'], range: ['#9d9d9d', '#4c78a8'] },
          legend: { orient: 'top', direction: 'horizontal', title: null },
        },
        strokeDash: {
          field: 'kind',
          type: 'nominal',
          scale: {
            domain: ['raw', 'refined'],
            range: [
              [4, 3],
              [1, 0],
            ],
          },
          // Merged with the colour legend: one entry per kind, drawn in its colour and dash.
          legend: { orient: 'top', direction: 'horizontal', title: null },
        },
      },
    } as TopLevelSpec,
  };
}

/** The width an attention figure's frame is drawn at. */
const ATTENTION_WIDTH = 256;

function attentionFigure(a: ReportAttention): Figure {
  const { width: W, height: H } = a.frame;
  const box = a.box ?? { x: 0, y: 0, width: W, height: H };
  const { width: mw, height: mh, values } = a.map;
  const cw = box.width / mw;
  const ch = box.height / mh;
  const cells = values.map((v, k) => {
    const r = Math.floor(k / mw);
    const c = k % mw;
    return { x: box.x + c * cw, x2: box.x + (c + 1) * cw, y: box.y + r * ch, y2: box.y + (r + 1) * ch, attention: v };
  });
  const x = { type: 'quantitative', scale: { domain: [0, W], nice: false, zero: false }, axis: null };
  const y = { type: 'quantitative', scale: { domain: [0, H], nice: false, zero: false, reverse: true }, axis: null };
  const shownH = Math.round((ATTENTION_WIDTH * H) / W);
  const frame = a.frameIndex !== undefined ? `, frame ${int(a.frameIndex)}` : '';
  const cropped = a.box ? ' The map covers the region the encoder saw (its centre crop).' : '';
  return {
    kind: 'attention',
    caption:
      `${a.video}, clip ${int(a.clip)}${frame}: score ${a.score.toFixed(3)}. The self-guided attention map ` +
      `(${mw} × ${mh}, averaged over time, scaled to [0, 1]) over the clip's middle frame at half opacity.${cropped}`,
    spec: {
      width: ATTENTION_WIDTH,
      height: shownH,
      title: { text: a.video, subtitle: `clip ${int(a.clip)}${frame}, score ${a.score.toFixed(3)}` },
      layer: [
        {
          name: 'frame',
          data: { values: [{ url: `data:image/png;base64,${a.frame.png}` }] },
          mark: { type: 'image', aspect: false, aria: false },
          encoding: {
            url: { field: 'url', type: 'nominal' },
            x: { datum: 0, ...x },
            x2: { datum: W },
            y: { datum: 0, ...y },
            y2: { datum: H },
          },
        },
        {
          name: 'heatmap',
          data: { values: cells },
          mark: { type: 'rect', opacity: 0.5 },
          encoding: {
            x: { field: 'x', ...x },
            x2: { field: 'x2' },
            y: { field: 'y', ...y },
            y2: { field: 'y2' },
            color: {
              field: 'attention',
              type: 'quantitative',
              scale: { domain: [0, 1], scheme: 'turbo' },
              legend: { title: 'attention', gradientLength: Math.max(60, shownH - 20), orient: 'right' },
            },
          },
        },
      ],
    } as TopLevelSpec,
  };
}

// ---- The page ----------------------------------------------------------------------------------

const STYLE = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: #1d2330; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 32px 24px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 40px 0 12px; padding-bottom: 4px; border-bottom: 1px solid #d8dce3; }
h3 { font-size: 15px; margin: 20px 0 8px; }
p { margin: 0 0 10px; max-width: 80ch; }
.meta { color: #5b6475; font-size: 13px; }
nav { font-size: 13px; margin: 12px 0 0; }
nav a { color: #2f5ea8; text-decoration: none; margin-right: 14px; }
nav a:hover { text-decoration: underline; }
table { border-collapse: collapse; background: white; font-size: 13px; margin: 0 0 12px; }
th, td { padding: 5px 12px; border-bottom: 1px solid #e6e8ec; text-align: left; }
thead th { background: #eef0f4; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.na { color: #9aa1ad; text-align: right; }
.scroll { overflow-x: auto; }
.charts { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
figure.chart { margin: 0; padding: 12px; background: white; border: 1px solid #e0e3e8; border-radius: 6px; max-width: 100%; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 12.5px; color: #4a5263; margin-top: 8px; }
.note { font-size: 13px; color: #5b6475; }
`;

/** A table: header cells and rows of cells, each `[text, class?]` (text is escaped here). */
function table(head: [string, string?][], rows: [string, string?][][], id?: string): string {
  const cell = (tag: string, [text, cls]: [string, string?]) =>
    `<${tag}${cls ? ` class="${cls}"` : ''}>${esc(text)}</${tag}>`;
  return (
    `<div class="scroll"><table${id ? ` id="${id}"` : ''}><thead><tr>${head.map((h) => cell('th', h)).join('')}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => cell('td', c)).join('')}</tr>`).join('\n')}</tbody></table></div>`
  );
}

const numCell = (v: number | undefined, digits = 4): [string, string] =>
  v === undefined ? ['–', 'na'] : [dp(v, digits), 'num'];

function metricsSection(evaluations: ReportEvaluation[]): string {
  const head: [string, string?][] = [
    ['model'],
    ['frame AUC', 'num'],
    ['AP', 'num'],
    ['PR-AUC', 'num'],
    ['FAR', 'num'],
    ['score gap', 'num'],
    ['frames', 'num'],
    ['videos', 'num'],
    ['paper AUC', 'num'],
  ];
  const rows = evaluations.map((e): [string, string?][] => [
    [e.name],
    numCell(e.auc),
    numCell(e.ap),
    numCell(e.prAuc),
    numCell(e.far),
    numCell(e.scoreGap),
    [int(e.frames), 'num'],
    [int(e.videos), 'num'],
    numCell(e.paperAuc),
  ]);
  let html =
    `<section id="metrics"><h2>Metrics</h2>${table(head, rows, 'metrics-table')}` +
    `<p class="note">Frame-level metrics over all test frames concatenated: ROC AUC, average precision (AP), ` +
    `trapezoid area under the precision–recall curve (PR-AUC), false alarm rate on normal videos' frames at ` +
    `threshold 0.5 (FAR), mean anomalous-frame score minus mean normal-frame score (score gap); paper AUC is the ` +
    `published figure for the same setting.</p>`;
  const perClass = evaluations.filter((e) => e.perClassAuc && Object.keys(e.perClassAuc).length > 0);
  if (perClass.length > 0) {
    const classes = [...new Set(perClass.flatMap((e) => Object.keys(e.perClassAuc!)))].sort();
    html +=
      `<h3>Per-class AUC</h3>` +
      table(
        [['class'], ...perClass.map((e): [string, string] => [e.name, 'num'])],
        classes.map((c) => [[c], ...perClass.map((e) => numCell(e.perClassAuc![c]))]),
        'per-class-table',
      ) +
      `<p class="note">Each anomaly class's videos (all their frames) against every normal video's frames.</p>`;
  }
  return `${html}</section>`;
}

/** Renders figures into a section: each figure's chart as inline SVG with its caption. */
async function chartSection(id: string, title: string, figures: Figure[], intro = ''): Promise<string> {
  if (figures.length === 0) return '';
  const parts: string[] = [];
  for (const [k, f] of figures.entries()) {
    const chartId = `${id}-${k}`;
    const svg = await renderChart(f.spec, chartId);
    // The figure is as wide as its chart (padding and border included), so the caption wraps under it.
    const width = Number(/^<svg[^>]* width="(\d+(?:\.\d+)?)"/.exec(svg)?.[1] ?? 0);
    const style = width > 0 ? ` style="width: ${Math.ceil(width) + 26}px"` : '';
    parts.push(
      `<figure class="chart" id="${chartId}" data-chart="${esc(f.kind)}"${style}>${svg}<figcaption>${esc(f.caption)}</figcaption></figure>`,
    );
  }
  return `<section id="${id}"><h2>${esc(title)}</h2>${intro}<div class="charts">\n${parts.join('\n')}\n</div></section>`;
}

const SECTIONS = [
  ['metrics', 'Metrics'],
  ['curves', 'ROC and precision–recall'],
  ['timelines', 'Score timelines'],
  ['training', 'Training'],
  ['pseudo-labels', 'Pseudo labels'],
  ['attention', 'Attention'],
  ['machine', 'Machine'],
] as const;

/**
 * The report as one HTML document: title, description, the metrics tables, and each chart
 * section whose data is present (ROC and precision–recall curves, score timelines, training
 * curves, pseudo labels, attention maps), then the machine table. Self-contained: inline CSS,
 * inline SVG, frames as data: URLs, and a Content-Security-Policy that forbids any request.
 * Async. Throws ERR_MIST_ARG when `data` is not a valid ReportData (naming the field).
 */
export async function renderHtmlReport(data: ReportData): Promise<string> {
  const d = parseOptions(ReportDataSchema, data, 'report data');
  const body: string[] = [];
  const present = new Set<string>();
  const add = (id: string, html: string): void => {
    if (!html) return;
    present.add(id);
    body.push(html);
  };
  if (d.evaluations.length > 0) add('metrics', metricsSection(d.evaluations));
  add('curves', await chartSection('curves', 'ROC and precision–recall', rocFigures(d.evaluations)));
  add(
    'timelines',
    await chartSection(
      'timelines',
      'Score timelines',
      (d.timelines ?? []).map(timelineFigure),
      '<p class="note">Per-video anomaly scores against the ground truth, as in the paper\'s Figure 7.</p>',
    ),
  );
  add('training', await chartSection('training', 'Training', trainingFigures(d.training ?? [])));
  const labels = d.pseudoLabels ?? [];
  add(
    'pseudo-labels',
    await chartSection(
      'pseudo-labels',
      'Pseudo labels',
      labels.slice(0, PSEUDO_LABEL_VIDEOS).map(pseudoLabelFigure),
      `<p class="note">Raw generator scores and refined pseudo labels of ${
        labels.length > PSEUDO_LABEL_VIDEOS
          ? `the first ${PSEUDO_LABEL_VIDEOS} of ${int(labels.length)} anomalous training videos`
          : plural(labels.length, 'anomalous training video')
      }.</p>`,
    ),
  );
  add(
    'attention',
    await chartSection(
      'attention',
      'Attention',
      (d.attention ?? []).map(attentionFigure),
      '<p class="note">Where the self-guided attention branch looks in high-scoring clips, as in the paper\'s Figure 8.</p>',
    ),
  );
  if (d.machine && Object.keys(d.machine).length > 0) {
    add(
      'machine',
      `<section id="machine"><h2>Machine</h2>${table(
        [['property'], ['value']],
        Object.entries(d.machine).map(([k, v]) => [[k], [String(v)]]),
        'machine-table',
      )}</section>`,
    );
  }
  const nav = SECTIONS.filter(([id]) => present.has(id))
    .map(([id, title]) => `<a href="#${id}">${esc(title)}</a>`)
    .join('');
  const header =
    `<header><h1>${esc(d.title)}</h1>` +
    (d.createdAt ? `<p class="meta">Created ${esc(d.createdAt)}</p>` : '') +
    (d.description ?? []).map((p) => `<p>${esc(p)}</p>`).join('') +
    (nav ? `<nav>${nav}</nav>` : '') +
    `</header>`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(d.title)}</title>`,
    '<link rel="icon" href="data:,">',
    `<style>${STYLE}</style>`,
    '</head>',
    '<body><main>',
    header,
    ...body,
    '</main></body>',
    '</html>',
    '',
  ].join('\n');
}

/** JSON with objects indented and arrays of numbers (or null) kept on one line. */
function toJson(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return JSON.stringify(value);
    const inner = indent + '  ';
    return `[\n${value.map((v) => inner + toJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const inner = indent + '  ';
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${toJson(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/**
 * Writes the report at `path` (ending in .html) and its data beside it as the same name with
 * .json (what `mist report` renders again), each atomically. Async. Returns both paths.
 * Throws ERR_MIST_ARG (a path not ending in .html, invalid data), ERR_MIST_IO.
 */
export async function writeHtmlReport(path: string, data: ReportData): Promise<{ html: string; json: string }> {
  if (!/\.html?$/i.test(path)) throw new MistError(ErrorCode.ARG, `report path must end in .html (got ${path})`);
  const html = await renderHtmlReport(data);
  const json = path.replace(/\.html?$/i, '.json');
  await writeFileAtomic(json, `${toJson(data)}\n`);
  await writeFileAtomic(path, html);
  return { html: path, json };
}

/**
 * Reads a report's data (the .json writeHtmlReport writes beside the HTML). Sync. Throws
 * ERR_MIST_IO (unreadable), ERR_MIST_FORMAT (not JSON, or not a report: the message names the
 * file and the first bad field of each kind, e.g. `r.json: ... evaluations.0.auc: ...`).
 */
export function readReportData(path: string): ReportData {
  const text = readFileOrThrow(path, 'report').toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MistError(ErrorCode.FORMAT, `${path}: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  try {
    return parseOptions(ReportDataSchema, json, 'report');
  } catch (e) {
    throw new MistError(ErrorCode.FORMAT, `${path}: ${(e as Error).message}`, { cause: e });
  }
}
