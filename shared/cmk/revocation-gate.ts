import type { TableClient } from '@azure/data-tables';
import { CmkAccessRevokedError } from '../errors.js';
import type { Clock } from '../core/clock.js';
import { readOrgKeyState, type OrgKeyState } from './org-key-state.js';

/** Called before every root key use: throws when the org's data must not be touched. */
export type OrgKeyGate = (orgId: string) => Promise<void>;

export interface RevocationGateDeps {
  /** The `cmkorgs` table. */
  readonly tables: TableClient;
  readonly clock: Clock;
  /** How long one read of an org's state is reused; bounded by the key cache TTL. */
  readonly refreshMs: number;
}

/**
 * The per-org "revoked" gate of the key hierarchy. Once the reconciler marks an org
 * `KEY_ACCESS_REVOKED`, every root key use of the org fails closed with CMK_ACCESS_REVOKED, even
 * while its unwrapped root keys are still cached: revocation takes effect within one reconciler
 * cycle plus `refreshMs`, not only when cached keys expire. `KEY_VAULT_UNREACHABLE` does not close
 * the gate: cached keys keep serving through the key cache's stale window.
 *
 * @throws CMK_ACCESS_REVOKED from the returned gate.
 */
export function createRevocationGate(deps: RevocationGateDeps): OrgKeyGate {
  const seen = new Map<string, { state: OrgKeyState | undefined; at: number }>();
  return async (orgId) => {
    const now = deps.clock.now();
    let entry = seen.get(orgId);
    if (entry === undefined || now - entry.at >= deps.refreshMs) {
      entry = { state: await readOrgKeyState(deps.tables, orgId), at: now };
      seen.set(orgId, entry);
    }
    if (entry.state?.access === 'KEY_ACCESS_REVOKED') throw new CmkAccessRevokedError();
  };
}
