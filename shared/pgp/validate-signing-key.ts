import { enums, readKeys, type Key, type EllipticCurveName, type enums as Enums } from 'openpgp';
import { MIN_RSA_BITS, PGP_CONFIG } from './config.js';
import { PgpError } from './errors.js';
import { keyIdHex, keyIdsOf } from './key-ids.js';
import { isUnsupported } from './lib/library-errors.js';

/** Upper bound on an armored key we parse (a large key with many signatures is ~100 KiB). */
export const MAX_ARMORED_KEY_LENGTH = 1024 * 1024;

export interface SigningKeyInfo {
  /** Primary key fingerprint, hex upper case. */
  readonly fingerprint: string;
  /** Primary key id first, then subkeys; hex upper case. */
  readonly keyIds: readonly string[];
  /** The key (or subkey) that currently makes signatures. */
  readonly signingKeyId: string;
  /** Primary key algorithm, OpenPGP.js naming (`rsaEncryptSign`, `eddsaLegacy`, ...). */
  readonly algorithm: Enums.publicKeyNames;
  readonly bits?: number;
  readonly curve?: EllipticCurveName;
  readonly userIds: readonly string[];
  /** Absent when the key does not expire. */
  readonly expiresAt?: Date;
}

const RSA_ALGORITHMS: ReadonlySet<Enums.publicKeyNames> = new Set(['rsaEncryptSign', 'rsaSign', 'rsaEncrypt']);

/**
 * Parses and checks a customer's armored public key, the key their file signatures must verify
 * against: exactly one public (not private) key, not revoked, not expired at `now`, an accepted
 * algorithm (RSA at least 2048 bits; no DSA/ElGamal/secp256k1) and a valid signing-capable key.
 *
 * @throws PgpError `INVALID_PUBLIC_KEY` (not one armored OpenPGP key, or invalid self-signatures),
 *   `PRIVATE_KEY_NOT_ALLOWED`, `KEY_REVOKED`, `KEY_EXPIRED`, `KEY_TOO_WEAK`, `NO_SIGNING_KEY`,
 *   `UNSUPPORTED_PGP_FEATURE` (e.g. a v5 key).
 */
export async function validateSigningKey(armoredKey: string, options: { now?: Date } = {}): Promise<SigningKeyInfo> {
  const now = options.now ?? new Date();
  const key = await readOneKey(armoredKey);

  if (key.isPrivate()) throw new PgpError('PRIVATE_KEY_NOT_ALLOWED');
  if (await key.isRevoked(undefined, undefined, now, PGP_CONFIG)) throw new PgpError('KEY_REVOKED');

  const algo = key.getAlgorithmInfo();
  if (isWeakAlgorithm(algo.algorithm, algo.bits, algo.curve)) throw new PgpError('KEY_TOO_WEAK');

  let expiration: Date | number | null;
  try {
    // Checks the primary key's self-signatures at `now` (also revocation and expiry).
    await key.verifyPrimaryKey(now, undefined, PGP_CONFIG);
    expiration = await key.getExpirationTime(undefined, PGP_CONFIG);
  } catch (cause) {
    const expiry = await key.getExpirationTime(undefined, PGP_CONFIG).catch(() => null);
    if (expiry instanceof Date && expiry.getTime() <= now.getTime()) throw new PgpError('KEY_EXPIRED', {}, { cause });
    throw new PgpError('INVALID_PUBLIC_KEY', {}, { cause });
  }
  if (expiration instanceof Date && expiration.getTime() <= now.getTime()) throw new PgpError('KEY_EXPIRED');

  let signingKeyId: string;
  try {
    const signing = await key.getSigningKey(undefined, now, undefined, PGP_CONFIG);
    signingKeyId = keyIdHex(signing.getKeyID());
  } catch (cause) {
    throw new PgpError('NO_SIGNING_KEY', {}, { cause });
  }

  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    keyIds: keyIdsOf(key),
    signingKeyId,
    algorithm: algo.algorithm,
    ...(algo.bits === undefined ? {} : { bits: algo.bits }),
    ...(algo.curve === undefined ? {} : { curve: algo.curve }),
    userIds: key.getUserIDs(),
    ...(expiration instanceof Date ? { expiresAt: expiration } : {}),
  };
}

/**
 * Reads registered verification keys for decryption. They were validated at registration; they
 * are parsed again here and must still be public keys.
 *
 * @throws PgpError `INVALID_PUBLIC_KEY`, `PRIVATE_KEY_NOT_ALLOWED`, `UNSUPPORTED_PGP_FEATURE`
 */
export async function readVerificationKeys(armoredKeys: readonly string[]): Promise<Key[]> {
  const keys: Key[] = [];
  for (const armored of armoredKeys) {
    const key = await readOneKey(armored);
    if (key.isPrivate()) throw new PgpError('PRIVATE_KEY_NOT_ALLOWED');
    keys.push(key);
  }
  return keys;
}

async function readOneKey(armoredKey: string): Promise<Key> {
  if (armoredKey.length > MAX_ARMORED_KEY_LENGTH) throw new PgpError('INVALID_PUBLIC_KEY');
  let keys: Key[];
  try {
    keys = await readKeys({ armoredKeys: armoredKey, config: PGP_CONFIG });
  } catch (cause) {
    throw new PgpError(isUnsupported(cause) ? 'UNSUPPORTED_PGP_FEATURE' : 'INVALID_PUBLIC_KEY', {}, { cause });
  }
  const [first, ...rest] = keys;
  if (first === undefined || rest.length > 0) throw new PgpError('INVALID_PUBLIC_KEY');
  return first;
}

function isWeakAlgorithm(
  algorithm: Enums.publicKeyNames,
  bits: number | undefined,
  curve: EllipticCurveName | undefined,
): boolean {
  if (PGP_CONFIG.rejectPublicKeyAlgorithms.has(enums.publicKey[algorithm])) return true;
  if (RSA_ALGORITHMS.has(algorithm)) return bits === undefined || bits < MIN_RSA_BITS;
  return curve !== undefined && new Set<string>(PGP_CONFIG.rejectCurves).has(curve);
}
