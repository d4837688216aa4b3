import { describe, expect, it } from 'vitest';
import { BatchListQuery } from '../../shared/api/operations/catalog.js';
import { RunsQuery } from '../../shared/api/operations/flows.js';
import { AppError, type ValidationError } from '../../shared/errors.js';
import { parseQuery } from '../../shared/http/query.js';

/** The queries as the pipeline reads them for `runs-list` and `batches-list`. */
const parseRunsQuery = (q: URLSearchParams) => ({ flowId: parseQuery(RunsQuery, q, 'The runs query is invalid').property });
const parseBatchListQuery = (q: URLSearchParams) => ({ dataSetId: parseQuery(BatchListQuery, q, 'The batches query is invalid').dataSet });

const FLOW = '0b6f5c8e-2f0a-4d8e-9a37-4f6f3d1e2a10';

function refusal(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('list queries', () => {
  it('reads property=flowId=={id}', () => {
    expect(parseRunsQuery(new URLSearchParams(`property=flowId==${FLOW}`))).toEqual({ flowId: FLOW });
  });

  it.each([
    '',
    `property=flowId!=${FLOW}`,
    `property=state==success`,
    `property=flowId==${FLOW}&property=flowId==${FLOW}`,
    `property=flowId==${FLOW}&limit=5`,
    `property=flowId==not-a-uuid`,
  ])('refuses runs query %j with INVALID_REQUEST', (query) => {
    expect(refusal(() => parseRunsQuery(new URLSearchParams(query))).code).toBe('INVALID_REQUEST');
  });

  it('names each refused parameter, printable, once', () => {
    const err = refusal(() =>
      parseRunsQuery(new URLSearchParams(`property=flowId==${FLOW}&property=flowId==${FLOW}&limit=5&%3Cscript%3E=1`)),
    ) as ValidationError;
    expect(err.errors).toEqual([
      { field: 'query.property', message: 'Must be given once' },
      { field: 'query.limit', message: 'Unsupported query parameter' },
      { field: 'query._script_', message: 'Unsupported query parameter' },
    ]);
  });

  it('reads dataSet={id} and refuses anything else with INVALID_REQUEST', () => {
    expect(parseBatchListQuery(new URLSearchParams('dataSet=0123456789abcdef01234567'))).toEqual({
      dataSetId: '0123456789abcdef01234567',
    });
    for (const q of ['', 'dataSet=xyz', 'dataSet=0123456789abcdef01234567&orderBy=desc:created']) {
      expect(refusal(() => parseBatchListQuery(new URLSearchParams(q))).code).toBe('INVALID_REQUEST');
    }
  });
});
