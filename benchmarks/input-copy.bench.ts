// Benchmark: what the copy of an input costs a native call (native calls copy their Float32Array
// inputs on the JS thread, then scan them for NaN and infinities, before queuing the work).
// The largest inputs the package makes: an I3D batch of 8 clips at 16 x 224 x 224, as float32
// clips (77 MB, SgaEncoder.forward) and as the uint8 frames they come from (19 MB,
// preprocessClips). Times the synchronous part of each call (checks, copy, and for clips the
// scan: all the event loop waits for), a plain JS copy of the clips for comparison, and the
// whole call.
// Run: node --import tsx benchmarks/input-copy.bench.ts [ROUNDS]; prints the medians.
import { performance } from 'node:perf_hooks';

import { SgaEncoder } from '../lib/models/encoder.js';
import { preprocessClips } from '../lib/models/preprocess.js';

const rounds = Number(process.argv[2] ?? 5);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const n = 8;
const size: [number, number, number] = [16, 224, 224];
const x = Float32Array.from({ length: n * 3 * size[0] * size[1] * size[2] }, (_, i) => Math.sin(i));
const model = await SgaEncoder.createAsync({ backbone: 'i3d', inputSize: size });
const sync: number[] = [];
const copy: number[] = [];
const total: number[] = [];
await model.forward(x); // warm-up (oneDNN primitives, the folded copy)
for (let r = 0; r < rounds; r++) {
  const c0 = performance.now();
  const y = x.slice();
  copy.push(performance.now() - c0);
  if (y[1] !== x[1]) throw new Error('copy');
  const t0 = performance.now();
  const p = model.forward(x);
  sync.push(performance.now() - t0);
  await p;
  total.push(performance.now() - t0);
}
model.dispose();
const frames = Uint8Array.from({ length: n * size[0] * size[1] * size[2] * 3 }, (_, i) => i % 251);
const spec = { resize: [size[1], size[2]] as [number, number], mean: [114, 114, 114] as const };
const fSync: number[] = [];
const fTotal: number[] = [];
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  const p = preprocessClips(frames, [n, size[0], size[1], size[2], 3], spec);
  fSync.push(performance.now() - t0);
  await p;
  fTotal.push(performance.now() - t0);
}
console.log(
  JSON.stringify({
    clips: { bytes: x.byteLength, syncMs: median(sync), jsCopyMs: median(copy), forwardMs: median(total) },
    frames: { bytes: frames.byteLength, syncMs: median(fSync), preprocessMs: median(fTotal) },
    rounds,
  }),
);
