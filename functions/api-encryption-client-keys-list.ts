import { listApiEncryptionClientKeysOperation } from '../shared/api/operations/hpke.js';
import { registerHttp } from './lib/register.js';

/** `GET /api-encryption/client-keys` → `{ keys: [...] }`, the org's keys responses are encrypted to. */
registerHttp(listApiEncryptionClientKeysOperation);
