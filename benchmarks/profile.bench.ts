// Benchmark: where MIST-I3D (16x224²) and MIST-C3D (16x112²) inference time goes, per layer and
// per op, against the convolution floor. Each encoder (PyTorch-default initialisation, the
// folded oneDNN copy) runs `encoder.profile()` on a batch: every op timed in order. After two
// warm-up calls, R profiled calls of the two encoders alternate (I3D, C3D, I3D, ...), and each
// op's median over the R calls is reported. The floor: the convolution MACs of the forward at
// the best rate any of its large convolutions reached (each convolution's median rate; a
// "large" one holds at least 1 % of the MACs): what the forward would take if every
// convolution ran at that rate and nothing else took time. Efficiency = floor / measured.
//
// Run (from the repository root): npm run bench:profile [-- --batch 4 --repeats 5]
// (writes benchmarks/results/profile.md).
import { loadavg } from 'node:os';

import { SgaEncoder } from '../lib/index.js';
import type { OpTime } from '../lib/native.js';
import { Results, stats } from './results.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const batch = flag('batch', 4);
const repeats = flag('repeats', 5);

const configs = [
  { name: 'MIST-I3D', backbone: 'i3d', inputSize: [16, 224, 224] },
  { name: 'MIST-C3D', backbone: 'c3d', inputSize: [16, 112, 112] },
] as const;

async function main(): Promise<void> {
  const r = new Results('profile', 'Inference per layer against the convolution floor');
  const runs = await Promise.all(
    configs.map(async (c) => {
      const e = await SgaEncoder.createAsync({ backbone: c.backbone, inputSize: [...c.inputSize], device: 'cpu' });
      const [T, H, W] = c.inputSize;
      const x = new Float32Array(batch * 3 * T * H * W);
      for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37);
      return { c, e, x, samples: [] as OpTime[][] };
    }),
  );
  for (const run of runs) for (let i = 0; i < 2; i++) await run.e.profile(run.x);
  for (let i = 0; i < repeats; i++) {
    for (const run of runs) run.samples.push(await run.e.profile(run.x));
  }
  r.line(
    `Batch ${batch}, ${repeats} profiled calls of each encoder, interleaved; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the end.`,
  );
  for (const { c, samples } of runs) {
    const ops = samples[0]!.map((op, k) => ({
      ...op,
      ms: stats(samples.map((s) => s[k]!.ms)).median,
      min: Math.min(...samples.map((s) => s[k]!.ms)),
    }));
    const totals = samples.map((s) => s.reduce((a, o) => a + o.ms, 0));
    const total = stats(totals);
    const convMacs = ops.reduce((a, o) => a + o.macs, 0);
    const rate = (o: { macs: number; ms: number }) => (2 * o.macs) / (o.ms / 1000) / 1e9; // GFLOP/s
    const best = Math.max(...ops.filter((o) => o.macs >= 0.01 * convMacs).map(rate));
    const floorMs = ((2 * convMacs) / (best * 1e9)) * 1000;
    r.line();
    r.line(`## ${c.name} ${c.inputSize.join('x')}, batch ${batch}`);
    r.line();
    r.line(
      `Forward: median ${total.median.toFixed(1)} ms (min ${total.min.toFixed(1)}), ${(total.median / batch).toFixed(1)} ms a clip. ` +
        `Convolutions: ${((2 * convMacs) / 1e9).toFixed(1)} GFLOP; best convolution rate ${best.toFixed(0)} GFLOP/s; ` +
        `floor ${floorMs.toFixed(1)} ms; efficiency (floor / median) ${((100 * floorMs) / total.median).toFixed(0)} %.`,
    );
    r.line();
    // By op kind.
    const kinds = new Map<string, number>();
    for (const o of ops) kinds.set(o.op, (kinds.get(o.op) ?? 0) + o.ms);
    const sum = ops.reduce((a, o) => a + o.ms, 0);
    r.table(
      ['op', 'ms', 'share'],
      [...kinds].map(([k, ms]) => [k, ms.toFixed(1), `${((100 * ms) / sum).toFixed(1)} %`]),
    );
    r.line();
    // By layer.
    const layers = new Map<string, { ms: number; conv: number; macs: number; other: number }>();
    for (const o of ops) {
      const l = layers.get(o.layer) ?? { ms: 0, conv: 0, macs: 0, other: 0 };
      l.ms += o.ms;
      if (o.op === 'conv') {
        l.conv += o.ms;
        l.macs += o.macs;
      } else l.other += o.ms;
      layers.set(o.layer, l);
    }
    r.table(
      ['layer', 'ms', 'conv ms', 'conv GFLOP/s', 'other ms', 'share'],
      [...layers].map(([name, l]) => [
        name,
        l.ms.toFixed(1),
        l.conv.toFixed(1),
        l.macs > 0 ? rate({ macs: l.macs, ms: l.conv }).toFixed(0) : '',
        l.other.toFixed(1),
        `${((100 * l.ms) / sum).toFixed(1)} %`,
      ]),
    );
  }
  r.write();
  for (const run of runs) run.e.dispose();
}

await main();
