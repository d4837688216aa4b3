import { generateKey } from 'openpgp';
import { DEFAULT_KEY_EXPIRY_DAYS, MAX_KEY_EXPIRY_DAYS, MIN_KEY_EXPIRY_DAYS, PGP_CONFIG } from './config.js';
import { keyIdsOf } from './key-ids.js';

/** `curve25519`: EdDSA primary + ECDH Curve25519 subkey (v4, readable by GnuPG 2.2). */
export type PgpKeyType = 'curve25519' | 'rsa4096';

export interface GenerateKeyPairOptions {
  /** User ID name; defaults to `cipherflow ingestion key`. */
  readonly name?: string;
  readonly email?: string;
  /** Protects the armored private key (iterated+salted S2K, AES-256). Must not be empty. */
  readonly passphrase: string;
  readonly keyType?: PgpKeyType;
  /** Lifetime in whole days, 1..730; default 180. Carried in the key, so gpg warns as well. */
  readonly expiryDays?: number;
  /** Creation time (tests pass a fixed clock). */
  readonly now?: Date;
}

export interface GeneratedKeyPair {
  readonly publicKeyArmored: string;
  /** Encrypted with the passphrase. */
  readonly privateKeyArmored: string;
  /** Primary key fingerprint, hex upper case. */
  readonly fingerprint: string;
  /** Primary key id first, then subkeys; hex upper case. */
  readonly keyIds: readonly string[];
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

const DAY_SECONDS = 86_400;

/**
 * Generates the flow's OpenPGP key pair: a v4 key whose primary certifies and signs and whose
 * subkey encrypts, both expiring `expiryDays` after `now`.
 *
 * @throws RangeError when `expiryDays` is not an integer in 1..730 or `passphrase` is empty
 *   (caller input is validated by the HTTP schema before this point).
 */
export async function generateKeyPair(options: GenerateKeyPairOptions): Promise<GeneratedKeyPair> {
  const expiryDays = options.expiryDays ?? DEFAULT_KEY_EXPIRY_DAYS;
  if (!Number.isInteger(expiryDays) || expiryDays < MIN_KEY_EXPIRY_DAYS || expiryDays > MAX_KEY_EXPIRY_DAYS) {
    throw new RangeError(`expiryDays must be an integer from ${MIN_KEY_EXPIRY_DAYS} to ${MAX_KEY_EXPIRY_DAYS}`);
  }
  if (options.passphrase.length === 0) throw new RangeError('passphrase must not be empty');

  // OpenPGP key times have one-second resolution; round so expiresAt matches the key exactly.
  const createdAt = new Date(Math.floor((options.now ?? new Date()).getTime() / 1000) * 1000);
  const keyExpirationTime = expiryDays * DAY_SECONDS;
  const userID = {
    name: options.name ?? 'cipherflow ingestion key',
    ...(options.email === undefined ? {} : { email: options.email }),
  };
  const algorithm =
    (options.keyType ?? 'curve25519') === 'curve25519'
      ? // 'ecc' + curve25519Legacy = EdDSA (legacy, algo 22) + ECDH cv25519 (algo 18): the v4
        // encoding GnuPG 2.2 reads. 'curve25519' (algos 27/25, RFC 9580) is not read by gpg 2.2.
        ({ type: 'ecc', curve: 'curve25519Legacy' } as const)
      : ({ type: 'rsa', rsaBits: 4096 } as const);

  const { privateKey, publicKey } = await generateKey({
    ...algorithm,
    userIDs: [userID],
    passphrase: options.passphrase,
    keyExpirationTime,
    date: createdAt,
    format: 'object',
    config: PGP_CONFIG,
  });

  return {
    publicKeyArmored: publicKey.armor(PGP_CONFIG),
    privateKeyArmored: privateKey.armor(PGP_CONFIG),
    fingerprint: publicKey.getFingerprint().toUpperCase(),
    keyIds: keyIdsOf(publicKey),
    createdAt,
    expiresAt: new Date(createdAt.getTime() + keyExpirationTime * 1000),
  };
}
