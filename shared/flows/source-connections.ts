import { z } from 'zod';
import type { Tenant } from '../auth/tenant.js';
import { NotFoundError } from '../errors.js';
import { findTenantEntity, tenantPartitionKey } from '../storage/tenant-table.js';
import { FlowServiceId, isFlowServiceId, newFlowServiceId } from './flow-service-id.js';
import { nowMs, type FlowServiceDeps } from './flow-service-deps.js';
import { auditColumns, auditFields, type AuditColumns, type AuditFields } from './lib/audit-fields.js';
import { sourcePathProblem } from './source-path.js';
import { SpecReference } from './spec-reference.js';

export const SOURCE_CONNECTIONS_TABLE = 'sourceconnections';

export const SourceFormat = z.enum(['delimited', 'json', 'parquet']);
export type SourceFormat = z.output<typeof SourceFormat>;
export const CompressionType = z.enum(['gzip', 'bzip2', 'zip']);
export type CompressionType = z.output<typeof CompressionType>;

/** Adobe's name for the landing zone's container in paths (`dlz-user-container/incoming/*.csv`). */
export const ADOBE_ZONE_CONTAINER = 'dlz-user-container';

/**
 * A source path inside the landing zone, validated by {@link sourcePathProblem} with its reason as
 * the field's message. Adobe's form `dlz-user-container/incoming/*.csv.gpg` is taken as
 * `/incoming/*.csv.gpg`, which is how it is stored and shown.
 */
export const SourcePath = z
  .string()
  .transform((path) => (path.startsWith(`${ADOBE_ZONE_CONTAINER}/`) ? path.slice(ADOBE_ZONE_CONTAINER.length) : path))
  .check((ctx) => {
    const problem = sourcePathProblem(ctx.value);
    if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
  });

/**
 * `POST /data/foundation/flowservice/sourceConnections` body. `params.path` names a folder and a
 * file pattern in the org and sandbox's landing zone (connection spec
 * `26f526f2-58f4-4712-961d-e41bf1ccc0e8`, Adobe's Data Landing Zone), relative to the zone's container.
 */
export const CreateSourceConnectionRequest = z.strictObject({
  name: z.string().trim().min(1).max(256),
  description: z.string().max(4096).optional(),
  baseConnectionId: FlowServiceId.optional(),
  connectionSpec: SpecReference.optional(),
  data: z.strictObject({
    format: SourceFormat,
    properties: z.strictObject({ compressionType: CompressionType.optional() }).optional(),
  }),
  params: z.strictObject({ path: SourcePath }),
});
export type CreateSourceConnectionRequest = z.output<typeof CreateSourceConnectionRequest>;

/** A source connection as `GET .../sourceConnections/{id}` shows it. */
export interface SourceConnection extends AuditFields {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly baseConnectionId?: string;
  readonly connectionSpec?: SpecReference;
  readonly data: { readonly format: SourceFormat; readonly properties?: { readonly compressionType: CompressionType } };
  readonly params: { readonly path: string };
}

interface SourceConnectionEntity extends AuditColumns {
  partitionKey: string;
  rowKey: string;
  name: string;
  description?: string;
  baseConnectionId?: string;
  connectionSpecId?: string;
  connectionSpecVersion?: string;
  format: SourceFormat;
  compressionType?: CompressionType;
  path: string;
}

/** Creates a source connection in the caller's org and sandbox. */
export async function createSourceConnection(
  deps: FlowServiceDeps,
  tenant: Tenant,
  input: CreateSourceConnectionRequest,
): Promise<SourceConnection> {
  const table = await deps.tables(SOURCE_CONNECTIONS_TABLE);
  const compressionType = input.data.properties?.compressionType;
  const entity: SourceConnectionEntity = {
    partitionKey: tenantPartitionKey(tenant),
    rowKey: newFlowServiceId(),
    name: input.name,
    ...(input.description === undefined ? {} : { description: input.description }),
    ...(input.baseConnectionId === undefined ? {} : { baseConnectionId: input.baseConnectionId }),
    ...(input.connectionSpec === undefined
      ? {}
      : { connectionSpecId: input.connectionSpec.id, connectionSpecVersion: input.connectionSpec.version }),
    format: input.data.format,
    ...(compressionType === undefined ? {} : { compressionType }),
    path: input.params.path,
    ...auditColumns(tenant, nowMs(deps)),
  };
  const created = await table.createEntity(entity);
  return toSourceConnection(tenant, entity, created.etag ?? '');
}

/**
 * Reads one source connection of the caller's org and sandbox.
 * @throws NOT_FOUND when it does not exist there (whether or not it exists in another tenant).
 */
export async function getSourceConnection(
  deps: FlowServiceDeps,
  tenant: Tenant,
  id: string,
): Promise<SourceConnection> {
  const notFound = () => new NotFoundError('The source connection was not found');
  if (!isFlowServiceId(id)) throw notFound();
  const entity = await findTenantEntity<SourceConnectionEntity>(deps.tables, SOURCE_CONNECTIONS_TABLE, tenant, id);
  if (entity === undefined) throw notFound();
  return toSourceConnection(tenant, entity, entity.etag);
}

function toSourceConnection(tenant: Tenant, e: SourceConnectionEntity, etag: string): SourceConnection {
  return {
    id: e.rowKey,
    name: e.name,
    ...(e.description === undefined ? {} : { description: e.description }),
    ...(e.baseConnectionId === undefined ? {} : { baseConnectionId: e.baseConnectionId }),
    ...(e.connectionSpecId === undefined || e.connectionSpecVersion === undefined
      ? {}
      : { connectionSpec: { id: e.connectionSpecId, version: e.connectionSpecVersion } }),
    data: {
      format: e.format,
      ...(e.compressionType === undefined ? {} : { properties: { compressionType: e.compressionType } }),
    },
    params: { path: e.path },
    ...auditFields(tenant, e, etag),
  };
}
