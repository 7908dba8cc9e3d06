// The schema of a saved report (ReportData as JSON): strict, so a misspelt or foreign field
// fails by name instead of being ignored, and every number finite (JSON has no NaN).
import { z } from 'zod';

import type { ReportData } from './types.js';

// zod 4 numbers are finite: NaN and Infinity fail.
const num = z.number();
const unit = z.number().min(0).max(1);
const count = z.int().min(0);
const Frames = z.int().min(0);

const EvaluationSchema = z.strictObject({
  name: z.string(),
  auc: num,
  ap: num,
  prAuc: num.optional(),
  far: num.optional(),
  scoreGap: num,
  perClassAuc: z.record(z.string(), num).optional(),
  frames: count,
  videos: count,
  paperAuc: num.optional(),
  roc: z
    .strictObject({ fpr: z.array(unit), tpr: z.array(unit), points: count.optional() })
    .refine((c) => c.fpr.length === c.tpr.length, { message: 'fpr and tpr must have the same length' })
    .optional(),
  pr: z
    .strictObject({ recall: z.array(unit), precision: z.array(unit), points: count.optional() })
    .refine((c) => c.recall.length === c.precision.length, {
      message: 'recall and precision must have the same length',
    })
    .optional(),
});

const TimelineSchema = z
  .strictObject({
    video: z.string(),
    label: z.enum(['normal', 'anomalous']),
    frames: Frames,
    intervals: z.array(
      z.tuple([Frames, Frames]).refine(([s, e]) => s <= e, { message: 'must be [start, end] with start <= end' }),
    ),
    series: z.array(z.strictObject({ name: z.string(), scores: z.array(num.nullable()) })),
  })
  .refine((t) => t.series.every((s) => s.scores.length === t.frames), {
    path: ['series'],
    message: 'every series must have one score (or null) per frame',
  });

const TrainingCurveSchema = z.strictObject({
  name: z.string(),
  unit: z.enum(['step', 'epoch']),
  points: z.array(z.strictObject({ x: num, loss: num, auc: num.optional() })),
});

const PseudoLabelsSchema = z
  .strictObject({ video: z.string(), raw: z.array(num), refined: z.array(num) })
  .refine((p) => p.raw.length === p.refined.length, {
    path: ['refined'],
    message: 'must have as many clips as raw',
  });

const Side = z.int().positive().max(16384);
const AttentionSchema = z
  .strictObject({
    video: z.string(),
    clip: count,
    score: num,
    frame: z.strictObject({
      width: Side,
      height: Side,
      png: z.base64().min(1),
    }),
    map: z.strictObject({ width: Side, height: Side, values: z.array(unit) }),
    frameIndex: count.optional(),
    box: z.strictObject({ x: num, y: num, width: num.positive(), height: num.positive() }).optional(),
  })
  .refine((a) => a.map.values.length === a.map.width * a.map.height, {
    path: ['map', 'values'],
    message: 'must hold width x height values',
  });

/** A saved report: ReportData as JSON. */
export const ReportDataSchema = z.strictObject({
  format: z.literal('mist-vad-report'),
  version: z.literal(1),
  title: z.string(),
  description: z.array(z.string()).optional(),
  createdAt: z.string().optional(),
  machine: z.record(z.string(), z.union([z.string(), num, z.boolean()])).optional(),
  evaluations: z.array(EvaluationSchema),
  timelines: z.array(TimelineSchema).optional(),
  training: z.array(TrainingCurveSchema).optional(),
  pseudoLabels: z.array(PseudoLabelsSchema).optional(),
  attention: z.array(AttentionSchema).optional(),
});

// The schema and the interface describe the same JSON (checked both ways at compile time).
type Parsed = z.output<typeof ReportDataSchema>;
const toData = (p: Parsed): ReportData => p;
const toParsed = (d: ReportData): Parsed => d;
void toData;
void toParsed;
