import type { SandboxScope } from '../core/scope.js';
import type { FlowServiceDeps } from './flow-service-deps.js';
import { ENABLED, flowsOf, type FlowRoute } from './flows.js';
import { isFlowServiceId } from './flow-service-id.js';
import { where } from '../storage/tenant-table.js';
import { matchesSourcePath } from './source-path.js';

/** A landed blob: the owners of its landing zone and its name in the zone's container. */
export interface LandedBlob extends SandboxScope {
  /** e.g. `incoming/customers.csv.gpg` (a leading `/` is tolerated). */
  readonly relativePath: string;
}

/** An enabled flow that selects a landed blob, with everything ingestion needs to run it. */
export interface ActiveFlow extends FlowRoute {
  readonly flowId: string;
  readonly flowName: string;
}

/**
 * The enabled flows of the blob's tenant whose source path selects it (see `matchesSourcePath`),
 * oldest first. One query over the tenant's partition of the flows table: a flow row carries its
 * source path, format, dataset and key ids, so nothing else is read. Deleted flows never match.
 *
 * @throws INVALID_REQUEST when the org id or sandbox is malformed.
 */
export async function findActiveFlowsForBlob(deps: FlowServiceDeps, blob: LandedBlob): Promise<ActiveFlow[]> {
  const found: (ActiveFlow & { createdAt: number })[] = [];
  for await (const { flow, route } of flowsOf(deps.tables, blob).list(ENABLED)) {
    // A flow reading a customer's storage runs on its schedule, never on a landed file.
    if (route.source.baseConnectionId !== undefined || !matchesSourcePath(route.source.path, blob.relativePath)) continue;
    found.push({ flowId: flow.id, flowName: flow.name, ...route, createdAt: flow.createdAt });
  }
  return found
    .sort((a, b) => a.createdAt - b.createdAt || a.flowId.localeCompare(b.flowId))
    .map(({ createdAt: _, ...flow }) => flow);
}

/**
 * The enabled flow `flowId` of the tenant when it reads a customer's storage (it has a base
 * connection), with its route; `undefined` when it is deleted, reads the landing zone, or is none.
 */
export async function findScheduledFlow(deps: FlowServiceDeps, scope: SandboxScope, flowId: string): Promise<(ActiveFlow & { readonly baseConnectionId: string }) | undefined> {
  if (!isFlowServiceId(flowId)) return undefined;
  const record = await flowsOf(deps.tables, scope).find(flowId);
  const baseConnectionId = record?.route.source.baseConnectionId;
  if (record === undefined || record.flow.state !== 'enabled' || baseConnectionId === undefined) return undefined;
  return { flowId: record.flow.id, flowName: record.flow.name, ...record.route, baseConnectionId };
}

/** An enabled flow of the tenant reading through base connection `baseConnectionId`, if any (it cannot be deleted then). */
export async function flowUsingConnection(deps: FlowServiceDeps, scope: SandboxScope, baseConnectionId: string): Promise<{ id: string; name: string } | undefined> {
  for await (const { flow } of flowsOf(deps.tables, scope).list(where`state eq ${'enabled'} and baseConnectionId eq ${baseConnectionId}`)) {
    return { id: flow.id, name: flow.name };
  }
  return undefined;
}
