// The fuzz targets: every reader run on arbitrary bytes and on valid files with random byte
// flips, truncations, insertions and token swaps, and every option parser run on arbitrary
// values. The only outcomes allowed are a valid result or a MistError with a package code (for
// a file reader, one whose message names the file). test/fuzz-child.ts runs them; the parent
// (test/fuzz-harness.ts) kills a run that stops making progress and reports its input.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';

import {
  EvaluateOptionsSchema,
  FinetuneEncoderOptionsSchema,
  GeneratorTrainOptionsSchema,
  MilGenerator,
  OpenVideoOptionsSchema,
  ReadFeaturesOptionsSchema,
  ReadFramesOptionsSchema,
  RtfmGroundTruthOptionsSchema,
  ScoreVideoOptionsSchema,
  SgaEncoder,
  ShanghaiTechGroundTruthOptionsSchema,
  UcfCrimeGroundTruthOptionsSchema,
  XdViolenceGroundTruthOptionsSchema,
  encodeNpy,
  evaluate,
  finetuneEncoder,
  loadShanghaiTechGroundTruth,
  loadUcfCrimeGroundTruth,
  loadXdViolenceGroundTruth,
  openFeatureStore,
  openVideo,
  parseNpy,
  readC3dTxt,
  readFeatures,
  readOfficialPseudoLabels,
  readPseudoLabels,
  readRtfmList,
  readShanghaiTechList,
  readUcfCrimeList,
  readVideoManifest,
  resolveEncoderHyperparameters,
  resolveGeneratorTrainOptions,
  scoreVideo,
  shapeSize,
  trainGenerator,
  writeFeatureStore,
  writePseudoLabels,
  type GroundTruth,
} from '../lib/index.js';
import { ErrorCode, MistError } from '../lib/errors.js';
import { crc32 } from '../lib/models/zip-check.js';
import { parseOptions } from '../lib/options.js';
import { readPickledNpy } from '../lib/data/pickle.js';
import { ROOT, ffmpeg, hasFfmpeg } from './helpers.js';
import { npyBytes, npyHeader, pickledLabelsNpy } from './reliability-helpers.js';

const CODES = new Set<string>(Object.values(ErrorCode));

/** One fuzz target: inputs, how to run one, and what a valid result is. */
export interface Target<T = unknown> {
  name: string;
  /** Inputs per run of the normal test suite. */
  runs: number;
  /** The most one input may take. */
  timeoutMs: number;
  arbitrary: fc.Arbitrary<T>;
  /** Runs the reader on one input; the file it wrote (named in errors), and the result. */
  run(input: T, file: string): Promise<unknown> | unknown;
  /** Throws when a returned value is not valid. */
  valid?(result: unknown): void;
  /** Whether a coded error must name `file` (file readers: yes). */
  namesFile: boolean;
  /** The input as bytes, to keep and report (base64 in the heartbeat file). */
  encode(input: T): Uint8Array;
}

/** What came of one input: fine (a value or a coded error), or a finding in words. */
export function judge(
  target: Target,
  file: string,
  outcome: { value?: unknown; error?: unknown; threw: boolean },
): string | undefined {
  if (!outcome.threw) {
    try {
      target.valid?.(outcome.value);
    } catch (e) {
      return `returned an invalid value: ${(e as Error).message}`;
    }
    return undefined;
  }
  const e = outcome.error;
  if (!(e instanceof MistError)) {
    const name = (e as Error)?.constructor?.name ?? typeof e;
    return `threw ${name} (not a MistError): ${String((e as Error)?.message ?? e).slice(0, 300)}`;
  }
  if (!CODES.has(e.code)) return `MistError with unknown code ${e.code}: ${e.message}`;
  if (target.namesFile && !e.message.includes(file))
    return `${e.code} does not name the file: ${e.message.slice(0, 300)}`;
  if (/\n/.test(e.message)) return `${e.code} message is not one line: ${JSON.stringify(e.message.slice(0, 300))}`;
  return undefined;
}

// ---- Mutations ----------------------------------------------------------------------------

type Op =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'token'; at: number; token: string };

/** Words that break parsers: non-finite numbers, huge and negative counts, separators, NUL. */
const TOKENS = [
  'NaN',
  'nan',
  'inf',
  '-inf',
  'Infinity',
  '1e400',
  '1e39',
  '-1',
  '-0',
  '0',
  '99999999999999999999',
  '4294967296',
  '9007199254740993',
  '0x10',
  '1.5',
  '',
  ' ',
  ',',
  ';',
  '-',
  '\n',
  '\r\n',
  '\t',
  '\u0000',
  '"',
  "'",
  '{',
  '}',
  '[',
  ']',
  '(',
  ')',
  ':',
  'True',
  'False',
  'null',
  '١',
  '\uFEFF',
  '\uFFFD',
  '/',
  '\\',
];

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x30, 0x0a, 0x2c, 0x20),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ kind: fc.constant('token' as const), at: fc.nat(), token: fc.constantFrom(...TOKENS) }),
);

function apply(base: Uint8Array, ops: readonly Op[]): Uint8Array {
  let b = Uint8Array.from(base);
  for (const o of ops) {
    const at = b.length === 0 ? 0 : o.at % (b.length + (o.kind === 'insert' || o.kind === 'token' ? 1 : 0));
    if (o.kind === 'flip' && b.length > 0) b[at]! ^= 1 << o.bit;
    else if (o.kind === 'set' && b.length > 0) b[at] = o.value;
    else if (o.kind === 'cut') b = b.slice(0, at);
    else if (o.kind === 'insert') b = Uint8Array.from([...b.subarray(0, at), ...o.bytes, ...b.subarray(at)]);
    else if (o.kind === 'delete') b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + o.length)]);
    else if (o.kind === 'token') {
      // Replace the run of non-separator bytes around `at` (a number, a word) by the token.
      const sep = (c: number | undefined) =>
        c === undefined || c === 0x20 || c === 0x0a || c === 0x2c || c === 0x09 || c === 0x3b;
      let s = at;
      while (s > 0 && !sep(b[s - 1])) s--;
      let e = at;
      while (e < b.length && !sep(b[e])) e++;
      b = Uint8Array.from([...b.subarray(0, s), ...Buffer.from(o.token, 'utf8'), ...b.subarray(e)]);
    }
  }
  return b;
}

/** Random bytes, or one of `seeds` with 1 to 4 mutations (the mutated seeds are most inputs). */
function bytesFrom(seeds: readonly Uint8Array[], maxRandom = 512): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: maxRandom }), weight: 1 },
    { arbitrary: fc.constantFrom(...seeds), weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.constantFrom(...seeds), fc.array(op, { minLength: 1, maxLength: 4 }))
        .map(([s, ops]) => apply(s, ops)),
      weight: 8,
    },
  );
}

const identity = (b: Uint8Array): Uint8Array => b;
const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');

// ---- Validity of results ------------------------------------------------------------------

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

function validFeatures(r: unknown): void {
  const f = r as { data: Float32Array; shape: number[] };
  check(f.data instanceof Float32Array, 'data is not a Float32Array');
  check(
    f.shape.every((d) => Number.isSafeInteger(d) && d >= 0),
    `shape [${f.shape}]`,
  );
  check(shapeSize(f.shape) === f.data.length, `shape [${f.shape}] does not hold ${f.data.length} values`);
  check(
    f.data.every((v) => Number.isFinite(v)),
    'a non-finite value came through',
  );
}

function validGroundTruth(r: unknown): void {
  const g = r as GroundTruth;
  let total = 0;
  let anomalous = 0;
  for (const v of g.videos) {
    check(v.name.length > 0, 'a video without a name');
    check(
      v.labels.length === v.frames && v.frames <= v.sourceFrames,
      `${v.name}: frames ${v.frames} / ${v.labels.length} / ${v.sourceFrames}`,
    );
    for (const l of v.labels) check(l === 0 || l === 1, `${v.name}: label ${l}`);
    total += v.labels.length;
    anomalous += v.labels.reduce((a, b) => a + b, 0);
  }
  check(total === g.totalFrames && anomalous === g.anomalousFrames, 'totals do not add up');
}

// ---- Seeds, written once per process ------------------------------------------------------

export interface Seeds {
  dir: string;
  npy: Uint8Array[];
  c3d: Uint8Array[];
  hdf5: Uint8Array[];
  lists: Uint8Array[];
  ucfAnnotation: Uint8Array[];
  ucfCounts: Uint8Array[];
  xd: Uint8Array[];
  shList: Uint8Array[];
  shMask: Uint8Array[];
  manifestJson: Uint8Array[];
  manifestCsv: Uint8Array[];
  pseudoJson: Uint8Array[];
  pickles: Uint8Array[];
  generatorCkpt: Uint8Array[];
  encoderCkpt: Uint8Array[];
  legacyCkpt: Uint8Array[];
  video: Uint8Array[];
  encoder: SgaEncoder;
  videoPath?: string;
}

const f32 = (...v: number[]): number[] => [...Buffer.from(new Float32Array(v).buffer)];

export async function makeSeeds(dir: string): Promise<Seeds> {
  mkdirSync(dir, { recursive: true });
  const h5 = join(dir, 'seed.h5');
  await writeFeatureStore(h5, [
    { name: 'a', features: { data: Float32Array.from({ length: 24 }, (_, i) => i / 7), shape: [6, 4] } },
    { name: 'b', features: { data: Float32Array.from({ length: 24 }, (_, i) => -i), shape: [2, 3, 4] } },
  ]);
  const pl = join(dir, 'seed-pl.json');
  await writePseudoLabels(
    pl,
    new Map([
      ['01_0014', [0, 0.25, 1]],
      ['01_0015', [0.5]],
    ]),
    { dataset: 'x', featureKind: 'i3d', source: 's' },
  );
  const g = MilGenerator.create({ featureDim: 8, hidden: [4, 2], device: 'cpu' });
  const gp = join(dir, 'seed-generator.pt');
  await g.save(gp);
  g.dispose();
  const encoder = SgaEncoder.create({ backbone: 'c3d', width: 1 / 16, inputSize: [16, 32, 32], device: 'cpu' });
  const ep = join(dir, 'seed-encoder.pt');
  await encoder.save(ep);
  const video: Uint8Array[] = [];
  let videoPath: string | undefined;
  if (hasFfmpeg) {
    videoPath = join(dir, 'seed.mp4');
    ffmpeg(
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=32x32:rate=25',
      '-frames:v',
      '32',
      '-c:v',
      'mpeg4',
      '-q:v',
      '10',
      videoPath,
    );
    video.push(readFileSync(videoPath));
    const fast = join(dir, 'seed-fast.mp4');
    ffmpeg('-i', videoPath, '-c', 'copy', '-movflags', '+faststart', fast);
    video.push(readFileSync(fast));
  }
  const refs = join(ROOT, 'test', 'reference');
  return {
    dir,
    npy: [
      npyBytes(npyHeader('<f4', '(2, 3)'), f32(1, 2, 3, 4, 5, 6)),
      npyBytes(npyHeader('<f8', '(1, 2, 2)', 'True'), [...Buffer.from(new Float64Array([1, 2, 3, 4]).buffer)]),
      encodeNpy({ data: Uint8Array.from([0, 1, 1, 0]), shape: [4] }),
      readFileSync(join(ROOT, 'test', 'fixtures', 'td_f32_bigendian.npy')),
      readFileSync(join(ROOT, 'test', 'fixtures', 'td_f16.npy')),
      readFileSync(join(ROOT, 'test', 'fixtures', 'tkd_f32_fortran.npy')),
    ],
    c3d: [text('0.125 -1.5 3\n4e-3 5 6.25\n'), text('1,2,3,4\r\n5,6,7,8\r\n')],
    hdf5: [readFileSync(h5)],
    lists: [
      text('Abuse/Abuse028_x264.mp4\nTraining_Normal_Videos_Anomaly/Normal_Videos308_3_x264.mp4\n'),
      text('01_0014,1\n01_001,0\n'),
      text('01_0015,1,-1\n01_001,0,764\n'),
      text('/home/x/UCF/Abuse028_x264_i3d.npy\n/home/x/UCF/Normal_Videos_003_x264__3.npy\n'),
    ],
    ucfAnnotation: [
      text(
        'Abuse028_x264.mp4  Abuse  165  240  -1  -1\nArson011_x264.mp4 Arson 150 420 680 1267\nNormal_Videos_003_x264.mp4 Normal -1 -1 -1 -1\n',
      ),
    ],
    ucfCounts: [text('Abuse028_x264 1412\nArson011_x264 1266\nNormal_Videos_003_x264 500\n')],
    xd: [text('v=abc__#1_label_B1-0-0 16 48 100 140\nv=def__#1_label_G-0-0 0 32\n')],
    shList: [text('01_0015,1,-1\n01_001,0,64\n')],
    shMask: [encodeNpy({ data: Uint8Array.from({ length: 64 }, (_, i) => (i >= 16 && i < 40 ? 1 : 0)), shape: [64] })],
    manifestJson: [
      text(
        JSON.stringify(
          {
            format: 'mist-vad-video-manifest',
            version: 1,
            dataset: 'synthetic',
            videos: [
              {
                path: 'a.mp4',
                label: 'anomalous',
                split: 'test',
                intervals: [
                  [16, 48],
                  [100, 140],
                ],
                frameCount: 160,
              },
              { path: 'b/c.mp4', label: 'normal', split: 'train' },
              { path: 'd', label: 'anomalous', split: 'train', media: 'frames', className: 'Abuse' },
            ],
          },
          null,
          1,
        ),
      ),
    ],
    manifestCsv: [
      text('path,label,split,intervals,frameCount\na.mp4,anomalous,test,16-48;100-140,160\n"b,c.mp4",normal,train,,\n'),
    ],
    pseudoJson: [readFileSync(pl)],
    pickles: [
      pickledLabelsNpy(
        new Map([
          ['01_0014.npy', [0, 0.5, 1]],
          ['01_0015.npy', [0.25]],
        ]),
      ),
      readFileSync(join(refs, 'pickle-p2.npy')),
      readFileSync(join(refs, 'pickle-p4.npy')),
    ],
    generatorCkpt: [readFileSync(gp)],
    encoderCkpt: [readFileSync(ep), readFileSync(join(refs, 'encoders', 'i3d_port_tiny.pt'))],
    legacyCkpt: [
      readFileSync(join(refs, 'encoders', 'i3d_port_tiny_legacy.pt')),
      readFileSync(join(refs, 'encoders', 'legacy.pt')),
    ],
    video,
    encoder,
    ...(videoPath ? { videoPath } : {}),
  };
}

// ---- Zip records whose CRC is made right again, to reach the native loader ---------------

/** The records of a zip (central directory order): name, data start and size, directory entry. */
function zipRecords(b: Buffer): { name: string; start: number; size: number; entry: number; descriptor: number }[] {
  const end = b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let p = b.readUInt32LE(end + 16);
  let count = b.readUInt16LE(end + 10);
  if (p === 0xffffffff || count === 0xffff) {
    const rec = Number(b.readBigUInt64LE(end - 12));
    count = Number(b.readBigUInt64LE(rec + 32));
    p = Number(b.readBigUInt64LE(rec + 48));
  }
  const out = [];
  for (let i = 0; i < count; i++) {
    const nameLen = b.readUInt16LE(p + 28);
    const extraLen = b.readUInt16LE(p + 30);
    const local = b.readUInt32LE(p + 42);
    const size = b.readUInt32LE(p + 20);
    const start = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
    const flagged = (b.readUInt16LE(local + 6) & 8) !== 0;
    const d = start + size;
    const descriptor = flagged ? (b.readUInt32LE(d) === 0x08074b50 ? d + 4 : d) : -1;
    out.push({ name: b.toString('utf8', p + 46, p + 46 + nameLen), start, size, entry: p, descriptor });
    p += 46 + nameLen + extraLen + b.readUInt16LE(p + 32);
  }
  return out;
}

/** `base` with bytes changed inside one record's data and that record's CRC-32 recomputed. */
function crcFixed(base: Uint8Array, pick: number, ops: readonly { at: number; value: number }[]): Uint8Array {
  const b = Buffer.from(base);
  const recs = zipRecords(b).filter((r) => r.size > 0);
  const r = recs[pick % recs.length]!;
  // The pickle is the most interesting record: half of the inputs change it.
  const rec = pick % 2 === 0 ? (recs.find((x) => x.name.endsWith('data.pkl')) ?? r) : r;
  for (const o of ops) b[rec.start + (o.at % rec.size)] = o.value;
  const crc = crc32(b.subarray(rec.start, rec.start + rec.size));
  b.writeUInt32LE(crc, rec.entry + 16);
  if (rec.descriptor >= 0) b.writeUInt32LE(crc, rec.descriptor);
  return b;
}

// ---- The targets --------------------------------------------------------------------------

function write(file: string, bytes: Uint8Array): string {
  writeFileSync(file, bytes);
  return file;
}

/** A target over bytes written to `file` and read by `read`. */
function fileTarget(
  name: string,
  seeds: Uint8Array[],
  runs: number,
  read: (file: string) => unknown,
  valid?: (r: unknown) => void,
  options: { timeoutMs?: number; maxRandom?: number; arbitrary?: fc.Arbitrary<Uint8Array> } = {},
): Target<Uint8Array> {
  return {
    name,
    runs,
    timeoutMs: options.timeoutMs ?? 5000,
    arbitrary: options.arbitrary ?? bytesFrom(seeds, options.maxRandom),
    run: (input, file) => read(write(file, input)),
    ...(valid ? { valid } : {}),
    namesFile: true,
    encode: identity,
  };
}

/** Every reader target, over the seeds. File names end as the readers expect. */
export function readerTargets(seeds: Seeds): Target[] {
  const d = seeds.dir;
  const counts = join(d, 'counts.txt');
  writeFileSync(counts, seeds.ucfCounts[0]!);
  const masks = join(d, 'masks');
  mkdirSync(masks, { recursive: true });
  // Each target has its own input type; the list holds them as Targets of unknown input.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const t: Target<any>[] = [
    fileTarget(
      'npy',
      seeds.npy,
      300,
      (f) => parseNpy(readFileSync(f), f),
      (r) => {
        const a = r as { data: ArrayLike<unknown>; shape: number[] };
        check(shapeSize(a.shape) === a.data.length, `shape [${a.shape}] for ${a.data.length} values`);
      },
    ),
    fileTarget('features-npy', seeds.npy, 200, (f) => readFeatures(f), validFeatures),
    fileTarget('c3d-txt', seeds.c3d, 200, (f) => readC3dTxt(f), validFeatures),
    fileTarget(
      'hdf5',
      seeds.hdf5,
      80,
      async (f) => {
        const s = await openFeatureStore(f);
        try {
          const out = [];
          for (const n of s.names().slice(0, 4)) {
            try {
              out.push(s.read(n));
            } catch (e) {
              if (!(e instanceof MistError)) throw e;
              if (!e.message.includes(f))
                throw new Error(`read(${n}): ${e.code} does not name the file: ${e.message}`, { cause: e });
            }
          }
          return out;
        } finally {
          s.close();
        }
      },
      (r) => (r as unknown[]).forEach(validFeatures),
      { maxRandom: 2048 },
    ),
    fileTarget(
      'ucf-crime-list',
      seeds.lists,
      150,
      (f) => readUcfCrimeList(f),
      (r) => {
        for (const e of r as { name: string }[]) check(e.name.length > 0, 'an entry without a name');
      },
    ),
    fileTarget(
      'shanghaitech-list',
      seeds.lists,
      150,
      (f) => readShanghaiTechList(f),
      (r) => {
        for (const e of r as { name: string; frames?: number }[]) {
          check(e.name.length > 0, 'an entry without a name');
          check(e.frames === undefined || (Number.isSafeInteger(e.frames) && e.frames >= 0), `frames ${e.frames}`);
        }
      },
    ),
    fileTarget(
      'rtfm-list',
      seeds.lists,
      150,
      (f) => readRtfmList(f),
      (r) => {
        for (const e of r as { name: string }[]) check(e.name.length > 0, 'an entry without a name');
      },
    ),
    fileTarget(
      'ucf-crime-annotation',
      seeds.ucfAnnotation,
      150,
      (f) => loadUcfCrimeGroundTruth({ annotation: f, frameCounts: counts }),
      validGroundTruth,
    ),
    fileTarget(
      'ucf-crime-frame-counts',
      seeds.ucfCounts,
      120,
      (f) =>
        loadUcfCrimeGroundTruth({ annotation: write(join(d, 'ann.txt'), seeds.ucfAnnotation[0]!), frameCounts: f }),
      validGroundTruth,
    ),
    fileTarget(
      'xd-violence-annotation',
      seeds.xd,
      150,
      (f) =>
        loadXdViolenceGroundTruth({
          annotation: f,
          frameCounts: { 'v=abc__#1_label_B1-0-0': 320, 'v=def__#1_label_G-0-0': 64, 'v=n__#1_label_A': 32 },
        }),
      validGroundTruth,
    ),
    ...(['mask', 'list'] as const).map((part): Target<Uint8Array> => ({
      name: part === 'mask' ? 'shanghaitech-mask' : 'shanghaitech-list-gt',
      runs: 120,
      timeoutMs: 5000,
      arbitrary: bytesFrom(part === 'mask' ? seeds.shMask : seeds.shList),
      run: (input) => {
        const mask = write(join(masks, '01_0015.npy'), part === 'mask' ? input : seeds.shMask[0]!);
        const list = write(join(d, 'sh-list.txt'), part === 'list' ? input : seeds.shList[0]!);
        try {
          return loadShanghaiTechGroundTruth({ masks, list });
        } catch (e) {
          // The mask's path or the list's, by which one is wrong (or the video it names).
          if (
            e instanceof MistError &&
            !e.message.includes(mask) &&
            !e.message.includes(list) &&
            !e.message.includes(masks)
          ) {
            throw new Error(`${e.code} names neither the mask nor the list: ${e.message}`, { cause: e });
          }
          throw e;
        }
      },
      valid: validGroundTruth,
      namesFile: false,
      encode: identity,
    })),
    fileTarget(
      'manifest-json',
      seeds.manifestJson,
      200,
      (f) => readVideoManifest(f),
      (r) => {
        for (const v of (r as { videos: { intervals: [number, number][]; frameCount?: number }[] }).videos) {
          v.intervals.forEach(([s, e], i) => {
            check(s < e && (i === 0 || s >= v.intervals[i - 1]![1]), 'intervals not sorted and disjoint');
            check(v.frameCount === undefined || e <= v.frameCount, 'an interval past frameCount');
          });
        }
      },
    ),
    fileTarget('manifest-csv', seeds.manifestCsv, 200, (f) => readVideoManifest(f)),
    fileTarget(
      'pseudo-labels-json',
      seeds.pseudoJson,
      200,
      (f) => readPseudoLabels(f),
      (r) => {
        for (const v of (r as { labels: Map<string, Float32Array> }).labels.values())
          check(
            v.every((x) => x >= 0 && x <= 1),
            'a label outside [0, 1]',
          );
      },
    ),
    fileTarget('pickle', seeds.pickles, 300, (f) => readPickledNpy(f)),
    fileTarget(
      'official-pseudo-labels',
      seeds.pickles,
      200,
      (f) => readOfficialPseudoLabels(f),
      (r) => {
        for (const v of (r as { labels: Map<string, Float32Array> }).labels.values())
          check(
            v.every((x) => x >= 0 && x <= 1),
            'a label outside [0, 1]',
          );
      },
    ),
    fileTarget(
      'generator-checkpoint',
      seeds.generatorCkpt,
      60,
      async (f) => (await MilGenerator.load(f)).dispose(),
      undefined,
      { timeoutMs: 10_000, maxRandom: 4096 },
    ),
    fileTarget(
      'encoder-checkpoint',
      seeds.encoderCkpt,
      10,
      async (f) => (await SgaEncoder.load(f)).dispose(),
      undefined,
      { timeoutMs: 20_000, maxRandom: 4096 },
    ),
    {
      // Damage that keeps the CRCs right (as a writer's bug would), so that it reaches
      // LibTorch's zip reader and the package's unpickler.
      ...fileTarget('checkpoint-native-zip', [], 40, async (f) => (await MilGenerator.load(f)).dispose(), undefined, {
        timeoutMs: 10_000,
        arbitrary: fc
          .tuple(
            fc.constantFrom(...seeds.generatorCkpt),
            fc.nat(),
            fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
              minLength: 1,
              maxLength: 4,
            }),
          )
          .map(([b, pick, ops]) => crcFixed(b, pick, ops)),
      }),
      namesFile: true,
    },
    {
      ...fileTarget('encoder-state-dict-native', [], 15, async (f) => seeds.encoder.loadStateDict(f), undefined, {
        timeoutMs: 20_000,
        arbitrary: fc.oneof(
          fc
            .tuple(
              fc.constantFrom(...seeds.encoderCkpt),
              fc.nat(),
              fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
                minLength: 1,
                maxLength: 4,
              }),
            )
            .map(([b, pick, ops]) => crcFixed(b, pick, ops)),
          bytesFrom(seeds.legacyCkpt, 1024),
        ),
      }),
      namesFile: true,
    },
  ];
  if (seeds.video.length > 0) {
    t.push(
      fileTarget(
        'video',
        seeds.video,
        4,
        async (f) => {
          const v = await openVideo(f);
          let frames = 0;
          for await (const c of v.clips()) {
            check(c.data.length === c.shape[0] * c.shape[1] * c.shape[2] * 3, 'a clip of the wrong size');
            frames += c.shape[0];
          }
          return { frames, info: v.frames };
        },
        (r) =>
          check(
            (r as { frames: number; info: number }).frames <= (r as { info: number }).info,
            'more frames than probed',
          ),
        { timeoutMs: 30_000, maxRandom: 2048 },
      ),
    );
  }
  return t as Target[];
}

// ---- Option parsers -----------------------------------------------------------------------

/** Arbitrary values, and valid option objects with one field replaced by an arbitrary value. */
function optionValues(valid: Record<string, unknown>[]): fc.Arbitrary<unknown> {
  const anything = fc.anything({
    maxDepth: 3,
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    withNullPrototype: true,
    withSparseArray: true,
    withBoxedValues: true,
  });
  return fc.oneof(
    anything,
    fc.jsonValue({ maxDepth: 3 }),
    fc
      .tuple(fc.constantFrom(...valid), fc.string({ maxLength: 12 }), fc.nat(), anything)
      .map(([v, key, pick, value]) => {
        const keys = Object.keys(v);
        const k = keys.length > 0 && pick % 3 !== 0 ? keys[pick % keys.length]! : key;
        return { ...v, [k]: value };
      }),
  );
}

/** The zod schemas of the readers and of the training, scoring and evaluation entry points. */
export function optionTargets(seeds: Seeds): Target[] {
  const schemas: [string, Parameters<typeof parseOptions>[0], Record<string, unknown>[]][] = [
    ['readFeatures', ReadFeaturesOptionsSchema, [{ key: 'a', allCrops: false, allowNonFinite: true }]],
    ['openVideo', OpenVideoOptionsSchema, [{ width: 112, height: 112, countFrames: 'header', lastClip: 'pad' }]],
    ['readFrames', ReadFramesOptionsSchema, [{ width: 64, cropWidth: 32, order: 'bgr', fps: 30 }]],
    [
      'UCF-Crime ground truth',
      UcfCrimeGroundTruthOptionsSchema,
      [{ annotation: 'a.txt', frameCounts: { a: 3 }, convention: 'inclusive' }],
    ],
    ['ShanghaiTech ground truth', ShanghaiTechGroundTruthOptionsSchema, [{ masks: 'm', list: 'l', truncate: false }]],
    [
      'XD-Violence ground truth',
      XdViolenceGroundTruthOptionsSchema,
      [{ labelsDir: 'd' }, { annotation: 'a', frameCounts: { a: 1 } }],
    ],
    ['RTFM ground truth', RtfmGroundTruthOptionsSchema, [{ gt: 'g.npy', list: 'l.list', lengths: [16, 32] }]],
    ['trainGenerator', GeneratorTrainOptionsSchema, [{ preset: 'ucf-crime-c3d', steps: 10, seed: 1 }]],
    [
      'finetuneEncoder',
      FinetuneEncoderOptionsSchema,
      [{ preset: 'shanghaitech-i3d', epochs: 2, model: { backbone: 'c3d' } }],
    ],
    ['scoreVideo', ScoreVideoOptionsSchema, [{ batchSize: 4, tail: 'pad', attention: true }]],
    ['evaluate', EvaluateOptionsSchema, [{ scoreLayout: 'frames', fill: 'last', farThreshold: 0.3 }]],
  ];
  const judgeArg = (fn: () => unknown): Promise<unknown> =>
    Promise.resolve()
      .then(fn)
      .catch((e: unknown) => {
        // Only ERR_MIST_ARG is an answer to a bad option value.
        if (e instanceof MistError && e.code !== ErrorCode.ARG) {
          throw new Error(`${e.code} (not ERR_MIST_ARG) for an option value: ${e.message}`, { cause: e });
        }
        throw e;
      });
  const targets: Target[] = schemas.map(([name, schema, valid]) => ({
    name: `options: ${name}`,
    runs: 100,
    timeoutMs: 5000,
    arbitrary: optionValues(valid),
    run: (input: unknown) => judgeArg(() => parseOptions(schema, input, `${name} options`)),
    namesFile: false,
    encode: (v: unknown) => text(fc.stringify(v)),
  }));
  targets.push(
    {
      name: 'options: resolve trainGenerator and finetuneEncoder presets',
      runs: 100,
      timeoutMs: 5000,
      arbitrary: optionValues([
        { preset: 'shanghaitech-i3d', steps: 3 },
        { preset: 'ucf-crime-i3d', epochs: 1 },
      ]),
      run: (input: unknown) =>
        judgeArg(async () => {
          try {
            resolveGeneratorTrainOptions(input as never);
          } catch (e) {
            if (!(e instanceof MistError)) throw e;
          }
          return resolveEncoderHyperparameters(input as never);
        }),
      namesFile: false,
      encode: (v: unknown) => text(fc.stringify(v)),
    },
    {
      name: 'options: trainGenerator, finetuneEncoder, evaluate, scoreVideo called with them',
      runs: 15,
      timeoutMs: 10_000,
      arbitrary: optionValues([{ preset: 'ucf-crime-c3d', steps: 1 }, { batchSize: 2 }, { scoreLayout: 'clips' }]),
      run: async (input: unknown) => {
        const outcomes: string[] = [];
        const gt: GroundTruth = {
          dataset: 'synthetic',
          videos: [],
          totalFrames: 0,
          anomalousFrames: 0,
          anomalousVideos: 0,
        };
        for (const call of [
          () => trainGenerator(input as never),
          () => finetuneEncoder(input as never),
          () => evaluate(input as never),
          () =>
            evaluate({
              scores: new Map(),
              groundTruth: gt,
              ...(typeof input === 'object' ? (input as object) : {}),
            } as never),
          ...(seeds.videoPath ? [() => scoreVideo(seeds.videoPath!, seeds.encoder, input as never)] : []),
        ]) {
          try {
            await call();
            outcomes.push('value');
          } catch (e) {
            if (!(e instanceof MistError)) throw e;
            outcomes.push(e.code);
          }
        }
        return outcomes;
      },
      namesFile: false,
      encode: (v: unknown) => text(fc.stringify(v)),
    },
  );
  return targets;
}
