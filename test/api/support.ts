import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { AuthConfig } from '../../shared/config/app-config.js';
import { createAuthenticator } from '../../shared/auth/authenticate.js';
import { createTokenVerifier } from '../../shared/auth/verify-token.js';
import type { ApiRequest } from '../../shared/http/api-request.js';
import { createApiPipeline, type ApiPipeline } from '../../shared/http/pipeline.js';
import { createLogger, type Logger } from '../../shared/logging/logger.js';

export const ISSUER = 'https://issuer.test/';
export const AUDIENCE = 'cipherflow-test';
export const CLIENT_ID = 'test-client';
export const ORG = 'A1B2C3D4E5F6A7B8C9D0E1F2@AdobeOrg';
export const OTHER_ORG = 'FFFFFFFFFFFFFFFFFFFFFFFF@AdobeOrg';

export const AUTH_CONFIG: AuthConfig = {
  issuer: ISSUER,
  audience: AUDIENCE,
  jwksUrl: new URL('https://issuer.test/jwks'),
  clientIdClaim: 'client_id',
  orgClaim: 'org',
};

export interface TestKeys {
  readonly es256: CryptoKey;
  readonly rs256: CryptoKey;
  /** A key the verifier does not trust, published under the trusted ES256 kid. */
  readonly stranger: CryptoKey;
  readonly es256PublicJwk: JWK;
  readonly jwks: ReturnType<typeof createLocalJWKSet>;
}

export async function makeKeys(): Promise<TestKeys> {
  const es = await generateKeyPair('ES256', { extractable: true });
  const rs = await generateKeyPair('RS256', { extractable: true });
  const stranger = await generateKeyPair('ES256');
  const es256PublicJwk = { ...(await exportJWK(es.publicKey)), kid: 'es', alg: 'ES256' };
  const rsJwk = { ...(await exportJWK(rs.publicKey)), kid: 'rs', alg: 'RS256' };
  return {
    es256: es.privateKey,
    rs256: rs.privateKey,
    stranger: stranger.privateKey,
    es256PublicJwk,
    jwks: createLocalJWKSet({ keys: [es256PublicJwk, rsJwk] }),
  };
}

export interface MintOptions {
  readonly key?: CryptoKey;
  readonly alg?: 'ES256' | 'RS256';
  readonly kid?: string;
  readonly claims?: JWTPayload;
  readonly issuer?: string;
  readonly audience?: string;
  readonly expiresAt?: number;
}

/** A token as the real issuer would mint it, with overrides for each negative test. */
export async function mint(keys: TestKeys, options: MintOptions = {}): Promise<string> {
  const alg = options.alg ?? 'ES256';
  const key = options.key ?? (alg === 'ES256' ? keys.es256 : keys.rs256);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ client_id: CLIENT_ID, org: ORG, ...options.claims })
    .setProtectedHeader({ alg, kid: options.kid ?? (alg === 'ES256' ? 'es' : 'rs') })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setSubject('service-account-1')
    .setIssuedAt(now)
    .setExpirationTime(options.expiresAt ?? now + 600)
    .sign(key);
}

export interface Captured {
  readonly logger: Logger;
  /** Every raw line written, exactly as it would reach stdout. */
  readonly raw: string[];
  entries(): Record<string, unknown>[];
}

export function captureLogs(): Captured {
  const raw: string[] = [];
  const logger = createLogger({ level: 'trace', destination: { write: (line: string) => void raw.push(line) } });
  return { logger, raw, entries: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

export interface Harness {
  readonly api: ApiPipeline;
  readonly logs: Captured;
  readonly keys: TestKeys;
}

export async function harness(keys?: TestKeys): Promise<Harness> {
  const k = keys ?? (await makeKeys());
  const logs = captureLogs();
  const api = createApiPipeline({
    authenticate: createAuthenticator(createTokenVerifier(AUTH_CONFIG, { keys: k.jwks })),
    logger: logs.logger,
  });
  return { api, logs, keys: k };
}

/** Headers of a well-formed authenticated call, to be overridden per test. */
export function authHeaders(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'x-api-key': CLIENT_ID, 'x-gw-ims-org-id': ORG, 'x-sandbox-name': 'prod', ...extra };
}

/** A request built with the platform's own `Request`, the shape the Functions host hands over. */
export function request(init: { method?: string; headers?: Record<string, string>; body?: string } = {}): ApiRequest {
  return new Request('https://api.test/data/foundation/connectors/encryption/keys', {
    method: init.method ?? 'GET',
    headers: init.headers ?? {},
    ...(init.body === undefined ? {} : { body: init.body }),
  });
}

export function problemOf(body: unknown): Promise<Record<string, unknown>> {
  return Promise.resolve(JSON.parse(textOf(body)) as Record<string, unknown>);
}

/** A response body the pipeline produced as text (JSON and problem+json bodies are strings). */
export function textOf(body: unknown): string {
  if (typeof body !== 'string') throw new Error('expected a string body');
  return body;
}
