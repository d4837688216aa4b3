import { z } from 'zod';
import type { Tenant } from '../auth/tenant.js';
import { CATALOG_ID_PATTERN, getDataset } from '../catalog/datasets.js';
import { AppError, NotFoundError, ValidationError } from '../errors.js';
import { findTenantEntity, tenantPartitionKey } from '../storage/tenant-table.js';
import { FlowServiceId, isFlowServiceId, newFlowServiceId } from './flow-service-id.js';
import { nowMs, type FlowServiceDeps } from './flow-service-deps.js';
import { auditColumns, auditFields, type AuditColumns, type AuditFields } from './lib/audit-fields.js';
import { SpecReference } from './spec-reference.js';

export const TARGET_CONNECTIONS_TABLE = 'targetconnections';

/**
 * `POST /data/foundation/flowservice/targetConnections` body: the data lake sink of Adobe's flow
 * service, writing into the Catalog dataset `params.dataSetId`.
 */
export const CreateTargetConnectionRequest = z.strictObject({
  name: z.string().trim().min(1).max(256),
  description: z.string().max(4096).optional(),
  baseConnectionId: FlowServiceId.optional(),
  connectionSpec: SpecReference.optional(),
  data: z
    .strictObject({
      format: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/)
        .optional(),
      schema: z.strictObject({ id: z.string().min(1).max(512), version: z.string().min(1).max(128) }).optional(),
    })
    .optional(),
  params: z.strictObject({
    dataSetId: z.string().regex(CATALOG_ID_PATTERN, 'Must be a Catalog id (24 hex characters)'),
  }),
});
export type CreateTargetConnectionRequest = z.output<typeof CreateTargetConnectionRequest>;

/** A target connection as `GET .../targetConnections/{id}` shows it. */
export interface TargetConnection extends AuditFields {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly baseConnectionId?: string;
  readonly connectionSpec?: SpecReference;
  readonly data?: { readonly format?: string; readonly schema?: { readonly id: string; readonly version: string } };
  readonly params: { readonly dataSetId: string };
}

interface TargetConnectionEntity extends AuditColumns {
  partitionKey: string;
  rowKey: string;
  name: string;
  description?: string;
  baseConnectionId?: string;
  connectionSpecId?: string;
  connectionSpecVersion?: string;
  format?: string;
  schemaId?: string;
  schemaVersion?: string;
  dataSetId: string;
}

/**
 * Creates a target connection in the caller's org and sandbox, writing into one of its datasets.
 *
 * @throws INVALID_REQUEST naming `body.params.dataSetId` when the dataset does not exist in the
 *   tenant: the reference inside the body is wrong, not the URL, so 400 as Adobe answers, not 404.
 */
export async function createTargetConnection(
  deps: FlowServiceDeps,
  tenant: Tenant,
  input: CreateTargetConnectionRequest,
): Promise<TargetConnection> {
  await assertDatasetExists(deps, tenant, input.params.dataSetId);
  const table = await deps.tables(TARGET_CONNECTIONS_TABLE);
  const schema = input.data?.schema;
  const entity: TargetConnectionEntity = {
    partitionKey: tenantPartitionKey(tenant),
    rowKey: newFlowServiceId(),
    name: input.name,
    ...(input.description === undefined ? {} : { description: input.description }),
    ...(input.baseConnectionId === undefined ? {} : { baseConnectionId: input.baseConnectionId }),
    ...(input.connectionSpec === undefined
      ? {}
      : { connectionSpecId: input.connectionSpec.id, connectionSpecVersion: input.connectionSpec.version }),
    ...(input.data?.format === undefined ? {} : { format: input.data.format }),
    ...(schema === undefined ? {} : { schemaId: schema.id, schemaVersion: schema.version }),
    dataSetId: input.params.dataSetId,
    ...auditColumns(tenant, nowMs(deps)),
  };
  const created = await table.createEntity(entity);
  return toTargetConnection(tenant, entity, created.etag ?? '');
}

/**
 * Reads one target connection of the caller's org and sandbox.
 * @throws NOT_FOUND when it does not exist there (whether or not it exists in another tenant).
 */
export async function getTargetConnection(
  deps: FlowServiceDeps,
  tenant: Tenant,
  id: string,
): Promise<TargetConnection> {
  const notFound = () => new NotFoundError('The target connection was not found');
  if (!isFlowServiceId(id)) throw notFound();
  const entity = await findTenantEntity<TargetConnectionEntity>(deps.tables, TARGET_CONNECTIONS_TABLE, tenant, id);
  if (entity === undefined) throw notFound();
  return toTargetConnection(tenant, entity, entity.etag);
}

async function assertDatasetExists(deps: FlowServiceDeps, tenant: Tenant, dataSetId: string): Promise<void> {
  try {
    await getDataset(deps, tenant, dataSetId);
  } catch (err) {
    if (err instanceof AppError && err.code === 'NOT_FOUND') {
      throw new ValidationError('The target dataset does not exist', [
        {
          field: 'body.params.dataSetId',
          pointer: '/params/dataSetId',
          message: 'No such dataset in this organization and sandbox',
        },
      ]);
    }
    throw err;
  }
}

function toTargetConnection(tenant: Tenant, e: TargetConnectionEntity, etag: string): TargetConnection {
  const data = {
    ...(e.format === undefined ? {} : { format: e.format }),
    ...(e.schemaId === undefined || e.schemaVersion === undefined
      ? {}
      : { schema: { id: e.schemaId, version: e.schemaVersion } }),
  };
  return {
    id: e.rowKey,
    name: e.name,
    ...(e.description === undefined ? {} : { description: e.description }),
    ...(e.baseConnectionId === undefined ? {} : { baseConnectionId: e.baseConnectionId }),
    ...(e.connectionSpecId === undefined || e.connectionSpecVersion === undefined
      ? {}
      : { connectionSpec: { id: e.connectionSpecId, version: e.connectionSpecVersion } }),
    ...(Object.keys(data).length === 0 ? {} : { data }),
    params: { dataSetId: e.dataSetId },
    ...auditFields(tenant, e, etag),
  };
}
