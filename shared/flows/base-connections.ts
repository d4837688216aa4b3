import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { z } from 'zod';
import type { Actor, SandboxScope } from '../core/scope.js';
import { ConnectionInUseError, NotFoundError, ValidationError } from '../errors.js';
import { parseConnectionAuth, publicAuthParams, type ConnectionAuth } from '../sources/connection-auth.js';
import type { SourceOpener } from '../sources/source-opener.js';
import type { SourceReader } from '../sources/source-reader.js';
import type { EncryptedObjectStore } from '../storage/encrypted-object-store.js';
import { tenantTable, type TableCodec } from '../storage/tenant-table.js';
import { isFlowServiceId, newFlowServiceId } from './flow-service-id.js';
import { nowMs, type FlowServiceDeps } from './flow-service-deps.js';
import { auditColumns, auditFields, type AuditColumns, type AuditFields } from './lib/audit-fields.js';
import { readJsonColumn } from './lib/stored-json.js';
import { SpecReference } from './spec-reference.js';

export const BASE_CONNECTIONS_TABLE = 'baseconnections';

/**
 * `POST /data/foundation/flowservice/connections` body, Adobe's shape: the connection spec (Azure
 * Blob or SFTP) and its `auth` (`specName` and that auth's `params`). The params are checked
 * against the spec and auth named (see `parseConnectionAuth`), each problem at its own field.
 */
export const CreateBaseConnectionRequest = z
  .strictObject({
    name: z.string().trim().min(1).max(256),
    description: z.string().max(4096).optional(),
    auth: z.strictObject({ specName: z.string().min(1).max(128), params: z.record(z.string().max(128), z.unknown()) }),
    connectionSpec: SpecReference,
  })
  .superRefine((body, ctx) => {
    const parsed = parseConnectionAuth(body.connectionSpec.id, body.auth);
    if ('issues' in parsed) for (const issue of parsed.issues) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
  });
export type CreateBaseConnectionRequest = z.output<typeof CreateBaseConnectionRequest>;

/** A base connection as `GET .../connections/{id}` shows it: where it points, never its secrets. */
export interface BaseConnection extends AuditFields {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly connectionSpec: SpecReference;
  readonly auth: { readonly specName: string; readonly params: Readonly<Record<string, string | number>> };
  readonly state: 'enabled';
}

/** What the base connections need: tables, the encrypted store their credentials live in, and a way to reach a source. */
export interface BaseConnectionDeps extends FlowServiceDeps {
  readonly objects: EncryptedObjectStore;
  readonly openSource: SourceOpener;
}

interface BaseConnectionEntity extends AuditColumns {
  rowKey: string;
  name: string;
  description?: string;
  connectionSpecId: string;
  connectionSpecVersion: string;
  specName: string;
  /** JSON of the auth params that may be shown. */
  params: string;
}

const ShownParams = z.record(z.string(), z.union([z.string(), z.number()]));

const codec: TableCodec<BaseConnection, SandboxScope, BaseConnectionEntity, BaseConnectionEntity> = {
  toEntity: (row) => row,
  fromEntity: (e, scope) => ({
    id: e.rowKey,
    name: e.name,
    ...(e.description === undefined ? {} : { description: e.description }),
    connectionSpec: { id: e.connectionSpecId, version: e.connectionSpecVersion },
    auth: { specName: e.specName, params: readJsonColumn(ShownParams, e.params) },
    state: 'enabled',
    ...auditFields(scope, e, e.etag),
  }),
};

const connectionsOf = (deps: FlowServiceDeps, scope: SandboxScope) => tenantTable(deps.tables, BASE_CONNECTIONS_TABLE, codec).in(scope);

/** The encrypted object holding a connection's auth as sent (secrets included). */
const authObject = (id: string) => `connection-auth.${id}`;

/** The auth as stored: what was sent, with the SSH host key recorded on the first connection. */
const StoredAuth = z.object({ specName: z.string(), params: z.record(z.string(), z.unknown()) });

/**
 * Creates a base connection after trying it: the destination must be allowed (SSRF), reachable,
 * and accept the credential, and the root must list. An SFTP server's host key is pinned: the
 * `hostKeyFingerprint` given must match, or the key seen now is recorded and shown. The auth is
 * stored envelope-encrypted under the sandbox's root key (as private keys are), so a revoked
 * customer key also stops its use; it is never shown or logged.
 *
 * @throws INVALID_REQUEST for a credential that cannot work (a SAS without read and list, ...).
 * @throws ADDRESS_NOT_ALLOWED, SOURCE_UNREACHABLE, SOURCE_AUTH_FAILED, SOURCE_HOST_KEY_MISMATCH,
 *   SOURCE_PATH_NOT_FOUND (the folder does not exist).
 */
export async function createBaseConnection(deps: BaseConnectionDeps, actor: Actor, input: CreateBaseConnectionRequest): Promise<BaseConnection> {
  const auth = authOf(input.connectionSpec.id, input.auth);
  let seen: string | undefined;
  const pinned = auth.kind === 'sftp' ? auth.params.hostKeyFingerprint : undefined;
  const reader = deps.openSource(auth, pinned === undefined ? { onSeen: (fp) => (seen = fp) } : { fingerprint: pinned });
  try {
    await reader.listFolder('', { limit: 1 });
  } finally {
    await reader.close();
  }
  const params = seen === undefined ? input.auth.params : { ...input.auth.params, hostKeyFingerprint: seen };
  const shown = seen === undefined ? publicAuthParams(auth) : { ...publicAuthParams(auth), hostKeyFingerprint: seen };
  const id = newFlowServiceId();
  await deps.objects.put(actor, authObject(id), Readable.from([Buffer.from(JSON.stringify({ specName: input.auth.specName, params }))]));
  return connectionsOf(deps, actor).insert({
    rowKey: id,
    name: input.name,
    ...(input.description === undefined ? {} : { description: input.description }),
    connectionSpecId: input.connectionSpec.id,
    connectionSpecVersion: input.connectionSpec.version,
    specName: input.auth.specName,
    params: JSON.stringify(shown),
    ...auditColumns(actor, nowMs(deps)),
  });
}

/**
 * Reads one base connection of the caller's org and sandbox.
 * @throws NOT_FOUND when it does not exist there (whether or not it exists in another tenant).
 */
export async function getBaseConnection(deps: FlowServiceDeps, scope: SandboxScope, id: string): Promise<BaseConnection> {
  const notFound = () => new NotFoundError('The connection was not found');
  if (!isFlowServiceId(id)) throw notFound();
  const found = await connectionsOf(deps, scope).find(id);
  if (found === undefined) throw notFound();
  return found;
}

/** The sandbox's base connections, oldest first. */
export async function listBaseConnections(deps: FlowServiceDeps, scope: SandboxScope): Promise<BaseConnection[]> {
  const all: BaseConnection[] = [];
  for await (const connection of connectionsOf(deps, scope).list()) all.push(connection);
  return all.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}

/**
 * Deletes a base connection and its stored credential.
 * @param flowUsing the name and id of a dataflow (not deleted) reading through the connection, if any.
 * @throws NOT_FOUND when it does not exist in the tenant.
 * @throws CONNECTION_IN_USE naming the flow while one uses it.
 */
export async function deleteBaseConnection(
  deps: BaseConnectionDeps,
  scope: SandboxScope,
  id: string,
  flowUsing: (baseConnectionId: string) => Promise<{ readonly id: string; readonly name: string } | undefined>,
): Promise<void> {
  await getBaseConnection(deps, scope, id);
  const flow = await flowUsing(id);
  if (flow !== undefined) throw new ConnectionInUseError(`The connection is used by dataflow ${flow.id} (${flow.name}); delete the dataflow first`);
  // The row first: once it is gone nothing reads the credential, and a crash leaves only an
  // encrypted object no row names.
  await connectionsOf(deps, scope).delete(id);
  await deps.objects.delete(scope, authObject(id));
}

/**
 * Opens a reader on the connection's storage with its stored credential and pinned host key.
 * The caller closes it.
 * @throws NOT_FOUND when the connection does not exist; CMK_ACCESS_REVOKED, KEY_VAULT_UNAVAILABLE,
 *   DECRYPTION_FAILED while its credential cannot be read; the opener's errors.
 */
export async function openConnection(deps: BaseConnectionDeps, scope: SandboxScope, id: string): Promise<SourceReader> {
  const connection = await getBaseConnection(deps, scope, id);
  const stored = readJsonColumn(StoredAuth, await text(await deps.objects.get(scope, authObject(id))));
  const auth = authOf(connection.connectionSpec.id, stored);
  const pinned = auth.kind === 'sftp' ? auth.params.hostKeyFingerprint : undefined;
  return deps.openSource(auth, pinned === undefined ? {} : { fingerprint: pinned });
}

function authOf(specId: string, auth: { readonly specName: string; readonly params: unknown }): ConnectionAuth {
  const parsed = parseConnectionAuth(specId, auth);
  if ('issues' in parsed) {
    throw new ValidationError(
      'The connection auth is invalid',
      parsed.issues.map((i) => ({ field: `body.${i.path.join('.')}`, pointer: `/${i.path.join('/')}`, message: i.message })),
    );
  }
  return parsed.auth;
}
