// `mist score`: anomaly scores of one video (a file or an image folder, offline), or of a live
// source as its clips arrive (--stream: a file, a URL ffmpeg opens, or stdin as `-`).
import { extname } from 'node:path';

import { z } from 'zod';

import { writeNpy } from '../../data/npy.js';
import { writeFileOrThrow } from '../../data/files.js';
import { ErrorCode, MistError } from '../../errors.js';
import type { SgaEncoder } from '../../models/encoder.js';
import { ScoreStreamOptionsSchema, scoreStream, type StreamClipScore } from '../../score/stream.js';
import { ScoreVideoOptionsSchema, TailRuleSchema, scoreVideo } from '../../score/video.js';
import { flagHelp, numberFlag, parseFlags, splitPositionals, type FlagSpecs } from '../args.js';
import { DEVICE_FLAG, ENCODER_FLAGS, encoderFromFlags, testSizeFlag } from '../encoder.js';
import type { Command } from '../command.js';
import { progressBar, type ProgressBar } from '../progress.js';

const V = ScoreVideoOptionsSchema.shape;
const S = ScoreStreamOptionsSchema.shape;
const FLAGS = {
  ...ENCODER_FLAGS,
  'test-size': testSizeFlag('test-time resize (I3D: the whole frame, UCF-Crime 256,340, ShanghaiTech 240,320)'),
  stream: {
    schema: z.boolean().optional(),
    switch: true,
    help: 'online: print each clip as it arrives (needed for a URL or - (stdin))',
  },
  realtime: {
    schema: z.boolean().optional(),
    switch: true,
    help: '--stream: read a file at its own frame rate (ffmpeg -re)',
  },
  follow: {
    schema: z.boolean().optional(),
    switch: true,
    help: '--stream: the file is still being written; wait for more at its end',
  },
  'idle-timeout': {
    schema: numberFlag(S.idleTimeoutMs.unwrap()).optional(),
    arg: 'MS',
    help: '--follow: stop once the file has not grown for this long',
  },
  tail: {
    schema: TailRuleSchema.default('unscored'),
    arg: 'RULE',
    help: "frames past the last whole clip: unscored (default: no score, the evaluation rule), repeat (the last clip's) or pad (a padded clip)",
  },
  'batch-size': {
    schema: numberFlag(V.batchSize.unwrap()).optional(),
    arg: 'N',
    help: 'clips per encoder call (default 8; --stream 1)',
  },
  out: {
    schema: z
      .string()
      .regex(/\.(npy|csv)$/i, { error: 'must end in .npy or .csv' })
      .optional(),
    arg: 'FILE',
    help: 'per-frame scores: .npy (float32, NaN where unscored) or .csv (frame,clip,score)',
  },
  json: { schema: z.boolean().optional(), switch: true, help: 'one JSON line per clip, then one with the result' },
  device: DEVICE_FLAG,
  help: { schema: z.boolean().optional(), switch: true, help: 'this text' },
} satisfies FlagSpecs;

export const SCORE_USAGE = flagHelp(
  'mist score <video | image folder | URL | -> [options]\n\n' +
    "Scores every non-overlapping 16-frame clip; a clip's score applies to its 16 frames.",
  FLAGS,
);

type ScoreFlags = ReturnType<typeof parseScoreFlags>;

function parseScoreFlags(argv: string[]) {
  return parseFlags('score', argv, FLAGS);
}

/** Writes per-frame scores as .npy (float32) or .csv (frame,clip,score; NaN where unscored). Sync. */
function writeFrameScores(path: string, scores: Float32Array, clipLength: number, scoredFrames: number): void {
  if (extname(path).toLowerCase() === '.npy') {
    writeNpy(path, { data: scores, shape: [scores.length] });
    return;
  }
  const lines = ['frame,clip,score'];
  for (let f = 0; f < scores.length; f++) {
    const s = scores[f]!;
    lines.push(`${f},${f < scoredFrames ? Math.floor(f / clipLength) : ''},${Number.isNaN(s) ? 'NaN' : s}`);
  }
  writeFileOrThrow(path, `${lines.join('\n')}\n`);
}

const clipLine = (c: { index: number; startFrame: number; endFrame: number; score: number }, extra = ''): string =>
  `clip ${String(c.index).padStart(5)}  frames ${c.startFrame}-${c.endFrame - 1}  score ${c.score.toFixed(4)}${extra}`;

async function runOffline(source: string, f: ScoreFlags, encoder: SgaEncoder): Promise<void> {
  const tty = process.stderr.isTTY === true;
  let bar: ProgressBar | undefined;
  const r = await scoreVideo(source, encoder, {
    tail: f.tail,
    ...(f['batch-size'] ? { batchSize: f['batch-size'] } : {}),
    ...(f['test-size'] ? { testSize: f['test-size'] } : {}),
    onProgress: (p) => {
      if (!tty || f.json) return;
      bar ??= progressBar('score', p.clips);
      bar.update(p.clipsDone, `${p.clipsPerSecond.toFixed(2)} clips/s`);
    },
  });
  bar?.finish();
  for (let c = 0; c < r.clips; c++) {
    const [start, end] = r.ranges[c]!;
    const clip = { index: c, startFrame: start, endFrame: end, score: r.clipScores[c]! };
    console.log(f.json ? JSON.stringify({ clip: c, start, end, score: clip.score }) : clipLine(clip));
  }
  if (f.out) writeFrameScores(f.out, r.frameScores, r.clipLength, r.scoredFrames);
  const summary = {
    name: r.name,
    frames: r.frames,
    fps: r.fps,
    clips: r.clips,
    scoredFrames: r.scoredFrames,
    tail: r.tail,
    maxScore: r.clips > 0 ? Math.max(...r.clipScores) : null,
    seconds: r.elapsedMs / 1000,
    ...(f.out ? { out: f.out } : {}),
  };
  if (f.json) {
    console.log(JSON.stringify({ result: summary }));
    return;
  }
  const rest = r.frames - r.scoredFrames;
  console.log(
    `${r.name}: ${r.frames} frames, ${r.clips} clips` +
      (rest > 0 ? `, the last ${rest} frames ${r.tail === 'repeat' ? "take the last clip's score" : 'unscored'}` : '') +
      `, ${(r.clips / (r.elapsedMs / 1000)).toFixed(2)} clips/s${f.out ? `; wrote ${f.out}` : ''}`,
  );
}

async function runStream(source: string, f: ScoreFlags, encoder: SgaEncoder): Promise<void> {
  if (f.tail === 'repeat')
    throw new MistError(ErrorCode.ARG, '--tail repeat applies to a whole file, not to --stream (use unscored or pad)');
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const s = scoreStream(source === '-' ? process.stdin : source, encoder, {
    realtime: f.realtime === true,
    follow: f.follow === true,
    ...(f['idle-timeout'] ? { idleTimeoutMs: f['idle-timeout'] } : {}),
    tail: f.tail,
    ...(f['batch-size'] ? { batchSize: f['batch-size'] } : {}),
    ...(f['test-size'] ? { testSize: f['test-size'] } : {}),
    signal: stop.signal,
  });
  const clips: StreamClipScore[] = [];
  let interrupted = false;
  try {
    for await (const c of s) {
      clips.push(c);
      const line = f.json
        ? JSON.stringify({
            clip: c.index,
            start: c.startFrame,
            end: c.endFrame,
            score: c.score,
            latencyMs: c.latencyMs,
          })
        : clipLine(c, `  latency ${c.latencyMs.toFixed(0)} ms`);
      console.log(line);
    }
  } catch (e) {
    // Ctrl-C ends a live stream: what was scored is still reported.
    if (!(e instanceof MistError && e.code === ErrorCode.ABORTED && stop.signal.aborted)) throw e;
    interrupted = true;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const st = s.stats();
  const frames = st.framesReceived;
  const T = encoder.inputSize[0];
  const scores = new Float32Array(frames).fill(NaN);
  let scored = 0;
  for (const c of clips) {
    scores.fill(c.score, c.startFrame, Math.min(c.endFrame, frames));
    scored = Math.max(scored, Math.min(c.endFrame, frames));
  }
  if (f.out) writeFrameScores(f.out, scores, T, scored);
  const lat = clips.map((c) => c.latencyMs).sort((a, b) => a - b);
  const summary = {
    source: s.info?.source ?? source,
    frames,
    fps: s.info?.fps ?? null,
    clips: clips.length,
    dropped: st.clipsDropped,
    scoredFrames: scored,
    tail: f.tail,
    maxScore: clips.length > 0 ? Math.max(...clips.map((c) => c.score)) : null,
    medianLatencyMs: lat.length > 0 ? lat[Math.floor(lat.length / 2)]! : null,
    interrupted,
    ...(f.out ? { out: f.out } : {}),
  };
  if (f.json) {
    console.log(JSON.stringify({ result: summary }));
    return;
  }
  console.log(
    `${summary.source}: ${frames} frames, ${clips.length} clips` +
      (summary.medianLatencyMs !== null ? `, median latency ${summary.medianLatencyMs.toFixed(0)} ms` : '') +
      (interrupted ? ' (interrupted)' : '') +
      (f.out ? `; wrote ${f.out}` : ''),
  );
}

/** Runs `mist score` with its command-line arguments. Async. */
async function run(argv: string[]): Promise<void> {
  const { flags, positionals: sources } = splitPositionals(argv, FLAGS);
  if (flags.includes('--help') || flags.includes('-h')) {
    console.log(SCORE_USAGE);
    return;
  }
  const f = parseScoreFlags(flags);
  if (sources.length !== 1) {
    throw new MistError(
      ErrorCode.ARG,
      sources.length === 0
        ? 'no source: give a video, an image folder, a URL or - (stdin)'
        : `one source at a time (got ${sources.length})`,
    );
  }
  const source = sources[0]!;
  const live = source === '-' || (/^[a-z][a-z0-9+.-]+:\/\//i.test(source) && !source.startsWith('file:'));
  if (live && !f.stream)
    throw new MistError(ErrorCode.ARG, `${source === '-' ? 'stdin' : 'a URL'} is scored online: add --stream`);
  if (!f.stream && (f.realtime || f.follow))
    throw new MistError(ErrorCode.ARG, '--realtime and --follow apply to --stream');
  const encoder = await encoderFromFlags(f, 'scores');
  try {
    await (f.stream ? runStream(source, f, encoder) : runOffline(source, f, encoder));
  } finally {
    encoder.dispose();
  }
}

export const scoreCommand: Command = {
  summary: 'anomaly scores of a video, offline or as a live stream (mist score --help)',
  run,
};
