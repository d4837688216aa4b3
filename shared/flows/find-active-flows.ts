import { odata } from '@azure/data-tables';
import type { SandboxScope } from '../vault/sandbox-scope.js';
import { tenantPartitionKey } from '../storage/tenant-table.js';
import type { FlowServiceDeps } from './flow-service-deps.js';
import type { EncryptionParams } from './flows.js';
import { FLOWS_TABLE, type FlowEntity } from './lib/flow-entity.js';
import { CompressionType, SourceFormat } from './source-connections.js';
import { matchesSourcePath } from './source-path.js';

/** A landed blob: the owners of its landing zone and its name in the zone's container. */
export interface LandedBlob extends SandboxScope {
  /** e.g. `incoming/customers.csv.gpg` (a leading `/` is tolerated). */
  readonly relativePath: string;
}

/** An enabled flow that selects a landed blob, with everything ingestion needs to run it. */
export interface ActiveFlow {
  readonly flowId: string;
  readonly flowName: string;
  readonly sourceConnectionId: string;
  readonly source: {
    readonly path: string;
    readonly format: SourceFormat;
    readonly compressionType?: CompressionType;
  };
  readonly targetConnectionId: string;
  readonly dataSetId: string;
  readonly encryption: EncryptionParams;
}

/**
 * The enabled flows of the blob's tenant whose source path selects it (see `matchesSourcePath`),
 * oldest first. One query over the tenant's partition of the flows table: a flow row carries its
 * source path, format, dataset and key ids, so nothing else is read. Deleted flows never match.
 *
 * @throws INVALID_REQUEST when the org id or sandbox is malformed.
 */
export async function findActiveFlowsForBlob(deps: FlowServiceDeps, blob: LandedBlob): Promise<ActiveFlow[]> {
  const table = await deps.tables(FLOWS_TABLE);
  const filter = odata`PartitionKey eq ${tenantPartitionKey(blob)} and state eq ${'enabled'}`;
  const found: (ActiveFlow & { createdAt: number })[] = [];
  for await (const e of table.listEntities<FlowEntity>({ queryOptions: { filter } })) {
    if (!matchesSourcePath(e.sourcePath, blob.relativePath)) continue;
    found.push({ ...toActiveFlow(e), createdAt: e.createdAt });
  }
  return found
    .sort((a, b) => a.createdAt - b.createdAt || a.flowId.localeCompare(b.flowId))
    .map(({ createdAt: _, ...flow }) => flow);
}

function toActiveFlow(e: FlowEntity): ActiveFlow {
  return {
    flowId: e.rowKey,
    flowName: e.name,
    sourceConnectionId: e.sourceConnectionId,
    source: {
      path: e.sourcePath,
      format: SourceFormat.parse(e.sourceFormat),
      ...(e.sourceCompressionType === undefined
        ? {}
        : { compressionType: CompressionType.parse(e.sourceCompressionType) }),
    },
    targetConnectionId: e.targetConnectionId,
    dataSetId: e.dataSetId,
    encryption: {
      publicKeyId: e.publicKeyId,
      ...(e.signVerificationKeyId === undefined ? {} : { signVerificationKeyId: e.signVerificationKeyId }),
    },
  };
}
