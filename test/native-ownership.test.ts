// Native calls own what they read: an input array may be overwritten, or its buffer transferred
// (structuredClone with `transfer`, as postMessage does) and the transferred copy overwritten,
// the moment a call returns its promise. The result must equal that of an untouched call.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import * as assert from 'uvu/assert';

import { SgaEncoder } from '../lib/models/encoder.js';
import { MilGenerator } from '../lib/models/generator.js';
import { preprocessClips } from '../lib/models/preprocess.js';
import { test } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

type Typed = Float32Array | Uint8Array;

/** Deterministic values in [-1, 1) (or bytes). */
function values<T extends Typed>(make: (n: number) => T, n: number, seed: number): T {
  const a = make(n);
  for (let i = 0; i < n; i++) {
    const v = Math.sin(i * 12.9898 + seed * 78.233) * 43758.5453;
    a[i] = a instanceof Uint8Array ? Math.floor((v - Math.floor(v)) * 256) : (v - Math.floor(v)) * 2 - 1;
  }
  return a;
}

/** Equal bit for bit: typed arrays by bytes, objects field by field. */
function same(a: unknown, b: unknown, what: string): void {
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    assert.is(x.length, y.length, `${what}: length`);
    assert.ok(
      x.every((v, i) => v === y[i]),
      `${what}: values differ`,
    );
    return;
  }
  if (a !== null && typeof a === 'object') {
    for (const k of Object.keys(a))
      same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${what}.${k}`);
    return;
  }
  assert.equal(a, b, what);
}

/**
 * A native call three ways: untouched; its input overwritten with garbage right after the call;
 * its input's buffer transferred right after the call, the transferred copy overwritten and
 * dropped (and collected). `fresh()` gives the same input each time; `make()` a function that
 * calls native synchronously (on a fresh model where the call changes it).
 */
async function owns<T extends Typed, R>(
  what: string,
  fresh: () => T,
  make: () => Promise<(input: T) => Promise<R>>,
  garbage: number,
): Promise<void> {
  const expected = await (await make())(fresh());

  const a = fresh();
  const runA = await make();
  const pa = runA(a);
  a.fill(garbage);
  same(await pa, expected, `${what}, overwritten`);

  const b = fresh();
  const runB = await make();
  const pb = runB(b);
  // The transferred copy shares the memory the call read from: overwrite it, then let it go.
  ((moved: T) => moved.fill(garbage))(structuredClone(b, { transfer: [b.buffer as ArrayBuffer] }));
  assert.is(b.length, 0, 'the transfer detached the input');
  gc();
  same(await pb, expected, `${what}, transferred`);
}

const SIZE: [number, number, number] = [16, 32, 32];
const CLIP = 3 * SIZE[0] * SIZE[1] * SIZE[2];
const encoder = (): SgaEncoder => SgaEncoder.create({ backbone: 'c3d', width: 1 / 8, inputSize: SIZE, seed: 5 });

test('SgaEncoder.forward owns its clips', async () => {
  const model = encoder();
  await owns(
    'forward',
    () => values((n) => new Float32Array(n), 2 * CLIP, 1),
    async () => (x) => model.forward(x),
    1e30,
  );
  model.dispose();
});

test('SgaEncoder.taps owns its clips', async () => {
  const model = encoder();
  await owns(
    'taps',
    () => values((n) => new Float32Array(n), 2 * CLIP, 2),
    async () => (x) => model.taps(x),
    -7,
  );
  model.dispose();
});

test('SgaEncoder.trainStep owns its clips and its targets', async () => {
  // A configured fresh model; the call, then its result and the weights it left.
  const trainer = (clipsOrTargets: 'clips' | 'targets', other: Float32Array) => async () => {
    const model = encoder();
    await model.configureTraining({});
    return async (input: Float32Array) => {
      const p = clipsOrTargets === 'clips' ? model.trainStep(input, other) : model.trainStep(other, input);
      const r = await p;
      const w = await model.stateDict();
      model.dispose();
      return { r, w };
    };
  };
  const clips = () => values((n) => new Float32Array(n), 2 * CLIP, 3);
  await owns('trainStep clips', clips, trainer('clips', Float32Array.from([0, 1])), 1e30);
  await owns('trainStep targets', () => Float32Array.from([0.25, 1]), trainer('targets', clips()), 0.5);
});

const D = 64;
const generator = (): MilGenerator => MilGenerator.create({ featureDim: D, hidden: [32, 8], seed: 9 });

test('MilGenerator.forward owns its features', async () => {
  const model = generator();
  await owns(
    'forward',
    () => values((n) => new Float32Array(n), 4096 * D, 4),
    async () => (x) => model.forward(x),
    1e30,
  );
  model.dispose();
});

test('MilGenerator.trainStep owns its features', async () => {
  const step = async () => async (features: Float32Array) => {
    const model = generator();
    const r = await model.trainStep({ features, normal: 2, anomalous: 2, clips: 32 }, { k: 2 });
    const w = await model.parameters();
    model.dispose();
    return { r, w };
  };
  await owns('trainStep', () => values((n) => new Float32Array(n), 4 * 32 * D, 5), step, -1e30);
});

test('preprocessClips owns its frames', async () => {
  const spec = {
    resize: [40, 40] as [number, number],
    crop: { y: 3, x: 5, h: 32, w: 32 },
    mean: [114, 114, 114] as const,
  };
  await owns(
    'preprocessClips',
    () => values((n) => new Uint8Array(n), 2 * 16 * 48 * 48 * 3, 6),
    async () => (f) => preprocessClips(f, [2, 16, 48, 48, 3], spec),
    255,
  );
});

test.run();
