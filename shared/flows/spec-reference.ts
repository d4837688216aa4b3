import { z } from 'zod';

/**
 * `connectionSpec` / `flowSpec` as Adobe sends them: `{ "id": "<uuid>", "version": "1.0" }`.
 * Accepted and stored; cipherflow serves one kind of source and sink, so the value selects nothing.
 */
export const SpecReference = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'Must be letters, digits and "-"'),
  version: z.string().regex(/^[0-9][0-9.]{0,15}$/, 'Must be a version such as 1.0'),
});
export type SpecReference = z.output<typeof SpecReference>;
