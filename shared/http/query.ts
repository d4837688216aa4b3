import type { z } from 'zod';
import { ValidationError, type FieldError } from '../errors.js';
import { fieldErrors } from './field-errors.js';

/**
 * A route's query string: one zod object of string parameters. The same object parses requests
 * ({@link parseQuery}) and documents the route's query parameters in the OpenAPI document (name,
 * whether it is required, its JSON Schema, `.describe()` text and `.meta({ example })`).
 */
export type QuerySchema = z.ZodObject<Record<string, z.ZodType<unknown, string | undefined>>>;

/**
 * Reads `query` with `schema`. Parameters the schema does not name, and parameters given more than
 * once, are refused rather than ignored, so a caller never mistakes an unfiltered answer for a
 * filtered one.
 *
 * @throws ValidationError INVALID_REQUEST with one field error per parameter (`query.<name>`).
 */
export function parseQuery<S extends QuerySchema>(schema: S, query: URLSearchParams, title: string): z.output<S> {
  const errors: FieldError[] = [];
  const values: Record<string, string> = {};
  for (const name of new Set(query.keys())) {
    const field = `query.${printable(name)}`;
    if (!Object.hasOwn(schema.shape, name)) errors.push({ field, message: 'Unsupported query parameter' });
    else if (query.getAll(name).length > 1) errors.push({ field, message: 'Must be given once' });
    else values[name] = query.get(name) ?? '';
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const refused = new Set(errors.map((e) => e.field));
    for (const { field, message } of fieldErrors(parsed.error.issues, 'query')) {
      if (!refused.has(field)) errors.push({ field, message });
    }
  }
  if (errors.length > 0 || !parsed.success) throw new ValidationError(title, errors);
  return parsed.data;
}

// A parameter name is the caller's input: keep it short and printable before it goes in a response.
function printable(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
}
