import { validateEncryptionKeyOperation } from '../shared/api/operations/pgp-keys.js';
import { registerHttp } from './lib/register.js';

/** `GET .../encryption/keys/validate/{publicKeyId}` → `{ publicKeyId, status: "Active" | "Expired" }`. */
registerHttp(validateEncryptionKeyOperation);
