// Benchmark: online scoring with scoreStream on the real videos of ../shared/data.
//  (a) memory: resident set sampled through a stream 20 times as long as a real video
//      (ffmpeg -stream_loop 19, not paced, a small encoder: MIST-I3D width 0.25 at 16 x 112 x 112),
//      per tenth of the stream;
//  (b) latency from a clip's last frame arriving to its score, the input paced in real time
//      (ffmpeg -re) so that it is not the queueing of a file read faster than real time: a small
//      encoder and MIST-I3D at full size (width 1, 16 x 224 x 224, the UCF-Crime test size
//      256 x 340), and what the queue does when the encoder is slower than the camera.
//
// Run (from the repository root): npm run bench:stream   (writes benchmarks/results/stream.md)
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { sharedDataDir } from '../lib/config.js';
import {
  clipTransform,
  cpuCache,
  info,
  scoreStream,
  SgaEncoder,
  type ScoreStreamOptions,
  type StreamClipScore,
} from '../lib/index.js';
import { Results } from './results.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const data = sharedDataDir(root);
const LONG = join(data, 'shanghaitech', 'sample_clip_magazzu', '01_002.avi'); // 481 frames, 856 x 480, 24 fps
const PACED = join(data, 'ucf-crime', 'videos', 'RoadAccidents002_x264.mp4'); // 347 frames, 320 x 240, 30 fps
const MB = 2 ** 20;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const quantile = (values: number[], q: number): number => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** ffmpeg's resident set from /proc (0 once it has exited). */
function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** (a): RSS of this process (and of ffmpeg) every 50 ms through 20 plays of the video. */
async function memory(res: Results, encoder: SgaEncoder, label: string): Promise<void> {
  const plays = 20;
  const s = scoreStream(LONG, encoder, { inputOptions: ['-stream_loop', String(plays - 1)] });
  const samples: { clip: number; rss: number; ffmpeg: number; cache: number }[] = [];
  let clip = 0;
  const timer = setInterval(() => {
    samples.push({ clip, rss: process.memoryUsage.rss(), ffmpeg: rssOf(s.stats().pid), cache: cpuCache().cachedBytes });
  }, 50);
  const t0 = performance.now();
  let scored = 0;
  for await (const c of s) {
    clip = c.index + 1;
    scored++;
  }
  clearInterval(timer);
  const seconds = (performance.now() - t0) / 1000;
  const st = s.stats();
  const clips = st.clipsReceived;
  res.line(
    `(a) ${label}: 01_002.avi (481 frames, 856 x 480) played ${plays} times without pacing: ${st.framesReceived} frames, ${scored} clips in ${seconds.toFixed(1)} s (${(scored / seconds).toFixed(1)} clips/s); ${samples.length} RSS samples, 50 ms apart; at most ${st.peakBufferedClips} clips waited (bound ${st.maxBufferedClips}).`,
  );
  res.line();
  const rows: string[][] = [];
  let postWarmup = NaN;
  let restMax = 0;
  for (let t = 0; t < 10; t++) {
    const lo = Math.floor((t * clips) / 10);
    const hi = Math.floor(((t + 1) * clips) / 10);
    const part = samples.filter((x) => x.clip >= lo && x.clip < hi);
    if (part.length === 0) continue;
    const max = Math.max(...part.map((x) => x.rss));
    const last = part[part.length - 1]!.rss;
    if (t === 0) postWarmup = last;
    else restMax = Math.max(restMax, max);
    rows.push([
      `${t + 1}`,
      `${lo}-${hi - 1}`,
      (Math.min(...part.map((x) => x.rss)) / MB).toFixed(1),
      (max / MB).toFixed(1),
      (last / MB).toFixed(1),
      (Math.max(...part.map((x) => x.cache)) / MB).toFixed(1),
      (Math.max(...part.map((x) => x.ffmpeg)) / MB).toFixed(1),
    ]);
  }
  res.table(
    [
      'tenth',
      'clips',
      'RSS min MiB',
      'RSS max MiB',
      'RSS at its end MiB',
      'of it, CPU tensor cache max MiB',
      'ffmpeg RSS max MiB',
    ],
    rows,
  );
  res.line();
  res.line(
    `Peak RSS ${(Math.max(...samples.map((x) => x.rss)) / MB).toFixed(1)} MiB; after warm-up (the end of the first tenth) ${(postWarmup / MB).toFixed(1)} MiB; the largest RSS of tenths 2-10 minus that: ${((restMax - postWarmup) / MB).toFixed(1)} MiB. One clip's frames are ${((16 * 856 * 480 * 3) / MB).toFixed(1)} MiB.`,
  );
  res.line();
}

interface Run {
  clips: StreamClipScore[];
  dropped: number;
  peak: number;
  fps: number;
}

/** One paced run of `plays` plays of the UCF-Crime video. */
async function paced(encoder: SgaEncoder, plays: number, more: ScoreStreamOptions = {}): Promise<Run> {
  const s = scoreStream(PACED, encoder, { realtime: true, inputOptions: ['-stream_loop', String(plays - 1)], ...more });
  const clips: StreamClipScore[] = [];
  for await (const c of s) clips.push(c);
  const st = s.stats();
  return { clips, dropped: st.clipsDropped, peak: st.peakBufferedClips, fps: s.info?.fps ?? 30 };
}

/** Mean time between scores: the scoring rate once clips wait (clips of one batch are ready together). */
const perClip = (r: Run): number => (r.clips[r.clips.length - 1]!.readyAt - r.clips[0]!.readyAt) / (r.clips.length - 1);

/** Latency figures of a run: to the score from the clip's arrival, and from when a camera would have sent its last frame. */
function latencyRow(name: string, r: Run): string[] {
  const lat = r.clips.map((c) => c.latencyMs);
  // The camera's clock: frame k is sent at t0 + k / fps, t0 from clip 0's arrival.
  const first = r.clips[0]!;
  const t0 = first.arrivedAt - ((first.endFrame - 1) * 1000) / r.fps;
  const lag = r.clips.map((c) => c.readyAt - (t0 + ((c.endFrame - 1) * 1000) / r.fps));
  const budget = (16 * 1000) / r.fps;
  return [
    name,
    `${r.clips.length}${r.dropped ? ` (+${r.dropped} dropped)` : ''}`,
    quantile(lat, 0.5).toFixed(0),
    quantile(lat, 0.95).toFixed(0),
    quantile(lag, 0.5).toFixed(0),
    quantile(lag, 0.95).toFixed(0),
    lag[lag.length - 1]!.toFixed(0),
    `${perClip(r).toFixed(0)} / ${budget.toFixed(0)}`,
    `${r.peak}`,
  ];
}

async function main(): Promise<void> {
  const res = new Results('stream', 'Online scoring (scoreStream): memory over a long stream, latency in real time');
  const i = info();
  res.line(
    `${i.threads} LibTorch threads, ffmpeg decoding beside them on the same cores; load average ${load()} at the start.`,
  );
  res.line();

  const small = await SgaEncoder.createAsync({
    backbone: 'i3d',
    width: 0.25,
    inputSize: [16, 112, 112],
    init: 'kaiming',
  });
  const smallLabel = 'small encoder (MIST-I3D width 0.25, 16 x 112 x 112: the whole frame at 128 x 170)';
  await memory(res, small, smallLabel);
  res.line(`load average after (a): ${load()}`);
  res.line();

  const full = await SgaEncoder.createAsync({ backbone: 'i3d' });
  res.line(
    '(b) latency, RoadAccidents002_x264.mp4 (320 x 240, 30 fps: a clip every 533 ms) read by ffmpeg -re; full-size MIST-I3D (width 1, 16 x 224 x 224) sees the whole frame resized to 256 x 340 (the UCF-Crime test size), the small encoder (as in (a)) at 128 x 170. ' +
      "latency: from the arrival of the clip's last frame to its score; behind live: from when a camera would have sent that frame (frame k at t0 + k / 30 s) to the score.",
  );
  res.line();
  const rows: string[][] = [];
  const runs: [string, Run][] = [];
  for (const [name, encoder, plays, more] of [
    ['small (I3D width 0.25, 128 x 170)', small, 1, {}],
    ['MIST-I3D full size, 256 x 340', full, 2, {}],
    ['MIST-I3D full size, 256 x 340, overflow drop', full, 2, { overflow: 'drop' }],
    [
      'MIST-I3D full size, 256 x 340, waiting clips in batches of up to 4',
      full,
      2,
      { batchSize: 4, maxBufferedClips: 4 },
    ],
  ] as const) {
    const [h, w] = clipTransform('i3d', { train: false, inputSize: encoder.inputSize }).resize;
    const x = new Float32Array(3 * 16 * h * w);
    await encoder.forward(x, 1, [16, h, w]); // warm-up
    if (encoder === full && runs.length === 1) {
      const times: number[] = [];
      for (let k = 0; k < 3; k++) {
        const t0 = performance.now();
        await encoder.forward(x, 1, [16, h, w]);
        times.push(performance.now() - t0);
      }
      res.line(
        `  MIST-I3D full size alone (forward of one 16 x 256 x 340 clip, no decoding): median of 3 ${quantile(times, 0.5).toFixed(0)} ms`,
      );
    }
    const r = await paced(encoder, plays, more);
    runs.push([name, r]);
    rows.push(latencyRow(`${name}, ${plays} play${plays > 1 ? 's' : ''}`, r));
    res.line(`  ${name}: done, load average ${load()}`);
  }
  res.line();
  res.table(
    [
      'encoder',
      'clips',
      'latency median ms',
      'latency p95 ms',
      'behind live median ms',
      'behind live p95 ms',
      'behind live at the end ms',
      'ms per clip scored (mean) / between clips live',
      'most clips waiting',
    ],
    rows,
  );
  res.line();
  const fullRun = runs[1]![1];
  const fullPerClip = perClip(fullRun);
  const keeps = fullPerClip <= (16 * 1000) / fullRun.fps;
  res.line(
    keeps
      ? `Full-size MIST-I3D keeps up with real time here: a clip is scored every ${fullPerClip.toFixed(0)} ms, less than the 533 ms between clips.`
      : `Full-size MIST-I3D does not keep up with real time here: a clip is scored every ${fullPerClip.toFixed(0)} ms, the camera sends one every 533 ms. ` +
          `With overflow 'pause' (the default) ffmpeg is paused while ${fullRun.peak} clips wait: the latency after arrival stays bounded, but the stream falls further behind live with every clip. ` +
          `With overflow 'drop' the oldest waiting clip is dropped instead: the delay behind live stays bounded and the clips in between are not scored.`,
  );
  res.line(
    `Scoring the waiting clips together (batchSize 4, maxBufferedClips 4) takes ${perClip(runs[3]![1]).toFixed(0)} ms a clip, against ${fullPerClip.toFixed(0)} ms one at a time.`,
  );
  res.line(`load average at the end: ${load()}`);
  small.dispose();
  full.dispose();
  res.write();
}

await main();
