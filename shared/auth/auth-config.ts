import { z } from 'zod';
import { ConfigError } from '../config.js';

/** How bearer tokens are verified and which claims name the client and the granted organizations. */
export interface AuthConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: URL;
  /** Claim holding the OAuth client id that `x-api-key` must equal. */
  readonly clientIdClaim: string;
  /** Claim holding the granted organization id(s): a string or an array of strings. */
  readonly orgClaim: string;
  /**
   * Claim holding the sandbox name(s) a token may work in (a string or an array of strings). When
   * set, a token is confined to the sandboxes it names and a token without the claim works in
   * none; when absent (the default), sandboxes are chosen per request and are no boundary.
   */
  readonly sandboxClaim?: string;
}

/**
 * The development issuer's identity, used as defaults in local mode only. The issuer is a fixed
 * string rather than `http://127.0.0.1:<port>` so a token minted by `npm run token` (which signs
 * with the key file and needs no server) stays valid whichever port the issuer serves on.
 */
export const DEV_ISSUER = 'cipherflow-dev-issuer';
export const DEV_AUDIENCE = 'cipherflow';
export const DEV_CLIENT_ID = 'cipherflow-dev-client';
export const DEV_ISSUER_PORT = 7072;
export const DEV_JWKS_PATH = '/.well-known/jwks.json';

const claimName = z.string().regex(/^[A-Za-z0-9_:.\-/]{1,128}$/, 'must be a JWT claim name');
const nonEmpty = z.string().trim().min(1);

const Env = z.object({
  CIPHERFLOW_ENV: z.enum(['local', 'production']).default('production'),
  AUTH_ISSUER: nonEmpty.optional(),
  AUTH_AUDIENCE: nonEmpty.optional(),
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  AUTH_CLIENT_ID_CLAIM: claimName.default('client_id'),
  AUTH_ORG_CLAIM: claimName.default('org'),
  AUTH_SANDBOX_CLAIM: claimName.optional(),
});

/**
 * Reads the auth settings once at start. Outside local mode `AUTH_ISSUER`, `AUTH_AUDIENCE` and an
 * https `AUTH_JWKS_URL` are required and the development issuer is refused, so a production app
 * never trusts the key pair that sits unencrypted in `.local/`. In local mode (`CIPHERFLOW_ENV=local`)
 * they default to the development issuer on loopback.
 *
 * @throws ConfigError naming every missing or malformed setting.
 */
export function parseAuthConfig(env: Readonly<Record<string, string | undefined>>): AuthConfig {
  const result = Env.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  const e = result.data;
  const base = {
    clientIdClaim: e.AUTH_CLIENT_ID_CLAIM,
    orgClaim: e.AUTH_ORG_CLAIM,
    ...(e.AUTH_SANDBOX_CLAIM === undefined ? {} : { sandboxClaim: e.AUTH_SANDBOX_CLAIM }),
  };
  if (e.CIPHERFLOW_ENV === 'local') {
    return {
      ...base,
      issuer: e.AUTH_ISSUER ?? DEV_ISSUER,
      audience: e.AUTH_AUDIENCE ?? DEV_AUDIENCE,
      jwksUrl: new URL(e.AUTH_JWKS_URL ?? `http://127.0.0.1:${DEV_ISSUER_PORT}${DEV_JWKS_PATH}`),
    };
  }
  const { AUTH_ISSUER: issuer, AUTH_AUDIENCE: audience, AUTH_JWKS_URL: jwks } = e;
  if (issuer === undefined || audience === undefined || jwks === undefined) {
    const missing = (['AUTH_ISSUER', 'AUTH_AUDIENCE', 'AUTH_JWKS_URL'] as const).filter((k) => e[k] === undefined);
    throw new ConfigError(`Invalid configuration: ${missing.join(', ')} required outside local mode (CIPHERFLOW_ENV=local)`);
  }
  const jwksUrl = new URL(jwks);
  if (jwksUrl.protocol !== 'https:') {
    throw new ConfigError('Invalid configuration: AUTH_JWKS_URL must be https outside local mode');
  }
  if (issuer === DEV_ISSUER) {
    throw new ConfigError(`Invalid configuration: AUTH_ISSUER ${DEV_ISSUER} is the development issuer, allowed only in local mode`);
  }
  return { ...base, issuer, audience, jwksUrl };
}
