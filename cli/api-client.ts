import type { z } from 'zod';
import { Problem } from '../shared/api/openapi/response-schemas.js';
import type { CliConfig } from './config.js';
import { ApiProblemError, CliError } from './errors.js';
import { EXIT } from './exit-codes.js';

/** A `fetch`-shaped function: plain `fetch`, or the HPKE client's encrypting wrapper. */
export type Fetcher = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<Response>;

/**
 * The caller's identity headers: a fresh development token in local mode (the development
 * issuer's key file is shared with `npm start`), otherwise `CIPHERFLOW_TOKEN`.
 * @throws CliError exit 3 when no token is available.
 */
export async function authHeaders(
  config: CliConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, string>> {
  let token: string;
  if (config.mode === 'local') {
    const { issueDevToken } = await import('../local/dev-issuer.js');
    token = await issueDevToken({ org: config.org, clientId: config.apiKey });
  } else {
    const fromEnv = env.CIPHERFLOW_TOKEN;
    if (fromEnv === undefined || fromEnv.trim() === '')
      throw new CliError('no access token: set CIPHERFLOW_TOKEN', EXIT.AUTH);
    token = fromEnv.trim();
  }
  return {
    authorization: `Bearer ${token}`,
    'x-api-key': config.apiKey,
    'x-gw-ims-org-id': config.org,
    'x-sandbox-name': config.sandbox,
  };
}

/** The API as the CLI calls it: identity headers on every call, problems turned into {@link ApiProblemError}. */
export class ApiClient {
  constructor(
    readonly config: CliConfig,
    private readonly fetcher: Fetcher = (url, init) => fetch(url, init),
  ) {}

  url(path: string): string {
    return new URL(path.startsWith('/') ? path : `/${path}`, this.config.baseUrl).href;
  }

  /** Sends a request; a non-2xx answer throws. `body` is JSON-encoded unless it is already a string. */
  async send(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<Response> {
    const headers = { ...(await authHeaders(this.config)), ...extraHeaders };
    const init: { method: string; headers: Record<string, string>; body?: string } = {
      method: method.toUpperCase(),
      headers,
    };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      headers['content-type'] ??= 'application/json';
    }
    let res: Response;
    try {
      res = await this.fetcher(this.url(path), init);
    } catch (err) {
      if (err instanceof Error && err.name === 'HpkeClientError')
        throw new CliError(`HPKE: ${err.message}`, EXIT.ERROR, { cause: err });
      throw new CliError(`cannot reach ${this.config.baseUrl}: ${networkReason(err)}`, EXIT.NETWORK, { cause: err });
    }
    if (!res.ok) throw await problemOf(res);
    return res;
  }

  /** Sends a request and parses the JSON answer with `schema`. */
  async json<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.output<S>> {
    const res = await this.send(method, path, body);
    const parsed = schema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) throw new CliError(`unexpected answer from ${method} ${path}`, EXIT.ERROR);
    return parsed.data;
  }
}

/** Turns a non-2xx answer into the problem it carries, or a network-class error when it is not the API's. */
export async function problemOf(res: Response): Promise<CliError> {
  const text = await res.text().catch(() => '');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = Problem.safeParse(json);
  if (parsed.success) return new ApiProblemError(res.status, parsed.data);
  return new CliError(
    `HTTP ${res.status} ${res.statusText} without a problem document (not the cipherflow API?)`,
    EXIT.NETWORK,
  );
}

function networkReason(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return err instanceof Error ? err.message : String(err);
}
