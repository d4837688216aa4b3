import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

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
