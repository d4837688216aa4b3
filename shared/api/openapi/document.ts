import { z } from 'zod';
import type { ErrorCode } from '../../errors.js';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TABLE, problemType } from '../../http/problems.js';
import { HPKE_MEDIA_TYPE } from '../../hpke/wire-format.js';
import { Problem } from './response-schemas.js';
import type { OperationSpec, OperationTag } from '../../http/operation.js';

/** The OpenAPI version of the generated document (JSON Schema 2020-12 dialect). */
export const OPENAPI_VERSION = '3.1.0';

type Json = Record<string, unknown>;

/** Codes any operation can answer with, by route kind (the pipeline's own failures). */
const COMMON_PROBLEMS: readonly ErrorCode[] = ['INTERNAL_ERROR', 'STORAGE_UNAVAILABLE'];
const AUTH_PROBLEMS: readonly ErrorCode[] = [
  'INVALID_REQUEST',
  'UNAUTHENTICATED',
  'INVALID_API_KEY',
  'FORBIDDEN_ORG',
  'FORBIDDEN_SANDBOX',
  'SANDBOX_NOT_FOUND',
  'AUTH_UNAVAILABLE',
];
const BODY_PROBLEMS: readonly ErrorCode[] = ['INVALID_REQUEST', 'REQUEST_TIMEOUT', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];
const HPKE_PROBLEMS: readonly ErrorCode[] = ['HPKE_NO_CLIENT_KEY', 'HPKE_TIMESTAMP_SKEW', 'HPKE_FORMAT_UNSUPPORTED', 'HPKE_REQUIRED'];
const HPKE_BODY_PROBLEMS: readonly ErrorCode[] = [
  'HPKE_UNKNOWN_KEY',
  'HPKE_UNSUPPORTED_SUITE',
  'HPKE_DECRYPT_FAILED',
  'HPKE_REPLAY',
  'HPKE_REQUIRED',
];

const TAG_DESCRIPTIONS: Record<OperationTag, string> = {
  'PGP keys': 'Key pairs files are encrypted to, and customer keys signatures are verified with',
  Catalog: 'Datasets and their batches',
  'Flow Service': 'Where files land, where they go, and the runs of each file',
  'Data access': 'Decrypted, ingested files',
  'Customer-managed keys': "Wrapping every root key with a key in the customer's own Key Vault",
  'API payload encryption': 'HPKE (RFC 9180) request and response bodies',
  'Landing zones': 'Per-sandbox containers customers upload into, and their credentials',
  Sandboxes: "The organization's sandboxes: every other route works in the one `x-sandbox-name` names",
  Operations: 'Health and this document',
};

export interface OpenApiOptions {
  /** The `servers[0].url` (default: relative, the host serving the document). */
  readonly serverUrl?: string;
  /** `info.version` (default the package version the caller passes, else `0.0.0`). */
  readonly version?: string;
}

/** `data/foundation/.../{id}` → `/data/foundation/.../{id}`: Functions templates without constraints are OpenAPI paths. */
export function openApiPath(route: string): string {
  return `/${route.replace(/\{\*?([A-Za-z0-9_]+)(?::[a-z]+)?\??\}/g, '{$1}')}`;
}

/**
 * Builds the OpenAPI 3.1 document of `operations` (the API's list is `OPERATIONS` in
 * `../operations/index.ts`). Request bodies and query parameters are the JSON Schema of the zod
 * schemas the pipeline validates with (`z.toJSONSchema`, input side); answers are the operations'
 * response schemas; problems use {@link PROBLEM_TABLE}. Pure and deterministic.
 */
export function buildOpenApiDocument(operations: readonly OperationSpec[], options: OpenApiOptions = {}): Json {
  const schemas: Json = { Problem: componentSchema('Problem', Problem, 'output') };
  const paths: Record<string, Json> = {};
  for (const route of operations) {
    const path = openApiPath(route.route);
    const item = (paths[path] ??= {});
    item[route.method.toLowerCase()] = operation(route, schemas);
  }
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: 'cipherflow API',
      version: options.version ?? '0.0.0',
      summary:
        'Encrypted data ingestion, customer-managed keys and HPKE payload encryption, on Adobe Experience Platform paths',
      description:
        'Errors are RFC 9457 `application/problem+json` with a stable `code` (see `components.x-problem-codes`). ' +
        'Authenticated JSON operations also take and answer `application/octet-stream+hpke` (see the README, "API payload encryption").',
    },
    servers: [{ url: options.serverUrl ?? '/' }],
    tags: Object.entries(TAG_DESCRIPTIONS).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      schemas: {
        ...schemas,
        HpkeMessage: {
          type: 'string',
          contentMediaType: HPKE_MEDIA_TYPE,
          description:
            'hdr ‖ enc ‖ ct: keyId (1) ‖ kemId (2) ‖ kdfId (2) ‖ aeadId (2), then the KEM output and the AEAD ciphertext of the JSON',
        },
      },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: "The token's client id" },
      },
      parameters: {
        org: {
          name: 'x-gw-ims-org-id',
          in: 'header',
          required: true,
          schema: { type: 'string' },
          description: 'An org the token grants',
        },
        sandbox: { name: 'x-sandbox-name', in: 'header', required: false, schema: { type: 'string', default: 'prod' } },
        hpkeTimestamp: {
          name: 'x-hpke-timestamp',
          in: 'header',
          required: false,
          schema: { type: 'string', pattern: '^\\d{1,12}$' },
          description: 'Unix seconds, bound into the AAD; required with an `application/octet-stream+hpke` body',
        },
        hpkeFormat: {
          name: 'x-hpke-format',
          in: 'header',
          required: false,
          schema: { type: 'string', enum: ['2'] },
          description: 'The HPKE wire format version (`2`); required with an HPKE body or an HPKE `Accept`',
        },
        hpkeClientKeyId: {
          name: 'x-hpke-client-key-id',
          in: 'header',
          required: false,
          schema: { type: 'string', pattern: '^\\d{1,3}$' },
          description: 'The client key to encrypt the answer to, with `Accept: application/octet-stream+hpke`',
        },
      },
      'x-problem-codes': Object.fromEntries(
        Object.entries(PROBLEM_TABLE).map(([code, { status, title }]) => [
          code,
          { status, title, type: problemType(code as ErrorCode) },
        ]),
      ),
    },
  };
}

function operation(route: OperationSpec, schemas: Json): Json {
  const parameters: Json[] = [];
  for (const match of route.route.matchAll(/\{\*?([A-Za-z0-9_]+)/g)) {
    parameters.push({ name: match[1], in: 'path', required: true, schema: { type: 'string' } });
  }
  for (const [name, field] of Object.entries(route.query?.shape ?? {})) {
    const { description, ...schema } = componentSchema(name, field, 'input');
    parameters.push({
      name,
      in: 'query',
      required: !field.safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema,
    });
  }
  if (route.auth === 'required')
    parameters.push({ $ref: '#/components/parameters/org' }, { $ref: '#/components/parameters/sandbox' });
  if (route.hpke) {
    if (route.request !== undefined) parameters.push({ $ref: '#/components/parameters/hpkeTimestamp' });
    parameters.push({ $ref: '#/components/parameters/hpkeClientKeyId' });
    parameters.push({ $ref: '#/components/parameters/hpkeFormat' });
  }

  const responses: Json = {};
  for (const ok of route.success) {
    const content: Json = {};
    if (ok.schema !== undefined) {
      const name = `${pascal(route.operationId)}${ok.status}`;
      schemas[name] = componentSchema(name, ok.schema, 'output');
      content['application/json'] = { schema: { $ref: `#/components/schemas/${name}` } };
      if (route.hpke) content[HPKE_MEDIA_TYPE] = { schema: { $ref: '#/components/schemas/HpkeMessage' } };
    }
    for (const type of ok.mediaTypes ?? []) content[type] = { schema: { type: 'string', contentMediaType: type } };
    responses[String(ok.status)] = {
      description: ok.description,
      ...(Object.keys(content).length > 0 ? { content } : {}),
    };
  }
  for (const [status, codes] of problemsByStatus(route)) {
    if (responses[String(status)] !== undefined) continue;
    const content: Json = { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } };
    if (route.hpke) content[HPKE_MEDIA_TYPE] = { schema: { $ref: '#/components/schemas/HpkeMessage' } };
    responses[String(status)] = { description: `Problem: ${codes.map((c) => `\`${c}\``).join(', ')}`, content };
  }

  const op: Json = {
    operationId: route.operationId,
    summary: route.summary,
    ...(descriptionOf(route) === undefined ? {} : { description: descriptionOf(route) }),
    tags: [route.tag],
    security: route.auth === 'required' ? [{ bearer: [], apiKey: [] }] : [],
    ...(parameters.length > 0 ? { parameters } : {}),
    responses,
  };
  if (route.request !== undefined) {
    schemas[route.request.name] = componentSchema(route.request.name, route.request.schema, 'input');
    const content: Json = { 'application/json': { schema: { $ref: `#/components/schemas/${route.request.name}` } } };
    if (route.hpke) content[HPKE_MEDIA_TYPE] = { schema: { $ref: '#/components/schemas/HpkeMessage' } };
    op.requestBody = { required: true, content };
  }
  return op;
}

const ORG_WIDE_NOTE =
  'Organization-wide: the setting covers every sandbox of the org and is read and changed only from its production sandbox (`x-sandbox-name: prod`).';

function descriptionOf(route: OperationSpec): string | undefined {
  if (route.orgWide !== true) return route.description;
  return route.description === undefined ? ORG_WIDE_NOTE : `${route.description}\n\n${ORG_WIDE_NOTE}`;
}

function problemsByStatus(route: OperationSpec): Map<number, ErrorCode[]> {
  const codes = new Set<ErrorCode>([...COMMON_PROBLEMS, ...(route.problems ?? [])]);
  if (route.auth === 'required') for (const c of AUTH_PROBLEMS) codes.add(c);
  if (route.orgWide === true) codes.add('PRODUCTION_SANDBOX_REQUIRED');
  if (route.request !== undefined) for (const c of BODY_PROBLEMS) codes.add(c);
  if (route.hpke)
    for (const c of [...HPKE_PROBLEMS, ...(route.request === undefined ? [] : HPKE_BODY_PROBLEMS)]) codes.add(c);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = PROBLEM_TABLE[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return new Map([...byStatus.entries()].sort(([a], [b]) => a - b));
}

/**
 * One zod schema as a component: `$defs` stay inside it (recursive types such as the JSON values
 * of transformation params), so their `#/$defs/...` references are re-rooted at the component.
 */
function componentSchema(name: string, schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'throw',
  }) as Json;
  return reroot(json, `#/components/schemas/${name}/$defs/`) as Json;
}

function reroot(value: unknown, defsBase: string): unknown {
  if (Array.isArray(value)) return value.map((v) => reroot(v, defsBase));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')
        ? defsBase + v.slice('#/$defs/'.length)
        : reroot(v, defsBase),
    ]),
  );
}

function pascal(id: string): string {
  return id.replace(/(^|-)([a-z0-9])/g, (_m, _dash: string, c: string) => c.toUpperCase());
}
