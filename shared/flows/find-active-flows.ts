import type { SandboxScope } from '../core/scope.js';
import type { FlowServiceDeps } from './flow-service-deps.js';
import { ENABLED, flowsOf, type FlowRoute } from './flows.js';
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
    if (!matchesSourcePath(route.source.path, blob.relativePath)) continue;
    found.push({ flowId: flow.id, flowName: flow.name, ...route, createdAt: flow.createdAt });
  }
  return found
    .sort((a, b) => a.createdAt - b.createdAt || a.flowId.localeCompare(b.flowId))
    .map(({ createdAt: _, ...flow }) => flow);
}
