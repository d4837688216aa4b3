import { createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { HpkeInvalidPublicKeyError } from '../errors.js';
import { KEMS, type Kem } from './suites.js';

// 2^255 - 19, little-endian, for the canonical-encoding check of RFC 7748 §5.
const X25519_P = (1n << 255n) - 19n;
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');
/** A fixed probe key: X25519 with any clamped scalar gives zero exactly for the small-order points. */
const PROBE = generateKeyPairSync('x25519').privateKey;

/**
 * Checks a client's public key before it is stored, since the libraries import bad keys without
 * complaint and fail only later: exact length; X25519 canonical (top bit clear, u < 2^255 - 19)
 * and not of small order (RFC 7748 §6.1, RFC 9180 §7.1.4); P-256 an uncompressed point on the
 * curve (SEC 1 §2.3.4, checked by OpenSSL on import).
 *
 * @throws HPKE_INVALID_PUBLIC_KEY naming the reason (the key is public, so the reason is no oracle).
 */
export function validateClientPublicKey(kem: Kem, key: Uint8Array): void {
  if (key.byteLength !== kem.publicKeyLength) {
    throw new HpkeInvalidPublicKeyError(`A ${kem.name} public key is ${kem.publicKeyLength} bytes, not ${key.byteLength}`);
  }
  if (kem.id === KEMS.X25519_HKDF_SHA256.id) {
    let u = 0n;
    for (let i = key.byteLength - 1; i >= 0; i--) u = (u << 8n) | BigInt(key[i] ?? 0);
    if (u >= X25519_P) throw new HpkeInvalidPublicKeyError('The X25519 public key is not canonically encoded');
    let zero: boolean;
    try {
      const secret = diffieHellman({ privateKey: PROBE, publicKey: createPublicKey({ key: Buffer.concat([SPKI_X25519, key]), format: 'der', type: 'spki' }) });
      zero = secret.every((b) => b === 0);
    } catch {
      // OpenSSL refuses to return the all-zero X25519 output.
      zero = true;
    }
    if (zero) throw new HpkeInvalidPublicKeyError('The X25519 public key is a point of small order');
    return;
  }
  if (key[0] !== 0x04) throw new HpkeInvalidPublicKeyError('The P-256 public key must be an uncompressed point (0x04 || X || Y)');
  try {
    createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: Buffer.from(key.subarray(1, 33)).toString('base64url'), y: Buffer.from(key.subarray(33)).toString('base64url') },
      format: 'jwk',
    });
  } catch {
    throw new HpkeInvalidPublicKeyError('The P-256 public key is not a point on the curve');
  }
}
