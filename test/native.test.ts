// The native foundation: info(), threads, BLAS, coded errors, the event loop staying free, and
// the generator's forward pass checked against the formula computed here from its weights.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { MilGenerator, cpuCache, info, releaseCpuCache, setNumThreads } from '../lib/index.js';
import { ROOT, expectCode, tempDir, skip, test } from './helpers.js';

function childInfo(env: Record<string, string>): { threads: number; threadsObserved: number } {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      "import('./lib/index.ts').then(m => { const i = m.info(); console.log(JSON.stringify({threads: i.threads, threadsObserved: i.threadsObserved})); })",
    ],
    { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' },
  );
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

test('info() reports LibTorch, CUDA and the BLAS really loaded', () => {
  const i = info();
  assert.match(i.torchVersion, /^\d+\.\d+\.\d+/);
  assert.type(i.cudaAvailable, 'boolean');
  if (!i.cudaAvailable) assert.is(i.cudaDeviceCount, 0);
  assert.ok(i.blas.libraries.length > 0, 'some BLAS library is mapped into the process');
  // The kind must agree with the paths actually mapped (read from /proc/self/maps).
  const joined = i.blas.libraries.join(' ');
  if (i.blas.kind === 'openblas') assert.match(joined, /openblas/);
  if (i.blas.kind === 'reference') {
    assert.not.match(joined, /openblas/);
    assert.match(i.blasWarning ?? '', /libopenblas0-pthread/);
  } else {
    assert.is(i.blasWarning, undefined);
  }
});

test('with the reference BLAS loaded, info() and the CLI say so and how to fix it', () => {
  // Debian's reference BLAS (package libblas3) sits in .../blas/; putting it first on the
  // library path makes LibTorch resolve libblas.so.3 to it, as on a machine without OpenBLAS.
  const dir = '/usr/lib/x86_64-linux-gnu/blas';
  if (!existsSync(join(dir, 'libblas.so.3'))) return skip(`${dir}/libblas.so.3 (apt-get install -y libblas3)`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', 'info'], {
    cwd: ROOT,
    env: { ...process.env, LD_LIBRARY_PATH: dir },
    encoding: 'utf8',
  });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /BLAS +reference: .*\/blas\/libblas\.so/);
  assert.match(r.stderr, /WARNING: LibTorch is using the reference BLAS .* apt-get install -y libopenblas0-pthread/);
});

test('the thread count is the one configured and the one a parallel region really uses', () => {
  const one = childInfo({ MIST_NUM_THREADS: '1' });
  assert.equal(one, { threads: 1, threadsObserved: 1 });
  const two = childInfo({ MIST_NUM_THREADS: '2' });
  assert.is(two.threads, 2);
  assert.is(two.threadsObserved, 2);
  setNumThreads(1);
  assert.is(info().threadsObserved, 1);
  setNumThreads(2);
  assert.is(info().threads, 2);
});

test('a bad MIST_NUM_THREADS is a clear error', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./lib/index.ts').then(m => m.info())"], {
    cwd: ROOT,
    env: { ...process.env, MIST_NUM_THREADS: 'lots' },
    encoding: 'utf8',
  });
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /MIST_NUM_THREADS must be a positive integer/);
});

function reference(params: Record<string, Float32Array>, x: Float32Array, rows: number, dim: number): Float64Array {
  // sigmoid(W3 (W2 relu(W1 x + b1) + b2) + b3): the eval-mode formula, in float64.
  const w1 = params['fc1.weight']!,
    b1 = params['fc1.bias']!,
    w2 = params['fc2.weight']!,
    b2 = params['fc2.bias']!;
  const w3 = params['fc3.weight']!,
    b3 = params['fc3.bias']!;
  const h1n = b1.length,
    h2n = b2.length;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const h1 = new Float64Array(h1n);
    for (let j = 0; j < h1n; j++) {
      let s = b1[j]!;
      for (let d = 0; d < dim; d++) s += w1[j * dim + d]! * x[r * dim + d]!;
      h1[j] = Math.max(0, s);
    }
    let o = b3[0]!;
    for (let j = 0; j < h2n; j++) {
      let s = b2[j]!;
      for (let d = 0; d < h1n; d++) s += w2[j * h1n + d]! * h1[d]!;
      o += w3[j]! * s;
    }
    out[r] = 1 / (1 + Math.exp(-o));
  }
  return out;
}

test('generator forward equals the MLP formula on its own weights', async () => {
  const dim = 24,
    rows = 7;
  const g = MilGenerator.create({ featureDim: dim, seed: 3, device: 'cpu' });
  const x = Float32Array.from({ length: rows * dim }, (_, i) => Math.sin(i * 0.37));
  const y = await g.forward(x);
  const ref = reference(await g.parameters(), x, rows, dim);
  assert.is(y.length, rows);
  for (let i = 0; i < rows; i++) assert.ok(Math.abs(y[i]! - ref[i]!) < 1e-5, `row ${i}: ${y[i]} vs ${ref[i]}`);
  g.dispose();
});

test('Kaiming-normal init, zero biases, seeded', async () => {
  const a = await MilGenerator.create({ featureDim: 1024, seed: 7, device: 'cpu' }).parameters();
  const b = await MilGenerator.create({ featureDim: 1024, seed: 7, device: 'cpu' }).parameters();
  const c = await MilGenerator.create({ featureDim: 1024, seed: 8, device: 'cpu' }).parameters();
  const w = a['fc1.weight']!;
  let s2 = 0;
  for (const v of w) s2 += v * v;
  const std = Math.sqrt(s2 / w.length);
  // 512 x 1024 draws: the sample std is within 1 % of sqrt(2 / fan_in).
  assert.ok(Math.abs(std / Math.sqrt(2 / 1024) - 1) < 0.01, `std ${std}`);
  assert.ok(a['fc1.bias']!.every((v) => v === 0) && a['fc3.bias']!.every((v) => v === 0));
  assert.equal(Array.from(a['fc2.weight']!), Array.from(b['fc2.weight']!));
  assert.not.equal(Array.from(a['fc2.weight']!.slice(0, 10)), Array.from(c['fc2.weight']!.slice(0, 10)));
});

test('bad inputs give coded errors and the process carries on', async () => {
  const g = MilGenerator.create({ featureDim: 8, device: 'cpu' });
  await expectCode(() => g.forward(new Float64Array(16) as unknown as Float32Array, 2), 'ERR_MIST_DTYPE');
  await expectCode(() => g.forward(new Float32Array(15), 2), 'ERR_MIST_SHAPE');
  await expectCode(() => g.forward(new Float32Array(15)), 'ERR_MIST_SHAPE');
  await expectCode(() => MilGenerator.create({ featureDim: 0 }), 'ERR_MIST_ARG');
  await expectCode(() => MilGenerator.create({ featureDim: 8, device: 'gpu' }), 'ERR_MIST_ARG');
  if (!info().cudaAvailable) {
    const e = await expectCode(() => MilGenerator.create({ featureDim: 8, device: 'cuda:0' }), 'ERR_MIST_DEVICE');
    assert.match(e.message, /CUDA is not available/);
  }
  const { dir, cleanup } = tempDir();
  try {
    const bad = join(dir, 'bad.pt');
    writeFileSync(bad, 'not a checkpoint at all');
    const e = await expectCode(() => MilGenerator.load(bad, { device: 'cpu' }), 'ERR_MIST_WEIGHTS');
    assert.not.match(e.message, /Exception raised from|frame #/);
    await expectCode(() => MilGenerator.load(join(dir, 'missing.pt')), 'ERR_MIST_IO');
  } finally {
    cleanup();
  }
  g.dispose();
  await expectCode(() => g.forward(new Float32Array(16), 2), 'ERR_MIST_DISPOSED');
  const h = MilGenerator.create({ featureDim: 8, device: 'cpu' });
  assert.is((await h.forward(new Float32Array(16), 2)).length, 2, 'still working after the errors');
});

test('save/load round trip gives the same scores', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const g = MilGenerator.create({ featureDim: 16, seed: 5, device: 'cpu' });
    const x = Float32Array.from({ length: 5 * 16 }, (_, i) => Math.cos(i));
    const p = join(dir, 'gen.pt');
    await g.save(p);
    const h = await MilGenerator.load(p, { device: 'cpu' });
    assert.equal(Array.from(await h.forward(x)), Array.from(await g.forward(x)));
    assert.is(h.featureDim, 16);
  } finally {
    cleanup();
  }
});

test('the event loop keeps running while a multi-second native call is in flight', async () => {
  // A wide generator makes one forward pass a real multi-second matrix product; size it
  // from a short calibration run so it lasts about 2-3 s on any machine.
  const dim = 1024;
  const g = MilGenerator.create({ featureDim: dim, hidden: [4096, 32], device: 'cpu' });
  const small = 4096;
  const probe = new Float32Array(small * dim).fill(0.1);
  await g.forward(probe); // the first call also pays for allocation and thread start-up
  let t0 = performance.now();
  await g.forward(probe);
  const perRow = (performance.now() - t0) / small;
  const rows = Math.min(200_000, Math.max(small, Math.ceil(2500 / perRow)));
  const x = new Float32Array(rows * dim).fill(0.1);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  t0 = performance.now();
  const y = await g.forward(x);
  const ms = performance.now() - t0;
  clearInterval(timer);
  assert.is(y.length, rows);
  assert.ok(ms > 1000, `the call took ${ms.toFixed(0)} ms, expected over a second`);
  // A blocked loop would give 0 or 1 ticks; allow for timer slack on a loaded machine.
  assert.ok(ticks >= (ms / 10) * 0.5, `${ticks} ticks of a 10 ms timer in ${ms.toFixed(0)} ms`);
  console.log(`  native call: ${ms.toFixed(0)} ms, 10 ms timer fired ${ticks} times`);
  g.dispose();
});

test('large tensors are reused from the cache; release empties it', async () => {
  const g = MilGenerator.create({ featureDim: 1024, device: 'cpu' });
  const x = new Float32Array(4096 * 1024).fill(0.5); // 4096 x 512 hidden activations: 8 MiB
  await g.forward(x);
  const before = cpuCache();
  assert.ok(before.enabled);
  await g.forward(x);
  const after = cpuCache();
  assert.ok(after.hits > before.hits, 'the second pass reused cached blocks');
  assert.is(after.misses, before.misses, 'and allocated no new large block');
  assert.ok(after.cachedBytes > 0 && after.cachedBytes <= after.limitBytes);
  releaseCpuCache();
  assert.is(cpuCache().cachedBytes, 0);
  g.dispose();
});

test.run();
