import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AuthenticationError, AuthUnavailableError } from '../errors.js';
import type { AuthConfig } from '../config/app-config.js';
import { jwksFetch } from './lib/jwks-fetch.js';

/** The identity a verified bearer token carries; nothing else about the caller is trusted. */
export interface VerifiedToken {
  readonly subject: string;
  readonly clientId: string;
  /** Organizations the token grants, from the configured org claim (a string or a list). */
  readonly orgs: readonly string[];
  /**
   * Sandboxes the token may work in, from the configured sandbox claim (a string or a list; absent
   * claim: none). Undefined when no sandbox claim is configured: the token is not confined.
   */
  readonly sandboxes?: readonly string[];
}

/** Verifies the `Authorization` header's value (or its absence) and returns the token's identity. */
export type TokenVerifier = (authorization: string | null) => Promise<VerifiedToken>;

/** Asymmetric algorithms only: an HS* token "signed" with our public key, or `none`, is refused. */
export const ALLOWED_TOKEN_ALGORITHMS = ['RS256', 'ES256'] as const;
/** Clock skew tolerated on `exp`/`nbf`/`iat` between the issuer and us; an `iat` further ahead is refused. */
export const TOKEN_CLOCK_TOLERANCE_SECONDS = 60;
/** Longest `Authorization` header value looked at; real tokens are a few KiB. */
export const MAX_AUTHORIZATION_LENGTH = 8 * 1024;

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const JWKS_TIMEOUT_MS = 5_000;

/** jose failures caused by the token itself; any other failure means the key set could not be read. */
const TOKEN_FAULTS: ReadonlySet<string> = new Set([
  errors.JWTExpired.code,
  errors.JWTClaimValidationFailed.code,
  errors.JWTInvalid.code,
  errors.JWSInvalid.code,
  errors.JWSSignatureVerificationFailed.code,
  errors.JOSEAlgNotAllowed.code,
  errors.JOSENotSupported.code,
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
]);

export interface TokenVerifierDeps {
  /** Key resolver; default a remote JWKS at `config.jwksUrl` (fetched lazily, cached, rate limited by jose). */
  readonly keys?: JWTVerifyGetKey;
  /** Clock for `exp`/`nbf`; default the system clock. */
  readonly now?: () => Date;
}

/**
 * Builds the bearer token verifier: signature against the issuer's JWKS with RS256/ES256 only,
 * `iss`, `aud`, a required `exp` and `sub`, `nbf`, an `iat` (when present) not in the future,
 * 60 s of clock skew on each, and the client id and org claims present and well-typed.
 *
 * The returned function throws:
 * - `UNAUTHENTICATED` ({@link AuthenticationError}) with no token, or a token that fails any check;
 * - `AUTH_UNAVAILABLE` ({@link AuthUnavailableError}) when the key set cannot be fetched.
 */
export function createTokenVerifier(config: AuthConfig, deps: TokenVerifierDeps = {}): TokenVerifier {
  const keys = deps.keys ?? createRemoteJWKSet(config.jwksUrl, { timeoutDuration: JWKS_TIMEOUT_MS, [customFetch]: jwksFetch });
  const now = deps.now ?? (() => new Date());

  return async (authorization) => {
    const token = bearerToken(authorization);
    let payload: JWTPayload;
    try {
      const currentDate = now();
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: [...ALLOWED_TOKEN_ALGORITHMS],
        issuer: config.issuer,
        audience: config.audience,
        clockTolerance: TOKEN_CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'sub'],
        currentDate,
      }));
      refuseFutureIssuedAt(payload, currentDate);
    } catch (err) {
      if (err instanceof errors.JOSEError && TOKEN_FAULTS.has(err.code)) {
        const detail = err instanceof errors.JWTExpired ? 'The access token has expired' : 'The access token is invalid';
        throw new AuthenticationError(detail, { tokenPresented: true, cause: err });
      }
      throw new AuthUnavailableError({ cause: err });
    }
    return identity(payload, config);
  };
}

/**
 * jose checks `iat` only with `maxTokenAge`, which would also require the claim and cap the age of
 * every token; we want neither, only that a token was not issued ahead of our clock. (jose has
 * already refused an `iat` that is not a number.)
 */
function refuseFutureIssuedAt(payload: JWTPayload, currentDate: Date): void {
  const now = Math.floor(currentDate.getTime() / 1000);
  if (payload.iat !== undefined && payload.iat > now + TOKEN_CLOCK_TOLERANCE_SECONDS) {
    throw new errors.JWTClaimValidationFailed('"iat" claim timestamp check failed (it should be in the past)', payload, 'iat', 'check_failed');
  }
}

function bearerToken(authorization: string | null): string {
  if (authorization === null || authorization.trim() === '') {
    throw new AuthenticationError('A bearer access token is required', { tokenPresented: false });
  }
  // A non-Bearer scheme (Basic, ...) is no token for us, so the challenge carries no error (RFC 6750 §3.1).
  if (!/^Bearer(\s|$)/i.test(authorization)) {
    throw new AuthenticationError('A bearer access token is required', { tokenPresented: false });
  }
  const match = authorization.length <= MAX_AUTHORIZATION_LENGTH ? BEARER.exec(authorization) : null;
  const token = match?.[1];
  if (token === undefined) throw new AuthenticationError('The access token is malformed', { tokenPresented: true });
  return token;
}

function identity(payload: JWTPayload, config: AuthConfig): VerifiedToken {
  const clientId = payload[config.clientIdClaim];
  const orgClaim = payload[config.orgClaim];
  const orgs = typeof orgClaim === 'string' ? [orgClaim] : orgClaim;
  const subject = payload.sub;
  if (
    typeof clientId !== 'string' || clientId === '' ||
    !isNameList(orgs) ||
    typeof subject !== 'string' || subject === ''
  ) {
    throw new AuthenticationError('The access token lacks the client or organization claims', { tokenPresented: true });
  }
  if (config.sandboxClaim === undefined) return { subject, clientId, orgs };
  const sandboxClaim = payload[config.sandboxClaim];
  // Absent: a token confined to no sandbox (refused per request with 403, not as a bad token).
  const sandboxes = sandboxClaim === undefined ? [] : typeof sandboxClaim === 'string' ? [sandboxClaim] : sandboxClaim;
  if (!isNameList(sandboxes)) {
    throw new AuthenticationError('The access token\'s sandbox claim is malformed', { tokenPresented: true });
  }
  return { subject, clientId, orgs, sandboxes };
}

function isNameList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string' && v !== '');
}
