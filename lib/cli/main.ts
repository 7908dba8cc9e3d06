#!/usr/bin/env node
// The `mist` command line (the package's bin). It only dispatches: each command is a file in
// commands/, a small function over the public API. Nothing imports this module.
import { MistError } from '../errors.js';
import type { Command } from './command.js';
import { COMMANDS } from './commands/index.js';

function usage(): string {
  // A command registered under a second name is listed as an alias of the first.
  const first = new Map<Command, string>();
  const lines = Object.entries(COMMANDS).map(([n, c]) => {
    const original = first.get(c);
    if (original === undefined) first.set(c, n);
    return `  mist ${n.padEnd(16)} ${original === undefined ? c.summary : `alias of ${original}`}`;
  });
  return `usage: mist <command> [options]\n\n${lines.join('\n')}\n\nmist <command> --help for a command's options`;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`mist: unknown command '${name}'\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  await cmd.run(rest);
}

// node:util parseArgs's own errors: an unknown flag, a flag without its value, a stray word.
const PARSE_ARGS_CODES = new Set([
  'ERR_PARSE_ARGS_UNKNOWN_OPTION',
  'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
  'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL',
]);

main(process.argv.slice(2)).catch((e: unknown) => {
  const err = e as Error & { code?: string };
  // Coded errors are the user's to fix: one line. Anything else is a bug: show the stack.
  if (err instanceof MistError) {
    console.error(`mist: ${err.message} [${err.code}]`);
  } else if (err.code && PARSE_ARGS_CODES.has(err.code)) {
    console.error(`mist: ${err.message.split('\n')[0]} (mist <command> --help lists the options)`);
  } else {
    console.error(err.stack ?? String(err));
  }
  process.exitCode = 1;
});
