/**
 * What the Azure SDKs' failures say, read in one place: a `RestError` (`@azure/core-rest-pipeline`)
 * carries the HTTP status the service answered, and no status when there was no answer.
 */

/** The parts of a `RestError` the app reads. */
export interface RestErrorLike extends Error {
  readonly name: 'RestError';
  readonly statusCode?: number;
  readonly code?: string;
  readonly details?: unknown;
}

/** Whether `err` is an Azure SDK `RestError` (a service's answer, or no answer at all). */
export function isRestError(err: unknown): err is RestErrorLike {
  return err instanceof Error && err.name === 'RestError';
}

/** The HTTP status an Azure SDK error carries (`statusCode`), if any. */
export function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('statusCode' in err)) return undefined;
  return typeof err.statusCode === 'number' ? err.statusCode : undefined;
}

/** 404: the entity, blob, table or container does not exist. */
export function isNotFound(err: unknown): boolean {
  return statusCodeOf(err) === 404;
}

/** 409: what was to be created exists already (an entity, a container). */
export function isAlreadyExists(err: unknown): boolean {
  return statusCodeOf(err) === 409;
}

/** 412: a conditional write (If-Match on an ETag) found the resource changed since it was read. */
export function isPreconditionFailed(err: unknown): boolean {
  return statusCodeOf(err) === 412;
}

/** 409 or 412: someone else wrote first (an insert that found the row, or an If-Match that failed). */
export function isConflict(err: unknown): boolean {
  return isAlreadyExists(err) || isPreconditionFailed(err);
}

/**
 * Whether an Azure SDK error says the storage service is down or unreachable (no answer, a
 * timeout, 5xx) rather than refusing this request: worth retrying later, not a bug.
 */
export function isStorageOutage(err: unknown): boolean {
  if (!isRestError(err)) return false;
  if (err.statusCode === undefined) return true;
  const status = statusCodeOf(err);
  return status === 408 || (status !== undefined && status >= 500);
}
