import { getEncryptionKeyOperation } from '../shared/api/operations/pgp-keys.js';
import { registerHttp } from './lib/register.js';

/** `GET .../encryption/keys/{publicKeyId}` → one key (public parts only). */
registerHttp(getEncryptionKeyOperation);
