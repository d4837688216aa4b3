import { ValidationError, type FieldError } from '../errors.js';
import { FLOW_SERVICE_ID_PATTERN } from './flow-service-id.js';

const FLOW_ID_FILTER = /^flowId==([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * Reads the query of `GET /data/foundation/flowservice/runs`: exactly one Adobe property filter,
 * `property=flowId=={id}`. Other filters and parameters are refused rather than ignored, so a
 * caller never mistakes an unfiltered answer for a filtered one.
 *
 * @throws INVALID_REQUEST naming `query.property` or the unsupported parameter.
 */
export function parseRunsQuery(query: URLSearchParams): { flowId: string } {
  const errors: FieldError[] = [];
  for (const name of new Set(query.keys())) {
    if (name !== 'property') errors.push({ field: `query.${sanitize(name)}`, message: 'Unsupported query parameter' });
  }
  const properties = query.getAll('property');
  const match = properties.length === 1 ? FLOW_ID_FILTER.exec(properties[0] ?? '') : null;
  const flowId = match?.[1];
  if (flowId === undefined || !FLOW_SERVICE_ID_PATTERN.test(flowId)) {
    errors.push({ field: 'query.property', message: 'Must be exactly one filter of the form flowId=={flowId}' });
  }
  if (errors.length > 0 || flowId === undefined) throw new ValidationError('The runs query is invalid', errors);
  return { flowId };
}

// A parameter name is the caller's input: keep it short and printable before it goes in a response.
function sanitize(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
}
