// Benchmark: feature extraction of a real video with the full-size MIST-I3D (width 1), clips per
// second from the start of decoding to the last feature, one view per clip (the test-time
// transform: the whole frame resized to 256 x 340) and ten crops (Resize(256) + TenCrop(224)):
// mist-vad's extractFeatures beside the same extraction in PyTorch (benchmarks/extract_pytorch.py:
// ffmpeg to a pipe, torchvision's transforms, the SgaEncoder of test/reference/encoder_reference.py)
// with the same weights and threads. The engines take turns extraction by extraction, so that
// load which comes and goes on a shared machine falls on both alike.
//
// Run: npm run bench:extract [-- CLIPS=3 ROUNDS=4]   (writes benchmarks/results/extract.md)
// Needs ../shared/data/ucf-crime/videos/RoadAccidents002_x264.mp4 (or MIST_SHARED_DATA), ffmpeg
// and Debian's python3-torch and python3-torchvision for the PyTorch column.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { sharedDataDir } from '../lib/config.js';
import { extractFeatures, info, setNumThreads, SgaEncoder } from '../lib/index.js';
import { engine, Results, stats } from './results.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const out = join(root, '.bench-out', 'extract');
const clips = Number(process.argv[2] ?? 3);
const rounds = Number(process.argv[3] ?? 4);
const threads = Number(process.env.MIST_NUM_THREADS ?? 2);
const python = process.env.MIST_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const VIDEO = join(sharedDataDir(root), 'ucf-crime', 'videos', 'RoadAccidents002_x264.mp4');

type Reply = { seconds: number; clips: number; features?: number[]; torch?: string };
const MODES = [
  { key: 'single', crops: 1 as const, label: 'one view (whole frame, 256 x 340)' },
  { key: 'ten', crops: 10 as const, label: 'ten crops (Resize(256) + TenCrop(224))' },
];

function relErr(ours: Float32Array, theirs: number[]): number {
  let d = 0,
    s = 0;
  for (let i = 0; i < theirs.length; i++) {
    d = Math.max(d, Math.abs(ours[i]! - theirs[i]!));
    s = Math.max(s, Math.abs(theirs[i]!));
  }
  return d / s;
}

async function main() {
  if (!existsSync(VIDEO)) throw new Error(`${VIDEO} is missing (../shared/data beside the clone, or MIST_SHARED_DATA)`);
  mkdirSync(out, { recursive: true });
  // The first CLIPS x 16 frames as a video of their own (stream copy: the same packets, so the
  // same decoded frames), so that each extraction is of a whole file, as a user runs it.
  const video = join(out, `first-${clips}-clips.mp4`);
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-i',
    VIDEO,
    '-map',
    '0:v:0',
    '-c',
    'copy',
    '-frames:v',
    String(clips * 16),
    video,
  ]);
  setNumThreads(threads);
  const res = new Results('extract', 'Feature extraction: clips per second, MIST-I3D, beside PyTorch');
  const encoder = await SgaEncoder.createAsync({ backbone: 'i3d', init: 'kaiming', seed: 3, device: 'cpu' });
  const weights = join(out, 'i3d.pt');
  await encoder.save(weights);
  const torch = engine<Reply & { ready?: boolean }>(threads, python, [
    join(here, 'extract_pytorch.py'),
    weights,
    video,
    String(threads),
  ]);
  const ready = (await torch.next()) as Reply & { torch: string };

  const ours = async (crops: 1 | 10) => {
    const t0 = performance.now();
    const [r] = await extractFeatures([video], encoder, { crops });
    return { seconds: (performance.now() - t0) / 1000, clips: r!.clips, features: r!.features };
  };
  // Warm-up (oneDNN's first calls, the decoder, PyTorch's allocator), and the features of both
  // engines to compare.
  const agreement: Record<string, number> = {};
  for (const m of MODES) {
    const a = await ours(m.crops);
    const b = await torch.ask(`${m.key} features`);
    if (a.clips !== clips || b.clips !== clips)
      throw new Error(`expected ${clips} clips, got ${a.clips} and ${b.clips}`);
    agreement[m.key] = relErr(a.features, b.features!);
  }
  const times: Record<string, { ours: number[]; torch: number[] }> = {
    single: { ours: [], torch: [] },
    ten: { ours: [], torch: [] },
  };
  for (let r = 0; r < rounds; r++) {
    for (const m of MODES) {
      // The order alternates every round: neither engine always runs after the other.
      const pair = r % 2 === 0 ? ['ours', 'torch'] : ['torch', 'ours'];
      for (const who of pair) {
        const s = who === 'ours' ? (await ours(m.crops)).seconds : (await torch.ask(m.key)).seconds;
        times[m.key]![who as 'ours' | 'torch'].push(s);
      }
    }
    console.log(`round ${r + 1}/${rounds} done`);
  }
  await torch.ask('quit').catch(() => undefined);

  const i = info();
  res.line(
    `MIST-I3D (width 1, ${(encoder.parameterCount().total / 1e6).toFixed(2)} M parameters, random weights saved by mist-vad and loaded by both), ` +
      `${clips} clips (the first ${clips * 16} frames of RoadAccidents002_x264.mp4, 320 x 240, as a file of their own), ` +
      `median and min of ${rounds} interleaved extractions, each from the start of decoding to the last feature.`,
  );
  res.line(`${threads} threads everywhere; LibTorch ${i.torchVersion} (mist-vad) and PyTorch ${ready.torch}.`);
  res.line();
  const rows = MODES.map((m) => {
    const t = times[m.key]!;
    const a = stats(t.ours),
      b = stats(t.torch);
    const rate = (s: number) => (clips / s).toFixed(2);
    return [
      m.label,
      `${rate(a.median)} (max ${rate(a.min)})`,
      `${rate(b.median)} (max ${rate(b.min)})`,
      `${(b.median / a.median).toFixed(2)}x`,
      `${((a.median / (clips * m.crops)) * 1000).toFixed(0)} ms`,
      agreement[m.key]!.toExponential(1),
    ];
  });
  res.table(
    [
      'layout',
      'mist-vad clips/s',
      'PyTorch clips/s',
      'mist-vad speed-up',
      'mist-vad per clip view',
      'features: rel. difference',
    ],
    rows,
  );
  res.line();
  res.line(
    'clips/s = clips / seconds of one extraction (max = from the fastest run). Relative difference = ' +
      'max |mist-vad - PyTorch| / max |PyTorch| over the features of every clip and view (the warm-up run).',
  );
  res.line(
    'mist-vad: extractFeatures (ffprobe, one ffmpeg run per batch, native pre-processing once per view, the folded ' +
      'oneDNN encoder; batches of 8 clips for one view, 1 clip x 10 crops for ten); PyTorch: one ffmpeg run for the ' +
      'file, torchvision on the uint8 frames, the same batches, eval mode under inference_mode.',
  );
  for (const m of MODES) {
    const t = times[m.key]!;
    res.line(
      `  ${m.key}: mist-vad ${t.ours.map((s) => s.toFixed(2)).join(', ')} s; PyTorch ${t.torch.map((s) => s.toFixed(2)).join(', ')} s`,
    );
  }
  res.write();
  encoder.dispose();
}

await main();
