import { odata } from '@azure/data-tables';
import { z } from 'zod';
import type { Tenant } from '../auth/tenant.js';
import { AppError, NotFoundError, ValidationError, type FieldError } from '../errors.js';
import { isConflict, findTenantEntity, tenantPartitionKey } from '../storage/tenant-table.js';
import { FlowServiceId, isFlowServiceId, newFlowServiceId } from './flow-service-id.js';
import { nowMs, type FlowServiceDeps } from './flow-service-deps.js';
import type { KeyCheck } from './key-references.js';
import { auditColumns, auditFields, type AuditFields } from './lib/audit-fields.js';
import { FLOWS_TABLE, type FlowEntity, type FlowState } from './lib/flow-entity.js';
import { readJsonColumn } from './lib/stored-json.js';
import { getSourceConnection, type SourceConnection } from './source-connections.js';
import { SpecReference } from './spec-reference.js';
import { getTargetConnection, type TargetConnection } from './target-connections.js';

export { FLOWS_TABLE, type FlowState } from './lib/flow-entity.js';

/** The transformation that names the keys a flow decrypts (and verifies signatures) with. */
export const ENCRYPTION_TRANSFORMATION = 'Encryption';
export const MAX_TRANSFORMATIONS = 16;
/** Bound of the stored transformations, so the JSON column stays far below Table's 64 KiB property limit. */
export const MAX_TRANSFORMATIONS_JSON_CHARS = 16 * 1024;

const KeyId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'Must be a key id');

/** The Encryption transformation's params: the tenant's key pair, and optionally the customer's signing key. */
export const EncryptionParams = z.strictObject({ publicKeyId: KeyId, signVerificationKeyId: KeyId.optional() });
export type EncryptionParams = z.output<typeof EncryptionParams>;

/** Any transformation as sent; other than Encryption they are stored and shown, not interpreted. */
export const Transformation = z.strictObject({
  name: z.string().min(1).max(128),
  params: z.record(z.string().max(128), z.json()).optional(),
});
export type Transformation = z.output<typeof Transformation>;

/** The list of transformations: exactly one of them is `Encryption`, with valid params. */
export const Transformations = z
  .array(Transformation)
  .min(1)
  .max(MAX_TRANSFORMATIONS)
  .superRefine((list, ctx) => {
    const indexes = list.flatMap((t, index) => (t.name === ENCRYPTION_TRANSFORMATION ? [index] : []));
    const [index] = indexes;
    if (index === undefined || indexes.length > 1) {
      ctx.addIssue({ code: 'custom', message: `Must contain exactly one ${ENCRYPTION_TRANSFORMATION} transformation` });
      return;
    }
    const parsed = EncryptionParams.safeParse(list[index]?.params ?? {});
    for (const issue of parsed.error?.issues ?? []) {
      ctx.addIssue({ code: 'custom', path: [index, 'params', ...issue.path], message: issue.message });
    }
    if (JSON.stringify(list).length > MAX_TRANSFORMATIONS_JSON_CHARS) {
      ctx.addIssue({
        code: 'custom',
        message: `Must serialize to at most ${MAX_TRANSFORMATIONS_JSON_CHARS} characters`,
      });
    }
  });

/** `scheduleParams` as Adobe sends them; stored and shown, files are processed on arrival. */
export const ScheduleParams = z.strictObject({
  startTime: z.union([z.int().min(0), z.string().regex(/^\d{1,13}$/)]).optional(),
  frequency: z.enum(['once', 'minute', 'hour', 'day', 'week']).optional(),
  interval: z.int().min(1).max(100_000).optional(),
});
export type ScheduleParams = z.output<typeof ScheduleParams>;

/**
 * `POST /data/foundation/flowservice/flows` body. A flow reads from exactly one source connection
 * and writes to exactly one target connection (as Adobe's cloud storage batch flows do).
 */
export const CreateFlowRequest = z.strictObject({
  name: z.string().trim().min(1).max(256),
  description: z.string().max(4096).optional(),
  flowSpec: SpecReference.optional(),
  sourceConnectionIds: z.array(FlowServiceId).length(1),
  targetConnectionIds: z.array(FlowServiceId).length(1),
  transformations: Transformations,
  scheduleParams: ScheduleParams.optional(),
});
export type CreateFlowRequest = z.output<typeof CreateFlowRequest>;

/** A flow as `GET .../flows/{id}` shows it. */
export interface Flow extends AuditFields {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly flowSpec?: SpecReference;
  readonly sourceConnectionIds: readonly string[];
  readonly targetConnectionIds: readonly string[];
  readonly transformations: readonly Transformation[];
  readonly scheduleParams?: ScheduleParams;
  readonly state: FlowState;
}

/**
 * The Encryption transformation's params of a validated transformation list.
 * @throws INVALID_REQUEST when there is not exactly one valid Encryption transformation.
 */
export function encryptionParamsOf(transformations: readonly Transformation[]): {
  index: number;
  params: EncryptionParams;
} {
  const index = transformations.findIndex((t) => t.name === ENCRYPTION_TRANSFORMATION);
  const parsed = EncryptionParams.safeParse(transformations[index]?.params);
  if (index < 0 || !parsed.success) {
    throw new ValidationError('The flow needs one Encryption transformation', [
      {
        field: 'body.transformations',
        pointer: '/transformations',
        message: `Must contain exactly one valid ${ENCRYPTION_TRANSFORMATION} transformation`,
      },
    ]);
  }
  return { index, params: parsed.data };
}

/**
 * Creates an enabled flow in the caller's org and sandbox. Every reference in the body must exist
 * in the same tenant: the connections, the Encryption key pair (`publicKeyId`) and the customer's
 * signing key (`signVerificationKeyId`, when given).
 *
 * @throws INVALID_REQUEST naming each dangling reference (`body.sourceConnectionIds[0]`,
 *   `body.transformations[0].params.publicKeyId`, ...): they are body fields, so 400, not 404.
 */
export async function createFlow(
  deps: FlowServiceDeps,
  tenant: Tenant,
  input: CreateFlowRequest,
  keys: KeyCheck,
): Promise<Flow> {
  const { index, params: encryption } = encryptionParamsOf(input.transformations);
  const [sourceId = '', targetId = ''] = [input.sourceConnectionIds[0], input.targetConnectionIds[0]];
  const keyField = (name: keyof EncryptionParams) => `transformations[${index}].params.${name}`;
  const keyPointer = (name: keyof EncryptionParams) => `/transformations/${index}/params/${name}`;
  const [source, target, publicKeyFound, signKeyFound] = await Promise.all([
    orMissing(getSourceConnection(deps, tenant, sourceId)),
    orMissing(getTargetConnection(deps, tenant, targetId)),
    keys.encryptionKeyExists(tenant, encryption.publicKeyId),
    encryption.signVerificationKeyId === undefined
      ? true
      : keys.customerKeyExists(tenant, encryption.signVerificationKeyId),
  ]);
  const errors: FieldError[] = [];
  const missing = (field: string, pointer: string, message: string) =>
    errors.push({ field: `body.${field}`, pointer, message });
  if (source === undefined)
    missing(
      'sourceConnectionIds[0]',
      '/sourceConnectionIds/0',
      'No such source connection in this organization and sandbox',
    );
  if (target === undefined)
    missing(
      'targetConnectionIds[0]',
      '/targetConnectionIds/0',
      'No such target connection in this organization and sandbox',
    );
  if (!publicKeyFound)
    missing(
      keyField('publicKeyId'),
      keyPointer('publicKeyId'),
      'No such encryption key in this organization and sandbox',
    );
  if (!signKeyFound)
    missing(
      keyField('signVerificationKeyId'),
      keyPointer('signVerificationKeyId'),
      'No such customer key in this organization and sandbox',
    );
  if (source === undefined || target === undefined || errors.length > 0) {
    throw new ValidationError('The flow references resources that do not exist', errors);
  }
  const table = await deps.tables(FLOWS_TABLE);
  const entity = newFlowEntity(tenant, input, source, target, encryption, nowMs(deps));
  const created = await table.createEntity(entity);
  return toFlow(tenant, entity, created.etag ?? '');
}

/**
 * Reads one flow of the caller's org and sandbox, deleted or not.
 * @throws NOT_FOUND when it does not exist there (whether or not it exists in another tenant).
 */
export async function getFlow(deps: FlowServiceDeps, tenant: Tenant, id: string): Promise<Flow> {
  const entity = await readFlowEntity(deps, tenant, id);
  return toFlow(tenant, entity, entity.etag);
}

/** The tenant's flows that are not deleted, oldest first. */
export async function listFlows(deps: FlowServiceDeps, tenant: Tenant): Promise<Flow[]> {
  const table = await deps.tables(FLOWS_TABLE);
  const flows: Flow[] = [];
  const filter = odata`PartitionKey eq ${tenantPartitionKey(tenant)} and state eq ${'enabled'}`;
  for await (const entity of table.listEntities<FlowEntity>({ queryOptions: { filter } })) {
    flows.push(toFlow(tenant, entity, entity.etag));
  }
  return flows.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}

/**
 * Deletes a flow softly: its state becomes `deleted`, so it stops matching new files while it and
 * its runs stay readable. Deleting a deleted flow changes nothing.
 * @throws NOT_FOUND when the flow does not exist in the tenant.
 */
export async function deleteFlow(deps: FlowServiceDeps, tenant: Tenant, id: string): Promise<void> {
  const table = await deps.tables(FLOWS_TABLE);
  // Optimistic concurrency on the entity's etag; a concurrent writer makes us read again.
  for (let attempt = 0; ; attempt++) {
    const entity = await readFlowEntity(deps, tenant, id);
    if (entity.state === 'deleted') return;
    try {
      await table.updateEntity(
        {
          partitionKey: entity.partitionKey,
          rowKey: entity.rowKey,
          state: 'deleted' satisfies FlowState,
          updatedAt: nowMs(deps),
        },
        'Merge',
        { etag: entity.etag },
      );
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= 2) throw err;
    }
  }
}

async function readFlowEntity(deps: FlowServiceDeps, tenant: Tenant, id: string) {
  const notFound = () => new NotFoundError('The flow was not found');
  if (!isFlowServiceId(id)) throw notFound();
  const entity = await findTenantEntity<FlowEntity>(deps.tables, FLOWS_TABLE, tenant, id);
  if (entity === undefined) throw notFound();
  return entity;
}

async function orMissing<T>(lookup: Promise<T>): Promise<T | undefined> {
  try {
    return await lookup;
  } catch (err) {
    if (err instanceof AppError && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
}

function newFlowEntity(
  tenant: Tenant,
  input: CreateFlowRequest,
  source: SourceConnection,
  target: TargetConnection,
  encryption: EncryptionParams,
  now: number,
): FlowEntity {
  const compression = source.data.properties?.compressionType;
  return {
    partitionKey: tenantPartitionKey(tenant),
    rowKey: newFlowServiceId(),
    name: input.name,
    ...(input.description === undefined ? {} : { description: input.description }),
    ...(input.flowSpec === undefined ? {} : { flowSpec: JSON.stringify(input.flowSpec) }),
    sourceConnectionIds: JSON.stringify(input.sourceConnectionIds),
    targetConnectionIds: JSON.stringify(input.targetConnectionIds),
    transformations: JSON.stringify(input.transformations),
    ...(input.scheduleParams === undefined ? {} : { scheduleParams: JSON.stringify(input.scheduleParams) }),
    state: 'enabled',
    sourceConnectionId: source.id,
    sourcePath: source.params.path,
    sourceFormat: source.data.format,
    ...(compression === undefined ? {} : { sourceCompressionType: compression }),
    targetConnectionId: target.id,
    dataSetId: target.params.dataSetId,
    publicKeyId: encryption.publicKeyId,
    ...(encryption.signVerificationKeyId === undefined
      ? {}
      : { signVerificationKeyId: encryption.signVerificationKeyId }),
    ...auditColumns(tenant, now),
  };
}

const ConnectionIds = z.array(z.string());
const StoredTransformations = z.array(Transformation);

function toFlow(tenant: Tenant, e: FlowEntity, etag: string): Flow {
  return {
    id: e.rowKey,
    name: e.name,
    ...(e.description === undefined ? {} : { description: e.description }),
    ...(e.flowSpec === undefined ? {} : { flowSpec: readJsonColumn(SpecReference, e.flowSpec) }),
    sourceConnectionIds: readJsonColumn(ConnectionIds, e.sourceConnectionIds),
    targetConnectionIds: readJsonColumn(ConnectionIds, e.targetConnectionIds),
    transformations: readJsonColumn(StoredTransformations, e.transformations),
    ...(e.scheduleParams === undefined ? {} : { scheduleParams: readJsonColumn(ScheduleParams, e.scheduleParams) }),
    state: e.state,
    ...auditFields(tenant, e, etag),
  };
}
