// What an HTML report shows, as plain JSON: the commands that write a report (`demo`, `eval`,
// `finetune`, `self-train` with --report) save it beside the HTML, and `mist report` renders
// it again. Every array is a plain number array (JSON has no typed arrays, NaN or Infinity:
// a frame without a score is null).

/** One row of the metrics table, with its curves when the frames were at hand. */
export interface ReportEvaluation {
  /** What was scored, e.g. "round 1, stage 1 (generator)". */
  name: string;
  auc: number;
  ap: number;
  prAuc?: number;
  /** Undefined when no normal video was scored. */
  far?: number;
  scoreGap: number;
  perClassAuc?: Record<string, number>;
  frames: number;
  videos: number;
  /** The paper's figure for the same setting, for context (frame AUC). */
  paperAuc?: number;
  /**
   * ROC and precision–recall points, thinned to a few hundred for plotting; `points` is the
   * full curve's point count when it was thinned.
   */
  roc?: { fpr: number[]; tpr: number[]; points?: number };
  pr?: { recall: number[]; precision: number[]; points?: number };
}

/** One test video's scores over its frames beside its ground truth (the paper's Figure 7). */
export interface ReportTimeline {
  video: string;
  label: 'normal' | 'anomalous';
  frames: number;
  /** Ground-truth anomalous frames, half-open [start, end). */
  intervals: [number, number][];
  /** One line per model (e.g. stage 1 and stage 2): a score per frame, null where unscored. */
  series: { name: string; scores: (number | null)[] }[];
}

/** A training curve: loss and, where evaluated, test frame AUC. */
export interface ReportTrainingCurve {
  name: string;
  /** What x counts. */
  unit: 'step' | 'epoch';
  points: { x: number; loss: number; auc?: number }[];
}

/** One anomalous training video's pseudo labels, per clip, before and after refinement. */
export interface ReportPseudoLabels {
  video: string;
  raw: number[];
  refined: number[];
}

/** The attention map of one high-scoring clip over one of its frames (the paper's Figure 8). */
export interface ReportAttention {
  video: string;
  /** Clip index (16 frames each) and its score. */
  clip: number;
  score: number;
  /** The frame shown, as a PNG (base64), and its size. */
  frame: { width: number; height: number; png: string };
  /** The attention map, row-major, values in [0, 1]. */
  map: { width: number; height: number; values: number[] };
  /** Index of the frame shown in the video (the clip's middle frame). */
  frameIndex?: number;
  /**
   * Where the map lies on the frame, in the frame's pixels: the region the encoder saw (C3D's
   * centre crop); the whole frame when absent.
   */
  box?: { x: number; y: number; width: number; height: number };
}

/** Everything a report holds. */
export interface ReportData {
  format: 'mist-vad-report';
  version: 1;
  title: string;
  /** Paragraphs of context: the data, the settings, why figures differ from the paper's. */
  description?: string[];
  createdAt?: string;
  /** The machine and library versions, shown as a small table. */
  machine?: Record<string, string | number | boolean>;
  evaluations: ReportEvaluation[];
  timelines?: ReportTimeline[];
  training?: ReportTrainingCurve[];
  pseudoLabels?: ReportPseudoLabels[];
  attention?: ReportAttention[];
}
