import type { SandboxScope } from '../core/scope.js';
import { where } from '../storage/tenant-table.js';
import type { FlowServiceDeps } from './flow-service-deps.js';
import { flowsOf } from './flows.js';

/**
 * The ids of the sandbox's enabled flows that decrypt with key pair `publicKeyId` (their Encryption
 * transformation names it): the lookup the key store asks before it deletes a key. Only the row
 * keys are read.
 *
 * @throws INVALID_REQUEST when the org id or sandbox is malformed.
 */
export async function flowsUsingKey(deps: FlowServiceDeps, scope: SandboxScope, publicKeyId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of flowsOf(deps.tables, scope).rowKeys(where`state eq ${'enabled'} and publicKeyId eq ${publicKeyId}`)) ids.push(id);
  return ids;
}
