import type { z } from 'zod';
import { validationProblem } from './http-problem';

/** Validates untrusted input against a schema, or throws a 400 problem listing every field. */
export function parseRequest<S extends z.ZodType>(
  schema: S,
  input: unknown,
  where = '',
): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw validationProblem(
    result.error.issues.map((issue) => ({
      path: [where, ...issue.path.map(String)].filter(Boolean).join('.') || '(body)',
      message:
        issue.code === 'unrecognized_keys'
          ? `unknown field(s): ${issue.keys.join(', ')}`
          : issue.message,
    })),
  );
}
