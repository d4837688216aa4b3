import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { Authenticator } from '../auth/authenticate.js';
import type { Tenant } from '../auth/tenant.js';
import { DEFAULT_SANDBOX } from '../core/scope.js';
import { AppError, NotFoundError, ProductionSandboxRequiredError, RateLimitedError, UnsupportedMediaTypeError, ValidationError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { serializeError } from '../logging/serialize-error.js';
import type { ApiRequest } from './api-request.js';
import type { ApiResponse, ApiResult } from './api-response.js';
import { JSON_CODEC, type CodecContext, type ContentCodec, type ResponseCodec, type ResponseEncoder, type SealedRequest } from './content-codec.js';
import { fieldErrors } from './field-errors.js';
import { parseJson } from './parse-json.js';
import { toProblem } from './problems.js';
import type { RateLimiter } from './rate-limit.js';
import type { SandboxGate } from '../sandboxes/sandbox-gate.js';
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_BODY_TIMEOUTS, readBody, type BodyTimeouts } from './read-body.js';
import { requestIdFor } from './request-id.js';

export type AuthMode = 'required' | 'none';

/** Per-route settings of {@link ApiPipeline.handle}. */
export interface RouteOptions<A extends AuthMode, S extends z.ZodType | undefined> {
  /** Route name for logs, e.g. `encryption-keys-create`. */
  readonly route: string;
  /** The host's invocation id, logged next to the request id. */
  readonly invocationId?: string;
  readonly auth: A;
  /**
   * Schema of the JSON body; build it from `z.strictObject` so unknown fields are rejected. A route
   * with a schema requires a body of a supported content type (415 otherwise); a route without
   * one never reads its body.
   */
  readonly schema?: S;
  /** Byte limit of the request body (default {@link DEFAULT_BODY_LIMIT_BYTES}). */
  readonly bodyLimit?: number;
  /**
   * The route reads or changes a setting of the whole organization, shared by all its sandboxes
   * (CMK configs, HPKE client keys and settings): only callers in the production sandbox
   * ({@link DEFAULT_SANDBOX}) may use it; others get 403 PRODUCTION_SANDBOX_REQUIRED, so a token
   * scoped to a development sandbox cannot see or change what protects production data.
   */
  readonly orgWide?: A extends 'required' ? boolean : never;
}

/** What a handler receives: verified identity, validated body, and a logger bound to the request. */
export interface ApiCall<A extends AuthMode, S extends z.ZodType | undefined> {
  readonly tenant: A extends 'required' ? Tenant : null;
  readonly body: S extends z.ZodType ? z.output<S> : undefined;
  readonly requestId: string;
  readonly log: Logger;
  readonly request: ApiRequest;
}

export interface ApiPipeline {
  /**
   * Runs one request: request id, authentication, content type, size-limited body, JSON limits,
   * schema, handler; maps every failure to problem+json and writes one access log line.
   * Never throws.
   */
  handle<A extends AuthMode, S extends z.ZodType | undefined = undefined>(
    req: ApiRequest,
    options: RouteOptions<A, S>,
    handler: (call: ApiCall<A, S>) => Promise<ApiResult>,
  ): Promise<ApiResponse>;
  /** The catch-all for unknown routes: 404 `NOT_FOUND` problem+json, logged like any request. */
  notFound(req: ApiRequest, options?: { readonly invocationId?: string }): Promise<ApiResponse>;
}

export interface ApiPipelineDeps {
  readonly authenticate: Authenticator;
  readonly logger: Logger;
  /** Request body codecs by media type (default JSON only). */
  readonly codecs?: readonly ContentCodec[];
  /** Response encodings chosen by `Accept` (default none: responses as the handler made them). */
  readonly responseCodecs?: readonly ResponseCodec[];
  /** Monotonic milliseconds for durations. */
  readonly now?: () => number;
  readonly newRequestId?: () => string;
  /** Per-org request rate limit, checked once the org is authenticated (absent: no limit). */
  readonly rateLimit?: RateLimiter;
  /** Refuses a caller whose `x-sandbox-name` names no sandbox of the org (SANDBOX_NOT_FOUND). */
  readonly sandboxGate?: Pick<SandboxGate, 'check'>;
  /** How long a request body may take to arrive, in all and between chunks (default {@link DEFAULT_BODY_TIMEOUTS}). */
  readonly bodyTimeouts?: BodyTimeouts;
}

const KNOWN_METHOD = /^[A-Z]{1,16}$/;

/** Builds the request pipeline every HTTP function goes through. */
export function createApiPipeline(deps: ApiPipelineDeps): ApiPipeline {
  const codecs = new Map((deps.codecs ?? [JSON_CODEC]).map((c) => [c.mediaType, c]));
  const responseCodecs = deps.responseCodecs ?? [];
  const now = deps.now ?? (() => performance.now());
  const newRequestId = deps.newRequestId ?? randomUUID;

  async function handle<A extends AuthMode, S extends z.ZodType | undefined = undefined>(
    req: ApiRequest,
    options: RouteOptions<A, S>,
    handler: (call: ApiCall<A, S>) => Promise<ApiResult>,
  ): Promise<ApiResponse> {
    const started = now();
    const requestId = requestIdFor(req.headers.get('x-request-id'), newRequestId);
    const method = KNOWN_METHOD.test(req.method.toUpperCase()) ? req.method.toUpperCase() : 'OTHER';
    const fields: Record<string, string> = { requestId, route: options.route, method };
    if (options.invocationId !== undefined) fields.invocationId = options.invocationId;
    let tenant: Tenant | null = null;
    let log = deps.logger.child(fields);
    let response: ApiResponse;
    let failure: unknown;
    let encoder: ResponseEncoder | undefined;
    let sealed: SealedRequest | undefined;
    const responseCodec = responseCodecFor(req.headers.get('accept'));
    try {
      if (options.auth === 'required') {
        tenant = await deps.authenticate(req.headers);
        log = log.child({ org: tenant.orgId, sandbox: tenant.sandbox, clientId: tenant.clientId });
        const retryAfter = deps.rateLimit?.take(tenant.orgId);
        if (retryAfter !== undefined) throw new RateLimitedError(retryAfter);
        if (options.orgWide === true && tenant.sandbox !== DEFAULT_SANDBOX) throw new ProductionSandboxRequiredError(DEFAULT_SANDBOX);
        await deps.sandboxGate?.check(tenant);
      }
      const ctx: CodecContext = { headers: req.headers, tenant, requestId, method, path: pathOf(req.url) };
      if (responseCodec !== undefined && tenant !== null) encoder = await responseCodec.prepare(ctx);
      else if (tenant !== null) for (const c of responseCodecs) await c.refuseUnencoded?.(ctx);
      let codec = JSON_CODEC;
      let body: unknown = undefined;
      if (options.schema !== undefined) {
        codec = codecFor(req.headers.get('content-type'));
        const limit = (options.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES) + (codec.overheadBytes ?? 0);
        const raw = await readBody(req.body, req.headers.get('content-length'), limit, deps.bodyTimeouts ?? DEFAULT_BODY_TIMEOUTS);
        const decoded = await codec.decodeRequest(raw, ctx);
        sealed = decoded.sealed;
        const parsed = options.schema.safeParse(parseJson(decoded.json));
        if (!parsed.success) throw new ValidationError('The request body is invalid', fieldErrors(parsed.error.issues));
        body = parsed.data;
      }
      // The generic parameters are fixed by `options`: tenant is set iff auth is required, body iff a schema is.
      const call = { tenant, body, requestId, log, request: req } as ApiCall<A, S>;
      response = await codec.encodeResponse(toResponse(await handler(call), requestId), ctx);
    } catch (err) {
      failure = err;
      response = problemResponse(err, requestId);
    }
    // Once the tenant is known, problems are encoded as the caller asked, like successes; a
    // response that cannot be encoded becomes the (plaintext) problem saying why.
    if (encoder !== undefined) {
      try {
        response = await encoder.encode(response, sealed);
      } catch (err) {
        destroyBody(response);
        failure = err;
        response = problemResponse(err, requestId);
      }
    }
    writeAccessLog(log, response.status, now() - started, failure);
    return response;
  }

  function responseCodecFor(accept: string | null): ResponseCodec | undefined {
    if (accept === null || responseCodecs.length === 0) return undefined;
    const accepted = accept.split(',').flatMap((part) => {
      const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return q !== undefined && !(Number(q.slice(2)) > 0) ? [] : [type];
    });
    return responseCodecs.find((c) => [c.mediaType, ...(c.alternateMediaTypes ?? [])].some((t) => accepted.includes(t)));
  }

  function codecFor(contentType: string | null): ContentCodec {
    const [mediaType = '', ...params] = (contentType ?? '').split(';').map((s) => s.trim().toLowerCase());
    const codec = codecs.get(mediaType);
    const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replaceAll('"', '');
    if (codec === undefined || (charset !== undefined && charset !== 'utf-8')) {
      throw new UnsupportedMediaTypeError([...codecs.keys()]);
    }
    return codec;
  }

  return {
    handle,
    async notFound(req, options = {}) {
      return handle(req, { route: 'not-found', auth: 'none', ...options }, () => Promise.reject(new NotFoundError('No API route matches this path')));
    },
  };
}

function pathOf(url: string): string {
  try {
    return new URL(url, 'http://localhost').pathname;
  } catch {
    return '/';
  }
}

function destroyBody(response: ApiResponse): void {
  const body = response.body;
  if (body !== undefined && typeof body === 'object' && 'destroy' in body && typeof body.destroy === 'function') body.destroy();
  else if (body !== undefined && typeof body === 'object' && 'cancel' in body && typeof body.cancel === 'function') void body.cancel().catch(() => undefined);
}

function baseHeaders(requestId: string): Record<string, string> {
  return { 'x-request-id': requestId, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
}

function toResponse(result: ApiResult, requestId: string): ApiResponse {
  const headers = { ...baseHeaders(requestId), ...lowercaseKeys(result.headers ?? {}), 'x-request-id': requestId };
  if ('json' in result) {
    return { status: result.status ?? 200, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(result.json) };
  }
  if ('body' in result) return { status: result.status ?? 200, headers, body: result.body };
  return { status: result.status ?? 204, headers };
}

function problemResponse(err: unknown, requestId: string): ApiResponse {
  const problem = toProblem(err, requestId);
  return {
    status: problem.status,
    headers: { ...baseHeaders(requestId), ...problem.headers },
    body: JSON.stringify(problem.body),
  };
}

function lowercaseKeys(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/**
 * One line per request. A caller's failure is logged by code only (plus the library's reason code
 * for a refused token) since its cause may hold the caller's data; a system failure with its
 * serialized cause. Bodies and headers are never logged.
 */
function writeAccessLog(log: Logger, status: number, durationMs: number, failure: unknown): void {
  const entry: Record<string, unknown> = { status, durationMs: Math.round(durationMs * 10) / 10 };
  const code: ErrorCode = failure instanceof AppError ? failure.code : 'INTERNAL_ERROR';
  if (failure !== undefined) entry.code = code;
  if (failure !== undefined && status >= 500) {
    entry.error = serializeError(failure);
    log.error(entry, 'request failed');
    return;
  }
  if (failure instanceof AppError) {
    const reason = (failure.cause as { code?: unknown } | undefined)?.code;
    if (typeof reason === 'string') entry.reason = reason;
  }
  log.info(entry, 'request completed');
}
