/** Flow Service: source and target connections, dataflows (source → Encryption → target) and their runs. */
import { z } from 'zod';
import type { AppServices } from '../../app/services.js';
import {
  CreateFlowRequest,
  CreateSourceConnectionRequest,
  CreateTargetConnectionRequest,
  createFlow,
  createSourceConnection,
  createTargetConnection,
  deleteFlow,
  getFlow,
  getSourceConnection,
  getTargetConnection,
  listFlows,
  listRuns,
} from '../../flows/index.js';
import { defineOperation } from '../../http/operation.js';
import { flowKeyCheck } from '../../app/pgp-key-deps.js';
import * as R from '../openapi/response-schemas.js';

const FLOW_SERVICE = 'data/foundation/flowservice';

export const createSourceConnectionOperation = defineOperation({
  operationId: 'source-connections-create',
  method: 'POST',
  route: `${FLOW_SERVICE}/sourceConnections`,
  summary: 'Create a source connection (where files land)',
  tag: 'Flow Service',
  auth: 'required',
  request: { name: 'CreateSourceConnectionRequest', schema: CreateSourceConnectionRequest },
  success: [{ status: 201, description: 'Created', schema: R.FlowServiceCreated }],
  hpke: true,
  handler: async ({ tenant, body }, services: AppServices) => {
    const { id, etag } = await createSourceConnection(services, tenant, body);
    return { status: 201, json: { id, etag } };
  },
});

export const getSourceConnectionOperation = defineOperation({
  operationId: 'source-connections-get',
  method: 'GET',
  route: `${FLOW_SERVICE}/sourceConnections/{id}`,
  summary: 'Get a source connection',
  tag: 'Flow Service',
  auth: 'required',
  success: [{ status: 200, description: '`{ items: [connection] }`', schema: R.itemsOf(R.SourceConnection) }],
  problems: ['NOT_FOUND'],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => ({
    json: { items: [await getSourceConnection(services, tenant, params.id ?? '')] },
  }),
});

export const createTargetConnectionOperation = defineOperation({
  operationId: 'target-connections-create',
  method: 'POST',
  route: `${FLOW_SERVICE}/targetConnections`,
  summary: 'Create a target connection (the dataset files go to)',
  tag: 'Flow Service',
  auth: 'required',
  request: { name: 'CreateTargetConnectionRequest', schema: CreateTargetConnectionRequest },
  success: [{ status: 201, description: 'Created', schema: R.FlowServiceCreated }],
  hpke: true,
  handler: async ({ tenant, body }, services: AppServices) => {
    const { id, etag } = await createTargetConnection(services, tenant, body);
    return { status: 201, json: { id, etag } };
  },
});

export const getTargetConnectionOperation = defineOperation({
  operationId: 'target-connections-get',
  method: 'GET',
  route: `${FLOW_SERVICE}/targetConnections/{id}`,
  summary: 'Get a target connection',
  tag: 'Flow Service',
  auth: 'required',
  success: [{ status: 200, description: '`{ items: [connection] }`', schema: R.itemsOf(R.TargetConnection) }],
  problems: ['NOT_FOUND'],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => ({
    json: { items: [await getTargetConnection(services, tenant, params.id ?? '')] },
  }),
});

export const createFlowOperation = defineOperation({
  operationId: 'flows-create',
  method: 'POST',
  route: `${FLOW_SERVICE}/flows`,
  summary: 'Create a dataflow (source → Encryption → target)',
  description: 'The flow picks up files as they land.',
  tag: 'Flow Service',
  auth: 'required',
  request: { name: 'CreateFlowRequest', schema: CreateFlowRequest },
  success: [{ status: 201, description: 'Created', schema: R.FlowServiceCreated }],
  problems: ['NOT_FOUND', 'CONFLICT'],
  hpke: true,
  handler: async ({ tenant, body }, services: AppServices) => {
    const { id, etag } = await createFlow(services, tenant, body, flowKeyCheck(services));
    return { status: 201, json: { id, etag } };
  },
});

export const listFlowsOperation = defineOperation({
  operationId: 'flows-list',
  method: 'GET',
  route: `${FLOW_SERVICE}/flows`,
  summary: 'List dataflows',
  tag: 'Flow Service',
  auth: 'required',
  success: [{ status: 200, description: '`{ items: [flows] }`', schema: R.itemsOf(R.Flow) }],
  hpke: true,
  handler: async ({ tenant }, services: AppServices) => ({ json: { items: await listFlows(services, tenant) } }),
});

export const getFlowOperation = defineOperation({
  operationId: 'flows-get',
  method: 'GET',
  route: `${FLOW_SERVICE}/flows/{id}`,
  summary: 'Get a dataflow',
  tag: 'Flow Service',
  auth: 'required',
  success: [{ status: 200, description: '`{ items: [flow] }`', schema: R.itemsOf(R.Flow) }],
  problems: ['NOT_FOUND'],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => ({
    json: { items: [await getFlow(services, tenant, params.id ?? '')] },
  }),
});

export const deleteFlowOperation = defineOperation({
  operationId: 'flows-delete',
  method: 'DELETE',
  route: `${FLOW_SERVICE}/flows/{id}`,
  summary: 'Delete a dataflow',
  tag: 'Flow Service',
  auth: 'required',
  success: [{ status: 204, description: 'Deleted' }],
  problems: ['NOT_FOUND'],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => {
    await deleteFlow(services, tenant, params.id ?? '');
    return { status: 204 };
  },
});

const FLOW_ID_FILTER = /^flowId==[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FILTER_MESSAGE = 'Must be exactly one filter of the form flowId=={flowId}';

/**
 * The query of `GET /data/foundation/flowservice/runs`: exactly one Adobe property filter,
 * `property=flowId=={id}`, read as the flow id. Other filters and parameters are refused rather
 * than ignored, so a caller never mistakes an unfiltered answer for a filtered one.
 */
export const RunsQuery = z.object({
  property: z
    .string({ error: FILTER_MESSAGE })
    .regex(FLOW_ID_FILTER, FILTER_MESSAGE)
    .describe('Exactly one filter `flowId=={flowId}`')
    .meta({ examples: ['flowId==3f1c2a9e-5b7d-4c1e-9a2b-6d8e0f1a2b3c'] })
    .transform((filter) => filter.slice('flowId=='.length)),
});

export const listRunsOperation = defineOperation({
  operationId: 'runs-list',
  method: 'GET',
  route: `${FLOW_SERVICE}/runs`,
  summary: "List a dataflow's runs (one per file), newest first",
  tag: 'Flow Service',
  auth: 'required',
  query: RunsQuery,
  queryInvalid: 'The runs query is invalid',
  success: [{ status: 200, description: '`{ items: [runs] }`', schema: R.itemsOf(R.FlowRun) }],
  hpke: true,
  handler: async ({ tenant, query }, services: AppServices) => ({
    json: { items: await listRuns(services, tenant, query.property) },
  }),
});
