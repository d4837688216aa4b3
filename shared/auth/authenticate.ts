import { checkApiKey } from './api-key.js';
import { resolveTenant, type Tenant } from './tenant.js';
import type { TokenVerifier } from './verify-token.js';

/** The headers authentication reads; a `Headers` instance fits. */
export interface HeaderReader {
  get(name: string): string | null;
}

/** Turns a request's headers into the caller's {@link Tenant}, or throws. */
export type Authenticator = (headers: HeaderReader) => Promise<Tenant>;

/**
 * Builds the request authenticator: bearer token first (so an anonymous caller always gets 401),
 * then `x-api-key` against the token's client, then the org and sandbox headers.
 *
 * The returned function throws `UNAUTHENTICATED` (401), `AUTH_UNAVAILABLE` (503),
 * `INVALID_API_KEY` (401), `INVALID_REQUEST` (400, bad org/sandbox header) or `FORBIDDEN_ORG` (403).
 */
export function createAuthenticator(verifyToken: TokenVerifier): Authenticator {
  return async (headers) => {
    const token = await verifyToken(headers.get('authorization'));
    checkApiKey(headers.get('x-api-key'), token.clientId);
    return resolveTenant({ orgId: headers.get('x-gw-ims-org-id'), sandbox: headers.get('x-sandbox-name') }, token);
  };
}
