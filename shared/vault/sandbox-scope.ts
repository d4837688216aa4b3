import { ValidationError } from '../errors.js';

/** The org and sandbox a root key (and everything under it) belongs to. */
export interface SandboxScope {
  readonly orgId: string;
  readonly sandbox: string;
}

// Both become Table keys (which forbid / \ # ? and control characters) and blob path segments, so
// they are checked here again, whatever the caller validated: this layer trusts no path input.
const ORG_ID = /^[A-Za-z0-9@._-]{1,128}$/;
const SANDBOX = /^[a-z0-9-]{1,64}$/;

/**
 * Checks an org id (`ABC123@AdobeOrg`) and sandbox name before they reach a Table key or a path.
 *
 * @throws INVALID_REQUEST when either is outside its charset, or the org id is only dots.
 */
export function assertSandboxScope(scope: SandboxScope): SandboxScope {
  assertOrgId(scope.orgId);
  if (!SANDBOX.test(scope.sandbox)) throw new ValidationError('The sandbox name is malformed');
  return scope;
}

/** @throws INVALID_REQUEST when the org id is outside its charset or only dots. */
export function assertOrgId(orgId: string): string {
  if (!ORG_ID.test(orgId) || /^\.+$/.test(orgId)) throw new ValidationError('The organization id is malformed');
  return orgId;
}

/** A single string naming the scope, for cache keys and log fields. */
export function scopeKey(scope: SandboxScope): string {
  return `${scope.orgId}/${scope.sandbox}`;
}
