// The commands of `mist`, by name, in the order `mist --help` lists them.
import type { Command } from '../command.js';
import { demoCommand } from './demo.js';
import { extractCommand } from './extract.js';
import { infoCommand } from './info.js';
import { scoreCommand } from './score.js';
import { selfTrainCommand } from './self-train.js';
import { trainCommand } from './train.js';

export const COMMANDS: Record<string, Command> = {
  info: infoCommand,
  demo: demoCommand,
  train: trainCommand,
  score: scoreCommand,
  extract: extractCommand,
  'self-train': selfTrainCommand,
};
