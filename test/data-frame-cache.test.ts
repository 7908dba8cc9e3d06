// The frame cache (LRU at a byte bound), frame sources reading through it (cached frames equal
// decoded ones, missing chunks decoded in one run), and prefetch (overlap, order, errors, abort).
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { createFrameCache, openFrameSource, prefetch } from '../lib/data/frame-cache.js';
import { openVideo, readFrames } from '../lib/data/video.js';
import { expectCode, ffmpeg, hasFfmpeg, skip, tempDir, test } from './helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

test('LRU eviction at the byte bound; hits, misses and bytes', () => {
  const cache = createFrameCache({ maxBytes: 100 });
  cache.set('a', bytes(40, 1));
  cache.set('b', bytes(40, 2));
  assert.equal(cache.stats(), { hits: 0, misses: 0, bytes: 80, maxBytes: 100, entries: 2, evictions: 0 });
  cache.set('c', bytes(40, 3)); // 120 > 100: the least recent, a, goes
  assert.is(cache.has('a'), false);
  assert.equal([cache.stats().bytes, cache.stats().evictions], [80, 1]);
  assert.is(cache.get('b')?.[0], 2); // b is now the most recent
  assert.is(cache.get('a'), undefined);
  cache.set('d', bytes(60, 4)); // 140: c goes (least recent), then 100 fits
  assert.equal([cache.has('b'), cache.has('c'), cache.has('d')], [true, false, true]);
  assert.equal(cache.stats(), { hits: 1, misses: 1, bytes: 100, maxBytes: 100, entries: 2, evictions: 2 });
  // Replacing a key frees its old bytes first; an entry above the bound is not kept.
  cache.set('d', bytes(10, 5));
  assert.is(cache.stats().bytes, 50);
  cache.set('huge', bytes(101, 6));
  assert.equal([cache.has('huge'), cache.stats().bytes], [false, 50]);
  assert.is(cache.delete('b'), true);
  cache.clear();
  assert.equal([cache.stats().bytes, cache.stats().entries], [0, 0]);
  assert.throws(() => createFrameCache({ maxBytes: -1 }), /maxBytes/);
});

test('a frame source through the cache: equal bytes, whole chunks, one decode per missing run', async () => {
  if (!hasFfmpeg) return skip('ffmpeg (apt-get install -y ffmpeg)');
  const { dir, cleanup } = tempDir();
  try {
    // 60 frames, keyframes every 10: chunks of 16 are frames 0-15, 16-31, 32-47, 48-59.
    const p = join(dir, 'v.mp4');
    ffmpeg(
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=96x64:rate=25',
      '-frames:v',
      '60',
      '-c:v',
      'mpeg4',
      '-g',
      '10',
      '-q:v',
      '3',
      p,
    );
    const W = 48,
      H = 32;
    const fb = W * H * 3;
    const chunk = 16 * fb;
    const info = await openVideo(p);
    const want = async (s: number, n: number): Promise<Buffer> =>
      Buffer.from((await readFrames(info, s, n, { width: W, height: H, order: 'bgr' })).data);

    const cache = createFrameCache({ maxBytes: 3 * chunk });
    const src = await openFrameSource(p, { width: W, height: H, order: 'bgr', cache });
    assert.equal([src.frames, src.width, src.height, src.order], [60, W, H, 'bgr']);
    const a = await src.read(5, 20); // chunks 0 and 1, both missing
    assert.equal(a.shape, [20, H, W, 3]);
    assert.ok(Buffer.from(a.data).equals(await want(5, 20)));
    assert.equal([cache.stats().misses, cache.stats().hits, cache.stats().bytes], [2, 0, 2 * chunk]);
    const b = await src.read(10, 16); // both cached
    assert.equal([cache.stats().misses, cache.stats().hits], [2, 2]);
    assert.ok(Buffer.from(b.data).equals(await want(10, 16)));
    // The short last chunk (frames 48-59) and the bound: 4 chunks do not fit in 3.
    const c = await src.read(40, 20);
    assert.ok(Buffer.from(c.data).equals(await want(40, 20)));
    const s = cache.stats();
    assert.equal([s.entries, s.evictions, s.bytes], [3, 1, 2 * chunk + 12 * fb]);
    assert.ok(s.bytes <= s.maxBytes);
    // Chunk 0 was the least recently used: reading frame 0 misses again, and still matches.
    const d = await src.read(0, 1);
    assert.equal(cache.stats().misses, 5);
    assert.ok(Buffer.from(d.data).equals(await want(0, 1)));
    // Without a cache, the same bytes; a second source with other options keeps its own keys.
    const plain = await openFrameSource(p, { width: W, height: H, order: 'bgr' });
    assert.ok(Buffer.from((await plain.read(33, 9)).data).equals(await want(33, 9)));
    const rgb = await openFrameSource(p, { width: W, height: H, cache });
    const before = cache.stats().misses;
    await rgb.read(10, 4);
    assert.is(cache.stats().misses, before + 1);
    await expectCode(() => src.read(55, 10), 'ERR_MIST_ARG');
    await expectCode(() => openFrameSource(p, { chunkFrames: 0 }), 'ERR_MIST_ARG');
  } finally {
    cleanup();
  }
});

test('prefetch: the next item is made while the consumer works on this one', async () => {
  const log: { i: number; start: number; end: number }[] = [];
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  const producer = async (i: number): Promise<number | undefined> => {
    if (i >= 5) return undefined;
    const start = now();
    await sleep(60);
    log.push({ i, start, end: now() });
    return i * 10;
  };
  const consumed: { v: number; start: number; end: number }[] = [];
  for await (const v of prefetch(producer, 1)) {
    const start = now();
    await sleep(60);
    consumed.push({ v, start, end: now() });
  }
  assert.equal(
    consumed.map((c) => c.v),
    [0, 10, 20, 30, 40],
  );
  // Item i + 1 started before the consumer finished item i.
  for (let i = 0; i + 1 < 5; i++) {
    const next = log.find((l) => l.i === i + 1)!;
    assert.ok(
      next.start < consumed[i]!.end - 30,
      `item ${i + 1} started at ${next.start}, item ${i} done at ${consumed[i]!.end}`,
    );
  }
  // Sequential would take 10 x 60 ms; overlapped about 6 x 60.
  const total = now();
  assert.ok(total < 540, `took ${total.toFixed(0)} ms`);
  // depth 3 from an async iterable: pulled one at a time, in order.
  let inFlight = 0;
  let maxInFlight = 0;
  async function* slow(): AsyncGenerator<number> {
    for (let i = 0; i < 6; i++) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(5);
      inFlight--;
      yield i;
    }
  }
  const got: number[] = [];
  for await (const v of prefetch(slow(), 3)) {
    got.push(v);
    await sleep(10);
  }
  assert.equal(got, [0, 1, 2, 3, 4, 5]);
  assert.is(maxInFlight, 1);
});

test('prefetch: errors reach the consumer in order; abort and early stop end the producer', async () => {
  const boom = new Error('decode failed');
  const seen: number[] = [];
  try {
    for await (const v of prefetch(async (i) => {
      await sleep(5);
      if (i === 2) throw boom;
      return i < 10 ? i : undefined;
    }, 2))
      seen.push(v);
    assert.unreachable('no error');
  } catch (e) {
    assert.is(e, boom);
  }
  assert.equal(seen, [0, 1]);

  // Abort while an item is being made: ERR_MIST_ABORTED at once, and the producer's signal fires.
  const ac = new AbortController();
  let producerSignal: AbortSignal | undefined;
  const t0 = performance.now();
  await expectCode(async () => {
    for await (const _ of prefetch(
      async (i, signal) => {
        producerSignal = signal;
        if (i === 0) return 0;
        await sleep(2000);
        return i;
      },
      1,
      { signal: ac.signal },
    ))
      setTimeout(() => ac.abort(), 20);
  }, 'ERR_MIST_ABORTED');
  assert.ok(performance.now() - t0 < 1000);
  assert.is(producerSignal?.aborted, true);

  // Breaking out early closes an iterable source.
  let closed = false;
  async function* source(): AsyncGenerator<number> {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      closed = true;
    }
  }
  for await (const v of prefetch(source(), 2)) if (v === 3) break;
  assert.is(closed, true);
  await expectCode(() => prefetch(source(), 0).next(), 'ERR_MIST_ARG');
});

test.run();
