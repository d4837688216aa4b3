import { ReadableStream } from 'node:stream/web';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MAX_JSON_DEPTH, MAX_JSON_STRING_LENGTH } from '../../shared/http/json-limits.js';
import type { ApiRequest } from '../../shared/http/api-request.js';
import { DEFAULT_BODY_LIMIT_BYTES } from '../../shared/http/read-body.js';
import { authHeaders, harness, mint, problemOf, request, textOf, type Harness } from './support.js';

const CreateKey = z.strictObject({
  name: z.string().min(1).max(64),
  params: z.strictObject({ passPhrase: z.string().min(8), size: z.number().int().optional() }),
  tags: z.array(z.string()).max(8).optional(),
});

let h: Harness;
let token: string;
beforeAll(async () => {
  h = await harness();
  token = await mint(h.keys);
});

const route = { route: 'encryption-keys-create', auth: 'required', schema: CreateKey } as const;

async function post(body: string, headers: Record<string, string> = {}, limit?: number) {
  let received: unknown = undefined;
  const res = await h.api.handle(
    request({ method: 'POST', headers: authHeaders(token, { 'content-type': 'application/json', ...headers }), body }),
    limit === undefined ? route : { ...route, bodyLimit: limit },
    (c) => {
      received = c.body;
      return Promise.resolve({ status: 201, json: { name: c.body.name } });
    },
  );
  return { res, received, problem: res.status >= 400 ? await problemOf(res.body) : undefined };
}

/** A body stream that would produce `totalChunks` × 64 KiB, counting what was actually pulled. */
function hugeStream(totalChunks: number) {
  const stats = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (stats.pulled === totalChunks) return controller.close();
        stats.pulled++;
        controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
      },
      cancel() {
        stats.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, stats };
}

function streamingRequest(stream: ReadableStream<Uint8Array>, headers: Record<string, string> = {}): ApiRequest {
  return {
    method: 'POST',
    url: 'https://api.test/x',
    headers: new Headers(authHeaders(token, { 'content-type': 'application/json', ...headers })),
    body: stream,
  };
}

describe('JSON request bodies', () => {
  it('hands the handler the validated body and answers with its JSON', async () => {
    const { res, received } = await post(JSON.stringify({ name: 'k1', params: { passPhrase: 'correct horse' } }));
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(textOf(res.body))).toEqual({ name: 'k1' });
    expect(received).toEqual({ name: 'k1', params: { passPhrase: 'correct horse' } });
  });

  it('accepts application/json with a utf-8 charset parameter', async () => {
    const { res } = await post(JSON.stringify({ name: 'k1', params: { passPhrase: 'correct horse' } }), { 'content-type': 'Application/JSON; charset=UTF-8' });
    expect(res.status).toBe(201);
  });

  it('refuses malformed JSON with INVALID_REQUEST naming the position, without echoing the input', async () => {
    const { res, problem } = await post('{"name": "k1", "params": {"passPhrase": SECRET-ISH}}');
    expect(res.status).toBe(400);
    expect(problem?.code).toBe('INVALID_REQUEST');
    expect(problem?.detail).toMatch(/^The request body is not valid JSON/);
    expect(JSON.stringify(problem)).not.toContain('SECRET-ISH');
  });

  it('refuses an empty body with INVALID_REQUEST', async () => {
    expect((await post('')).problem?.code).toBe('INVALID_REQUEST');
  });

  it('refuses a wrong type with INVALID_REQUEST naming the field', async () => {
    const { problem } = await post(JSON.stringify({ name: 'k1', params: { passPhrase: 12345678 } }));
    expect(problem?.code).toBe('INVALID_REQUEST');
    const errors = problem?.errors as { field: string; pointer: string; message: string }[];
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ field: 'body.params.passPhrase', pointer: '/params/passPhrase' });
    expect(errors[0]?.message).toMatch(/expected string/);
  });

  it('names array elements by index', async () => {
    const { problem } = await post(JSON.stringify({ name: 'k1', params: { passPhrase: 'correct horse' }, tags: ['a', 7] }));
    expect((problem?.errors as { field: string }[])[0]?.field).toBe('body.tags[1]');
  });

  it('refuses an unknown field with INVALID_REQUEST naming it', async () => {
    const { problem } = await post(JSON.stringify({ name: 'k1', params: { passPhrase: 'correct horse', algo: 'x' }, extra: 1 }));
    expect(problem?.code).toBe('INVALID_REQUEST');
    expect((problem?.errors as { field: string }[]).map((e) => e.field).sort()).toEqual(['body.extra', 'body.params.algo']);
  });

  it(`refuses JSON nested deeper than ${MAX_JSON_DEPTH} levels with INVALID_REQUEST`, async () => {
    const deep = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
    const { problem } = await post(deep);
    expect(problem?.code).toBe('INVALID_REQUEST');
    expect(problem?.detail).toMatch(/nesting/);
  });

  it(`refuses a string longer than ${MAX_JSON_STRING_LENGTH} characters with INVALID_REQUEST`, async () => {
    const { problem } = await post(JSON.stringify({ name: 'x'.repeat(MAX_JSON_STRING_LENGTH + 1), params: { passPhrase: 'correct horse' } }));
    expect(problem?.code).toBe('INVALID_REQUEST');
    expect(problem?.detail).toMatch(/string is longer/);
  });

  it('counts escaped characters once when bounding string length', async () => {
    // 64 Ki "\u0041" escapes are 6 × 64 Ki bytes of text but exactly the allowed decoded length.
    const { res, problem } = await post(`{"name": "${'\\u0041'.repeat(MAX_JSON_STRING_LENGTH)}", "params": {"passPhrase": "correct horse"}}`);
    // The string passes the JSON limit, then the schema's max(64) names the field.
    expect(res.status).toBe(400);
    expect((problem?.errors as { field: string }[])[0]?.field).toBe('body.name');
  });

  it('refuses a body that is not valid UTF-8 with INVALID_REQUEST', async () => {
    const bytes = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
    const stream = new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(bytes), c.close()) });
    const res = await h.api.handle(streamingRequest(stream), route, () => Promise.resolve({}));
    expect((await problemOf(res.body)).code).toBe('INVALID_REQUEST');
  });

  it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['application/json; charset=latin1']])(
    'refuses Content-Type %s with UNSUPPORTED_MEDIA_TYPE (415)',
    async (contentType) => {
      const { res, problem } = await post(JSON.stringify({ name: 'k1', params: { passPhrase: 'correct horse' } }), { 'content-type': contentType });
      expect(res.status).toBe(415);
      expect(problem?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    },
  );

  it('refuses a missing Content-Type with UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await h.api.handle(
      { method: 'POST', url: 'https://api.test/x', headers: new Headers(authHeaders(token)), body: null },
      route,
      () => Promise.resolve({}),
    );
    expect((await problemOf(res.body)).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('authenticates before looking at the content type', async () => {
    const res = await h.api.handle(request({ method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }), route, () => Promise.resolve({}));
    expect(res.status).toBe(401);
  });
});

describe('body size limit', () => {
  it('refuses a body over the route limit with PAYLOAD_TOO_LARGE (413)', async () => {
    const body = JSON.stringify({ name: 'k1', params: { passPhrase: 'p'.repeat(2000) } });
    const { res, problem } = await post(body, {}, 1024);
    expect(res.status).toBe(413);
    expect(problem?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('stops reading an endless body just past the limit and cancels the stream', async () => {
    const { stream, stats } = hugeStream(1600); // would be 100 MiB
    let handlerCalled = false;
    const res = await h.api.handle(streamingRequest(stream), route, () => ((handlerCalled = true), Promise.resolve({})));
    expect(res.status).toBe(413);
    expect((await problemOf(res.body)).code).toBe('PAYLOAD_TOO_LARGE');
    expect(stats.pulled).toBe(DEFAULT_BODY_LIMIT_BYTES / (64 * 1024) + 1);
    expect(stats.cancelled).toBe(true);
    expect(handlerCalled).toBe(false);
  });

  it('refuses a declared Content-Length over the limit without reading the body at all', async () => {
    const { stream, stats } = hugeStream(1600);
    const res = await h.api.handle(streamingRequest(stream, { 'content-length': String(100 * 1024 * 1024) }), route, () => Promise.resolve({}));
    expect((await problemOf(res.body)).code).toBe('PAYLOAD_TOO_LARGE');
    expect(stats.pulled).toBe(0);
  });
});
