import type { webcrypto } from 'node:crypto';

// The HPKE libraries' declarations name the DOM's global Web Crypto types, which this project's
// `lib` (ES2023, no DOM) does not have; without these aliases they resolve to error types.
// @types/node declares the same types under `webcrypto`.
declare global {
  type CryptoKey = webcrypto.CryptoKey;
  type CryptoKeyPair = webcrypto.CryptoKeyPair;
  type JsonWebKey = webcrypto.JsonWebKey;
  type KeyAlgorithm = webcrypto.KeyAlgorithm;
  type KeyUsage = webcrypto.KeyUsage;
  type SubtleCrypto = webcrypto.SubtleCrypto;
  type Crypto = webcrypto.Crypto;
}
