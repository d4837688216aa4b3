import { listApiEncryptionKeysOperation } from '../shared/api/operations/hpke.js';
import { registerHttp } from './lib/register.js';

/**
 * `GET /api-encryption/keys` → `{ keys: [...] }`, our HPKE public keys (`next`, `active`,
 * `retiring`); with `Accept: application/ohttp-keys`, the same keys as RFC 9458 §3 key
 * configurations. Public: no token needed to learn where to encrypt to.
 */
registerHttp(listApiEncryptionKeysOperation);
