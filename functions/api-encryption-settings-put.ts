import { putApiEncryptionSettingsOperation } from '../shared/api/operations/hpke.js';
import { registerHttp } from './lib/register.js';

/** `PUT /api-encryption/settings` `{ requireEncryption }` → the org's settings (our extension); requiring encryption needs a client key. */
registerHttp(putApiEncryptionSettingsOperation);
