/**
 * One declaration per HTTP operation: what the Azure Function registers (name, method, route),
 * what the pipeline enforces (auth, org-wide, body and query schemas), what the handler does, and
 * what the OpenAPI document says — all from the same object. A declaration is plain data plus a
 * handler: importing one registers nothing (the registrar in `functions/lib/` does that), so the
 * OpenAPI document and the CLI read the same declarations the app serves.
 */
import type { z } from 'zod';
import type { ErrorCode } from '../errors.js';
import type { ApiRequest } from './api-request.js';
import type { ApiBody, ApiResponse } from './api-response.js';
import type { ApiCall, ApiPipeline, AuthMode, RouteOptions } from './pipeline.js';
import { parseQuery, type QuerySchema } from './query.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export type OperationTag =
  | 'PGP keys'
  | 'Catalog'
  | 'Flow Service'
  | 'Data access'
  | 'Customer-managed keys'
  | 'API payload encryption'
  | 'Sandboxes'
  | 'Landing zones'
  | 'Operations';

/** A successful answer of an operation. */
export interface SuccessDoc<R extends z.ZodType = z.ZodType> {
  readonly status: number;
  readonly description: string;
  /** JSON body shape (`application/json`), omitted for empty answers and streams. */
  readonly schema?: R;
  /** Other media types of the body (streams, RFC 9458 key configurations). */
  readonly mediaTypes?: readonly string[];
}

/**
 * What a handler answers: `json` typed by the operation's success schemas, a raw `body` with its
 * own `content-type`, or neither (204). `status` defaults to 200, or 204 without a body.
 */
export type OperationResult<J> =
  | { readonly status?: number; readonly headers?: Readonly<Record<string, string>>; readonly json: J }
  | {
      readonly status?: number;
      readonly headers: Readonly<Record<string, string>> & { readonly 'content-type': string };
      readonly body: ApiBody;
    }
  | { readonly status?: number; readonly headers?: Readonly<Record<string, string>> };

/**
 * The answer type of a response schema: its known members, read-only and recursively. Response
 * schemas are loose objects (a member added later breaks no client), so their index signature is
 * dropped: a handler must give every documented member, and may give more.
 */
export type Answer<T> = T extends readonly (infer E)[]
  ? readonly Answer<E>[]
  : T extends object
    ? { readonly [K in keyof T as string extends K ? never : K]: Answer<T[K]> }
    : T;

/** What a handler receives: the pipeline's call, plus the parsed query and the route parameters. */
export type OperationCall<
  A extends AuthMode,
  S extends z.ZodType | undefined,
  Q extends QuerySchema | undefined,
> = ApiCall<A, S> & {
  readonly query: Q extends QuerySchema ? z.output<Q> : undefined;
  /** Route parameters by name (`{publicKeyId}`); a missing one reads as `''`. */
  readonly params: Readonly<Record<string, string>>;
};

/** The declaration without its handler: everything the registrar, the pipeline and the OpenAPI document read. */
export interface OperationSpec<
  A extends AuthMode = AuthMode,
  S extends z.ZodType | undefined = z.ZodType | undefined,
  Q extends QuerySchema | undefined = QuerySchema | undefined,
  R extends z.ZodType = z.ZodType,
> {
  /** The Azure Function's name, the pipeline's route name in logs and the OpenAPI `operationId`. */
  readonly operationId: string;
  readonly method: HttpMethod;
  /** The Functions route template exactly as registered (no leading slash; `{name}` parameters). */
  readonly route: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: OperationTag;
  /** `required`: bearer token, `x-api-key`, `x-gw-ims-org-id` (and `x-sandbox-name`). */
  readonly auth: A;
  /**
   * An org-wide setting: only the production sandbox may use it (PRODUCTION_SANDBOX_REQUIRED), so
   * a token scoped to a development sandbox cannot see or change what protects production data.
   */
  readonly orgWide?: A extends 'required' ? true : never;
  /** The JSON body schema the pipeline validates with; its name becomes the component name. */
  readonly request?: S extends z.ZodType ? { readonly name: string; readonly schema: S } : never;
  /** Byte limit of the request body (default the pipeline's). */
  readonly bodyLimit?: number;
  /**
   * Checks the route parameters before the query is read, so a path that names no resource
   * answers 404 whatever its query (a throw here is the answer).
   */
  readonly checkParams?: (params: Readonly<Record<string, string>>) => void;
  /** The query schema the pipeline parses with; its fields become the query parameters. */
  readonly query?: Q;
  /** The `detail` of the INVALID_REQUEST problem for a bad query (default: "The query is invalid"). */
  readonly queryInvalid?: string;
  readonly success: readonly SuccessDoc<R>[];
  /** Problem codes of this operation beyond the ones every operation of its kind may return. */
  readonly problems?: readonly ErrorCode[];
  /**
   * Whether the JSON body and answer may travel HPKE-encrypted (`application/octet-stream+hpke`).
   * True for every authenticated JSON route; false for public routes (no tenant to encrypt to)
   * and streaming downloads, which list the sealed stream among their media types instead.
   */
  readonly hpke: boolean;
}

/** One operation: its declaration and its handler, which gets the services from whoever runs it. */
export interface Operation<
  Services = never,
  A extends AuthMode = AuthMode,
  S extends z.ZodType | undefined = z.ZodType | undefined,
  Q extends QuerySchema | undefined = QuerySchema | undefined,
  R extends z.ZodType = z.ZodType,
> extends OperationSpec<A, S, Q, R> {
  // A method, so that a list of operations of different types (AnyOperation) can hold each one.
  handler(call: OperationCall<A, S, Q>, services: Services): Promise<OperationResult<Answer<z.input<R>>>>;
}

/**
 * Declares an operation; the identity function that makes TypeScript infer the auth mode, the
 * body, query and answer types from the schemas, so the handler is checked against them.
 */
export function defineOperation<
  Services,
  A extends AuthMode,
  S extends z.ZodType | undefined = undefined,
  Q extends QuerySchema | undefined = undefined,
  R extends z.ZodType = z.ZodNever,
>(operation: Operation<Services, A, S, Q, R>): Operation<Services, A, S, Q, R> {
  return operation;
}

/** Any declared operation, as lists hold them. */
export type AnyOperation<Services> = Operation<
  Services,
  AuthMode,
  z.ZodType | undefined,
  QuerySchema | undefined,
  z.ZodType
>;

/**
 * Runs one request of a declared operation through `pipeline`: {@link ApiPipeline.handle} with
 * the declaration's settings, then the route parameters checked, the query parsed with its schema,
 * and the services (built on first use) handed to its handler.
 */
export function serveOperation<Services>(
  pipeline: ApiPipeline,
  operation: AnyOperation<Services>,
  req: ApiRequest,
  services: () => Promise<Services>,
  options: { readonly invocationId?: string } = {},
): Promise<ApiResponse> {
  const route: RouteOptions<AuthMode, z.ZodType | undefined> = {
    route: operation.operationId,
    auth: operation.auth,
    ...(options.invocationId === undefined ? {} : { invocationId: options.invocationId }),
    ...(operation.request === undefined ? {} : { schema: operation.request.schema }),
    ...(operation.bodyLimit === undefined ? {} : { bodyLimit: operation.bodyLimit }),
    ...(operation.orgWide === true ? { orgWide: true } : {}),
  };
  return pipeline.handle(req, route, async (call) => {
    const params = req.params ?? {};
    operation.checkParams?.(params);
    const query =
      operation.query === undefined
        ? undefined
        : parseQuery(operation.query, searchParamsOf(req.url), operation.queryInvalid ?? 'The query is invalid');
    return operation.handler({ ...call, query, params }, await services());
  });
}

function searchParamsOf(url: string): URLSearchParams {
  try {
    return new URL(url, 'http://localhost').searchParams;
  } catch {
    return new URLSearchParams();
  }
}
