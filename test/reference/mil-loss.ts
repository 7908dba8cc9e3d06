// Test-only float64 reference of the MIL ranking loss of MIST's stage 1 and its analytic
// gradient with respect to the clip scores, written straight from the formulas in docs/MIST.md so
// that the native loss can be compared with something independent of it.
//
// Scores y: rows = `normal` normal videos then `anomalous` anomalous videos, `clips` columns.
// Bag score s of a row:
//   'topk'   — mean of the k largest scores of the row;
//   'subbag' — the paper's Eq. 1/6: the row is `subBags` sub-bags of clips/subBags consecutive
//              clips; s = max over sub-bags of the sub-bag mean.
// L_rank = 1/(Bn·Ba) Σ_i Σ_j max(0, 1 − s_anom[j] + s_norm[i])   (1/B² when Bn = Ba = B)
// L      = L_rank + λ1·mean(y_anom) + λ2·mean_{rows, t}((y_anom[:, t] − y_anom[:, t+1])²)
// Gradient: at a tie (equal k-th and (k+1)-th score, equal sub-bag means, hinge exactly 0)
// the loss has a kink; this takes the subgradient of the first index in sort order and treats
// a hinge at exactly 0 as inactive, like torch's relu.

export interface MilLossOptions {
  normal: number;
  anomalous: number;
  clips: number;
  k: number;
  subBags: number;
  lambdaSparsity: number;
  lambdaSmoothness: number;
  variant: 'topk' | 'subbag';
}

export interface MilLossResult {
  loss: number;
  rank: number;
  sparsity: number;
  smoothness: number;
  grad: Float64Array;
}

/** Bag score of one row and its gradient with respect to the row's scores. */
function bagScore(row: Float64Array, o: MilLossOptions): { s: number; g: Float64Array } {
  const g = new Float64Array(row.length);
  if (o.variant === 'topk') {
    const order = Array.from(row.keys()).sort((a, b) => row[b]! - row[a]! || a - b);
    let s = 0;
    for (const i of order.slice(0, o.k)) {
      s += row[i]! / o.k;
      g[i] = 1 / o.k;
    }
    return { s, g };
  }
  const T = row.length / o.subBags;
  let best = -Infinity;
  let arg = 0;
  for (let b = 0; b < o.subBags; b++) {
    let m = 0;
    for (let t = 0; t < T; t++) m += row[b * T + t]!;
    m /= T;
    if (m > best) [best, arg] = [m, b];
  }
  for (let t = 0; t < T; t++) g[arg * T + t] = 1 / T;
  return { s: best, g };
}

/** The loss, its three terms and d loss / d scores (same layout as scores). */
export function milLossReference(scores: Float64Array, o: MilLossOptions): MilLossResult {
  const { normal: Bn, anomalous: Ba, clips } = o;
  if (scores.length !== (Bn + Ba) * clips) throw new Error('scores length does not match rows × clips');
  if (o.variant === 'topk' && (o.k < 1 || o.k > clips)) throw new Error('k must be in [1, clips]');
  if (o.variant === 'subbag' && clips % o.subBags !== 0) throw new Error('clips must be a multiple of subBags');
  const grad = new Float64Array(scores.length);
  const bags = Array.from({ length: Bn + Ba }, (_, r) => bagScore(scores.subarray(r * clips, (r + 1) * clips), o));

  let rank = 0;
  const w = 1 / (Bn * Ba);
  for (let i = 0; i < Bn; i++) {
    for (let j = 0; j < Ba; j++) {
      const h = 1 - bags[Bn + j]!.s + bags[i]!.s;
      if (h <= 0) continue;
      rank += w * h;
      const gn = bags[i]!.g;
      const ga = bags[Bn + j]!.g;
      for (let c = 0; c < clips; c++) {
        grad[i * clips + c]! += w * gn[c]!;
        grad[(Bn + j) * clips + c]! -= w * ga[c]!;
      }
    }
  }

  let sparsity = 0;
  const ws = o.lambdaSparsity / (Ba * clips);
  for (let r = Bn; r < Bn + Ba; r++) {
    for (let c = 0; c < clips; c++) {
      sparsity += ws * scores[r * clips + c]!;
      grad[r * clips + c]! += ws;
    }
  }

  let smoothness = 0;
  if (clips > 1) {
    const wm = o.lambdaSmoothness / (Ba * (clips - 1));
    for (let r = Bn; r < Bn + Ba; r++) {
      for (let c = 0; c + 1 < clips; c++) {
        const d = scores[r * clips + c]! - scores[r * clips + c + 1]!;
        smoothness += wm * d * d;
        grad[r * clips + c]! += 2 * wm * d;
        grad[r * clips + c + 1]! -= 2 * wm * d;
      }
    }
  }
  return { loss: rank + sparsity + smoothness, rank, sparsity, smoothness, grad };
}
