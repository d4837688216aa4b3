import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  privateDecrypt,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { badParameter } from './errors.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** RSA sizes the emulator creates (Key Vault accepts these three). */
export const RSA_KEY_SIZES = [2048, 3072, 4096] as const;

/** Encryption algorithms served for RSA keys. RSA1_5 is refused: Node ≥20.11 blocks PKCS#1 v1.5 decryption. */
export const RSA_ENCRYPTION_ALGORITHMS = { 'RSA-OAEP': 'sha1', 'RSA-OAEP-256': 'sha256' } as const;
export type RsaEncryptionAlgorithm = keyof typeof RSA_ENCRYPTION_ALGORITHMS;

type HashName = 'sha256' | 'sha384' | 'sha512';
// PS256/384/512 are not served: Node cannot PSS-sign a precomputed digest, and the project writes
// no padding scheme by hand (they answer BadParameter; nothing in cipherflow signs with PSS).
const SIGNATURE_ALGORITHMS = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
} as const satisfies Record<string, { hash: HashName }>;
export type RsaSignatureAlgorithm = keyof typeof SIGNATURE_ALGORITHMS;

const HASH_BYTES: Record<HashName, number> = { sha256: 32, sha384: 48, sha512: 64 };

// DER DigestInfo prefixes from RFC 8017 §9.2 note 1; the digest follows them.
const DIGEST_INFO_PREFIX: Record<HashName, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

// Parsing a PEM on every operation would dominate benchmark timings; keys never change once made.
const privateKeys = new Map<string, KeyObject>();
const publicKeys = new Map<string, KeyObject>();

function privateKeyOf(pem: string): KeyObject {
  let key = privateKeys.get(pem);
  if (!key) {
    key = createPrivateKey(pem);
    privateKeys.set(pem, key);
  }
  return key;
}

function publicKeyOf(pem: string): KeyObject {
  let key = publicKeys.get(pem);
  if (!key) {
    key = createPublicKey(privateKeyOf(pem));
    publicKeys.set(pem, key);
  }
  return key;
}

/** A freshly generated RSA key: PKCS#8 PEM plus the JWK public parts. */
export interface GeneratedRsaKey {
  privateKeyPem: string;
  n: string;
  e: string;
}

/** Generates an RSA key pair of `size` bits with e = 65537. */
export async function generateRsaKey(size: number): Promise<GeneratedRsaKey> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: size, publicExponent: 0x10001 });
  const jwk = publicKey.export({ format: 'jwk' });
  if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') throw new Error('KV_EMULATOR_KEYGEN: no RSA JWK');
  return { privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), n: jwk.n, e: jwk.e };
}

/** Narrows an `alg` value to an encryption algorithm the emulator serves. */
export function encryptionAlgorithm(alg: unknown): RsaEncryptionAlgorithm {
  if (alg === 'RSA-OAEP' || alg === 'RSA-OAEP-256') return alg;
  throw badParameter(`Invalid algorithm: ${typeof alg === 'string' ? alg : typeof alg}. Supported: RSA-OAEP, RSA-OAEP-256.`);
}

/** Narrows an `alg` value to a signature algorithm the emulator serves. */
export function signatureAlgorithm(alg: unknown): RsaSignatureAlgorithm {
  if (typeof alg === 'string' && Object.hasOwn(SIGNATURE_ALGORITHMS, alg)) return alg as RsaSignatureAlgorithm;
  throw badParameter(`Invalid algorithm: ${typeof alg === 'string' ? alg : typeof alg}.`);
}

/** RSAES-OAEP encryption with the public half of `privateKeyPem`. */
export function rsaEncrypt(privateKeyPem: string, alg: RsaEncryptionAlgorithm, plaintext: Buffer): Buffer {
  const key = publicKeyOf(privateKeyPem);
  const maxLength = modulusBytes(key) - 2 * hashLength(RSA_ENCRYPTION_ALGORITHMS[alg]) - 2;
  if (plaintext.length > maxLength) throw badParameter('The value is too long for the key and algorithm.');
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: RSA_ENCRYPTION_ALGORITHMS[alg] }, plaintext);
}

/** RSAES-OAEP decryption; any failure is one opaque BadParameter (no padding oracle). */
export function rsaDecrypt(privateKeyPem: string, alg: RsaEncryptionAlgorithm, ciphertext: Buffer): Buffer {
  try {
    return privateDecrypt(
      { key: privateKeyOf(privateKeyPem), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: RSA_ENCRYPTION_ALGORITHMS[alg] },
      ciphertext,
    );
  } catch (cause) {
    throw Object.assign(badParameter('Bad Parameter'), { cause });
  }
}

/**
 * Signs a digest, as Key Vault does: the caller hashes, the vault only pads and exponentiates.
 * The result verifies with a standard RSA verifier over the original data.
 */
export function rsaSignDigest(privateKeyPem: string, alg: RsaSignatureAlgorithm, digest: Buffer): Buffer {
  const { hash } = SIGNATURE_ALGORITHMS[alg];
  checkDigest(hash, digest);
  // OpenSSL's PKCS#1 padding (EMSA-PKCS1-v1_5 block type 1) over the DigestInfo we pass.
  return privateEncrypt({ key: privateKeyOf(privateKeyPem), padding: constants.RSA_PKCS1_PADDING }, digestInfo(hash, digest));
}

/** Verifies a signature over a digest; a malformed signature is simply `false`. */
export function rsaVerifyDigest(privateKeyPem: string, alg: RsaSignatureAlgorithm, digest: Buffer, signature: Buffer): boolean {
  const { hash } = SIGNATURE_ALGORITHMS[alg];
  checkDigest(hash, digest);
  let recovered: Buffer;
  try {
    // OpenSSL removes and checks the PKCS#1 type 1 padding; what is left must be our DigestInfo.
    recovered = publicDecrypt({ key: publicKeyOf(privateKeyPem), padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
  const expected = digestInfo(hash, digest);
  return recovered.length === expected.length && timingSafeEqual(recovered, expected);
}

function digestInfo(hash: HashName, digest: Buffer): Buffer {
  return Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]);
}

function checkDigest(hash: HashName, digest: Buffer): void {
  if (digest.length !== HASH_BYTES[hash]) throw badParameter('Invalid digest length for the algorithm.');
}

function hashLength(hash: 'sha1' | HashName): number {
  return hash === 'sha1' ? 20 : HASH_BYTES[hash];
}

function modulusBytes(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) throw new Error('KV_EMULATOR_NOT_RSA');
  return Math.ceil(bits / 8);
}
