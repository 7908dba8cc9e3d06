// One place that turns zod failures into MistErrors, so that every option object of the
// package reports each bad field once, in one line, with the value it got (the schemas are
// strict, so a typo such as `treshold` fails instead of being ignored).
import { z } from 'zod';
import { ErrorCode, MistError } from './errors.js';

function show(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  return typeof value;
}

/**
 * Parses `value` with `schema`. Sync. Returns the parsed (defaulted) value. Throws
 * ERR_MIST_ARG whose message has one line per bad field: the first zod issue of each path
 * (a value can fail several checks; the first says enough), unknown keys named one by one.
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  // An omitted options object means "all defaults".
  const input = value === undefined && schema instanceof z.ZodObject ? {} : value;
  const r = schema.safeParse(input, { reportInput: true });
  if (r.success) return r.data;
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const issue of r.error.issues) {
    const at = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const key = at ? `${at}.${k}` : k;
        if (!seen.has(key)) lines.push(`${key}: unknown option`);
        seen.add(key);
      }
      continue;
    }
    if (seen.has(at)) continue;
    seen.add(at);
    // A refinement's input is the whole object, not the field: its message stands alone.
    const got = 'input' in issue && issue.code !== 'custom' ? ` (got ${show(issue.input)})` : '';
    lines.push(`${at || what}: ${issue.message}${got}`);
  }
  throw new MistError(ErrorCode.ARG, `invalid ${what}: ${lines.join('; ')}`);
}
