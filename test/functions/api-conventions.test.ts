import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CLIENT_ID } from '../../shared/config/defaults.js';
import { ensureSandbox } from '../support/api-client.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { apiHeaders, craftToken, foreignKey, issueDevToken, unsignedToken } from '../support/tokens.js';

const ORG = 'CF0001AAAA@AdobeOrg';
const OTHER_ORG = 'CF0002BBBB@AdobeOrg';
const DATASETS = '/data/foundation/catalog/dataSets';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string;
  errors?: { field: string; message: string }[];
}

describe('API conventions through the local runtime', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime(stack.env);
    // Both orgs have a dev sandbox, so a 404 below is about the dataset, not SANDBOX_NOT_FOUND.
    await ensureSandbox(runtime.url, ORG, 'dev');
    await ensureSandbox(runtime.url, OTHER_ORG, 'dev');
  });
  afterAll(async () => {
    await runtime.stop();
    await stack.stop();
  });

  async function call(method: string, path: string, headers: Record<string, string>, body?: string) {
    const res = await fetch(`${runtime.url}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body }),
    });
    return res;
  }

  async function problem(res: Response, status: number, code: string): Promise<Problem> {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await res.json()) as Problem;
    expect(body).toMatchObject({ status, code });
    expect(typeof body.title).toBe('string');
    expect(body.requestId).toBe(res.headers.get('x-request-id'));
    return body;
  }

  async function withToken(token: string, org = ORG) {
    return call('GET', `${DATASETS}/000000000000000000000000`, {
      authorization: `Bearer ${token}`,
      'x-api-key': DEV_CLIENT_ID,
      'x-gw-ims-org-id': org,
    });
  }

  it('creates a dataset and reads it back in Catalog shapes', async () => {
    const headers = await apiHeaders(ORG);
    const created = await call('POST', DATASETS, headers, JSON.stringify({ name: 'customers' }));
    expect(created.status).toBe(201);
    const [ref] = (await created.json()) as string[];
    expect(ref).toMatch(/^@\/dataSets\/[0-9a-f]{24}$/);
    const id = ref?.split('/')[2] ?? '';
    const read = await call('GET', `${DATASETS}/${id}`, headers);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ [id]: { name: 'customers', imsOrg: ORG, sandboxName: 'prod' } });
  });

  it('refuses a call without a token with 401 UNAUTHENTICATED and a Bearer challenge', async () => {
    const res = await call('GET', `${DATASETS}/000000000000000000000000`, { 'x-gw-ims-org-id': ORG });
    await problem(res, 401, 'UNAUTHENTICATED');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('refuses an expired token', async () => {
    const res = await withToken(await craftToken({ org: ORG, expiresAt: Math.floor(Date.now() / 1000) - 3600 }));
    await problem(res, 401, 'UNAUTHENTICATED');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
  });

  it('refuses a token for another audience', async () => {
    await problem(await withToken(await craftToken({ org: ORG, audience: 'someone-else' })), 401, 'UNAUTHENTICATED');
  });

  it('refuses a token signed by a key the issuer never published, under that key\'s own kid', async () => {
    await problem(await withToken(await craftToken({ org: ORG, key: foreignKey() })), 401, 'UNAUTHENTICATED');
  });

  it('refuses a token signed by a foreign key under the issuer\'s published kid (the signature check fails)', async () => {
    const jwks = (await (await fetch(stack.issuer.jwksUrl)).json()) as { keys: { kid?: string }[] };
    const kid = jwks.keys[0]?.kid;
    expect(kid).toBeTypeOf('string');
    // The same kid with the issuer's own key is accepted, so the refusal below is the signature's.
    expect((await withToken(await craftToken({ org: ORG, kid: kid ?? '' }))).status).toBe(404);
    const res = await withToken(await craftToken({ org: ORG, key: foreignKey(), kid: kid ?? '' }));
    const body = await problem(res, 401, 'UNAUTHENTICATED');
    expect(body.detail).toBe('The access token is invalid');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
  });

  it('refuses an unsigned alg:none token', async () => {
    await problem(await withToken(unsignedToken(ORG)), 401, 'UNAUTHENTICATED');
  });

  it('refuses an x-api-key that is not the token client with 401 INVALID_API_KEY and a Bearer challenge', async () => {
    const headers = await apiHeaders(ORG, undefined, { 'x-api-key': 'someone-elses-client' });
    const res = await call('GET', `${DATASETS}/000000000000000000000000`, headers);
    await problem(res, 401, 'INVALID_API_KEY');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('refuses an org the token does not grant with 403 FORBIDDEN_ORG', async () => {
    const token = await issueDevToken({ org: ORG });
    await problem(await withToken(token, OTHER_ORG), 403, 'FORBIDDEN_ORG');
  });

  it('keeps sandboxes apart: a dataset created in dev is invisible from prod and from another org', async () => {
    const dev = await apiHeaders(ORG, 'dev');
    const created = await call('POST', DATASETS, dev, JSON.stringify({ name: 'dev-only' }));
    const [ref] = (await created.json()) as string[];
    const id = ref?.split('/')[2] ?? '';
    expect((await call('GET', `${DATASETS}/${id}`, dev)).status).toBe(200);
    await problem(await call('GET', `${DATASETS}/${id}`, await apiHeaders(ORG, 'prod')), 404, 'NOT_FOUND');
    await problem(await call('GET', `${DATASETS}/${id}`, await apiHeaders(OTHER_ORG, 'dev')), 404, 'NOT_FOUND');
  });

  it('refuses malformed JSON with 400 INVALID_REQUEST', async () => {
    await problem(await call('POST', DATASETS, await apiHeaders(ORG), '{"name": "x"'), 400, 'INVALID_REQUEST');
  });

  it('refuses wrong types and unknown fields, naming each field', async () => {
    const body = await problem(
      await call('POST', DATASETS, await apiHeaders(ORG), JSON.stringify({ name: 42, colour: 'blue' })),
      400,
      'INVALID_REQUEST',
    );
    const fields = (body.errors ?? []).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['body.name', 'body.colour']));
  });

  it('refuses an oversized body with 413 PAYLOAD_TOO_LARGE', async () => {
    const big = JSON.stringify({ name: 'x', description: 'y'.repeat(2 * 1024 * 1024) });
    await problem(await call('POST', DATASETS, await apiHeaders(ORG), big), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('refuses a body that is not JSON with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await call('POST', DATASETS, { ...(await apiHeaders(ORG)), 'content-type': 'text/plain' }, 'name=x');
    await problem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers an unknown route with 404 problem+json', async () => {
    await problem(await call('GET', '/data/foundation/nothing/here', {}), 404, 'NOT_FOUND');
    await problem(await call('DELETE', '/', {}), 404, 'NOT_FOUND');
  });

  it('refuses to start with a production configuration that has no AUTH_JWKS_URL, naming it', async () => {
    const { AUTH_JWKS_URL: _devIssuer, ...local } = stack.env;
    // Every other setting production requires is set, so the missing AUTH_JWKS_URL is the one cause.
    const production = {
      ...local,
      CIPHERFLOW_ENV: 'production',
      AUTH_ISSUER: 'https://ims.example.com',
      AUTH_AUDIENCE: 'cipherflow',
      PUBLIC_BASE_URL: 'https://api.example.com',
      CMK_APP_CLIENT_ID: 'e463a445-c6ac-4ca2-b36a-b5146fcf6a52',
      CMK_APP_NAME: 'cipherflow-cmk',
      CMK_APP_URI: 'https://cipherflow.example/cmk',
    };
    // The app's modules load before the host starts: every setting is checked then.
    const outcome = await startRuntime(production).then(
      async (unexpected) => {
        await unexpected.stop();
        return 'started';
      },
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    expect(outcome).toMatch(/runtime exited \(1\)[\s\S]*could not start[\s\S]*AUTH_JWKS_URL required/);
    // The same configuration with an https AUTH_JWKS_URL starts, so the missing setting was the cause.
    const started = await startRuntime({ ...production, AUTH_JWKS_URL: 'https://ims.example.com/keys' });
    await started.stop();
  });

  it('logs requests with their request id, org, sandbox, route, status and duration', async () => {
    const res = await call('GET', `${DATASETS}/000000000000000000000000`, await apiHeaders(ORG, 'dev'));
    const requestId = res.headers.get('x-request-id');
    // The app's own JSON lines, written through the invocation's log (its message, which logEntry reads).
    const entry = await runtime.waitForLine((e) => e.requestId === requestId && e.msg === 'request completed');
    expect(entry).toMatchObject({ requestId, org: ORG, sandbox: 'dev', route: 'datasets-get', status: 404 });
    expect(typeof entry.durationMs).toBe('number');
    const executed = await runtime.waitForLine((e) => e.functionName === 'datasets-get' && e.invocationId === entry.invocationId);
    expect(executed.category).toBe('system');
  });
});
