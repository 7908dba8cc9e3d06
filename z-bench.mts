import { createRng } from './lib/rng.js';
import { buildBatch, makeSyntheticFeatures, sparseContinuousSample } from './lib/stage1/index.js';
const { videos } = makeSyntheticFeatures({ videos: 80, clipsRange: [50, 600], dim: 1024, anomalousFraction: 0.5, seed: 1 });
const n = videos.filter(v => !v.anomalous), a = videos.filter(v => v.anomalous);
const rng = createRng(0);
let t = performance.now();
for (let i = 0; i < 5; i++) buildBatch(n, a, { L: 32, T: 7 }, rng);
console.log('buildBatch', ((performance.now() - t) / 5).toFixed(1));
t = performance.now();
for (let i = 0; i < 5; i++) for (const v of videos) sparseContinuousSample(v.features.shape[0]!, { L: 32, T: 7 }, rng);
console.log('sampling only', ((performance.now() - t) / 5).toFixed(1));
t = performance.now();
for (let i = 0; i < 5; i++) { const x = new Float32Array(80 * 224 * 1024); x[5] = 1; }
console.log('alloc', ((performance.now() - t) / 5).toFixed(1));
