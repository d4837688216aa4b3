import { z } from 'zod';
import type { Actor, SandboxScope } from '../core/scope.js';
import { AppError, NotFoundError, ValidationError, type FieldError } from '../errors.js';
import { tenantTable, where, type TableCodec, type TableFactory } from '../storage/tenant-table.js';
import { FlowServiceId, isFlowServiceId, newFlowServiceId } from './flow-service-id.js';
import { nowMs, type FlowServiceDeps } from './flow-service-deps.js';
import type { KeyCheck } from './key-references.js';
import { auditColumns, auditFields, type AuditFields, type NewResource } from './lib/audit-fields.js';
import { FLOWS_TABLE, type FlowEntity, type FlowState } from './lib/flow-entity.js';
import { readJsonColumn } from './lib/stored-json.js';
import { CompressionType, getSourceConnection, SourceFormat, type SourceConnection } from './source-connections.js';
import { SpecReference } from './spec-reference.js';
import { getTargetConnection, type TargetConnection } from './target-connections.js';
import { scheduleFlow, scheduleOf, unscheduleFlow } from './flow-schedules.js';

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

/**
 * `scheduleParams` as Adobe sends them (numbers or strings of digits). A flow reading a customer's
 * storage runs on them (see `flow-schedules.ts`: `startTime` in epoch seconds, default now;
 * `frequency` default `once`; `interval` default 1); a landing-zone flow stores and shows them and
 * processes each file as it lands.
 */
export const ScheduleParams = z.strictObject({
  startTime: z.union([z.int().min(0), z.string().regex(/^\d{1,13}$/)]).optional(),
  frequency: z.enum(['once', 'minute', 'hour', 'day', 'week']).optional(),
  interval: z
    .union([z.int(), z.string().regex(/^\d{1,6}$/, 'Must be a whole number').transform(Number)])
    .pipe(z.int().min(1).max(100_000))
    .optional(),
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
  actor: Actor,
  input: CreateFlowRequest,
  keys: KeyCheck,
): Promise<Flow> {
  const { index, params: encryption } = encryptionParamsOf(input.transformations);
  const [sourceId = '', targetId = ''] = [input.sourceConnectionIds[0], input.targetConnectionIds[0]];
  const keyField = (name: keyof EncryptionParams) => `transformations[${index}].params.${name}`;
  const keyPointer = (name: keyof EncryptionParams) => `/transformations/${index}/params/${name}`;
  const [source, target, publicKeyFound, signKeyFound] = await Promise.all([
    orMissing(getSourceConnection(deps, actor, sourceId)),
    orMissing(getTargetConnection(deps, actor, targetId)),
    keys.encryptionKeyExists(actor, encryption.publicKeyId),
    encryption.signVerificationKeyId === undefined
      ? true
      : keys.customerKeyExists(actor, encryption.signVerificationKeyId),
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
  const now = nowMs(deps);
  const flow = newFlow(actor, input, source, target, encryption, now);
  // Scheduled before the flow row exists, so a crash between the two never leaves a cloud flow
  // that never runs (the scheduler drops a schedule whose flow does not exist).
  if (source.baseConnectionId !== undefined) await scheduleFlow(deps.tables, actor, flow.flow.id, scheduleOf(input.scheduleParams, now));
  const record = await flowsOf(deps.tables, actor).insert(flow);
  return record.flow;
}

/**
 * Reads one flow of the caller's org and sandbox, deleted or not.
 * @throws NOT_FOUND when it does not exist there (whether or not it exists in another tenant).
 */
export async function getFlow(deps: FlowServiceDeps, scope: SandboxScope, id: string): Promise<Flow> {
  return (await readFlow(deps, scope, id)).flow;
}

/** The tenant's flows that are not deleted, oldest first. */
export async function listFlows(deps: FlowServiceDeps, scope: SandboxScope): Promise<Flow[]> {
  const flows: Flow[] = [];
  for await (const record of flowsOf(deps.tables, scope).list(ENABLED)) flows.push(record.flow);
  return flows.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}

/**
 * Deletes a flow softly: its state becomes `deleted`, so it stops matching new files while it and
 * its runs stay readable. Deleting a deleted flow changes nothing.
 * @throws NOT_FOUND when the flow does not exist in the tenant.
 */
export async function deleteFlow(deps: FlowServiceDeps, scope: SandboxScope, id: string): Promise<void> {
  // Optimistic concurrency on the entity's etag; a concurrent writer makes us read again.
  for (let attempt = 0; ; attempt++) {
    const { flow } = await readFlow(deps, scope, id);
    if (flow.state === 'deleted') return;
    if (await flowsOf(deps.tables, scope).merge(id, { state: 'deleted', updatedAt: nowMs(deps) }, flow.etag)) {
      await unscheduleFlow(deps.tables, scope, id);
      return;
    }
    if (attempt >= 2) throw new Error('The flow kept changing while it was being deleted');
  }
}

async function readFlow(deps: FlowServiceDeps, scope: SandboxScope, id: string): Promise<FlowRecord> {
  const notFound = () => new NotFoundError('The flow was not found');
  if (!isFlowServiceId(id)) throw notFound();
  const record = await flowsOf(deps.tables, scope).find(id);
  if (record === undefined) throw notFound();
  return record;
}

async function orMissing<T>(lookup: Promise<T>): Promise<T | undefined> {
  try {
    return await lookup;
  } catch (err) {
    if (err instanceof AppError && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
}

function newFlow(
  actor: Actor,
  input: CreateFlowRequest,
  source: SourceConnection,
  target: TargetConnection,
  encryption: EncryptionParams,
  now: number,
): NewFlowRecord {
  const compression = source.data.properties?.compressionType;
  const cloud = source.baseConnectionId === undefined ? {} : { baseConnectionId: source.baseConnectionId, recursive: source.params.recursive ?? false };
  return {
    flow: {
      id: newFlowServiceId(),
      name: input.name,
      ...(input.description === undefined ? {} : { description: input.description }),
      ...(input.flowSpec === undefined ? {} : { flowSpec: input.flowSpec }),
      sourceConnectionIds: input.sourceConnectionIds,
      targetConnectionIds: input.targetConnectionIds,
      transformations: input.transformations,
      ...(input.scheduleParams === undefined ? {} : { scheduleParams: input.scheduleParams }),
      state: 'enabled',
      ...auditColumns(actor, now),
    },
    route: {
      sourceConnectionId: source.id,
      source: { path: source.params.path, format: source.data.format, ...(compression === undefined ? {} : { compressionType: compression }), ...cloud },
      targetConnectionId: target.id,
      dataSetId: target.params.dataSetId,
      encryption,
    },
  };
}

/**
 * What the ingestion needs to run a flow, copied from its connections at creation (connections
 * never change, so the copies never go stale): finding the flows of a landed blob is one
 * partition query with no joins.
 */
export interface FlowRoute {
  readonly sourceConnectionId: string;
  readonly source: {
    readonly path: string;
    readonly format: SourceFormat;
    readonly compressionType?: CompressionType;
    /** Set for a flow reading a customer's storage (on its schedule) instead of the landing zone. */
    readonly baseConnectionId?: string;
    /** With a base connection: subfolders of the path are read too. */
    readonly recursive?: boolean;
  };
  readonly targetConnectionId: string;
  readonly dataSetId: string;
  readonly encryption: EncryptionParams;
}

/** A flow as stored: the flow as shown, and its route. */
export interface FlowRecord {
  readonly flow: Flow;
  readonly route: FlowRoute;
}

type NewFlowRecord = { readonly flow: NewResource<Flow>; readonly route: FlowRoute };

const ConnectionIds = z.array(z.string());
const StoredTransformations = z.array(Transformation);

const codec: TableCodec<FlowRecord, SandboxScope, FlowEntity, NewFlowRecord> = {
  toEntity: ({ flow, route }) => ({
    rowKey: flow.id,
    name: flow.name,
    ...(flow.description === undefined ? {} : { description: flow.description }),
    ...(flow.flowSpec === undefined ? {} : { flowSpec: JSON.stringify(flow.flowSpec) }),
    sourceConnectionIds: JSON.stringify(flow.sourceConnectionIds),
    targetConnectionIds: JSON.stringify(flow.targetConnectionIds),
    transformations: JSON.stringify(flow.transformations),
    ...(flow.scheduleParams === undefined ? {} : { scheduleParams: JSON.stringify(flow.scheduleParams) }),
    state: flow.state,
    sourceConnectionId: route.sourceConnectionId,
    sourcePath: route.source.path,
    sourceFormat: route.source.format,
    ...(route.source.compressionType === undefined ? {} : { sourceCompressionType: route.source.compressionType }),
    ...(route.source.baseConnectionId === undefined ? {} : { baseConnectionId: route.source.baseConnectionId, sourceRecursive: route.source.recursive ?? false }),
    targetConnectionId: route.targetConnectionId,
    dataSetId: route.dataSetId,
    publicKeyId: route.encryption.publicKeyId,
    ...(route.encryption.signVerificationKeyId === undefined ? {} : { signVerificationKeyId: route.encryption.signVerificationKeyId }),
    createdAt: flow.createdAt,
    updatedAt: flow.updatedAt,
    createdBy: flow.createdBy,
    createdClient: flow.createdClient,
  }),
  fromEntity: (e, scope) => ({
    flow: {
      id: e.rowKey,
      name: e.name,
      ...(e.description === undefined ? {} : { description: e.description }),
      ...(e.flowSpec === undefined ? {} : { flowSpec: readJsonColumn(SpecReference, e.flowSpec) }),
      sourceConnectionIds: readJsonColumn(ConnectionIds, e.sourceConnectionIds),
      targetConnectionIds: readJsonColumn(ConnectionIds, e.targetConnectionIds),
      transformations: readJsonColumn(StoredTransformations, e.transformations),
      ...(e.scheduleParams === undefined ? {} : { scheduleParams: readJsonColumn(ScheduleParams, e.scheduleParams) }),
      state: e.state,
      ...auditFields(scope, e, e.etag),
    },
    route: {
      sourceConnectionId: e.sourceConnectionId,
      source: {
        path: e.sourcePath,
        format: SourceFormat.parse(e.sourceFormat),
        ...(e.sourceCompressionType === undefined ? {} : { compressionType: CompressionType.parse(e.sourceCompressionType) }),
        ...(e.baseConnectionId === undefined ? {} : { baseConnectionId: e.baseConnectionId, recursive: e.sourceRecursive ?? false }),
      },
      targetConnectionId: e.targetConnectionId,
      dataSetId: e.dataSetId,
      encryption: {
        publicKeyId: e.publicKeyId,
        ...(e.signVerificationKeyId === undefined ? {} : { signVerificationKeyId: e.signVerificationKeyId }),
      },
    },
  }),
};

/** Flows that pick up new files (deleted ones stay readable but match nothing). */
export const ENABLED = where`state eq ${'enabled'}`;

/** The sandbox's flows: PartitionKey `{org}|{sandbox}`, RowKey the flow id. For this folder only. */
export function flowsOf(tables: TableFactory, scope: SandboxScope) {
  return tenantTable(tables, FLOWS_TABLE, codec).in(scope);
}
