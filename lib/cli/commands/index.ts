// The commands of `mist`, by name, in the order `mist --help` lists them.
import type { Command } from '../command.js';
import { benchCommand } from './bench.js';
import { demoCommand } from './demo.js';
import { evalCommand } from './eval.js';
import { extractCommand } from './extract.js';
import { finetuneCommand } from './finetune.js';
import { infoCommand } from './info.js';
import { pseudoLabelsCommand } from './pseudo-labels.js';
import { reportCommand } from './report.js';
import { scoreCommand } from './score.js';
import { selfTrainCommand } from './self-train.js';
import { trainGeneratorCommand } from './train-generator.js';

export const COMMANDS: Record<string, Command> = {
  info: infoCommand,
  demo: demoCommand,
  'train-generator': trainGeneratorCommand,
  // The same command under its first name: `mist --help` lists it as an alias.
  train: trainGeneratorCommand,
  'pseudo-labels': pseudoLabelsCommand,
  finetune: finetuneCommand,
  'self-train': selfTrainCommand,
  extract: extractCommand,
  score: scoreCommand,
  eval: evalCommand,
  report: reportCommand,
  bench: benchCommand,
};
