import type { TableClient } from '@azure/data-tables';
import type { KekResolver } from '../vault/kek-resolver.js';
import { readOrgKeyState } from './org-key-state.js';

/**
 * Names the KEK of an org's new root keys: the org's customer key (current version) once a config
 * reached UPDATE_EXISTING_RESOURCES, the system KEK otherwise. Read on every root key creation (rare),
 * never cached, so a sandbox created during the re-wrap already gets the customer key.
 */
export function customerKekResolver(deps: { readonly tables: TableClient; readonly system: KekResolver }): KekResolver {
  return async (orgId) => {
    const state = await readOrgKeyState(deps.tables, orgId);
    if (state === undefined) return deps.system(orgId);
    return { vaultUrl: state.keyVaultUrl, name: state.keyName };
  };
}
