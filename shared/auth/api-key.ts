import { createHash, timingSafeEqual } from 'node:crypto';
import { InvalidApiKeyError } from '../errors.js';

/**
 * Checks that `x-api-key` names the token's OAuth client. The comparison runs on SHA-256 digests
 * so `timingSafeEqual` always sees equal lengths and the time taken says nothing about either value.
 *
 * A missing or mismatched key is a bad credential: 401 `INVALID_API_KEY` with a bare
 * `WWW-Authenticate: Bearer` challenge. The code (not `UNAUTHENTICATED`) and the absence of
 * `error="invalid_token"` tell the client that its token was fine and the key is what to fix.
 *
 * @throws INVALID_API_KEY when the header is missing or differs from `clientId`.
 */
export function checkApiKey(apiKey: string | null, clientId: string): void {
  if (apiKey === null || apiKey === '') throw new InvalidApiKeyError('The x-api-key header is required');
  const given = createHash('sha256').update(apiKey, 'utf8').digest();
  const expected = createHash('sha256').update(clientId, 'utf8').digest();
  if (!timingSafeEqual(given, expected)) {
    throw new InvalidApiKeyError('The x-api-key header does not match the access token\'s client');
  }
}
