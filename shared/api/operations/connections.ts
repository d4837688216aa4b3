/** Flow Service base connections: the customer's own Azure Blob container or SFTP server, and exploring it. */
import { z } from 'zod';
import type { AppServices } from '../../app/services.js';
import {
  CreateBaseConnectionRequest,
  createBaseConnection,
  deleteBaseConnection,
  getBaseConnection,
  listBaseConnections,
} from '../../flows/base-connections.js';
import { exploreConnection } from '../../flows/explore-connection.js';
import { flowUsingConnection } from '../../flows/find-active-flows.js';
import { defineOperation } from '../../http/operation.js';
import * as R from '../openapi/response-schemas.js';
import { CONTINUATION_HEADER, EXPLORE_PAGE_QUERY } from './landing-zones.js';

const CONNECTIONS = 'data/foundation/flowservice/connections';
const SOURCE_PROBLEMS = ['ADDRESS_NOT_ALLOWED', 'SOURCE_UNREACHABLE', 'SOURCE_AUTH_FAILED', 'SOURCE_HOST_KEY_MISMATCH', 'SOURCE_PATH_NOT_FOUND'] as const;

export const createConnectionOperation = defineOperation({
  operationId: 'connections-create',
  method: 'POST',
  route: CONNECTIONS,
  summary: 'Create a base connection to your Azure Blob container or SFTP server',
  description:
    'Tried before it is stored: the destination must be a public address (loopback only in local mode), reachable, and accept the credential. An SFTP host key is pinned (`hostKeyFingerprint`, or recorded now and shown). Credentials are stored encrypted and never returned.',
  tag: 'Flow Service',
  auth: 'required',
  request: { name: 'CreateBaseConnectionRequest', schema: CreateBaseConnectionRequest },
  success: [{ status: 201, description: 'Created', schema: R.FlowServiceCreated }],
  problems: [...SOURCE_PROBLEMS],
  hpke: true,
  handler: async ({ tenant, body }, services: AppServices) => {
    const { id, etag } = await createBaseConnection(services.sources.connections, tenant, body);
    return { status: 201, json: { id, etag } };
  },
});

export const listConnectionsOperation = defineOperation({
  operationId: 'connections-list',
  method: 'GET',
  route: CONNECTIONS,
  summary: 'List base connections',
  tag: 'Flow Service',
  auth: 'required',
  success: [{ status: 200, description: '`{ items: [connections] }`', schema: R.itemsOf(R.BaseConnection) }],
  hpke: true,
  handler: async ({ tenant }, services: AppServices) => ({ json: { items: await listBaseConnections(services, tenant) } }),
});

export const getConnectionOperation = defineOperation({
  operationId: 'connections-get',
  method: 'GET',
  route: `${CONNECTIONS}/{id}`,
  summary: 'Get a base connection (never its secrets)',
  tag: 'Flow Service',
  auth: 'required',
  success: [{ status: 200, description: '`{ items: [connection] }`', schema: R.itemsOf(R.BaseConnection) }],
  problems: ['NOT_FOUND'],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => ({
    json: { items: [await getBaseConnection(services, tenant, params.id ?? '')] },
  }),
});

export const deleteConnectionOperation = defineOperation({
  operationId: 'connections-delete',
  method: 'DELETE',
  route: `${CONNECTIONS}/{id}`,
  summary: 'Delete a base connection and its stored credential',
  tag: 'Flow Service',
  auth: 'required',
  success: [{ status: 204, description: 'Deleted' }],
  problems: ['NOT_FOUND', 'CONNECTION_IN_USE'],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => {
    await deleteBaseConnection(services.sources.connections, tenant, params.id ?? '', (id) => flowUsingConnection(services, tenant, id));
    return { status: 204 };
  },
});

/** `GET .../connections/{id}/explore` query. */
export const ConnectionExploreQuery = z.object({
  objectType: z.enum(['root', 'folder']).describe("`root`: the connection's root; `folder`: the files and folders under `object`"),
  object: z.string().max(1024).optional().describe('With `folder`: the folder, `/path/below/the/root`'),
  ...EXPLORE_PAGE_QUERY,
});

export const exploreConnectionOperation = defineOperation({
  operationId: 'connections-explore',
  method: 'GET',
  route: `${CONNECTIONS}/{id}/explore`,
  summary: "List the files and folders of a base connection's storage",
  description: `Adobe's bare array of items. The next page's token is in \`${CONTINUATION_HEADER}\`; send it as \`start\`.`,
  tag: 'Flow Service',
  auth: 'required',
  query: ConnectionExploreQuery,
  queryInvalid: 'The explore query is invalid',
  success: [{ status: 200, description: "Adobe's bare array of items", schema: R.ExploreItems }],
  problems: ['NOT_FOUND', ...SOURCE_PROBLEMS],
  hpke: true,
  handler: async ({ tenant, params, query }, services: AppServices) => {
    const page = await exploreConnection(services.sources.connections, tenant, params.id ?? '', query);
    return {
      json: page.items,
      ...(page.continuationToken === undefined ? {} : { headers: { [CONTINUATION_HEADER]: page.continuationToken } }),
    };
  },
});
