// The one argument coercion of the CLI: every flag is a string (or a boolean switch) that goes
// through the same zod schema the API validates that option with, so `--steps abc` and
// `steps: 'abc'` fail with the same words, and no flag reaches the API unchecked.
import { parseArgs } from 'node:util';

import { z } from 'zod';

import { parseOptions } from '../options.js';

/** One flag: a value flag with the schema of what it becomes, or a boolean switch. */
export interface FlagSpec {
  /** The schema the flag's string goes through (numberFlag, listFlag, or the API's own). */
  schema: z.ZodType;
  /** A switch takes no value; its schema sees true or undefined. */
  switch?: boolean;
  /** One line for --help. */
  help: string;
  /** The value's placeholder in --help (default: N for numbers, the flag's name otherwise). */
  arg?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

/** The parsed flags: each flag's schema output, keyed by the flag's name. */
export type Flags<S extends FlagSpecs> = { [K in keyof S]: z.output<S[K]['schema']> };

// Plain decimal numbers only: no hex, no blanks, no trailing text (Number() would take
// '0x10', ' 12 ' and '' as 16, 12 and 0).
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A flag whose text is a decimal number, then checked by `schema` (the API's own). */
export function numberFlag<S extends z.ZodType<unknown, number>>(schema: S) {
  return z.string().regex(DECIMAL, { error: 'must be a decimal number' }).transform(Number).pipe(schema);
}

/** A comma-separated list of decimal numbers, each checked by `item`; the list by `list`. */
export function listFlag<S extends z.ZodType<unknown, number>>(item: S, what = 'a comma-separated list of numbers') {
  return z
    .string()
    .transform((s, ctx) => {
      const parts = s.split(',');
      if (parts.some((p) => !DECIMAL.test(p))) {
        ctx.addIssue({ code: 'custom', message: `must be ${what} (got "${s}")` });
        return z.NEVER;
      }
      return parts.map(Number);
    })
    .pipe(z.array(item).min(1));
}

/** A flag that must be given: `--name: is required` when it is not, else checked by `schema`. */
export function required<S extends z.ZodType>(schema: S): z.ZodType<z.output<S>, z.input<S> | undefined> {
  return schema.optional().refine((v) => v !== undefined, { error: 'is required' }) as never;
}

/**
 * Parses a command's argv. Sync. Unknown flags and missing values fail as node:util's
 * parseArgs reports them; each value then goes through its schema, and every bad flag is
 * named in one ERR_MIST_ARG line (`invalid flags of mist train: --steps: must be ...`).
 */
export function parseFlags<S extends FlagSpecs>(command: string, argv: string[], specs: S): Flags<S> {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, spec] of Object.entries(specs)) options[name] = { type: spec.switch ? 'boolean' : 'string' };
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  const shape: Record<string, z.ZodType> = {};
  const input: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    shape[`--${name}`] = spec.schema;
    input[`--${name}`] = values[name];
  }
  const parsed = parseOptions(z.object(shape), input, `flags of mist ${command}`) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(specs)) out[name] = parsed[`--${name}`];
  return out as Flags<S>;
}

/** The --help text of a command: its synopsis, then one line per flag. */
export function flagHelp(synopsis: string, specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const left = s.switch ? `--${name}` : `--${name} ${s.arg ?? 'VALUE'}`;
    return `  ${left.padEnd(24)} ${s.help}`;
  });
  return `${synopsis}\n\n${rows.join('\n')}`;
}

/**
 * Splits argv into flags (each value flag with its value) and the positional arguments between
 * them (`-` is a positional: standard input; everything after `--` is positional). Sync.
 */
export function splitPositionals(
  argv: readonly string[],
  specs: FlagSpecs,
): { flags: string[]; positionals: string[] } {
  const flags: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    flags.push(a);
    const spec = specs[a.slice(2)];
    // A value flag takes the next word (parseArgs reports one left without it).
    if (spec && !spec.switch && !a.includes('=') && i + 1 < argv.length) flags.push(argv[++i]!);
  }
  return { flags, positionals };
}
