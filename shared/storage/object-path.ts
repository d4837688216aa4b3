import { ValidationError } from '../errors.js';
import { assertSandboxScope, type SandboxScope } from '../core/scope.js';

/** Container holding every encrypted object. */
export const OBJECTS_CONTAINER = 'objects';

/** Object ids: one path segment of a safe charset; ids of only dots are refused (`.`/`..`). */
export const OBJECT_ID_PATTERN = /^[A-Za-z0-9._-]{1,200}$/;

/** @throws INVALID_REQUEST when `objectId` is not a safe single path segment. */
export function assertObjectId(objectId: string): string {
  if (!OBJECT_ID_PATTERN.test(objectId) || /^\.+$/.test(objectId)) throw new ValidationError('The object id is malformed');
  return objectId;
}

/**
 * The blob name of an object: `{orgId}/{sandbox}/{objectId}`, every segment validated.
 * @throws INVALID_REQUEST for a malformed org id, sandbox or object id.
 */
export function objectBlobName(scope: SandboxScope, objectId: string): string {
  assertSandboxScope(scope);
  return `${scope.orgId}/${scope.sandbox}/${assertObjectId(objectId)}`;
}
