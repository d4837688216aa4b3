import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { CreateDatasetRequest } from '../../shared/catalog/datasets.js';
import { CreateByokConfigRequest } from '../../shared/cmk/configs.js';
import { CreateFlowRequest, CreateSourceConnectionRequest, CreateTargetConnectionRequest } from '../../shared/flows/index.js';
import { PutClientKeyRequest } from '../../shared/hpke/client-keys.js';
import { PutEncryptionSettingsRequest } from '../../shared/hpke/org-settings.js';
import type { ApiResponse } from '../../shared/http/api-response.js';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TABLE } from '../../shared/http/problems.js';
import { RegisterCustomerKeyRequest } from '../../shared/pgp-keys/customer-keys.js';
import { CreateEncryptionKeyRequest } from '../../shared/pgp-keys/encryption-keys.js';
import { authHeaders, harness, mint, textOf, type Harness } from '../api/support.js';

/**
 * Attack: hostile JSON request bodies (any JSON value, any bytes, nesting and string bombs,
 * prototype keys, broken UTF-8, odd content types) against the pipeline every route shares.
 * Property: for each real request schema and ANY body, the pipeline resolves (never throws) with
 * the handler's 2xx for a schema-valid body or a 4xx application/problem+json whose `code` maps to
 * that status; the handler sees only schema-valid input; no body pollutes Object.prototype.
 */

const SCHEMAS: Record<string, z.ZodType> = {
  'datasets-create': CreateDatasetRequest,
  'cmk-configs-create': CreateByokConfigRequest,
  'flows-create': CreateFlowRequest,
  'source-connections-create': CreateSourceConnectionRequest,
  'target-connections-create': CreateTargetConnectionRequest,
  'api-encryption-client-keys-put': PutClientKeyRequest,
  'api-encryption-settings-put': PutEncryptionSettingsRequest,
  'customer-keys-create': RegisterCustomerKeyRequest,
  'encryption-keys-create': CreateEncryptionKeyRequest,
};
const ROUTES = Object.keys(SCHEMAS);
const BODY_LIMIT = 64 * 1024;

let h: Harness;
let token: string;
beforeAll(async () => {
  h = await harness();
  token = await mint(h.keys);
});

let inputsTried = 0;

async function post(route: string, body: string | Uint8Array, contentType = 'application/json') {
  inputsTried++;
  const schema = SCHEMAS[route];
  if (schema === undefined) throw new Error(route);
  let seen: unknown = undefined;
  const res: ApiResponse = await h.api.handle(
    new Request('https://api.test/data/foundation/catalog/dataSets', {
      method: 'POST',
      headers: authHeaders(token, { 'content-type': contentType }),
      body: typeof body === 'string' ? body : Buffer.from(body),
    }),
    { route, auth: 'required', schema, bodyLimit: BODY_LIMIT },
    (call) => {
      seen = call.body;
      return Promise.resolve({ status: 201, json: { ok: true } });
    },
  );
  return { res, seen, schema };
}

/** The answer is the handler's 201 or a problem whose code maps to its 4xx status. */
function expectWellFormed(r: Awaited<ReturnType<typeof post>>): string | undefined {
  const { res } = r;
  if (res.status === 201) {
    expect(r.schema.safeParse(r.seen).success).toBe(true);
    return undefined;
  }
  expect(r.seen).toBeUndefined();
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.headers?.['content-type']).toBe(PROBLEM_CONTENT_TYPE);
  const problem = JSON.parse(textOf(res.body)) as { code: keyof typeof PROBLEM_TABLE; status: number; requestId: string };
  expect(PROBLEM_TABLE[problem.code].status).toBe(res.status);
  expect(problem.status).toBe(res.status);
  expect(problem.requestId).toBe(res.headers?.['x-request-id']);
  return problem.code;
}

const route = fc.constantFrom(...ROUTES);
/** Values shaped like our bodies (the real field names), so schemas are reached beyond the first key. */
const fieldNames = fc.constantFrom('name', 'description', 'params', 'path', 'data', 'format', 'dataSetId', 'passPhrase', 'encryptionAlgorithm', 'publicKey', 'kemId', 'requireEncryption', 'type', 'imsOrgId', 'configData', 'providerType', 'keyVaultKeyIdentifier', 'sourceConnectionIds', 'targetConnectionIds', 'transformations', '__proto__', 'constructor', 'prototype', '');
const shaped = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 2 }), tie('object'), fc.array(tie('value'), { maxLength: 3 })),
  object: fc.dictionary(fieldNames, tie('value'), { maxKeys: 6 }),
})).object;

describe('hostile JSON bodies', () => {
  it('answers any JSON value with 201 or a 4xx problem', async () => {
    await fc.assert(
      fc.asyncProperty(route, fc.oneof(fc.jsonValue({ maxDepth: 4 }), shaped), async (r, value) => {
        const code = expectWellFormed(await post(r, JSON.stringify(value) ?? 'null'));
        if (code !== undefined) expect(code).toBe('INVALID_REQUEST');
      }),
      { numRuns: 600 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers any bytes with 201 or a 4xx problem', async () => {
    await fc.assert(
      fc.asyncProperty(
        route,
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.json({ maxDepth: 3 }).chain((j) => fc.tuple(fc.nat(j.length), fc.string({ unit: 'binary', maxLength: 3 })).map(([at, s]) => j.slice(0, at) + s + j.slice(at + 1))),
        ),
        async (r, body) => {
          const code = expectWellFormed(await post(r, body));
          if (code !== undefined) expect(code).toBe('INVALID_REQUEST');
        },
      ),
      { numRuns: 600 },
    );
  });

  it('answers any content type with 201, 400 or 415', async () => {
    await fc.assert(
      fc.asyncProperty(
        route,
        fc.oneof(
          fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset="UTF-8"', 'application/json; charset=utf-16', 'text/plain', 'application/x-www-form-urlencoded', 'APPLICATION/JSON', 'application/json;', ';', ''),
          fc.string({ unit: fc.constantFrom('a', '/', ';', '=', ' ', 'j', 's', 'o', 'n', '"', ','), maxLength: 30 }),
        ),
        async (r, contentType) => {
          const code = expectWellFormed(await post(r, '{"name":"x"}', contentType));
          if (code !== undefined) expect(['INVALID_REQUEST', 'UNSUPPORTED_MEDIA_TYPE']).toContain(code);
        },
      ),
      { numRuns: 300 },
    );
  });

  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  it.each([
    ['a nesting bomb of 100 000 arrays', deep(100_000), 'PAYLOAD_TOO_LARGE'],
    ['a nesting bomb within the byte limit', deep(20_000), 'INVALID_REQUEST'],
    ['nesting one past the limit', `{"name":${deep(32)}}`, 'INVALID_REQUEST'],
    ['an unterminated nesting bomb', '{"a":'.repeat(10_000), 'INVALID_REQUEST'],
    ['a string past the length limit', `{"name":"${'x'.repeat(BODY_LIMIT - 20)}"}`, 'INVALID_REQUEST'],
    ['a body past the byte limit', `{"name":"${'x'.repeat(BODY_LIMIT)}"}`, 'PAYLOAD_TOO_LARGE'],
    ['an escape-heavy string', `{"name":"${'\\u0041'.repeat(10_000)}"}`, 'INVALID_REQUEST'],
    ['a trailing backslash', '{"name":"\\', 'INVALID_REQUEST'],
    ['a truncated unicode escape', '{"name":"\\u12', 'INVALID_REQUEST'],
    ['a lone surrogate escape', '{"name":"\\ud800"}', undefined],
    ['a huge number', '{"name":"x","params":{"size":1e400}}', 'INVALID_REQUEST'],
    ['a prototype key', '{"__proto__":{"polluted":true},"name":"x"}', undefined],
    ['a constructor key', '{"constructor":{"prototype":{"polluted":true}},"name":"x"}', undefined],
    ['duplicate keys', '{"name":"a","name":{"x":1}}', undefined],
    ['a byte order mark (ignored, as RFC 8259 §8.1 allows)', '\uFEFF{"name":"x"}', undefined],
    ['an empty body', '', 'INVALID_REQUEST'],
    ['whitespace only', '   \n', 'INVALID_REQUEST'],
    ['a NUL byte', '{"name":"x\u0000"}', 'INVALID_REQUEST'],
    ['JSON followed by garbage', '{"name":"x"} {"name":"y"}', 'INVALID_REQUEST'],
    ['a top-level string', '"x"', 'INVALID_REQUEST'],
  ])('answers %s with a stable problem', async (_label, body, code) => {
    for (const r of ROUTES) {
      const got = expectWellFormed(await post(r, body));
      if (code !== undefined) expect(got, r).toBe(code);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers invalid UTF-8 with INVALID_REQUEST', async () => {
    for (const bytes of [[0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
      expect(expectWellFormed(await post('datasets-create', new Uint8Array(bytes)))).toBe('INVALID_REQUEST');
    }
  });

  it('tried every input it reports', () => {
    // 600 + 600 + 300 property runs and the corpus above, each against the pipeline.
    expect(inputsTried).toBeGreaterThan(1500);
  });
});
