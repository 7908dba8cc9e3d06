// `mist self-train` as a user runs it: the rounds from a manifest and a JSON config give the
// AUCs the API gives for the same options; --resume of a finished run redoes nothing; bad
// configs and flags give one line and exit status 1.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { selfTrain } from '../lib/index.js';
import { makeSelfTrainVideos, readSelfTrainManifest, SEED, STAGE1, STAGE2 } from './fixtures/selftrain-setup.js';
import { hasFfmpeg, mist, skip, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-selftrain-cli-');
test.after(cleanup);

const ENCODER_FLAGS = ['--backbone', 'c3d', '--width', '0.125', '--input-size', '16,32,32'];
const config = join(dir, 'run.json');
/** `mist self-train` on the small run's videos, config and encoder, into `out`. */
const selfTrainCli = (manifest: string, out: string, ...more: string[]) =>
  mist(['self-train', '--manifest', manifest, '--dir', out, '--config', config, ...ENCODER_FLAGS, ...more]);
writeFileSync(config, JSON.stringify({ stage1: STAGE1, stage2: STAGE2, rounds: 2, seed: SEED }));

test('the rounds from --manifest and --config: the AUCs of selfTrain() with the same options; --resume redoes nothing', async () => {
  if (!hasFfmpeg) return skip('ffmpeg');
  const manifestPath = await makeSelfTrainVideos(dir);
  const manifest = readSelfTrainManifest(manifestPath);
  const api = await selfTrain({
    dir: join(dir, 'api'),
    rounds: 2,
    seed: SEED,
    videos: manifest,
    test: manifest,
    encoder: { backbone: 'c3d', width: 0.125, inputSize: [16, 32, 32] },
    stage1: STAGE1,
    stage2: STAGE2,
  });
  api.encoder.dispose();
  const expected = api.rounds.map((r) => [r.round, r.stage1!.auc, r.stage2!.auc]);

  const out = join(dir, 'cli');
  const r = selfTrainCli(manifestPath, out, '--json');
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const result = lines.at(-1) as { event: string; rounds: { round: number; stage1Auc: number; stage2Auc: number }[] };
  assert.is(result.event, 'result');
  assert.equal(
    result.rounds.map((x) => [x.round, x.stage1Auc, x.stage2Auc]),
    expected,
  );
  // Progress events of every stage of both rounds came before the result.
  const stages = new Set(
    lines.filter((l) => l.event === 'progress').map((l) => `${l.round as number}:${l.stage as string}`),
  );
  for (const k of ['1:features', '1:stage1', '1:stage2', '2:features', '2:stage1', '2:stage2'])
    assert.ok(stages.has(k), k);
  assert.is(lines.filter((l) => l.event === 'round').length, 2);

  // A finished run resumed: nothing is trained again, the same table comes back.
  const again = selfTrainCli(manifestPath, out, '--resume');
  assert.is(again.status, 0, again.stderr);
  assert.not.match(again.stderr, /stage 2 epoch/);
  const rows = again.stdout.trim().split('\n').slice(1);
  assert.equal(
    rows.map((l) => l.trim().split(/\s+/).slice(0, 3).map(Number)),
    expected.map(([k, a, b]) => [k, Number(a!.toFixed(4)), Number(b!.toFixed(4))]),
  );
  // Without --resume the folder that holds a run is refused.
  const refused = selfTrainCli(manifestPath, out);
  assert.is(refused.status, 1);
  assert.match(refused.stderr, /ERR_MIST_ARG/);
});

test('bad configs and flags: one line naming the problem, exit status 1, no stack trace', () => {
  const manifest = join(dir, 'videos', 'manifest.json');
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const cases: [string[], RegExp][] = [
    [['--dir', join(dir, 'x')], /--manifest/],
    [['--manifest', manifest, '--dir', join(dir, 'x')], /--config with stage1 and stage2/],
    [['--manifest', manifest, '--dir', join(dir, 'x'), '--config', write('bad.json', '{"stage1": ')], /is not JSON/],
    [
      ['--manifest', manifest, '--dir', join(dir, 'x'), '--config', write('extra.json', '{"stages": 2}')],
      /config .*extra\.json.*stages/,
    ],
    [
      [
        '--manifest',
        manifest,
        '--dir',
        join(dir, 'x'),
        '--config',
        write('steps.json', JSON.stringify({ stage1: { ...STAGE1, steps: -3 }, stage2: STAGE2 })),
      ],
      /stage1\.steps/,
    ],
    [['--manifest', manifest, '--dir', join(dir, 'x'), '--rounds', '0x2'], /--rounds/],
    [['--manifest', manifest, '--dir', join(dir, 'x'), '--stage1-preset', 'nope'], /--stage1-preset/],
    [['--manifest', join(dir, 'missing.json'), '--dir', join(dir, 'x'), '--config', config], /missing\.json/],
    [['--manifest', manifest, '--dir', join(dir, 'x'), 'stray'], /takes no arguments/],
  ];
  for (const [args, re] of cases) {
    const r = mist(['self-train', ...args]);
    assert.is(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('WARNING'));
    assert.is(lines.length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(lines[0]!, /^mist: /);
    assert.match(lines[0]!, re);
    assert.not.match(r.stderr, /\n\s+at /);
  }
  const help = mist(['self-train', '--help']);
  assert.is(help.status, 0);
  for (const f of ['--manifest', '--dir', '--config', '--resume', '--json', '--weights']) assert.match(help.stdout, f);
});

test.run();
