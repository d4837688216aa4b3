import { z } from 'zod';
import type { Actor, SandboxScope } from '../core/scope.js';
import { FlowServiceId } from './flow-service-id.js';
import type { FlowServiceDeps } from './flow-service-deps.js';
import { connectionStore, type Connection } from './lib/connection-store.js';
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
export interface SourceConnection extends Connection {
  readonly data: { readonly format: SourceFormat; readonly properties?: { readonly compressionType: CompressionType } };
  readonly params: { readonly path: string };
}

const sourceConnections = connectionStore({
  table: SOURCE_CONNECTIONS_TABLE,
  what: 'source connection',
  columns: (input: CreateSourceConnectionRequest): { format: SourceFormat; compressionType?: CompressionType; path: string } => {
    const compressionType = input.data.properties?.compressionType;
    return { format: input.data.format, ...(compressionType === undefined ? {} : { compressionType }), path: input.params.path };
  },
  view: (head, e, audit): SourceConnection => ({
    ...head,
    data: { format: e.format, ...(e.compressionType === undefined ? {} : { properties: { compressionType: e.compressionType } }) },
    params: { path: e.path },
    ...audit,
  }),
});

/** Creates a source connection in the caller's org and sandbox. */
export async function createSourceConnection(
  deps: FlowServiceDeps,
  actor: Actor,
  input: CreateSourceConnectionRequest,
): Promise<SourceConnection> {
  return sourceConnections.create(deps, actor, input);
}

/**
 * Reads one source connection of the caller's org and sandbox.
 * @throws NOT_FOUND when it does not exist there (whether or not it exists in another tenant).
 */
export async function getSourceConnection(deps: FlowServiceDeps, scope: SandboxScope, id: string): Promise<SourceConnection> {
  return sourceConnections.get(deps, scope, id);
}
