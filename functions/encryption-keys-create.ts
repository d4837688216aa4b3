import { createEncryptionKeyOperation } from '../shared/api/operations/pgp-keys.js';
import { registerHttp } from './lib/register.js';

/** `POST .../encryption/keys` → `{ publicKey (Base64 armored), publicKeyId, expiryTime }`, Adobe's answer. */
registerHttp(createEncryptionKeyOperation);
