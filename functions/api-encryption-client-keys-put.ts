import { putApiEncryptionClientKeyOperation } from '../shared/api/operations/hpke.js';
import { registerHttp } from './lib/register.js';

/**
 * `PUT /api-encryption/client-keys/{keyId}` `{ kemId, publicKey }` → 201 (new), 200 (unchanged)
 * or 202 (replacing: `pending.effectiveTime` says when the new key takes over).
 */
registerHttp(putApiEncryptionClientKeyOperation);
