import { deleteApiEncryptionClientKeyOperation } from '../shared/api/operations/hpke.js';
import { registerHttp } from './lib/register.js';

/**
 * `DELETE /api-encryption/client-keys/{keyId}` → 204; the id takes a new key only after the drain
 * delay. Not the last key while the org requires encryption (HPKE_CLIENT_KEY_REQUIRED).
 */
registerHttp(deleteApiEncryptionClientKeyOperation);
