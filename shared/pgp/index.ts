export {
  MAX_FILE_BYTES,
  PGP_CONFIG,
  DEFAULT_KEY_EXPIRY_DAYS,
  MAX_KEY_EXPIRY_DAYS,
  MIN_KEY_EXPIRY_DAYS,
  MIN_RSA_BITS,
} from './config.js';
export { PgpError, isPgpError, type PgpErrorCode, type PgpErrorDetails } from './errors.js';
export {
  generateKeyPair,
  type GenerateKeyPairOptions,
  type GeneratedKeyPair,
  type PgpKeyType,
} from './generate-key-pair.js';
export { validateSigningKey, MAX_ARMORED_KEY_LENGTH, type SigningKeyInfo } from './validate-signing-key.js';
export {
  decryptStream,
  WILDCARD_KEY_ID,
  type DecryptStreamOptions,
  type DecryptResult,
  type DecryptedStream,
} from './decrypt-stream.js';
