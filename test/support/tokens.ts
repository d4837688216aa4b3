import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT, calculateJwkThumbprint, exportJWK } from 'jose';
import { DEV_AUDIENCE, DEV_CLIENT_ID, DEV_ISSUER } from '../../shared/config/defaults.js';
import { defaultDevIssuerDir, issueDevToken } from '../../local/dev-issuer.js';

export { issueDevToken };

export { apiHeaders } from '../../local/api-client.js';

/** The development issuer's own signing key (as `npm run token` uses it). */
export function devSigningKey(): KeyObject {
  return createPrivateKey(readFileSync(path.join(defaultDevIssuerDir(), 'private-key.pem')));
}

/**
 * A token with the dev issuer's claims, signed by `key` (default: the dev key) with the given
 * times, to build the refused cases: expired, foreign signature, wrong audience. The header's
 * `kid` is `key`'s own thumbprint unless `kid` names another one (a foreign signature under the
 * issuer's published kid, so the verifier finds a key and the signature check itself fails).
 */
export async function craftToken(options: {
  org: string;
  key?: KeyObject;
  kid?: string;
  audience?: string;
  expiresAt?: number;
}): Promise<string> {
  const key = options.key ?? devSigningKey();
  const kid = options.kid ?? (await calculateJwkThumbprint(await exportJWK(createPublicKey(key))));
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ org: options.org, client_id: DEV_CLIENT_ID })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(options.audience ?? DEV_AUDIENCE)
    .setSubject(DEV_CLIENT_ID)
    .setIssuedAt(now - 7200)
    .setExpirationTime(options.expiresAt ?? now + 600)
    .sign(key);
}

/** A fresh P-256 key the issuer never published. */
export function foreignKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

/** An unsigned `alg: none` token with otherwise valid claims. */
export function unsignedToken(org: string): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({
    iss: DEV_ISSUER, aud: DEV_AUDIENCE, sub: DEV_CLIENT_ID, org, client_id: DEV_CLIENT_ID, iat: now, exp: now + 600,
  })}.`;
}
