import { createHash, timingSafeEqual } from 'node:crypto';
import { InvalidApiKeyError } from '../errors.js';

/**
 * Checks that `x-api-key` names the token's OAuth client. The comparison runs on SHA-256 digests
 * so `timingSafeEqual` always sees equal lengths and the time taken says nothing about either value.
 *
 * A mismatch is 403 `INVALID_API_KEY`, as Adobe's gateway answers ("Api Key is invalid"): the token
 * itself was valid, so a 401 would wrongly tell a client to refresh its token.
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
