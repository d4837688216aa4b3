import { createHash, generateKeyPairSync, createPrivateKey, createPublicKey, randomBytes, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { KeyVaultServiceError } from './errors.js';
import { sendJson } from './http-io.js';
import type { PersistedIdentity } from './key-store.js';

/** The audience Key Vault tokens carry (the challenge's `resource`). */
export const VAULT_RESOURCE = 'https://vault.azure.net';
/** The App Service managed identity protocol version the emulator serves. */
export const APP_SERVICE_MSI_API_VERSION = '2019-08-01';
/** Path of the managed identity endpoint on the identity listener. */
export const IDENTITY_PATH = '/msi/token';

// Managed identity tokens live about a day; MSAL refreshes them at half-life.
const TOKEN_LIFETIME_SECONDS = 24 * 3600;
const CLOCK_SKEW_SECONDS = 300;

/** A managed identity as Entra ID names it: the app (client) id and the service principal (object) id. */
export interface ManagedIdentity {
  clientId: string;
  principalId: string;
}

/** Who called the vault, from the verified token's claims. */
export interface VaultCaller {
  oid: string;
  appid: string;
  tenantId: string;
}

/** Creates fresh identity material (tenant, system-assigned identity, header secret, signing key). */
export function newPersistedIdentity(): PersistedIdentity {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    tenantId: randomUUID(),
    systemClientId: randomUUID(),
    systemPrincipalId: randomUUID(),
    identityHeader: randomBytes(24).toString('base64url'),
    signingJwk: privateKey.export({ format: 'jwk' }),
  };
}

/**
 * Issues and verifies the emulator's access tokens (ES256 JWTs shaped like Entra ID's: `tid`,
 * `oid`, `appid`, `aud`, `iss`), standing in for Entra ID plus the App Service identity endpoint.
 */
export class TokenAuthority {
  readonly tenantId: string;
  readonly identityHeader: string;
  readonly systemAssigned: ManagedIdentity;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #issuer: string;

  constructor(material: PersistedIdentity) {
    this.tenantId = material.tenantId;
    this.identityHeader = material.identityHeader;
    this.systemAssigned = { clientId: material.systemClientId, principalId: material.systemPrincipalId };
    this.#privateKey = createPrivateKey({ key: material.signingJwk as JsonWebKey, format: 'jwk' });
    this.#publicKey = createPublicKey(this.#privateKey);
    this.#issuer = `https://sts.windows.net/${material.tenantId}/`;
  }

  /** The `WWW-Authenticate` value Key Vault sends with a 401. */
  challenge(): string {
    return `Bearer authorization="https://login.microsoftonline.com/${this.tenantId}", resource="${VAULT_RESOURCE}"`;
  }

  /** Signs a token for `identity` and `resource`. */
  async issue(identity: ManagedIdentity, resource: string): Promise<{ token: string; expiresOn: number }> {
    const now = Math.floor(Date.now() / 1000);
    const expiresOn = now + TOKEN_LIFETIME_SECONDS;
    const token = await new SignJWT({ tid: this.tenantId, oid: identity.principalId, appid: identity.clientId, idtyp: 'app' })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer(this.#issuer)
      .setAudience(resource)
      .setSubject(identity.principalId)
      .setIssuedAt(now)
      .setNotBefore(now - CLOCK_SKEW_SECONDS)
      .setExpirationTime(expiresOn)
      .sign(this.#privateKey);
    return { token, expiresOn };
  }

  /**
   * Checks an `Authorization` header: a Bearer token signed by this authority, for the vault
   * audience, not expired.
   * @throws KeyVaultServiceError 401 `Unauthorized` (with the challenge header) otherwise.
   */
  async verify(authorization: string | undefined): Promise<VaultCaller> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match?.[1]) throw this.unauthorized('AKV10000: Request is missing a Bearer or PoP token.');
    try {
      const { payload } = await jwtVerify(match[1], this.#publicKey, {
        algorithms: ['ES256'],
        issuer: this.#issuer,
        audience: [VAULT_RESOURCE, `${VAULT_RESOURCE}/`],
        clockTolerance: CLOCK_SKEW_SECONDS,
      });
      const { oid, appid, tid } = payload;
      if (typeof oid !== 'string' || typeof appid !== 'string' || typeof tid !== 'string') {
        throw this.unauthorized('AKV10000: The token has no caller identity.');
      }
      return { oid, appid, tenantId: tid };
    } catch (err) {
      if (err instanceof KeyVaultServiceError) throw err;
      // The reasons mirror Key Vault's AKV100xx messages without echoing the token.
      if (err instanceof joseErrors.JWTExpired) throw this.unauthorized('AKV10022: Token is expired.', err);
      if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'aud') {
        throw this.unauthorized('AKV10022: Invalid audience.', err);
      }
      if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'iss') {
        throw this.unauthorized('AKV10032: Invalid issuer.', err);
      }
      throw this.unauthorized('AKV10000: Request is missing a valid Bearer token.', err);
    }
  }

  unauthorized(message: string, cause?: unknown): KeyVaultServiceError {
    return new KeyVaultServiceError(401, 'Unauthorized', message, {
      headers: { 'www-authenticate': this.challenge() },
      ...(cause === undefined ? {} : { cause }),
    });
  }

  /** Resolves the identity a token request asks for (system-assigned unless an id is given). */
  resolveIdentity(query: URLSearchParams): ManagedIdentity {
    const clientId = query.get('client_id');
    const principalId = query.get('principal_id') ?? query.get('object_id');
    const resourceId = query.get('mi_res_id');
    // User-assigned identities are minted on demand; the other id is derived so it stays stable.
    if (clientId) return { clientId, principalId: derivedUuid(`principal:${clientId}`) };
    if (principalId) return { clientId: derivedUuid(`client:${principalId}`), principalId };
    if (resourceId) return { clientId: derivedUuid(`client:${resourceId}`), principalId: derivedUuid(`principal:${resourceId}`) };
    return this.systemAssigned;
  }
}

/**
 * Serves the App Service managed identity protocol (2019-08-01): `GET {IDENTITY_ENDPOINT}
 * ?resource=..&api-version=2019-08-01[&client_id=..|principal_id=..|object_id=..|mi_res_id=..]`
 * with header `X-IDENTITY-HEADER`, answering `{access_token, expires_on, resource, token_type, client_id}`.
 */
export async function handleIdentityRequest(
  req: IncomingMessage,
  res: ServerResponse,
  authority: TokenAuthority,
  onIssued: () => void,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (req.method !== 'GET' || url.pathname.toLowerCase() !== IDENTITY_PATH) {
    sendJson(res, 404, { statusCode: 404, message: 'Not found.' });
    return;
  }
  if (req.headers['x-identity-header'] !== authority.identityHeader) {
    sendJson(res, 401, { statusCode: 401, message: 'The X-IDENTITY-HEADER header is missing or wrong.' });
    return;
  }
  const resource = url.searchParams.get('resource');
  if (url.searchParams.get('api-version') !== APP_SERVICE_MSI_API_VERSION || !resource) {
    sendJson(res, 400, { statusCode: 400, message: `resource and api-version=${APP_SERVICE_MSI_API_VERSION} are required.` });
    return;
  }
  const identity = authority.resolveIdentity(url.searchParams);
  const { token, expiresOn } = await authority.issue(identity, resource);
  onIssued();
  // App Service sends expires_on as a string of epoch seconds.
  sendJson(res, 200, {
    access_token: token,
    expires_on: String(expiresOn),
    resource,
    token_type: 'Bearer',
    client_id: identity.clientId,
  });
}

function derivedUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
