// `mist report`: renders a saved report's data (the .json written beside every HTML report)
// into its self-contained HTML page again.
import { z } from 'zod';

import { writeFileAtomic } from '../../data/files.js';
import { ErrorCode, MistError } from '../../errors.js';
import { readReportData, renderHtmlReport } from '../../report/html.js';
import { flagHelp, parseFlags, splitPositionals, type FlagSpecs } from '../args.js';
import type { Command } from '../command.js';

const FLAGS = {
  out: {
    schema: z
      .string()
      .regex(/\.html?$/i, { error: 'must end in .html' })
      .optional(),
    arg: 'FILE',
    help: 'the HTML file to write (default: the JSON file with .html)',
  },
  help: { schema: z.boolean().optional(), switch: true, help: 'this text' },
} satisfies FlagSpecs;

export const REPORT_USAGE = flagHelp(
  'mist report <report.json> [--out report.html]\n\n' +
    'Renders the data of a report (the .json beside its .html) as one self-contained HTML file.',
  FLAGS,
);

/** Runs `mist report` with its command-line arguments. Async. */
async function run(argv: string[]): Promise<void> {
  const { flags, positionals } = splitPositionals(argv, FLAGS);
  if (flags.includes('--help') || flags.includes('-h')) {
    console.log(REPORT_USAGE);
    return;
  }
  const f = parseFlags('report', flags, FLAGS);
  if (positionals.length !== 1) {
    throw new MistError(
      ErrorCode.ARG,
      positionals.length === 0
        ? 'no report: give the .json of a report (mist report --help)'
        : `one report at a time (got ${positionals.length})`,
    );
  }
  const input = positionals[0]!;
  const out = f.out ?? (/\.json$/i.test(input) ? input.replace(/\.json$/i, '.html') : `${input}.html`);
  const data = readReportData(input);
  await writeFileAtomic(out, await renderHtmlReport(data));
  console.log(`wrote ${out}`);
}

export const reportCommand: Command = {
  summary: 'an HTML report from its saved data (mist report --help)',
  run,
};
