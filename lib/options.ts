import type { z } from 'zod';

import { ErrorCode, MistError } from './errors.js';

/** Validates `value` with a zod schema; a bad value becomes one ERR_MIST_ARG naming each bad field. */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : what}: ${i.message}`);
  throw new MistError(ErrorCode.ARG, `invalid ${what}: ${problems.join('; ')}`);
}
