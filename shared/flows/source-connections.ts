import { z } from 'zod';
import type { Actor, SandboxScope } from '../core/scope.js';
import { FlowServiceId } from './flow-service-id.js';
import type { FlowServiceDeps } from './flow-service-deps.js';
import { connectionStore, type Connection } from './lib/connection-store.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { getBaseConnection } from './base-connections.js';
import { CLOUD_SOURCE_PATH_MAX_LENGTH, cloudSourcePathProblem } from './cloud-source-path.js';
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
 * `POST /data/foundation/flowservice/sourceConnections` body. Without `baseConnectionId`,
 * `params.path` names a folder and a file pattern in the org and sandbox's landing zone
 * (Adobe's Data Landing Zone, connection spec `26f526f2-58f4-4712-961d-e41bf1ccc0e8`), relative
 * to the zone's container; Adobe's form `dlz-user-container/incoming/*.csv.gpg` is taken as
 * `/incoming/*.csv.gpg`, which is how it is stored and shown (see `sourcePathProblem`). With a
 * `baseConnectionId` (an Azure Blob or SFTP base connection of the sandbox), `params.path` is a
 * file, folder or glob below that connection's root, and `params.recursive` takes subfolders too
 * (see `cloudSourcePathProblem`).
 */
export const CreateSourceConnectionRequest = z
  .strictObject({
    name: z.string().trim().min(1).max(256),
    description: z.string().max(4096).optional(),
    baseConnectionId: FlowServiceId.optional(),
    connectionSpec: SpecReference.optional(),
    data: z.strictObject({
      format: SourceFormat,
      properties: z.strictObject({ compressionType: CompressionType.optional() }).optional(),
    }),
    params: z.strictObject({
      path: z.string().max(CLOUD_SOURCE_PATH_MAX_LENGTH + ADOBE_ZONE_CONTAINER.length),
      // Adobe sends "true"/"false".
      recursive: z
        .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
        .optional(),
    }),
  })
  .transform((body, ctx) => {
    const cloud = body.baseConnectionId !== undefined;
    const path = !cloud && body.params.path.startsWith(`${ADOBE_ZONE_CONTAINER}/`) ? body.params.path.slice(ADOBE_ZONE_CONTAINER.length) : body.params.path;
    const problem = cloud ? cloudSourcePathProblem(path) : sourcePathProblem(path);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['params', 'path'], message: problem, input: body.params.path });
    if (!cloud && body.params.recursive === true)
      ctx.addIssue({ code: 'custom', path: ['params', 'recursive'], message: 'Only a source with a baseConnectionId reads subfolders', input: true });
    return { ...body, params: { ...body.params, path } };
  });
export type CreateSourceConnectionRequest = z.output<typeof CreateSourceConnectionRequest>;

/** A source connection as `GET .../sourceConnections/{id}` shows it. */
export interface SourceConnection extends Connection {
  readonly data: { readonly format: SourceFormat; readonly properties?: { readonly compressionType: CompressionType } };
  readonly params: { readonly path: string; readonly recursive?: boolean };
}

const sourceConnections = connectionStore({
  table: SOURCE_CONNECTIONS_TABLE,
  what: 'source connection',
  columns: (input: CreateSourceConnectionRequest): { format: SourceFormat; compressionType?: CompressionType; path: string; recursive?: boolean } => {
    const compressionType = input.data.properties?.compressionType;
    return {
      format: input.data.format,
      ...(compressionType === undefined ? {} : { compressionType }),
      path: input.params.path,
      ...(input.params.recursive === undefined ? {} : { recursive: input.params.recursive }),
    };
  },
  view: (head, e, audit): SourceConnection => ({
    ...head,
    data: { format: e.format, ...(e.compressionType === undefined ? {} : { properties: { compressionType: e.compressionType } }) },
    params: { path: e.path, ...(e.recursive === undefined ? {} : { recursive: e.recursive }) },
    ...audit,
  }),
});

/**
 * Creates a source connection in the caller's org and sandbox.
 * @throws INVALID_REQUEST naming `body.baseConnectionId` when it names no base connection there.
 */
export async function createSourceConnection(
  deps: FlowServiceDeps,
  actor: Actor,
  input: CreateSourceConnectionRequest,
): Promise<SourceConnection> {
  if (input.baseConnectionId !== undefined) {
    try {
      await getBaseConnection(deps, actor, input.baseConnectionId);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      throw new ValidationError('The base connection does not exist', [
        { field: 'body.baseConnectionId', pointer: '/baseConnectionId', message: 'No such connection in this organization and sandbox' },
      ]);
    }
  }
  return sourceConnections.create(deps, actor, input);
}


/**
 * Reads one source connection of the caller's org and sandbox.
 * @throws NOT_FOUND when it does not exist there (whether or not it exists in another tenant).
 */
export async function getSourceConnection(deps: FlowServiceDeps, scope: SandboxScope, id: string): Promise<SourceConnection> {
  return sourceConnections.get(deps, scope, id);
}
