import { ValidationError } from '../errors.js';

/** An org: what org-wide data (CMK configs, HPKE client keys, root keys) belongs to. */
export interface OrgScope {
  readonly orgId: string;
}

/** The org and sandbox a root key, and everything stored under it, belongs to. */
export interface SandboxScope extends OrgScope {
  readonly sandbox: string;
}

/**
 * Someone acting in a sandbox, for what is recorded about who created a resource: the client
 * (application) and the subject (user or service) of the verified token.
 */
export interface Actor extends SandboxScope {
  readonly clientId: string;
  readonly subject: string;
}

/** The sandbox every org has, used when a call names none. */
export const DEFAULT_SANDBOX = 'prod';
/** Sandbox names as the contract allows them. */
export const SANDBOX_NAME_PATTERN = /^[a-z0-9-]{1,64}$/;
/**
 * Organization ids (`1234ABCD5678@AdobeOrg`): a conservative charset, since the id becomes part of
 * storage partition keys and blob paths.
 */
export const ORG_ID_PATTERN = /^[A-Za-z0-9@._-]{1,128}$/;

// Both become Table keys (which forbid / \ # ? and control characters) and blob path segments, so
// they are checked here again, whatever the caller validated: this layer trusts no path input.

/**
 * Checks an org id (`ABC123@AdobeOrg`) and sandbox name before they reach a Table key or a path.
 *
 * @throws INVALID_REQUEST when either is outside its charset, or the org id is only dots.
 */
export function assertSandboxScope(scope: SandboxScope): SandboxScope {
  assertOrgId(scope.orgId);
  if (!SANDBOX_NAME_PATTERN.test(scope.sandbox)) throw new ValidationError('The sandbox name is malformed');
  return scope;
}

/** @throws INVALID_REQUEST when the org id is outside its charset or only dots. */
export function assertOrgId(orgId: string): string {
  if (!isOrgId(orgId)) throw new ValidationError('The organization id is malformed');
  return orgId;
}

/** Whether `orgId` is a well-formed org id (its charset, and not only dots). */
export function isOrgId(orgId: string): boolean {
  return ORG_ID_PATTERN.test(orgId) && !/^\.+$/.test(orgId);
}

/** A single string naming the scope, for cache keys and log fields. */
export function scopeKey(scope: SandboxScope): string {
  return `${scope.orgId}/${scope.sandbox}`;
}
