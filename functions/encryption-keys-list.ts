import { listEncryptionKeysOperation } from '../shared/api/operations/pgp-keys.js';
import { registerHttp } from './lib/register.js';

/** `GET .../encryption/keys` → the sandbox's keys (public parts only). */
registerHttp(listEncryptionKeysOperation);
