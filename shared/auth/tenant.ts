import { DEFAULT_SANDBOX, ORG_ID_PATTERN, SANDBOX_NAME_PATTERN, type Actor } from '../core/scope.js';
import { ForbiddenOrgError, ForbiddenSandboxError, ValidationError } from '../errors.js';
import type { VerifiedToken } from './verify-token.js';

/**
 * Who is calling and whose data the call may touch. Built only from a verified token and the
 * org/sandbox headers the token was checked against; everything stored is partitioned by
 * `orgId` and `sandbox`.
 */
export interface Tenant extends Actor {
  /**
   * The sandboxes the token is confined to (`AUTH_SANDBOX_CLAIM`), `sandbox` among them; absent
   * when no sandbox claim is configured.
   */
  readonly grantedSandboxes?: readonly string[];
}

/**
 * Resolves the tenant of a call from its headers and its verified token.
 *
 * A missing or malformed `x-gw-ims-org-id` or `x-sandbox-name` is 400 `INVALID_REQUEST` naming the
 * header: the caller's request is wrong, not its credentials, so neither 401 nor 403 fits.
 *
 * @throws INVALID_REQUEST for a missing or malformed org id or sandbox name.
 * @throws FORBIDDEN_ORG when the token does not grant the org.
 * @throws FORBIDDEN_SANDBOX when the token is confined to sandboxes (`AUTH_SANDBOX_CLAIM`) and this
 *   is not one of them.
 */
export function resolveTenant(headers: { orgId: string | null; sandbox: string | null }, token: VerifiedToken): Tenant {
  const orgId = headers.orgId;
  if (orgId === null || !ORG_ID_PATTERN.test(orgId)) {
    throw new ValidationError('The x-gw-ims-org-id header is missing or malformed', [
      { field: 'headers.x-gw-ims-org-id', message: orgId === null ? 'Required' : `Must match ${ORG_ID_PATTERN.source}` },
    ]);
  }
  const sandbox = headers.sandbox ?? DEFAULT_SANDBOX;
  if (!SANDBOX_NAME_PATTERN.test(sandbox)) {
    throw new ValidationError('The x-sandbox-name header is malformed', [
      { field: 'headers.x-sandbox-name', message: `Must match ${SANDBOX_NAME_PATTERN.source}` },
    ]);
  }
  if (!token.orgs.includes(orgId)) throw new ForbiddenOrgError();
  if (token.sandboxes !== undefined && !token.sandboxes.includes(sandbox)) throw new ForbiddenSandboxError();
  const tenant = { orgId, sandbox, clientId: token.clientId, subject: token.subject };
  return token.sandboxes === undefined ? tenant : { ...tenant, grantedSandboxes: token.sandboxes };
}

/** Whether the caller's token may work in sandbox `name` (always, when tokens are not confined). */
export function maySeeSandbox(tenant: Tenant, name: string): boolean {
  return tenant.grantedSandboxes === undefined || tenant.grantedSandboxes.includes(name);
}
