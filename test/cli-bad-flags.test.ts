// Bad flags and config values across the commands of `mist`: each exits non-zero with exactly
// one line on stderr that names the flag or field and what was expected, no stack trace, and
// does no work (the output it was given is not created).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { mist, packageData, tempDir, test } from './helpers.js';

const { dir, cleanup } = tempDir('mist-test-cli-bad-flags-');
test.after(cleanup);

const FEATURES = packageData('ucf-crime', 'c3d_32seg');
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const split = file('split.csv', 'Arson041_x264,1\nNormal_Videos_006_x264,0\n');
const manifest = file(
  'manifest.json',
  JSON.stringify({
    videos: [
      { path: 'a.mp4', label: 'anomalous', split: 'test', intervals: [[0, 16]], frameCount: 32 },
      { path: 'n.mp4', label: 'normal', split: 'test', frameCount: 32 },
    ],
  }),
);
const labels = file('labels.json', '{}');
const scores = join(dir, 'scores');
mkdirSync(scores);
file('scores/a.npy', '');
/** Where a case's output would go: must not exist afterwards. */
const out = (k: number) => join(dir, `out-${k}`);

interface Case {
  what: string;
  args: (o: string) => string[];
  /** What the one line must say: the flag or field, and what was expected. */
  says: RegExp;
}

const TRAIN = ['train-generator', '--features', FEATURES, '--train', split];
const FINETUNE = ['finetune', '--manifest', manifest, '--pseudo-labels', labels];
const PSEUDO = ['pseudo-labels', '--generator', join(dir, 'g.pt'), '--features', FEATURES, '--train', split];

const CASES: Case[] = [
  {
    what: 'unknown flag',
    args: (o) => [...TRAIN, '--preset', 'ucf-crime-c3d', '--stpes', '3', '--out', o],
    says: /Unknown option '--stpes'/,
  },
  {
    what: 'missing value',
    args: (o) => [...TRAIN, '--out', o, '--preset'],
    says: /--preset <value>' argument missing/,
  },
  {
    what: 'hex number',
    args: (o) => [...TRAIN, '--preset', 'ucf-crime-c3d', '--steps', '0x10', '--out', o],
    says: /--steps: must be a decimal number \(got "0x10"\)/,
  },
  {
    what: 'empty list item',
    args: () => ['bench', '--input-size', '16,,32'],
    says: /--input-size: must be three comma-separated integers T,H,W \(got "16,,32"\)/,
  },
  {
    what: 'negative epochs',
    args: (o) => [...FINETUNE, '--preset', 'shanghaitech-c3d', '--epochs', '-3', '--checkpoint-dir', o],
    says: /--epochs: must be a positive integer \(got -3\)/,
  },
  {
    what: 'unknown preset',
    args: (o) => [...FINETUNE, '--preset', 'shanghaitech-x3d', '--checkpoint-dir', o],
    says: /--preset: must be one of shanghaitech-c3d, .* \(got "shanghaitech-x3d"\)/,
  },
  {
    what: 'config with a misspelt field',
    args: (o) => [
      ...FINETUNE,
      '--config',
      file('misspelt.json', '{"preset": "shanghaitech-c3d", "epoch": 3}'),
      '--checkpoint-dir',
      o,
    ],
    says: /config .*misspelt\.json: epoch: unknown option/,
  },
  {
    what: 'config value of the wrong type',
    args: (o) => [...TRAIN, '--config', file('type.json', '{"preset": "ucf-crime-c3d", "steps": "ten"}'), '--out', o],
    says: /config .*type\.json: steps: must be a positive integer \(got "ten"\)/,
  },
  {
    what: 'nested config field of the wrong type',
    args: (o) => [
      ...FINETUNE,
      '--config',
      file('model.json', '{"preset": "shanghaitech-c3d", "model": {"width": "wide"}}'),
      '--checkpoint-dir',
      o,
    ],
    says: /config .*model\.json: model\.width: .*number.* \(got "wide"\)/,
  },
  {
    what: 'non-JSON config',
    args: (o) => [...TRAIN, '--config', file('bad.json', '{"preset": '), '--out', o],
    says: /--config .*bad\.json is not JSON/,
  },
  {
    what: 'missing config file',
    args: (o) => [...FINETUNE, '--config', join(dir, 'none.json'), '--checkpoint-dir', o],
    says: /cannot read --config .*none\.json: no such file or directory \(ENOENT\)/,
  },
  {
    what: 'missing score file',
    args: (o) => ['eval', join(dir, 'nothing.npy'), '--manifest', manifest, '--report', join(o, 'r.html')],
    says: /score file .*nothing\.npy does not exist/,
  },
  {
    what: 'missing features folder',
    args: (o) => [
      'pseudo-labels',
      '--generator',
      join(dir, 'g.pt'),
      '--features',
      join(dir, 'nofeatures'),
      '--train',
      split,
      '--preset',
      'ucf-crime-c3d',
      '--out',
      join(o, 'p.json'),
    ],
    says: /--features .*nofeatures does not exist/,
  },
  {
    what: 'missing pseudo-label file',
    args: (o) => [
      'finetune',
      '--manifest',
      manifest,
      '--pseudo-labels',
      join(dir, 'nolabels.json'),
      '--preset',
      'shanghaitech-c3d',
      '--checkpoint-dir',
      o,
    ],
    says: /--pseudo-labels .*nolabels\.json does not exist/,
  },
  {
    what: 'positional where none is taken',
    args: (o) => [...PSEUDO, 'stray', '--preset', 'ucf-crime-c3d', '--out', join(o, 'p.json')],
    says: /mist pseudo-labels takes no arguments, only flags \(got "stray"\)/,
  },
  { what: 'bad --device', args: () => ['bench', '--device', 'gpu'], says: /--device: .*cuda.* \(got "gpu"\)/ },
  {
    what: 'bad --layout',
    args: (o) => ['eval', scores, '--manifest', manifest, '--layout', 'seconds', '--report', join(o, 'r.html')],
    says: /--layout: .*"clips"\|"segments"\|"frames".* \(got "seconds"\)/,
  },
  {
    what: 'missing required flag',
    args: (o) => [
      'pseudo-labels',
      '--features',
      FEATURES,
      '--train',
      split,
      '--preset',
      'ucf-crime-c3d',
      '--out',
      join(o, 'p.json'),
    ],
    says: /--generator: is required/,
  },
  {
    what: 'neither --preset nor --l2-normalize',
    args: (o) => [...PSEUDO, '--out', join(o, 'p.json')],
    says: /--l2-normalize: is required without --preset/,
  },
  {
    what: 'bad boolean value',
    args: (o) => [...PSEUDO, '--l2-normalize', 'yes', '--out', join(o, 'p.json')],
    says: /--l2-normalize: must be true or false \(got "yes"\)/,
  },
  {
    what: 'bad --crop',
    args: (o) => [...PSEUDO, '--preset', 'ucf-crime-c3d', '--crop', 'first', '--out', join(o, 'p.json')],
    says: /--crop: .*mean.*\(got "first"\)/,
  },
  {
    what: 'bad output extension',
    args: (o) => [...PSEUDO, '--preset', 'ucf-crime-c3d', '--out', join(o, 'p.txt')],
    says: /--out: must end in \.json/,
  },
  {
    what: 'report not .html',
    args: (o) => [...FINETUNE, '--preset', 'shanghaitech-c3d', '--report', 'r.pdf', '--checkpoint-dir', o],
    says: /--report: must end in \.html \(got "r\.pdf"\)/,
  },
  {
    what: 'fractional seed',
    args: (o) => [...TRAIN, '--preset', 'ucf-crime-c3d', '--seed', '1.5', '--out', o],
    says: /--seed: must be an integer in \[0, 2\^32\) \(got 1\.5\)/,
  },
  {
    what: 'unknown loss',
    args: (o) => [...TRAIN, '--preset', 'ucf-crime-c3d', '--loss', 'hinge', '--out', o],
    says: /--loss: must be 'topk' or 'subbag' \(got "hinge"\)/,
  },
  {
    what: 'no scores for eval',
    args: (o) => ['eval', '--manifest', manifest, '--report', join(o, 'r.html')],
    says: /no scores: give score files/,
  },
  {
    what: 'no ground truth for eval',
    args: (o) => ['eval', scores, '--report', join(o, 'r.html')],
    says: /--manifest or --dataset: one is required/,
  },
  {
    what: 'unknown --dataset',
    args: (o) => ['eval', scores, '--dataset', 'avenue', '--report', join(o, 'r.html')],
    says: /--dataset: must be one of ucf-crime, shanghaitech, xd-violence \(got "avenue"\)/,
  },
  {
    what: 'bad --far-threshold',
    args: (o) => ['eval', scores, '--manifest', manifest, '--far-threshold', 'half', '--report', join(o, 'r.html')],
    says: /--far-threshold: must be a decimal number \(got "half"\)/,
  },
  {
    what: 'eval config with a misspelt field',
    args: (o) => [
      'eval',
      scores,
      '--manifest',
      manifest,
      '--config',
      file('eval.json', '{"scoreLayuot": "clips"}'),
      '--report',
      join(o, 'r.html'),
    ],
    says: /config .*eval\.json: scoreLayuot: unknown option/,
  },
  {
    what: '--encoder without --manifest',
    args: () => ['eval', '--encoder', 'e.pt', '--dataset', 'ucf-crime'],
    says: /--manifest: is required with --encoder/,
  },
  {
    what: 'ShanghaiTech test without masks',
    args: (o) => [...TRAIN, '--preset', 'shanghaitech-i3d', '--test', split, '--out', o],
    says: /--masks: is required with a ShanghaiTech --test/,
  },
  {
    what: 'zero --save-every',
    args: (o) => [...TRAIN, '--preset', 'ucf-crime-c3d', '--save-every', '0', '--out', o],
    says: /--save-every: must be a positive integer \(steps\) \(got 0\)/,
  },
  { what: 'zero batch', args: () => ['bench', '--batch', '0'], says: /--batch: must be a positive integer \(got 0\)/ },
  {
    what: 'negative frame cache',
    args: (o) => [...FINETUNE, '--preset', 'shanghaitech-c3d', '--frame-cache-mb', '-1', '--checkpoint-dir', o],
    says: /--frame-cache-mb: .*>=0 \(got -1\)/,
  },
  {
    what: 'two-number --input-size',
    args: (o) => [...FINETUNE, '--preset', 'shanghaitech-c3d', '--input-size', '16,32', '--checkpoint-dir', o],
    says: /--input-size: .*3 items|--input-size: .*T,H,W/,
  },
  {
    what: 'self-train report not .html',
    args: (o) => [
      'self-train',
      '--manifest',
      manifest,
      '--dir',
      o,
      '--stage1-preset',
      'ucf-crime-c3d',
      '--stage2-preset',
      'ucf-crime-c3d',
      '--report',
      'r.md',
    ],
    says: /--report: must end in \.html \(got "r\.md"\)/,
  },
];

test(`${CASES.length} bad flags and config values: one line naming the flag and what was expected, exit 1, no work`, () => {
  assert.ok(CASES.length >= 20);
  const failures: string[] = [];
  CASES.forEach((c, k) => {
    const o = out(k);
    const args = c.args(o);
    const r = mist(args);
    const lines = r.stderr.trim().split('\n');
    console.log(
      `# ${c.what}: mist ${args.map((a) => a.replace(dir, '$T').replace(FEATURES, '$F')).join(' ')}\n#   -> ${lines.join(' | ').replaceAll(dir, '$T')}`,
    );
    const problems = [
      r.status === 0 && `exit status ${String(r.status)}`,
      lines.length !== 1 && `${lines.length} lines on stderr`,
      !/^mist: /.test(lines[0] ?? '') && 'the line does not start with "mist: "',
      !c.says.test(lines[0] ?? '') && `the line does not match ${String(c.says)}`,
      /\n\s+at /.test(r.stderr) && 'a stack trace',
      r.stdout.trim() !== '' && `stdout: ${r.stdout.trim().slice(0, 80)}`,
      existsSync(o) && `${o} was created`,
    ].filter(Boolean);
    if (problems.length > 0) failures.push(`${c.what}: ${problems.join('; ')}\n    ${r.stderr.trim()}`);
  });
  assert.equal(failures, [], failures.join('\n'));
});

test.run();
