import { readFileSync } from 'node:fs';
import path from 'node:path';
import { validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildOpenApiDocument, openApiPath } from '../../shared/api/openapi/document.js';
import { OPERATIONS as ROUTES } from '../../shared/api/operations/index.js';
import { repoRoot } from '../support/runtime-process.js';

// The document as generated from the route declarations; openapi.test.ts checks it against the
// routes the running app registers.

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
      'connections-explore',
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
