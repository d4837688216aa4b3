import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createAuthenticator } from '../../shared/auth/authenticate.js';
import { createTokenVerifier } from '../../shared/auth/verify-token.js';
import { JSON_CODEC, type ContentCodec } from '../../shared/http/content-codec.js';
import { createApiPipeline } from '../../shared/http/pipeline.js';
import { ConflictError } from '../../shared/errors.js';
import type { ApiRequest } from '../../shared/http/api-request.js';
import type { ApiResponse } from '../../shared/http/api-response.js';
import { AUTH_CONFIG, authHeaders, captureLogs, harness, mint, ORG, problemOf, request, textOf, type Harness } from './support.js';

let h: Harness;
let token: string;
beforeAll(async () => {
  h = await harness();
  token = await mint(h.keys);
});

describe('structural types', () => {
  it('takes an @azure/functions HttpRequest and returns an HttpResponseInit', () => {
    expectTypeOf<HttpRequest>().toExtend<ApiRequest>();
    expectTypeOf<ApiResponse>().toExtend<HttpResponseInit>();
  });
});

describe('request id', () => {
  it('puts the same request id in the x-request-id header, the problem body and the access log line', async () => {
    h.logs.raw.length = 0;
    const res = await h.api.handle(request(), { route: 'r', auth: 'required' }, () => Promise.resolve({}));
    const id = res.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await problemOf(res.body)).requestId).toBe(id);
    const lines = h.logs.entries().filter((l) => l.requestId === id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ route: 'r', method: 'GET', status: 401, code: 'UNAUTHENTICATED' });
  });

  it('reuses a well-formed incoming x-request-id', async () => {
    const res = await h.api.handle(request({ headers: { 'x-request-id': 'client-req-0001' } }), { route: 'r', auth: 'none' }, () => Promise.resolve({}));
    expect(res.headers['x-request-id']).toBe('client-req-0001');
  });

  it('replaces an incoming x-request-id that could forge log content', async () => {
    const res = await h.api.handle(request({ headers: { 'x-request-id': 'abc"}\t{"level":"fatal' } }), { route: 'r', auth: 'none' }, () => Promise.resolve({}));
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('storage outages', () => {
  it('answers 503 STORAGE_UNAVAILABLE with Retry-After when storage does not answer, 500 for its other refusals', async () => {
    const { TableClient } = await import('@azure/data-tables');
    const unreachable = TableClient.fromConnectionString(
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;',
      'nothing',
      { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } },
    );
    const down = await h.api.handle(request({ headers: authHeaders(token) }), { route: 'r', auth: 'required' }, async () => {
      await unreachable.getEntity('p', 'r');
      return {};
    });
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    expect(await problemOf(down.body)).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });

    const refused = Object.assign(new Error('The specified resource does not exist.'), { name: 'RestError', statusCode: 404 });
    const bug = await h.api.handle(request({ headers: authHeaders(token) }), { route: 'r', auth: 'required' }, () => Promise.reject(refused));
    expect(bug.status).toBe(500);
    expect(await problemOf(bug.body)).toMatchObject({ code: 'INTERNAL_ERROR' });
  });
});

describe('org-wide routes', () => {
  it('serves the production sandbox and refuses any other with 403 PRODUCTION_SANDBOX_REQUIRED before the handler runs', async () => {
    let ran = 0;
    const handler = () => {
      ran += 1;
      return Promise.resolve({ json: { ok: true } });
    };
    const prod = await h.api.handle(request({ headers: authHeaders(token) }), { route: 'r', auth: 'required', orgWide: true }, handler);
    expect(prod.status).toBe(200);
    const dev = await h.api.handle(request({ headers: authHeaders(token, { 'x-sandbox-name': 'dev' }) }), { route: 'r', auth: 'required', orgWide: true }, handler);
    expect(dev.status).toBe(403);
    expect(await problemOf(dev.body)).toMatchObject({ code: 'PRODUCTION_SANDBOX_REQUIRED', detail: expect.stringContaining('x-sandbox-name: prod') as unknown });
    expect(ran).toBe(1);
    // Without the flag a sandbox route serves dev as usual.
    expect((await h.api.handle(request({ headers: authHeaders(token, { 'x-sandbox-name': 'dev' }) }), { route: 'r', auth: 'required' }, handler)).status).toBe(200);
  });
});

describe('responses and errors', () => {
  it('answers 204 with no body when the handler returns neither json nor body', async () => {
    const res = await h.api.handle(request(), { route: 'r', auth: 'none' }, () => Promise.resolve({}));
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('passes a raw streaming body through with its content type', async () => {
    const stream = new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new Uint8Array([1, 2])), c.close()) });
    const res = await h.api.handle(request(), { route: 'r', auth: 'none' }, () =>
      Promise.resolve({ headers: { 'content-type': 'application/octet-stream' }, body: stream }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toBe(stream);
    expect(res.headers['content-type']).toBe('application/octet-stream');
  });

  it('maps a thrown AppError to its own status and code', async () => {
    const res = await h.api.handle(request({ headers: authHeaders(token) }), { route: 'r', auth: 'required' }, () => {
      throw new ConflictError('A key with this name exists');
    });
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(await problemOf(res.body)).toMatchObject({
      type: 'https://cipherflow.dev/problems/conflict',
      title: 'The request conflicts with the current state',
      status: 409,
      code: 'CONFLICT',
      detail: 'A key with this name exists',
    });
  });

  it('turns an unexpected error into INTERNAL_ERROR 500 without its message or stack, and logs the cause', async () => {
    h.logs.raw.length = 0;
    const res = await h.api.handle(request({ headers: authHeaders(token) }), { route: 'r', auth: 'required' }, () => {
      throw new Error('db password=hunter2 at 10.0.0.7');
    });
    expect(res.status).toBe(500);
    const text = textOf(res.body);
    expect(JSON.parse(text)).toMatchObject({ code: 'INTERNAL_ERROR', status: 500 });
    expect(text).not.toMatch(/hunter2|10\.0\.0\.7|at .*\.ts/);
    const line = h.logs.entries().find((l) => l.requestId === res.headers['x-request-id']);
    expect(line).toMatchObject({ level: 'error', status: 500, code: 'INTERNAL_ERROR', org: ORG, sandbox: 'prod' });
    expect(line?.error).toMatchObject({ type: 'Error', message: 'db password=hunter2 at 10.0.0.7' });
  });

  it('writes one access line with org, sandbox, route, method, status, duration and invocation id', async () => {
    h.logs.raw.length = 0;
    const res = await h.api.handle(request({ headers: authHeaders(token, { 'x-sandbox-name': 'dev' }) }), { route: 'keys-list', auth: 'required', invocationId: 'inv-1' }, () =>
      Promise.resolve({ json: [] }),
    );
    expect(res.status).toBe(200);
    const entries = h.logs.entries();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ level: 'info', route: 'keys-list', method: 'GET', status: 200, org: ORG, sandbox: 'dev', invocationId: 'inv-1', requestId: res.headers['x-request-id'] });
    expect(typeof entries[0]?.durationMs).toBe('number');
  });

  it('logs why a token was refused by library code only', async () => {
    h.logs.raw.length = 0;
    const expired = await mint(h.keys, { expiresAt: Math.floor(Date.now() / 1000) - 3600 });
    await h.api.handle(request({ headers: authHeaders(expired) }), { route: 'r', auth: 'required' }, () => Promise.resolve({}));
    expect(h.logs.entries()[0]).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'ERR_JWT_EXPIRED' });
  });

  it('answers an unknown route with NOT_FOUND problem+json', async () => {
    const res = await h.api.notFound(request(), { invocationId: 'inv-2' });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(await problemOf(res.body)).toMatchObject({ code: 'NOT_FOUND', requestId: res.headers['x-request-id'] });
  });
});

describe('content codecs (extension point for encrypted bodies)', () => {
  it('decodes a request and encodes the response with the codec chosen by Content-Type, then validates the plaintext', async () => {
    // A stand-in for application/octet-stream+hpke: base64 "encryption".
    const codec: ContentCodec = {
      mediaType: 'application/x-test-wrapped',
      decodeRequest: (body: Uint8Array) => Promise.resolve({ json: Buffer.from(Buffer.from(body).toString(), 'base64') }),
      encodeResponse: (r: ApiResponse) => Promise.resolve({ ...r, headers: { ...r.headers, 'content-type': 'application/x-test-wrapped' }, body: Buffer.from(textOf(r.body)).toString('base64') }),
    };
    const api = createApiPipeline({
      authenticate: createAuthenticator(createTokenVerifier(AUTH_CONFIG, { keys: h.keys.jwks })),
      logger: captureLogs().logger,
      codecs: [JSON_CODEC, codec],
    });
    const schema = z.strictObject({ n: z.number() });
    const wrapped = Buffer.from(JSON.stringify({ n: 41 })).toString('base64');
    const res = await api.handle(
      request({ method: 'POST', headers: authHeaders(token, { 'content-type': 'application/x-test-wrapped' }), body: wrapped }),
      { route: 'r', auth: 'required', schema },
      (c) => Promise.resolve({ json: { n: c.body.n + 1 } }),
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(Buffer.from(textOf(res.body), 'base64').toString())).toEqual({ n: 42 });
    const bad = await api.handle(
      request({ method: 'POST', headers: authHeaders(token, { 'content-type': 'application/x-test-wrapped' }), body: Buffer.from('{"n":"x"}').toString('base64') }),
      { route: 'r', auth: 'required', schema },
      () => Promise.resolve({}),
    );
    expect((await problemOf(bad.body)).errors).toEqual([expect.objectContaining({ field: 'body.n' })]);
  });
});
