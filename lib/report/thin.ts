// Thinning of long curves for plotting, keeping their shape: a ROC or precision–recall curve
// by arc length (a point every 1/max of the curve's length, the ends kept), a score timeline
// by the minimum and maximum of each run of frames (peaks survive, gaps stay gaps).

/** The most points a ROC or precision–recall curve is drawn with. */
export const MAX_CURVE_POINTS = 500;
/** The most points a timeline's line is drawn with. */
export const MAX_TIMELINE_POINTS = 2000;

/**
 * Keeps at most `max` (>= 2) points of the polyline (x[i], y[i]): the first, the last, and
 * one wherever the length travelled since the last kept point reaches 1/(max − 2) of the
 * whole. Returns the same points when there are at most `max`. Sync.
 */
export function thinCurve(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  max = MAX_CURVE_POINTS,
): { x: number[]; y: number[] } {
  const n = Math.min(x.length, y.length);
  if (n <= max) return { x: Array.from({ length: n }, (_, i) => x[i]!), y: Array.from({ length: n }, (_, i) => y[i]!) };
  let total = 0;
  for (let i = 1; i < n; i++) total += Math.hypot(x[i]! - x[i - 1]!, y[i]! - y[i - 1]!);
  const step = total / Math.max(1, max - 2);
  const ox = [x[0]!];
  const oy = [y[0]!];
  let travelled = 0;
  for (let i = 1; i < n - 1 && ox.length < max - 1; i++) {
    travelled += Math.hypot(x[i]! - x[i - 1]!, y[i]! - y[i - 1]!);
    if (travelled >= step) {
      ox.push(x[i]!);
      oy.push(y[i]!);
      travelled = 0;
    }
  }
  ox.push(x[n - 1]!);
  oy.push(y[n - 1]!);
  return { x: ox, y: oy };
}

/**
 * A timeline's points (frame, score) with at most `max` (>= 6) of them: every frame when there
 * are few enough, else the frames cut into max/3 runs, each giving its lowest and highest
 * score in frame order and, when it holds unscored frames, one null (so the line breaks
 * there). Sync.
 */
export function thinTimeline(
  scores: readonly (number | null)[],
  max = MAX_TIMELINE_POINTS,
): { frame: number; score: number | null }[] {
  const n = scores.length;
  if (n <= max) return scores.map((score, frame) => ({ frame, score }));
  const runs = Math.floor(max / 3);
  const out: { frame: number; score: number | null }[] = [];
  for (let r = 0; r < runs; r++) {
    const a = Math.floor((r * n) / runs);
    const b = Math.floor(((r + 1) * n) / runs);
    let lo = -1;
    let hi = -1;
    let gap = -1;
    for (let f = a; f < b; f++) {
      const s = scores[f];
      if (s === null || s === undefined) {
        if (gap < 0) gap = f;
        continue;
      }
      if (lo < 0 || s < (scores[lo] as number)) lo = f;
      if (hi < 0 || s > (scores[hi] as number)) hi = f;
    }
    const picked = [...new Set([lo, hi].filter((f) => f >= 0))].sort((p, q) => p - q);
    const points: { frame: number; score: number | null }[] = picked.map((frame) => ({
      frame,
      score: scores[frame] as number,
    }));
    if (gap >= 0) {
      // The null goes where the gap is, among the run's points in frame order.
      const at = points.findIndex((p) => p.frame > gap);
      points.splice(at < 0 ? points.length : at, 0, { frame: gap, score: null });
    }
    out.push(...points);
  }
  return out;
}
