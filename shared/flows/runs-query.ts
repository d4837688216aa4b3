import { z } from 'zod';
import { parseQuery } from '../http/query.js';

const FLOW_ID_FILTER = /^flowId==[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FILTER_MESSAGE = 'Must be exactly one filter of the form flowId=={flowId}';

/** The query of `GET /data/foundation/flowservice/runs`: exactly one Adobe property filter. */
export const RunsQuery = z.object({
  property: z
    .string({ error: FILTER_MESSAGE })
    .regex(FLOW_ID_FILTER, FILTER_MESSAGE)
    .describe('Exactly one filter `flowId=={flowId}`')
    .meta({ examples: ['flowId==3f1c2a9e-5b7d-4c1e-9a2b-6d8e0f1a2b3c'] })
    .transform((filter) => filter.slice('flowId=='.length)),
});

/**
 * Reads the query of `GET /data/foundation/flowservice/runs`: `property=flowId=={id}`. Other
 * filters and parameters are refused rather than ignored.
 *
 * @throws INVALID_REQUEST naming `query.property` or the unsupported parameter.
 */
export function parseRunsQuery(query: URLSearchParams): { flowId: string } {
  return { flowId: parseQuery(RunsQuery, query, 'The runs query is invalid').property };
}
