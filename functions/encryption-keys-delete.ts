import { deleteEncryptionKeyOperation } from '../shared/api/operations/pgp-keys.js';
import { registerHttp } from './lib/register.js';

/** `DELETE .../encryption/keys/{publicKeyId}` → 204; 409 `KEY_IN_USE` while an active flow uses it. */
registerHttp(deleteEncryptionKeyOperation);
