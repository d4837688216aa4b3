import { randomUUID } from 'node:crypto';

/** An incoming `x-request-id` is reused only if it looks like an id, so it is safe to log and echo. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/;

/** The request's id: the caller's `x-request-id` when it matches {@link REQUEST_ID_PATTERN}, else a new UUID. */
export function requestIdFor(incoming: string | null, newId: () => string = randomUUID): string {
  return incoming !== null && REQUEST_ID_PATTERN.test(incoming) ? incoming : newId();
}
