// What the commands that do long work share: reading argv (--help, positionals), the --config
// file, Ctrl-C as an AbortSignal, and the --json lines on stdout.
import { readFileSync } from 'node:fs';

import type { z } from 'zod';

import { ErrorCode, MistError, ioError } from '../errors.js';
import { parseOptions } from '../options.js';
import { parseFlags, splitPositionals, type Flags, type FlagSpecs } from './args.js';

/**
 * A command's argv: the flags parsed by their schemas and the positional arguments. Sync.
 * Returns undefined after printing `help` when --help is given. A value flag's negative
 * number (`--epochs -3`) is its value, so that its schema, not the parser, judges it. Throws
 * what parseFlags throws (an unknown flag first), then ERR_MIST_ARG for a positional when the
 * command takes none (`positionals: false`).
 */
export function commandArgs<S extends FlagSpecs>(
  command: string,
  argv: string[],
  specs: S,
  help: string,
  positionals = false,
): { flags: Flags<S>; positionals: string[] } | undefined {
  const split = splitPositionals(argv, specs);
  if (split.flags.includes('--help') || split.flags.includes('-h')) {
    console.log(help);
    return undefined;
  }
  const words: string[] = [];
  for (let i = 0; i < split.flags.length; i++) {
    const w = split.flags[i]!;
    const spec = w.startsWith('--') && !w.includes('=') ? specs[w.slice(2)] : undefined;
    const next = split.flags[i + 1];
    if (spec && !spec.switch && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      words.push(`${w}=${next}`);
      i++;
    } else words.push(w);
  }
  const flags = parseFlags(command, words, specs);
  if (!positionals && split.positionals.length > 0) {
    throw new MistError(
      ErrorCode.ARG,
      `mist ${command} takes no arguments, only flags (got ${JSON.stringify(split.positionals[0])})`,
    );
  }
  return { flags, positionals: split.positionals };
}

/**
 * Reads `--config FILE`: JSON validated by `schema` (a strictObject, so a misspelt field is
 * named). Sync. Throws ERR_MIST_IO (unreadable), ERR_MIST_FORMAT (not JSON), ERR_MIST_ARG
 * (`invalid config FILE: field: what was expected (got value)`).
 */
export function readConfig<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw ioError(e, 'read --config', file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MistError(ErrorCode.FORMAT, `--config ${file} is not JSON: ${(e as Error).message}`);
  }
  return parseOptions(schema, json, `config ${file}`);
}

/** Whether `e` is the ERR_MIST_ABORTED a cancelled operation throws. */
export function isAborted(e: unknown): boolean {
  return e instanceof MistError && e.code === ErrorCode.ABORTED;
}

/**
 * Runs `work` with an AbortSignal that Ctrl-C (SIGINT) or SIGTERM fires; a second Ctrl-C
 * ends the process at once. When the work stops because of the signal, `interrupted` (given
 * the work's ERR_MIST_ABORTED) says what was kept: its words become the one line of the
 * ERR_MIST_ABORTED error thrown. Async.
 */
export async function interruptible<T>(
  work: (signal: AbortSignal) => Promise<T>,
  interrupted: (e: MistError) => string,
): Promise<T> {
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work(ac.signal);
  } catch (e) {
    if (ac.signal.aborted && isAborted(e)) {
      throw new MistError(ErrorCode.ABORTED, `interrupted: ${interrupted(e as MistError)}`, { cause: e });
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

// Typed arrays become plain arrays (JSON.stringify would write them as objects).
const plain = (_key: string, v: unknown): unknown =>
  ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as Float32Array) : v;

/** Writes one JSON line on stdout: `{"event": event, ...fields}`. Sync. */
export function emit(event: string, fields: object = {}): void {
  console.log(JSON.stringify({ event, ...fields }, plain));
}

/** `x.toFixed(digits)`, or `-` for undefined and NaN. */
export function fixed(x: number | undefined | null, digits = 4): string {
  return x === undefined || x === null || Number.isNaN(x) ? '-' : x.toFixed(digits);
}
