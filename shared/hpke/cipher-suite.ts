import { CipherSuite, DhkemP256HkdfSha256, type KemInterface } from '@hpke/core';
import { NodeAes256Gcm, NodeChacha20Poly1305 } from './lib/node-aead.js';
import { NodeHkdfSha256 } from './lib/node-hkdf-sha256.js';
import { NodeDhkemX25519HkdfSha256 } from './lib/node-x25519.js';
import { AEADS, KEMS, type Suite } from './suites.js';

const suites = new Map<string, CipherSuite>();

/**
 * The `@hpke/core` cipher suite of an allowlisted suite, built once. X25519, HKDF and both AEADs
 * run on synchronous `node:crypto` plugged into the library's KEM/KDF/AEAD interfaces (its
 * WebCrypto path costs ~1 ms per operation); P-256, used only to encrypt responses to P-256
 * client keys, keeps the library's WebCrypto KEM.
 */
export function cipherSuite(suite: Suite): CipherSuite {
  const id = `${suite.kem.id}/${suite.kdf.id}/${suite.aead.id}`;
  let built = suites.get(id);
  if (built === undefined) {
    const kem: KemInterface = suite.kem.id === KEMS.X25519_HKDF_SHA256.id ? new NodeDhkemX25519HkdfSha256() : new DhkemP256HkdfSha256();
    const aead = suite.aead.id === AEADS.AES_256_GCM.id ? new NodeAes256Gcm() : new NodeChacha20Poly1305();
    built = new CipherSuite({ kem, kdf: new NodeHkdfSha256(), aead });
    suites.set(id, built);
  }
  return built;
}
