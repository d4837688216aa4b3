/**
 * Streaming OpenPGP encryption of a file to a recipient's public key, optionally signed: what a
 * customer runs instead of `gpg --encrypt [--sign]`. The output is what GnuPG 2.2 reads: v4 keys,
 * SEIPD v1 with MDC (no AEAD), AES-256, optional ZLIB compression.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import {
  config as libraryDefaults,
  createMessage,
  decryptKey,
  encrypt,
  enums,
  readKey,
  readPrivateKey,
  type Config,
  type Key,
  type PrivateKey,
  type PublicKey,
} from 'openpgp';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';

/**
 * Every option the encryption relies on, stated (openpgp 6.3.2). Frozen; per-call copies only.
 * SEIPD v2 (RFC 9580 AEAD) is chosen by OpenPGP.js only when every recipient key advertises it;
 * keys from GnuPG and from cipherflow do not, so messages are SEIPD v1 + MDC.
 */
export const ENCRYPT_CONFIG: Readonly<Config> = Object.freeze({
  ...libraryDefaults,
  aeadProtect: false,
  v6Keys: false,
  preferredSymmetricAlgorithm: enums.symmetric.aes256,
  preferredHashAlgorithm: enums.hash.sha512,
  preferredCompressionAlgorithm: enums.compression.uncompressed,
  // Refuse to encrypt to keys GnuPG-era software would flag as weak.
  minRSABits: 2048,
  rejectPublicKeyAlgorithms: new Set([enums.publicKey.elgamal, enums.publicKey.dsa]),
  rejectCurves: new Set([enums.curve.secp256k1]),
  enableParsingV5Entities: false,
  showVersion: false,
  showComment: false,
});

export interface EncryptFileOptions {
  readonly input: string;
  readonly output: string;
  /** The recipient's public key: ASCII-armored or binary file contents. */
  readonly recipientKey: Uint8Array;
  /** A private key to sign with (ASCII-armored or binary), and its passphrase when protected. */
  readonly signingKey?: { readonly key: Uint8Array; readonly passphrase?: string };
  readonly armor?: boolean;
  /** ZLIB-compress before encryption (default: no compression). */
  readonly compress?: boolean;
  /** Called with the plaintext bytes read so far. */
  readonly onProgress?: (bytesRead: number) => void;
}

/**
 * Encrypts `input` into `output` as a stream (memory stays flat whatever the file size). A failed
 * encryption removes the partial output.
 * @throws CliError (exit 1) for an unusable key or an unreadable file.
 */
export async function encryptFile(options: EncryptFileOptions): Promise<{ readonly recipientKeyId: string }> {
  const config: Config = {
    ...ENCRYPT_CONFIG,
    preferredCompressionAlgorithm: options.compress === true ? enums.compression.zlib : enums.compression.uncompressed,
  };
  const recipient = await readRecipient(options.recipientKey, config);
  const signer =
    options.signingKey === undefined
      ? undefined
      : await readSigner(options.signingKey.key, options.signingKey.passphrase, config);

  let read = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      read += chunk.length;
      options.onProgress?.(read);
      callback(null, chunk);
    },
  });
  const source = createReadStream(options.input).pipe(counter);
  const plaintext = Readable.toWeb(source) as ReadableStream<Uint8Array>;
  const message = await createMessage({ binary: plaintext, format: 'binary' });
  try {
    const common = {
      message,
      encryptionKeys: recipient,
      ...(signer === undefined ? {} : { signingKeys: signer }),
      config,
    };
    // Given a stream, openpgp answers with a stream: of text when armored, of bytes otherwise.
    const encrypted = (
      options.armor === true
        ? await encrypt({ ...common, format: 'armored' })
        : await encrypt({ ...common, format: 'binary' })
    ) as ReadableStream<Uint8Array | string>;
    await pipeline(Readable.fromWeb(encrypted), createWriteStream(options.output, { mode: 0o644 }));
  } catch (err) {
    source.destroy();
    await rm(options.output, { force: true });
    if (err instanceof CliError) throw err;
    throw new CliError(`encryption failed: ${err instanceof Error ? err.message : String(err)}`, EXIT.ERROR, {
      cause: err,
    });
  }
  return {
    recipientKeyId: (await recipient.getEncryptionKey(undefined, undefined, undefined, config)).getKeyID().toHex(),
  };
}

/** Reads a key file's bytes: armored when it starts with the armor header, binary otherwise. */
export async function readKeyFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.ERROR, {
      cause: err,
    });
  }
}

function isArmored(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 64)).toString('latin1').trimStart().startsWith('-----BEGIN PGP');
}

async function readRecipient(bytes: Uint8Array, config: Config): Promise<PublicKey> {
  let key: Key;
  try {
    key = isArmored(bytes)
      ? await readKey({ armoredKey: Buffer.from(bytes).toString('utf8'), config })
      : await readKey({ binaryKey: bytes, config });
  } catch (err) {
    throw new CliError('the recipient key is not an OpenPGP public key', EXIT.ERROR, { cause: err });
  }
  if (key.isPrivate()) throw new CliError('--key must be a public key (got a private key)', EXIT.ERROR);
  try {
    await key.getEncryptionKey(undefined, undefined, undefined, config);
  } catch (err) {
    throw new CliError(
      `the recipient key cannot encrypt (expired, revoked or no encryption subkey): ${(err as Error).message}`,
      EXIT.ERROR,
      { cause: err },
    );
  }
  return key;
}

async function readSigner(bytes: Uint8Array, passphrase: string | undefined, config: Config): Promise<PrivateKey> {
  let key: PrivateKey;
  try {
    key = isArmored(bytes)
      ? await readPrivateKey({ armoredKey: Buffer.from(bytes).toString('utf8'), config })
      : await readPrivateKey({ binaryKey: bytes, config });
  } catch (err) {
    throw new CliError('--sign-key is not an OpenPGP private key', EXIT.ERROR, { cause: err });
  }
  if (!key.isDecrypted()) {
    if (passphrase === undefined)
      throw new CliError(
        'the signing key is protected: set its passphrase in CIPHERFLOW_SIGN_KEY_PASSPHRASE',
        EXIT.USAGE,
      );
    try {
      key = await decryptKey({ privateKey: key, passphrase, config });
    } catch (err) {
      throw new CliError('the signing key passphrase is wrong', EXIT.ERROR, { cause: err });
    }
  }
  try {
    await key.getSigningKey(undefined, undefined, undefined, config);
  } catch (err) {
    throw new CliError('the signing key cannot sign (expired, revoked or no signing subkey)', EXIT.ERROR, {
      cause: err,
    });
  }
  return key;
}
