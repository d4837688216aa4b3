import type { z } from 'zod';

/**
 * Reads a JSON column this service wrote, checked against the schema it was written with, so a
 * row edited by hand fails loudly here instead of flowing on as a wrong type.
 */
export function readJsonColumn<S extends z.ZodType>(schema: S, text: string): z.output<S> {
  return schema.parse(JSON.parse(text));
}
