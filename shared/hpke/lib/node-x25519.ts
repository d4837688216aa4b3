import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, KeyObject, type webcrypto } from 'node:crypto';
import {
  DeriveKeyPairError,
  DeserializeError,
  Dhkem,
  EMPTY,
  KemId,
  LABEL_DKP_PRK,
  LABEL_SK,
  NotSupportedError,
  SerializeError,
  XCryptoKey,
  type DhkemPrimitives,
  type KdfInterface,
} from '@hpke/common';
import { NodeHkdfSha256 } from './node-hkdf-sha256.js';

const KEY_LENGTH = 32;
const ALG = 'X25519';
// DER prefix of an X25519 PrivateKeyInfo (RFC 8410 §7), followed by the raw 32 bytes.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const KEM_USAGES: webcrypto.KeyUsage[] = ['deriveBits'];

function bytes(input: ArrayBufferLike | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(input) ? Buffer.from(input.buffer, input.byteOffset, input.byteLength) : Buffer.from(input);
}

/** The bytes as an ArrayBuffer of their own: a fresh native result's buffer as it is, anything else copied. */
function arrayBuffer(b: Uint8Array): ArrayBuffer {
  if (b.byteOffset === 0 && b.buffer instanceof ArrayBuffer && b.buffer.byteLength === b.byteLength) return b.buffer;
  const out = new ArrayBuffer(b.byteLength);
  new Uint8Array(out).set(b);
  return out;
}

/** The raw bytes of one of our keys; anything else (a WebCrypto key) is refused. */
function raw(key: CryptoKey, type: 'public' | 'private'): Uint8Array {
  if (!(key instanceof XCryptoKey) || key.type !== type || key.key.byteLength !== KEY_LENGTH) throw new Error(`not an X25519 ${type} key of this backend`);
  return key.key;
}

const keyObjects = new WeakMap<XCryptoKey, KeyObject>();
/** The public half of every private key this backend made, known from when it was made. */
const publicHalves = new WeakMap<XCryptoKey, XCryptoKey>();

/**
 * The KeyObject of one of our keys, made once per key. Public keys (every request's `enc`, every
 * client key a response is sealed to) are imported as JWK (RFC 8037 `OKP`/`X25519`, `x` = the raw
 * key): on Node 20 (OpenSSL 3) that takes ~13 µs, where the same key as an SPKI DER goes through
 * OpenSSL's decoder framework and takes ~150 µs, more than the X25519 DH itself (~50 µs).
 */
function keyObject(key: CryptoKey, type: 'public' | 'private'): KeyObject {
  const k = key as XCryptoKey;
  let object = keyObjects.get(k);
  if (object === undefined) {
    const bytes = raw(key, type);
    object =
      type === 'public'
        ? createPublicKey({ key: { kty: 'OKP', crv: ALG, x: Buffer.from(bytes).toString('base64url') }, format: 'jwk' })
        : createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, bytes]), format: 'der', type: 'pkcs8' });
    keyObjects.set(k, object);
  }
  return object;
}

/**
 * A key pair made by OpenSSL: the public half comes out of the generation itself as a JWK, the
 * private half stays a KeyObject, and its raw bytes are exported (as PKCS #8 DER) only if someone
 * serializes it, which a seal's ephemeral key never is.
 *
 * Never `export({ format: 'jwk' })` a KeyObject that `generateKeyPairSync` returned: Node's JWK
 * export holds the key's mutex while it allocates JavaScript strings, and the finished key
 * generation job, when the garbage collector frees it at that moment, takes the same mutex in its
 * destructor. The process then waits on itself forever (a futex wait at 0% CPU: seen in the load
 * generator of bench figure 4c and reproduced with `--max-semi-space-size=1` in a few thousand
 * iterations on Node 20). A JWK made inside the generation (the job is alive and running then)
 * and a DER export (which takes no lock) are both safe.
 */
function generatedPair(): CryptoKeyPair {
  const { publicKey: jwk, privateKey: object } = generateX25519('x25519', { publicKeyEncoding: { format: 'jwk' } });
  if (typeof jwk.x !== 'string' || !(object instanceof KeyObject)) throw new Error('X25519 key generation returned an unexpected shape');
  const publicKey = new XCryptoKey(ALG, new Uint8Array(Buffer.from(jwk.x, 'base64url')), 'public');
  const privateKey = new GeneratedPrivateKey(object);
  keyObjects.set(privateKey, object);
  publicHalves.set(privateKey, publicKey);
  return { privateKey, publicKey };
}

/**
 * `generateKeyPairSync` with only the public half encoded, which Node supports (each half is
 * encoded or not on its own) but `@types/node` does not list; the result is checked above.
 */
const generateX25519 = generateKeyPairSync as unknown as (
  type: 'x25519',
  options: { publicKeyEncoding: { format: 'jwk' } },
) => { publicKey: webcrypto.JsonWebKey; privateKey: unknown };

/** A private key of {@link generatedPair}: `key` (the raw scalar) is read from OpenSSL on first use. */
class GeneratedPrivateKey extends XCryptoKey {
  constructor(object: KeyObject) {
    super(ALG, new Uint8Array(0), 'private', KEM_USAGES);
    let scalar: Uint8Array | undefined;
    Object.defineProperty(this, 'key', {
      enumerable: true,
      get: () => (scalar ??= new Uint8Array(object.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.byteLength))),
    });
  }
}

/**
 * A private key imported from its raw bytes, with its public half from one JWK export (`d`
 * private, `x` public; safe here: no key generation job shares the imported key's lock).
 */
function importedPrivateKey(object: KeyObject): XCryptoKey {
  const jwk = object.export({ format: 'jwk' });
  if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string') throw new Error('X25519 private key export without d and x');
  const key = new XCryptoKey(ALG, new Uint8Array(Buffer.from(jwk.d, 'base64url')), 'private', KEM_USAGES);
  keyObjects.set(key, object);
  publicHalves.set(key, new XCryptoKey(ALG, new Uint8Array(Buffer.from(jwk.x, 'base64url')), 'public'));
  return key;
}

/**
 * The DHKEM(X25519) primitives of the library's `DhkemPrimitives` interface on synchronous
 * `node:crypto` (OpenSSL) instead of async WebCrypto; the KEM itself (Encap/Decap, the
 * ExtractAndExpand of the shared secret, DeriveKeyPair's labels) stays the library's `Dhkem`.
 * Keys are the library's `XCryptoKey` holding the raw 32 bytes.
 */
class NodeX25519Primitives implements DhkemPrimitives {
  constructor(private readonly hkdf: KdfInterface) {}

  serializePublicKey(key: CryptoKey): Promise<ArrayBuffer> {
    try {
      return Promise.resolve(arrayBuffer(raw(key, 'public')));
    } catch (err) {
      return Promise.reject(new SerializeError(err));
    }
  }

  deserializePublicKey(key: ArrayBufferLike | ArrayBufferView): Promise<CryptoKey> {
    const b = bytes(key);
    if (b.byteLength !== KEY_LENGTH) return Promise.reject(new DeserializeError('Invalid public key for the ciphersuite'));
    return Promise.resolve(new XCryptoKey(ALG, new Uint8Array(b), 'public'));
  }

  serializePrivateKey(key: CryptoKey): Promise<ArrayBuffer> {
    try {
      return Promise.resolve(arrayBuffer(raw(key, 'private')));
    } catch (err) {
      return Promise.reject(new SerializeError(err));
    }
  }

  deserializePrivateKey(key: ArrayBufferLike | ArrayBufferView): Promise<CryptoKey> {
    const b = bytes(key);
    if (b.byteLength !== KEY_LENGTH) return Promise.reject(new DeserializeError('Invalid private key for the ciphersuite'));
    try {
      return Promise.resolve(importedPrivateKey(createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, b]), format: 'der', type: 'pkcs8' })));
    } catch (err) {
      return Promise.reject(new DeserializeError(err));
    }
  }

  importKey(format: 'raw' | 'jwk', key: ArrayBuffer | webcrypto.JsonWebKey, isPublic: boolean): Promise<CryptoKey> {
    if (format !== 'raw' || !(key instanceof ArrayBuffer)) return Promise.reject(new DeserializeError('only raw X25519 keys are supported'));
    return isPublic ? this.deserializePublicKey(key) : this.deserializePrivateKey(key);
  }

  generateKeyPair(): Promise<CryptoKeyPair> {
    try {
      return Promise.resolve(generatedPair());
    } catch (err) {
      return Promise.reject(new NotSupportedError(err));
    }
  }

  /** RFC 9180 §7.1.3 DeriveKeyPair for X25519: the library's labels, OpenSSL's clamping. */
  async deriveKeyPair(ikm: ArrayBufferLike | ArrayBufferView): Promise<CryptoKeyPair> {
    try {
      const prk = await this.hkdf.labeledExtract(EMPTY, LABEL_DKP_PRK, new Uint8Array(bytes(ikm)));
      const sk = new Uint8Array(await this.hkdf.labeledExpand(prk, LABEL_SK, EMPTY, KEY_LENGTH));
      const privateKey = await this.deserializePrivateKey(sk);
      sk.fill(0);
      return { privateKey, publicKey: await this.derivePublicKey(privateKey) };
    } catch (err) {
      throw new DeriveKeyPairError(err);
    }
  }

  derivePublicKey(key: CryptoKey): Promise<CryptoKey> {
    const publicKey = key instanceof XCryptoKey ? publicHalves.get(key) : undefined;
    return publicKey === undefined ? Promise.reject(new DeserializeError('not an X25519 private key of this backend')) : Promise.resolve(publicKey);
  }

  /** RFC 9180 §7.1.4: an all-zero shared secret (a low-order public key) is an error, never a key. */
  dh(sk: CryptoKey, pk: CryptoKey): Promise<ArrayBuffer> {
    try {
      const secret = diffieHellman({ privateKey: keyObject(sk, 'private'), publicKey: keyObject(pk, 'public') });
      if (secret.every((b) => b === 0)) throw new Error('X25519 produced the all-zero value');
      return Promise.resolve(arrayBuffer(secret));
    } catch (err) {
      return Promise.reject(new SerializeError(err));
    }
  }
}

/** DHKEM(X25519, HKDF-SHA256) (KEM 0x0020): the library's `Dhkem` on synchronous node:crypto primitives. */
export class NodeDhkemX25519HkdfSha256 extends Dhkem {
  override readonly id = KemId.DhkemX25519HkdfSha256;
  override readonly secretSize = 32;
  override readonly encSize = 32;
  override readonly publicKeySize = 32;
  override readonly privateKeySize = 32;

  constructor() {
    const kdf = new NodeHkdfSha256();
    super(KemId.DhkemX25519HkdfSha256, new NodeX25519Primitives(kdf), kdf);
  }
}
