// Memory is estimated before it is taken, for the encoder: the layer walk's counts against
// what the built model holds, the estimate against the peak resident set measured in fresh
// processes (benchmarks/memory.bench.ts, configurations not used to fit its constants), and
// every entry point refusing work above the limit with ERR_MIST_MEMORY before it opens a file
// or allocates.
import * as assert from 'uvu/assert';

import { measurePeak, QUICK } from '../benchmarks/memory.bench.js';
import {
  checkEncoderMemory,
  estimateEncoderMemory,
  extractFeatures,
  finetuneEncoder,
  scoreStream,
  scoreVideo,
  SgaEncoder,
} from '../lib/index.js';
import { memoryLimitMb } from '../lib/config.js';
import { native } from '../lib/native.js';
import { expectCode, test } from './helpers.js';

const MiB = 2 ** 20;

function withLimit<T>(mb: string | undefined, f: () => T): T {
  const old = process.env.MIST_MEMORY_LIMIT_MB;
  if (mb === undefined) delete process.env.MIST_MEMORY_LIMIT_MB;
  else process.env.MIST_MEMORY_LIMIT_MB = mb;
  const restore = () => {
    if (old === undefined) delete process.env.MIST_MEMORY_LIMIT_MB;
    else process.env.MIST_MEMORY_LIMIT_MB = old;
  };
  try {
    const r = f();
    if (r instanceof Promise) return r.finally(restore) as T;
    restore();
    return r;
  } catch (e) {
    restore();
    throw e;
  }
}

test('the layer walk counts exactly the parameters and buffers a built encoder holds', () => {
  for (const [backbone, width] of [
    ['i3d', 1],
    ['i3d', 0.25],
    ['c3d', 1],
    ['c3d', 0.125],
  ] as const) {
    const e = SgaEncoder.create({ backbone, width, inputSize: [16, 64, 64] });
    const f = native().encoderFootprint({ backbone, width, expandK: 8 }, [16, 64, 64]);
    // describe().sizeBytes: 4 bytes per float parameter and buffer, 8 per int64 step counter.
    assert.is(f.parameters * 4, e.describe().sizeBytes, `${backbone} width ${width}`);
    assert.is(f.input, 3 * 16 * 64 * 64);
    e.dispose();
  }
});

test('activations grow with the clips and the input area; training holds more than inference', () => {
  const arch = { backbone: 'i3d', width: 0.5, expandK: 8 } as const;
  const one = estimateEncoderMemory(arch, 'inference', 1, [16, 112, 112]);
  const four = estimateEncoderMemory(arch, 'inference', 4, [16, 112, 112]);
  assert.ok(Math.abs(four.bytes - one.bytes - 3 * one.perClip) < 1, 'linear in the clips');
  const big = estimateEncoderMemory(arch, 'inference', 1, [16, 224, 224]);
  const ratio = big.perClip / one.perClip;
  assert.ok(ratio > 3.5 && ratio < 4.5, `4x the area gives ${ratio.toFixed(2)}x the activations`);
  const train = estimateEncoderMemory(arch, 'training', 1, [16, 112, 112]);
  assert.ok(train.perClip > 2 * one.perClip && train.parameters > one.parameters);
  // Too small an input is a shape error, not an estimate.
  let code: string | undefined;
  try {
    estimateEncoderMemory(arch, 'inference', 1, [16, 8, 8]);
  } catch (e) {
    code = (e as { code?: string }).code;
  }
  assert.is(code, 'ERR_MIST_SHAPE');
});

test('the estimate is within 25 % of the peak RSS measured in fresh processes (3 held-out configurations)', async () => {
  for (const c of QUICK) {
    const p = await measurePeak(c);
    const ratio = p.measured / p.estimated;
    const what = `${c.backbone} width ${c.width} ${c.inputSize.join('x')} x ${c.clips} ${c.work}: estimate ${(p.estimated / MiB).toFixed(0)} MiB, measured ${(p.measured / MiB).toFixed(0)} MiB`;
    console.log(`# ${what}`);
    assert.ok(ratio > 0.75 && ratio < 1.25, `${what}: ratio ${ratio.toFixed(2)}`);
  }
});

test('MIST_MEMORY_LIMIT_MB: read at every check, refused when not a positive integer', () => {
  assert.is(memoryLimitMb({}), undefined);
  assert.is(memoryLimitMb({ MIST_MEMORY_LIMIT_MB: '512' }), 512);
  for (const bad of ['0', '-5', '1.5', '0x10', '2GiB']) {
    let code: string | undefined;
    try {
      memoryLimitMb({ MIST_MEMORY_LIMIT_MB: bad });
    } catch (e) {
      code = (e as { code?: string }).code;
    }
    assert.is(code, 'ERR_MIST_ARG', bad);
  }
});

test('an encoder whose weights alone exceed the machine is refused before it is built', async () => {
  // I3D at width 16: about 8 x 10^9 parameters, far more than any test machine holds.
  const e = await expectCode(() => SgaEncoder.createAsync({ backbone: 'i3d', width: 16 }), 'ERR_MIST_MEMORY');
  assert.match(e.message, /MIST-I3D \(width 16\) would need about \d+\.\d GiB \(parameters/);
  assert.match(e.message, /this machine's memory/);
});

test('forward, taps and trainStep refuse a batch above the limit, with the estimate, and work below it', async () => {
  const e = SgaEncoder.create({ backbone: 'c3d', width: 0.125, inputSize: [16, 32, 32] });
  const per = 3 * 16 * 32 * 32;
  const x = new Float32Array(64 * per).fill(0.1);
  const est = e.estimateMemory('training', 64);
  const limitMb = Math.floor(est.bytes / MiB) - 1;
  await withLimit(String(limitMb), async () => {
    const err = await expectCode(() => e.trainStep(x, new Float32Array(64).fill(0.5)), 'ERR_MIST_MEMORY');
    assert.match(
      err.message,
      new RegExp(`^trainStep of 64 clips at 16x32x32 on MIST-C3D \\(width 0.125\\) would need about`),
    );
    assert.match(err.message, new RegExp(`MIST_MEMORY_LIMIT_MB=${limitMb}`));
    // Inference of the same batch holds less and fits.
    assert.ok(e.estimateMemory('inference', 64).bytes < limitMb * MiB);
    const r = await e.forward(x);
    assert.is(r.score.length, 64);
  });
  const tiny = String(Math.floor(e.estimateMemory('inference', 1).bytes / MiB) - 1);
  await withLimit(tiny, async () => {
    await expectCode(() => e.forward(x.subarray(0, per)), 'ERR_MIST_MEMORY');
    await expectCode(() => e.taps(x.subarray(0, per)), 'ERR_MIST_MEMORY');
  });
  e.dispose();
});

test('finetuneEncoder, extractFeatures, scoreVideo and scoreStream refuse up front, before opening a video', async () => {
  const missing = '/nonexistent/video.mp4';
  // The ucf-crime-i3d preset at full size: 2 x 32 videos x 3 clips = 192 clips a step.
  const full = await expectCode(
    () =>
      finetuneEncoder({
        preset: 'ucf-crime-i3d',
        videos: [{ name: 'v', path: missing, label: 'normal' }],
        pseudoLabels: new Map(),
      }),
    'ERR_MIST_MEMORY',
  );
  assert.match(full.message, /^finetuneEncoder: a training step of 192 clips at 16x224x224 on MIST-I3D \(width 1\)/);
  const e = SgaEncoder.create({ backbone: 'c3d', width: 0.125, inputSize: [16, 32, 32] });
  const limit = String(Math.floor(e.estimateMemory('inference', 1).bytes / MiB) - 1);
  await withLimit(limit, async () => {
    const small = await expectCode(
      () =>
        finetuneEncoder({
          preset: 'shanghaitech-c3d',
          encoder: e,
          videos: [{ name: 'v', path: missing, label: 'normal' }],
          pseudoLabels: new Map(),
        }),
      'ERR_MIST_MEMORY',
    );
    assert.match(small.message, /^finetuneEncoder: a training step of 60 clips/);
    const x = await expectCode(() => extractFeatures([missing], e, { batchSize: 4 }), 'ERR_MIST_MEMORY');
    assert.match(x.message, /^extractFeatures: an encoder call of 4 clips/);
    const s = await expectCode(() => scoreVideo(missing, e), 'ERR_MIST_MEMORY');
    assert.match(s.message, /^scoreVideo: an encoder call of 8 clips/);
    await expectCode(() => scoreStream(missing, e), 'ERR_MIST_MEMORY');
  });
  // The check is the only thing between the call and the missing file.
  await expectCode(() => scoreVideo(missing, e), 'ERR_MIST_IO');
  e.dispose();
});

test('checkEncoderMemory leaves devices other than the CPU to their own memory', () => {
  const arch = { backbone: 'i3d', width: 16, expandK: 8 } as const;
  const e = checkEncoderMemory({ ...arch, device: 'cuda:0' }, 'training', 1000, [16, 224, 224], 'x');
  assert.ok(e.bytes > 2 ** 40);
  let code: string | undefined;
  try {
    checkEncoderMemory({ ...arch, device: 'cpu' }, 'training', 1000, [16, 224, 224], 'x');
  } catch (err) {
    code = (err as { code?: string }).code;
  }
  assert.is(code, 'ERR_MIST_MEMORY');
});

test.run();
