// Turns zod failures into one-line MistErrors for the options objects of lib/data and
// lib/eval: each bad field is named once, with the value it got, and unknown keys are named
// (the schemas are strict, so a typo such as `treshold` fails instead of being ignored).
import type { z } from 'zod';
import { ErrorCode, MistError } from '../errors.js';

function show(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  return typeof value;
}

/**
 * Parses `value` with `schema`. Sync. Returns the parsed value with defaults filled in.
 * Throws ERR_MIST_ARG naming every bad field in one line.
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value ?? {}, { reportInput: true });
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
    const got = 'input' in issue ? ` (got ${show(issue.input)})` : '';
    lines.push(`${at || 'value'}: ${issue.message}${got}`);
  }
  throw new MistError(ErrorCode.ARG, `invalid ${what}: ${lines.join('; ')}`);
}
