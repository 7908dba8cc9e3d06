// Benchmark: inference of one 16-frame clip through MIST-I3D (16x224x224) and MIST-C3D
// (16x112x112), mist-vad beside (a) the same model in PyTorch and (b) the same model exported to
// ONNX and run by onnxruntime-node, on this machine, in one run. Every engine uses the same
// weights and threads; the engines take turns clip by clip (mist-vad, PyTorch, onnxruntime, ...)
// so that a change of load on a shared machine falls on all of them alike.
//
// Run (from the repository root):
//   ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install --prefix benchmarks   # onnxruntime-node 1.20.1
//   node --import tsx benchmarks/encoders.bench.ts [CLIPS=5]   (writes benchmarks/results/encoders.md)
// Needs Debian's python3-torch for the PyTorch column and the ONNX export.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { SgaEncoder, info, setNumThreads, type SgaEncoderOptions } from '../lib/index.js';
import { Results } from './results.js';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', '.bench-out', 'encoders');
const clips = Number(process.argv[2] ?? 5);
const threads = Number(process.env.MIST_NUM_THREADS ?? 2);
const python = process.env.MIST_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const PAPER = { i3d: { params: 31e6, macs: 45.68e9 }, c3d: { params: 85e6, macs: 39.26e9 } };
type Model = 'i3d' | 'c3d';

interface Meta {
  torch: string;
  models: Record<
    Model,
    { inputSize: [number, number, number]; parameters: number; macs: number; score: number; feature: number[] }
  >;
}

// The part of onnxruntime-node's API used here (it is a benchmark-only dependency).
interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
}
interface Ort {
  InferenceSession: { create(path: string, options: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

function clip(size: readonly number[]): Float32Array {
  const x = new Float32Array(3 * size[0]! * size[1]! * size[2]!);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(0.37 * i) * 0.5;
  return x;
}

// The PyTorch process, answering one command per line.
function pytorchServer() {
  const p = spawn(python, [join(here, 'encoders_pytorch.py'), 'serve', out, String(threads)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: p.stdout! })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value as string) as Record<string, number>;
  return {
    ready: next,
    ask: async (cmd: string) => {
      p.stdin!.write(cmd + '\n');
      return next();
    },
    close: () => p.stdin!.end('quit\n'),
  };
}

async function main() {
  const res = new Results('encoders', 'SGA encoders: clip inference beside PyTorch and onnxruntime-node');
  setNumThreads(threads);
  const prep = spawnSync(python, [join(here, 'encoders_pytorch.py'), 'prepare', out, String(threads)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (prep.status !== 0) throw new Error(`the PyTorch side failed (python3-torch needed: ${python})`);
  const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as Meta;
  const require = createRequire(import.meta.url);
  let ort: Ort | undefined;
  try {
    ort = require('onnxruntime-node');
  } catch {
    console.log(
      'onnxruntime-node is not installed: ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install --prefix benchmarks',
    );
  }
  const torch = pytorchServer();
  await torch.ready();

  const variants: Array<{ name: string; options: Partial<SgaEncoderOptions> }> = [
    { name: 'mist-vad', options: { fold: true, onednn: true } },
    { name: 'mist-vad, folded, plain convolutions', options: { fold: true, onednn: false } },
    { name: 'mist-vad, modules (no folding)', options: { fold: false } },
  ];
  const rows: string[] = [];
  const summary: string[] = [];
  const rates: number[] = [(await torch.ask('convrate')).gflops!];
  for (const model of ['i3d', 'c3d'] as const) {
    const m = meta.models[model];
    const x = clip(m.inputSize);
    const encoders = [];
    for (const v of variants) {
      const e = await SgaEncoder.createAsync({ backbone: model, device: 'cpu', ...v.options });
      const r = await e.loadStateDict(join(out, `${model}.pt`));
      if (r.missing.length || r.unexpected.length) throw new Error(`weights did not load: ${JSON.stringify(r)}`);
      const o = await e.forward(x); // first call: builds the folded copy, warms oneDNN
      const err =
        Math.max(...m.feature.map((f, i) => Math.abs(f - o.feature[i]!))) / Math.max(...m.feature.map(Math.abs));
      encoders.push({ ...v, e, err, times: [] as number[] });
    }
    const session = ort
      ? await ort.InferenceSession.create(join(out, `${model}.onnx`), {
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
          executionMode: 'sequential',
        })
      : undefined;
    const feeds = session ? { clips: new ort!.Tensor('float32', x, [1, 3, ...m.inputSize]) } : undefined;
    let ortErr = NaN;
    if (session) {
      const o = await session.run(feeds!);
      const f = o.feature!.data as Float32Array;
      ortErr = Math.max(...m.feature.map((v, i) => Math.abs(v - f[i]!))) / Math.max(...m.feature.map(Math.abs));
    }
    await torch.ask(model); // warm-up
    const torchTimes: number[] = [],
      ortTimes: number[] = [];
    for (let i = 0; i < clips; i++) {
      for (const v of encoders) {
        const t0 = performance.now();
        await v.e.forward(x);
        v.times.push((performance.now() - t0) / 1000);
      }
      torchTimes.push((await torch.ask(model)).seconds!);
      if (session) {
        const t0 = performance.now();
        await session.run(feeds!);
        ortTimes.push((performance.now() - t0) / 1000);
      }
    }
    // Then the same model on batches of 4 clips (time per clip), what feature extraction does;
    // after the loop, so that its larger buffers do not change malloc's state under the rest.
    const x4 = new Float32Array(4 * x.length);
    for (let k = 0; k < 4; k++) x4.set(x, k * x.length);
    await encoders[0]!.e.forward(x4, 4);
    const batchTimes: number[] = [];
    for (let i = 0; i < clips; i++) {
      const t0 = performance.now();
      await encoders[0]!.e.forward(x4, 4);
      batchTimes.push((performance.now() - t0) / 4000);
    }
    rates.push((await torch.ask('convrate')).gflops!);
    const flops = 2 * m.macs;
    const floor = flops / (Math.max(...rates) * 1e9);
    const ours = median(encoders[0]!.times);
    const pt = median(torchTimes),
      ot = session ? median(ortTimes) : NaN;
    rows.push(
      `| MIST-${model.toUpperCase()} ${m.inputSize.join('x')} | ${ours.toFixed(3)} | ${pt.toFixed(3)} | ${ot.toFixed(3)} | ` +
        `${(pt / ours).toFixed(2)}x | ${(ot / ours).toFixed(2)}x | ${floor.toFixed(3)} | ${(ours / floor).toFixed(2)}x |`,
    );
    const e0 = encoders[0]!.e;
    const p = e0.parameterCount(),
      macs = e0.macsPerClip();
    summary.push(
      `MIST-${model.toUpperCase()}: ${(p.total / 1e6).toFixed(2)} M parameters (paper ${PAPER[model].params / 1e6} M), ` +
        `${(macs.total / 1e9).toFixed(2)} G MACs per clip (paper ${(PAPER[model].macs / 1e9).toFixed(2)} G); ` +
        `backbone ${(macs.backbone / 1e9).toFixed(2)} G + SGA branch ${(macs.sgaBranch / 1e9).toFixed(2)} G`,
    );
    for (const v of encoders) {
      summary.push(
        `  ${v.name.padEnd(38)} ${median(v.times).toFixed(3)} s/clip (min ${Math.min(...v.times).toFixed(3)}), ` +
          `feature vs PyTorch: rel. error ${v.err.toExponential(1)}`,
      );
    }
    summary.push(
      `  ${'mist-vad, batches of 4 clips'.padEnd(38)} ${median(batchTimes).toFixed(3)} s/clip (min ${Math.min(...batchTimes).toFixed(3)})`,
    );
    summary.push(
      `  ${'PyTorch eval, inference_mode'.padEnd(38)} ${pt.toFixed(3)} s/clip (min ${Math.min(...torchTimes).toFixed(3)})`,
    );
    if (session) {
      summary.push(
        `  ${'onnxruntime-node 1.20.1 (opt. all)'.padEnd(38)} ${ot.toFixed(3)} s/clip (min ${Math.min(...ortTimes).toFixed(3)}), ` +
          `feature vs PyTorch: rel. error ${ortErr.toExponential(1)}`,
      );
    }
    for (const v of encoders) v.e.dispose();
  }
  torch.close();
  const i3dAt240 = (await SgaEncoder.createAsync({ backbone: 'i3d', device: 'cpu' })).macsPerClip([16, 240, 320]).total;
  const i = info();
  res.line(`SGA encoders, inference of one clip (batch 1), eval mode, median of ${clips} clips, engines interleaved.`);
  res.line(
    `${threads} threads everywhere; LibTorch ${i.torchVersion} (mist-vad and PyTorch ${meta.torch}); ` +
      `oneDNN conv rate measured here: ${Math.max(...rates).toFixed(0)} GFLOP/s.`,
  );
  res.line();
  res.line(
    '| model | mist-vad s/clip | PyTorch s/clip | onnxruntime s/clip | PyTorch / mist-vad | onnxruntime / mist-vad | FLOP floor s/clip | mist-vad / floor |',
  );
  res.line('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) res.line(r);
  res.line('\nFLOP floor = 2 x MACs per clip / the best oneDNN convolution rate measured in this run.\n');
  for (const s of summary) res.line(s);
  res.line(
    `\nAgainst the paper's Table 6: MIST-I3D's 45.68 G MACs is I3D at 16 x 240 x 320, ShanghaiTech's test ` +
      `resolution (mist-vad counts ${(i3dAt240 / 1e9).toFixed(2)} G there); MIST-C3D's 85 M parameters and 39.26 G MACs ` +
      `include C3D's fc6 and fc7 (50.3 M parameters, 50.3 M MACs), which the SGA encoder does not use.`,
  );
  res.write();
}

await main();
