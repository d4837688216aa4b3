import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OPERATIONS } from '../../shared/api/operations/index.js';
import { NotFoundError } from '../../shared/errors.js';
import type { ApiRequest } from '../../shared/http/api-request.js';
import { defineOperation, serveOperation } from '../../shared/http/operation.js';
import { authHeaders, harness, mint, problemOf, textOf, type Harness } from './support.js';

const repo = path.resolve(import.meta.dirname, '../..');

let h: Harness;
let token: string;
beforeAll(async () => {
  h = await harness();
  token = await mint(h.keys);
});

function get(
  url: string,
  init: { headers?: Record<string, string>; params?: Record<string, string>; method?: string; body?: string } = {},
): ApiRequest {
  const req = new Request(`https://api.test/${url}`, {
    method: init.method ?? 'GET',
    headers: init.headers ?? {},
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return Object.assign(req, { params: init.params ?? {} });
}

const Things = z.looseObject({ items: z.array(z.looseObject({ id: z.string(), size: z.int() })) });

const listThings = defineOperation({
  operationId: 'things-list',
  method: 'GET',
  route: 'things/{shelf}',
  summary: 'List things',
  tag: 'Operations',
  auth: 'required',
  query: z.object({
    limit: z
      .string()
      .regex(/^[0-9]+$/, 'Must be a whole number')
      .transform(Number)
      .optional(),
  }),
  queryInvalid: 'The things query is invalid',
  success: [{ status: 200, description: 'The things', schema: Things }],
  hpke: false,
  handler: ({ query, params, tenant }, services: { readonly sizes: readonly number[] }) =>
    Promise.resolve({
      json: {
        items: services.sizes
          .slice(0, query.limit ?? 10)
          .map((size, i) => ({ id: `${params.shelf}-${i}-${tenant.sandbox}`, size })),
      },
    }),
});

describe('a declared operation', () => {
  it('gets the parsed query, the route parameters, the tenant and the services', async () => {
    let built = 0;
    const services = () => {
      built += 1;
      return Promise.resolve({ sizes: [3, 5, 8] });
    };
    const res = await serveOperation(
      h.api,
      listThings,
      get('things/top?limit=2', { headers: authHeaders(token), params: { shelf: 'top' } }),
      services,
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(textOf(res.body))).toEqual({
      items: [
        { id: 'top-0-prod', size: 3 },
        { id: 'top-1-prod', size: 5 },
      ],
    });
    expect(built).toBe(1);
  });

  it('refuses a bad or unknown query parameter with the declared detail, before the handler or the services run', async () => {
    let built = 0;
    const services = () => {
      built += 1;
      return Promise.resolve({ sizes: [] });
    };
    const res = await serveOperation(
      h.api,
      listThings,
      get('things/top?limit=two&colour=red', { headers: authHeaders(token) }),
      services,
    );
    expect(res.status).toBe(400);
    const problem = await problemOf(res.body);
    expect(problem).toMatchObject({ code: 'INVALID_REQUEST', detail: 'The things query is invalid' });
    expect((problem as { errors?: unknown }).errors).toEqual([
      { field: 'query.colour', message: 'Unsupported query parameter' },
      { field: 'query.limit', message: 'Must be a whole number' },
    ]);
    expect(built).toBe(0);
  });

  it('checks the route parameters before the query: a path naming no resource is 404 whatever its query', async () => {
    const shelved = {
      ...listThings,
      checkParams: ({ shelf }: Readonly<Record<string, string>>) => {
        if (shelf !== 'top') throw new NotFoundError('No such shelf');
      },
    };
    const res = await serveOperation(
      h.api,
      shelved,
      get('things/low?colour=red', { headers: authHeaders(token), params: { shelf: 'low' } }),
      () => Promise.resolve({ sizes: [] }),
    );
    expect(res.status).toBe(404);
    expect(await problemOf(res.body)).toMatchObject({ code: 'NOT_FOUND', detail: 'No such shelf' });
  });

  it('authenticates as declared: no token, 401 and no services built', async () => {
    let built = 0;
    const res = await serveOperation(h.api, listThings, get('things/top'), () => {
      built += 1;
      return Promise.resolve({ sizes: [] });
    });
    expect(res.status).toBe(401);
    expect(built).toBe(0);
  });

  it('enforces a declared body schema and org-wide scope', async () => {
    const setThing = defineOperation({
      operationId: 'things-put',
      method: 'PUT',
      route: 'things',
      summary: 'Set a thing',
      tag: 'Operations',
      auth: 'required',
      orgWide: true,
      request: { name: 'PutThing', schema: z.strictObject({ size: z.int() }) },
      success: [{ status: 200, description: 'Set', schema: z.looseObject({ size: z.int() }) }],
      hpke: false,
      handler: ({ body }, _services: null) => Promise.resolve({ json: { size: body.size } }),
    });
    const put = (sandbox: string, body: string) =>
      serveOperation(
        h.api,
        setThing,
        get('things', {
          method: 'PUT',
          body,
          headers: authHeaders(token, { 'content-type': 'application/json', 'x-sandbox-name': sandbox }),
        }),
        () => Promise.resolve(null),
      );
    expect((await put('prod', '{"size":4}')).status).toBe(200);
    expect((await problemOf((await put('prod', '{"size":"4"}')).body)).code).toBe('INVALID_REQUEST');
    expect((await problemOf((await put('dev1', '{"size":4}')).body)).code).toBe('PRODUCTION_SANDBOX_REQUIRED');
  });
});

// Compile-time checks, run by `npm run lint` (tsc over the tests): each directive below fails the
// build if the line under it compiles, so the handler's answer and its parsed query are typed by
// the declared schemas.
export const typeChecks = [
  defineOperation({
    operationId: 'typed',
    method: 'GET',
    route: 'typed',
    summary: 'Typed',
    tag: 'Operations',
    auth: 'none',
    success: [{ status: 200, description: 'A thing', schema: z.looseObject({ id: z.string() }) }],
    hpke: false,
    // @ts-expect-error -- `id` must be a string, as the schema documents it
    handler: () => Promise.resolve({ json: { id: 7 } }),
  }),
  defineOperation({
    operationId: 'typed-query',
    method: 'GET',
    route: 'typed',
    summary: 'Typed',
    tag: 'Operations',
    auth: 'none',
    query: z.object({ n: z.string().transform(Number) }),
    success: [{ status: 200, description: 'A number', schema: z.looseObject({ n: z.number() }) }],
    hpke: false,
    // @ts-expect-error -- the parsed query's `n` is a number, not a string
    handler: ({ query }) => Promise.resolve({ json: { n: query.n.toUpperCase() } }), // eslint-disable-line @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call -- meant not to compile
  }),
];

describe('the API declarations', () => {
  it('are unique by name and by method and route', () => {
    const names = OPERATIONS.map((o) => o.operationId);
    expect(new Set(names).size).toBe(names.length);
    const routes = OPERATIONS.map((o) => `${o.method} ${o.route}`);
    expect(new Set(routes).size).toBe(routes.length);
  });

  it('each have one file under functions/ that registers exactly that declaration', () => {
    const files = readdirSync(path.join(repo, 'functions')).filter((f) => f.endsWith('.ts'));
    for (const op of OPERATIONS) {
      expect(files, op.operationId).toContain(`${op.operationId}.ts`);
      const source = readFileSync(path.join(repo, 'functions', `${op.operationId}.ts`), 'utf8');
      expect(source.match(/registerHttp\(/g), op.operationId).toHaveLength(1);
    }
  });

  it('are, with the timer and queue jobs and the catch-all, all that functions/ registers: one registrar call per file, none of @azure/functions', () => {
    const files = readdirSync(path.join(repo, 'functions')).filter((f) => f.endsWith('.ts'));
    for (const file of files) {
      const source = readFileSync(path.join(repo, 'functions', file), 'utf8');
      expect(source.match(/^register(Http|Timer|Queue|CatchAll)\(/gm), file).toHaveLength(1);
      expect(source, file).not.toMatch(/@azure\/functions/);
    }
  });

  it('keep shared/ free of @azure/functions: only functions/ registers anything', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.ts') && /from '@azure\/functions'/.test(readFileSync(full, 'utf8')))
          offenders.push(path.relative(repo, full));
      }
    };
    walk(path.join(repo, 'shared'));
    expect(offenders).toEqual([]);
  });
});
