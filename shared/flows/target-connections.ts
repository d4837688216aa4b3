import { z } from 'zod';
import { CATALOG_ID_PATTERN, getDataset } from '../catalog/datasets.js';
import type { Actor, SandboxScope } from '../core/scope.js';
import { AppError, ValidationError } from '../errors.js';
import { FlowServiceId } from './flow-service-id.js';
import type { FlowServiceDeps } from './flow-service-deps.js';
import { connectionStore, type Connection } from './lib/connection-store.js';
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
export interface TargetConnection extends Connection {
  readonly data?: { readonly format?: string; readonly schema?: { readonly id: string; readonly version: string } };
  readonly params: { readonly dataSetId: string };
}

const targetConnections = connectionStore({
  table: TARGET_CONNECTIONS_TABLE,
  what: 'target connection',
  columns: (input: CreateTargetConnectionRequest): { format?: string; schemaId?: string; schemaVersion?: string; dataSetId: string } => {
    const schema = input.data?.schema;
    return {
      ...(input.data?.format === undefined ? {} : { format: input.data.format }),
      ...(schema === undefined ? {} : { schemaId: schema.id, schemaVersion: schema.version }),
      dataSetId: input.params.dataSetId,
    };
  },
  view: (head, e, audit): TargetConnection => {
    const data = {
      ...(e.format === undefined ? {} : { format: e.format }),
      ...(e.schemaId === undefined || e.schemaVersion === undefined ? {} : { schema: { id: e.schemaId, version: e.schemaVersion } }),
    };
    return { ...head, ...(Object.keys(data).length === 0 ? {} : { data }), params: { dataSetId: e.dataSetId }, ...audit };
  },
});

/**
 * Creates a target connection in the caller's org and sandbox, writing into one of its datasets.
 *
 * @throws INVALID_REQUEST naming `body.params.dataSetId` when the dataset does not exist in the
 *   tenant: the reference inside the body is wrong, not the URL, so 400 as Adobe answers, not 404.
 */
export async function createTargetConnection(
  deps: FlowServiceDeps,
  actor: Actor,
  input: CreateTargetConnectionRequest,
): Promise<TargetConnection> {
  await assertDatasetExists(deps, actor, input.params.dataSetId);
  return targetConnections.create(deps, actor, input);
}

/**
 * Reads one target connection of the caller's org and sandbox.
 * @throws NOT_FOUND when it does not exist there (whether or not it exists in another tenant).
 */
export async function getTargetConnection(deps: FlowServiceDeps, scope: SandboxScope, id: string): Promise<TargetConnection> {
  return targetConnections.get(deps, scope, id);
}

async function assertDatasetExists(deps: FlowServiceDeps, scope: SandboxScope, dataSetId: string): Promise<void> {
  try {
    await getDataset(deps, scope, dataSetId);
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
