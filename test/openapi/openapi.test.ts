import { readFileSync } from 'node:fs';
import path from 'node:path';
import { validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildOpenApiDocument, openApiPath } from '../../shared/api/openapi/document.js';
import { OPERATIONS as ROUTES } from '../../shared/api/operations/index.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { repoRoot, startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { apiHeaders } from '../support/tokens.js';

const ORG = 'CF1101OAPI@AdobeOrg';
/** The host's catch-all that answers 404 problem+json for unknown paths: a fallback, not an operation. */
const CATCH_ALL = 'not-found';
const CATCH_ALL_DETAIL = 'No API route matches this path';

interface LiveRoute {
  readonly name: string;
  readonly methods: readonly string[];
  readonly route: string;
}

type Json = Record<string, unknown>;

const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document (@readme/openapi-parser)', async () => {
    const doc = buildOpenApiDocument(ROUTES, { version });
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc) as Parameters<typeof validate>[0]);
    expect(result.valid, JSON.stringify(result)).toBe(true);
  });

  it('is checked for real: the validator refuses a document with a dangling $ref', async () => {
    const doc = structuredClone(buildOpenApiDocument(ROUTES)) as { components: { schemas: Json } };
    delete doc.components.schemas.Problem;
    const result = await validate(doc as unknown as Parameters<typeof validate>[0]);
    expect(result.valid).toBe(false);
  });

  it('generates each request body from the zod schema the route validates with', () => {
    const doc = buildOpenApiDocument(ROUTES) as {
      components: { schemas: Json };
      paths: Record<string, Record<string, Json>>;
    };
    for (const route of ROUTES.filter((r) => r.request !== undefined)) {
      const name = route.request?.name ?? '';
      const { $schema: _dialect, ...expected } = z.toJSONSchema(route.request?.schema ?? z.never(), {
        target: 'draft-2020-12',
        io: 'input',
      });
      expect(
        JSON.stringify(doc.components.schemas[name]).replaceAll(`#/components/schemas/${name}/$defs/`, '#/$defs/'),
        name,
      ).toBe(JSON.stringify(expected));
      const op = doc.paths[openApiPath(route.route)]?.[route.method.toLowerCase()] as {
        requestBody: { content: Record<string, unknown> };
      };
      expect(Object.keys(op.requestBody.content), route.operationId).toEqual([
        'application/json',
        'application/octet-stream+hpke',
      ]);
    }
  });

  it('generates each query parameter from the zod schema the function parses the query with', () => {
    const doc = buildOpenApiDocument(ROUTES) as { paths: Record<string, Record<string, { parameters: Json[] }>> };
    const withQuery = ROUTES.filter((r) => r.query !== undefined);
    expect(withQuery.map((r) => r.operationId).sort()).toEqual([
      'batches-list',
      'cmk-configs-delete',
      'cmk-configs-get',
      'landing-zone-credentials-get',
      'landing-zone-credentials-refresh',
      'landing-zone-explore',
      'landing-zone-get',
      'runs-list',
      'sandboxes-list',
    ]);
    for (const route of withQuery) {
      const shape = route.query?.shape ?? {};
      const documented = (doc.paths[openApiPath(route.route)]?.[route.method.toLowerCase()]?.parameters ?? []).filter(
        (p) => p.in === 'query',
      );
      expect(documented.map((p) => p.name), route.operationId).toEqual(Object.keys(shape));
      for (const p of documented) {
        const field = shape[p.name as string] ?? z.never();
        const { $schema: _dialect, description, ...expected } = z.toJSONSchema(field, {
          target: 'draft-2020-12',
          io: 'input',
        });
        expect(p.schema, `${route.operationId} ${String(p.name)}`).toEqual(expected);
        expect(p.description).toBe(description);
        expect(p.required).toBe(!field.safeParse(undefined).success);
      }
    }
    // What the document says is what the parser does: the documented example of the runs filter
    // parses, and the parameter is required.
    const runs = withQuery.find((r) => r.operationId === 'runs-list');
    const property = doc.paths['/data/foundation/flowservice/runs']?.get?.parameters.find((p) => p.name === 'property');
    const example = ((property?.schema as { examples?: string[] }).examples ?? [])[0] ?? '';
    expect(runs?.query?.safeParse({ property: example }).success).toBe(true);
    expect(property?.required).toBe(true);
  });

  it('documents every problem code with its status and title', () => {
    const doc = buildOpenApiDocument(ROUTES) as {
      components: {
        'x-problem-codes': Record<string, { status: number }>;
        schemas: { Problem: { properties: { code: { enum: string[] } } } };
      };
    };
    expect(doc.components.schemas.Problem.properties.code.enum).toEqual(Object.keys(doc.components['x-problem-codes']));
    expect(doc.components['x-problem-codes'].HPKE_REPLAY).toMatchObject({ status: 400 });
  });
});

describe('the OpenAPI document against the live routes', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let live: LiveRoute[];

  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime(stack.env);
    const started = await runtime.waitForLine((e) => e.event === 'host-started');
    live = (started.routes as LiveRoute[]).filter((r) => r.name !== CATCH_ALL);
  });

  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
  });

  it('is served at GET /openapi.json without a token, as generated', async () => {
    const res = await fetch(`${runtime.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(buildOpenApiDocument(ROUTES, { version }));
  });

  it('documents every live route, and every documented route is registered (catch-all 404 route aside)', () => {
    const registered = live.flatMap((r) => r.methods.map((m) => `${m.toUpperCase()} ${r.route} ${r.name}`)).sort();
    const documented = ROUTES.map((r) => `${r.method} ${r.route} ${r.operationId}`).sort();
    expect(documented).toEqual(registered);
    expect(live.every((r) => r.methods.length === 1)).toBe(true);
  });

  it('answers each documented operation from its own function, with a documented status', async () => {
    const doc = buildOpenApiDocument(ROUTES) as {
      paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
    };
    for (const route of ROUTES) {
      // Placeholder ids: reach the function (404/400 from it, never the catch-all) with no side effect.
      const url = `${runtime.url}${openApiPath(route.route)
        .replace('{keyId}', '200')
        .replace(/\{[A-Za-z]+\}/g, 'doesnotexist')}`;
      const body = route.request === undefined ? undefined : JSON.stringify({ notAField: true });
      const headers =
        route.auth === 'required'
          ? await apiHeaders(ORG, undefined, body === undefined ? {} : { 'content-type': 'application/json' })
          : {};
      const res = await fetch(url, { method: route.method, headers, ...(body === undefined ? {} : { body }) });
      const text = await res.text();
      const label = `${route.method} ${route.route} → ${res.status} ${text.slice(0, 200)}`;
      expect(text.includes(CATCH_ALL_DETAIL), label).toBe(false);
      const documented = doc.paths[openApiPath(route.route)]?.[route.method.toLowerCase()]?.responses ?? {};
      expect(Object.keys(documented), label).toContain(String(res.status));
      if (res.status >= 400) {
        const problem = JSON.parse(text) as { code: string };
        expect(documented[String(res.status)]?.description, label).toContain(`\`${problem.code}\``);
      }
      // A body that is not the schema's is refused by the schema the document shows.
      if (route.request !== undefined) expect(res.status, label).toBe(400);
    }
  });

  it('leaves unknown paths to the catch-all 404 problem', async () => {
    const res = await fetch(`${runtime.url}/no/such/route`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toBe(CATCH_ALL_DETAIL);
  });
});
