import { Readable } from 'node:stream';
import {
  ReadableStream as WebReadableStream,
  TextDecoderStream,
  type ReadableStream,
  type TransformStream,
  type ReadableStreamDefaultReader,
} from 'node:stream/web';
import {
  decrypt,
  enums,
  readMessage,
  readPrivateKey,
  PublicKeyEncryptedSessionKeyPacket,
  SymmetricallyEncryptedDataPacket,
  type Config,
  type Key,
  type KeyID,
  type Message,
  type SessionKey,
} from 'openpgp';
import { MAX_COMPRESSION_RATIO, MAX_FILE_BYTES, MAX_PKESK_PER_MESSAGE, PGP_CONFIG, decompressionLimitFor } from './config.js';
import { PgpError } from './errors.js';
import { keyIdHex } from './key-ids.js';
import { armorEndGuard } from './lib/armor-end.js';
import { isDecompressionLimit, isDecompressionRatioLimit, isUnsupported } from './lib/library-errors.js';
import { startsLikeOpenPgpMessage } from './lib/message-start.js';
import { INPUT_CHUNK_BYTES, openInput, type OpenedInput } from './lib/node-to-web.js';
import { rechunk, rechunkEncryptedData } from './lib/rechunk.js';
import { privateKeyPool, type PrivateKeyPool } from './private-key-pool.js';
import { readVerificationKeys } from './validate-signing-key.js';

/** The key id of a hidden recipient (`gpg --throw-keyids` / `-R`). */
export const WILDCARD_KEY_ID = '0000000000000000';

/** Default of {@link DecryptStreamOptions.stallTimeoutMs}. */
export const PARSER_STALL_MS = 30_000;

export interface DecryptStreamOptions {
  /** The flow's armored private key (passphrase-protected). */
  readonly privateKeyArmored: string;
  readonly passphrase: string;
  /**
   * The customer's registered armored public keys. When given (even empty), a valid signature
   * by one of them is required; when absent, signatures are neither required nor checked.
   */
  readonly verificationKeys?: readonly string[];
  /** Plaintext byte limit; default {@link MAX_FILE_BYTES}. */
  readonly maxBytes?: number;
  /**
   * Most bytes a Compressed Data packet may inflate to per compressed byte, checked as it inflates
   * past `COMPRESSION_RATIO_EXEMPT_BYTES`; default {@link MAX_COMPRESSION_RATIO}.
   */
  readonly maxCompressionRatio?: number;
  /**
   * Most session key packets naming our key or a hidden recipient that are tried (default
   * {@link MAX_PKESK_PER_MESSAGE}); a message with more is refused before any is.
   */
  readonly maxSessionKeyPackets?: number;
  /**
   * Where the private-key half runs (key unlock, session key decryption); default the process's
   * worker pool, waited for when busy: never the calling thread.
   */
  readonly privateKeys?: Pick<PrivateKeyPool, 'recoverSessionKeys'>;
  /** Time at which signatures and verification keys are checked (tests pass a fixed clock). */
  readonly now?: Date;
  /**
   * How long decryption may start without reading input or returning (default
   * {@link PARSER_STALL_MS}) before the message is refused: OpenPGP.js 6.3.2 never settles
   * `decrypt()` when the first packet inside the encrypted data is a streamed data packet its
   * grammar forbids there (tag 9, 18 or 20 inside SEIPD).
   */
  readonly stallTimeoutMs?: number;
}

export interface DecryptResult {
  /** Plaintext bytes delivered. */
  readonly bytes: number;
  /** Key ids named by the message's session key packets (hex, upper case; wildcard included). */
  readonly encryptedTo: readonly string[];
  /** Fingerprint (hex, upper case) of the registered key whose signature verified. */
  readonly signedBy?: string;
}

export interface DecryptedStream {
  /**
   * The plaintext. UNAUTHENTICATED until `result` resolves: integrity (MDC/AEAD) and signatures
   * are only known at the end of the stream. Write it to a staging location only; never show,
   * parse into a destination or commit it before `result` resolves. On any failure it is
   * destroyed with the same error `result` rejects with.
   */
  readonly plaintext: Readable;
  /** Settles only after `plaintext` has been read to its end (or destroyed). */
  readonly result: Promise<DecryptResult>;
}

/**
 * Decrypts an OpenPGP message (binary or ASCII-armored, detected from its first bytes) as a
 * stream, in flat memory, with the library configuration from `config.ts`.
 *
 * Failures found before any plaintext exists reject the returned promise; later ones (integrity,
 * size, signature) destroy `plaintext` and reject `result`. `input` is owned by this function
 * from now on: it is destroyed when decryption stops early. Key expiry of the flow's own key is
 * NOT checked here: rotation and grace periods belong to the key hierarchy, which picks the key.
 *
 * @throws PgpError `INVALID_PRIVATE_KEY` (our key or passphrase unusable), `INVALID_PUBLIC_KEY` /
 *   `PRIVATE_KEY_NOT_ALLOWED` (a bad registered verification key), `MALFORMED_PGP_MESSAGE` (not
 *   OpenPGP; header packets truncated or malformed), `UNSUPPORTED_PGP_FEATURE`,
 *   `NOT_ENCRYPTED_FOR_THIS_KEY` (with `encryptedTo`), `TOO_MANY_RECIPIENTS`, `INTEGRITY_CHECK_MISSING`,
 *   `INTEGRITY_CHECK_FAILED` (session key does not decrypt), `SIGNATURE_MISSING`.
 *   Through `result` and `plaintext`: `INTEGRITY_CHECK_FAILED` (MDC/AEAD mismatch, truncated or
 *   tampered ciphertext), `FILE_TOO_LARGE`, `COMPRESSION_RATIO_EXCEEDED`, `SIGNATURE_INVALID`,
 *   `MALFORMED_PGP_MESSAGE` (anything but whitespace after the armor's END line); an I/O error of
 *   `input` is passed through unchanged (it is not a PGP failure and may be retried).
 */
export async function decryptStream(input: Readable, options: DecryptStreamOptions): Promise<DecryptedStream> {
  const maxBytes = options.maxBytes ?? MAX_FILE_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError('maxBytes must be a non-negative integer');
  const maxCompressionRatio = options.maxCompressionRatio ?? MAX_COMPRESSION_RATIO;
  if (!(maxCompressionRatio >= 1)) throw new RangeError('maxCompressionRatio must be at least 1');
  const maxSessionKeyPackets = options.maxSessionKeyPackets ?? MAX_PKESK_PER_MESSAGE;
  if (!Number.isSafeInteger(maxSessionKeyPackets) || maxSessionKeyPackets < 1) throw new RangeError('maxSessionKeyPackets must be a positive integer');
  const now = options.now ?? new Date();
  const config: Config = {
    ...PGP_CONFIG,
    maxDecompressedMessageSize: decompressionLimitFor(maxBytes),
    maxDecompressionRatio: maxCompressionRatio,
  };
  const limits = { maxBytes, maxCompressionRatio };
  const armorEnd = armorEndGuard();

  let opened: Awaited<ReturnType<typeof openInput>> | undefined;
  try {
    const [ourKeyIds, verificationKeys] = await Promise.all([
      keyIdsOfPrivateKey(options.privateKeyArmored),
      options.verificationKeys === undefined ? undefined : readVerificationKeys(options.verificationKeys),
    ]);
    opened = await openInput(input);
    const source = opened;
    // A failure that explains whatever the library then reports: the input's own I/O error, or
    // text after the armor's END line (the library would ignore it).
    const inputFailure = (): Error | undefined => {
      const failure = source.inputError();
      if (failure === undefined) return armorEnd.failure();
      return failure.error instanceof Error
        ? failure.error
        : new Error('input stream failed', { cause: failure.error });
    };

    const message = await readEncryptedMessage(opened, armorEnd.stream, config, inputFailure);
    const encryptedTo = checkAddressedToUs(message, ourKeyIds, opened.armored || startsLikeOpenPgpMessage(opened.head()));
    const packets = sessionKeyPacketsToTry(message, ourKeyIds, maxSessionKeyPackets);
    // The private-key half runs in the worker pool; the input waits (back pressure) meanwhile.
    const sessionKeys = await (options.privateKeys ?? privateKeyPool()).recoverSessionKeys(
      { privateKeyArmored: options.privateKeyArmored, passphrase: options.passphrase, packets, date: now },
      'wait',
    );
    rechunkEncryptedData(message, INPUT_CHUNK_BYTES);

    let decrypted: Awaited<ReturnType<typeof decrypt<ReadableStream<Uint8Array>>>>;
    try {
      decrypted = await unlessStalled(
        source,
        options.stallTimeoutMs ?? PARSER_STALL_MS,
        decrypt({
          message,
          // v6 session key packets carry no algorithm (null): the library then takes the one
          // the SEIPDv2 packet names, as it does for keys it recovers itself.
          sessionKeys: sessionKeys as SessionKey[],
          // Signatures are checked below with our own codes rather than `expectSigned`, which
          // has the same effect (no signature: refused up front; none verifies: the data stream
          // fails at its end) but reports both as one untyped error.
          ...(verificationKeys === undefined ? {} : { verificationKeys }),
          format: 'binary',
          date: now,
          config,
        }),
      );
    } catch (cause) {
      // decrypt() already inflates the first compressed block (a whole bzip2 block at once).
      throw inputFailure() ?? toLateError(cause, limits);
    }
    for (const signature of decrypted.signatures) {
      // Settled at the end of the stream; without a handler an unused one would be reported
      // as an unhandled rejection.
      signature.verified.catch(() => undefined);
      signature.signature.catch(() => undefined);
    }
    if (verificationKeys !== undefined && decrypted.signatures.length === 0) throw new PgpError('SIGNATURE_MISSING');

    // The library hands out the plaintext in the sender's partial-length pieces (8 KiB from gpg);
    // each would cost a Readable push and a trip through every Node stream after us.
    const data = rechunk(asByteStream(decrypted.data), INPUT_CHUNK_BYTES);
    const signatures = decrypted.signatures;
    return plaintextOf(data.getReader(), {
      maxBytes,
      mapError: (err) => inputFailure() ?? toLateError(err, limits),
      finish: async (bytes) => {
        const signedBy =
          verificationKeys === undefined ? undefined : await verifiedSigner(signatures, verificationKeys);
        return { bytes, encryptedTo, ...(signedBy === undefined ? {} : { signedBy }) };
      },
    });
  } catch (err) {
    if (opened === undefined) input.destroy();
    else await opened.stream.cancel(err).catch(() => undefined);
    throw err;
  }
}

/**
 * Settles like `work`, or rejects once `input` has had no read in flight and none started or
 * finished for `stallMs`: a parser that neither reads input nor returns is deadlocked, and would
 * otherwise hold the invocation until the host's timeout.
 */
async function unlessStalled<T>(input: OpenedInput, stallMs: number, work: Promise<T>): Promise<T> {
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    const check = (): void => {
      const { reading, at } = input.activity();
      const idle = Date.now() - at;
      if (!reading && idle >= stallMs) reject(new Error(`the OpenPGP parser made no progress for ${stallMs} ms`));
      else timer = setTimeout(check, reading ? stallMs : stallMs - idle);
    };
    timer = setTimeout(check, stallMs);
  });
  try {
    return await Promise.race([work, stalled]);
  } finally {
    clearTimeout(timer);
  }
}

/** The key ids of our key and its subkeys, read from the armored key without unlocking it. */
async function keyIdsOfPrivateKey(armoredKey: string): Promise<ReadonlySet<string>> {
  try {
    const privateKey = await readPrivateKey({ armoredKey, config: PGP_CONFIG });
    return new Set(privateKey.getKeyIDs().map(keyIdHex));
  } catch (cause) {
    throw new PgpError('INVALID_PRIVATE_KEY', {}, { cause });
  }
}

/**
 * The session key packets that would cost a private-key operation: those naming one of our key
 * ids or a hidden recipient. A message with more than `max` is refused before any is tried, so a
 * file of 100 packets for an RSA key costs nothing but its parsing.
 *
 * @throws PgpError `TOO_MANY_RECIPIENTS`
 */
function sessionKeyPacketsToTry(message: Message<ReadableStream<Uint8Array>>, ours: ReadonlySet<string>, max: number): Uint8Array[] {
  const tried = message.packets
    .filterByTag(enums.packet.publicKeyEncryptedSessionKey)
    .filter((packet): packet is PublicKeyEncryptedSessionKeyPacket => packet instanceof PublicKeyEncryptedSessionKeyPacket)
    .filter((packet) => {
      const id = keyIdHex(publicKeyIdOf(packet));
      return id === WILDCARD_KEY_ID || ours.has(id);
    });
  if (tried.length > max) {
    throw new PgpError('TOO_MANY_RECIPIENTS', { maxSessionKeyPackets: max, sessionKeyPackets: tried.length });
  }
  return tried.map((packet) => packet.write());
}

async function readEncryptedMessage(
  input: OpenedInput,
  armorEnd: TransformStream<string, string>,
  config: Config,
  inputFailure: () => Error | undefined,
): Promise<Message<ReadableStream<Uint8Array>>> {
  try {
    if (input.armored) {
      // Armor is ASCII; a non-ASCII byte becomes U+FFFD and fails the armor's base64 check.
      const text = input.stream.pipeThrough(new TextDecoderStream('utf-8')).pipeThrough(armorEnd);
      // openpgp types its message as the stream it was read from; the decoded bytes are the same.
      return await readMessage({ armoredMessage: text, config });
    }
    return await readMessage({ binaryMessage: input.stream, config });
  } catch (cause) {
    // An unsupported version or algorithm is only news about a file that is OpenPGP to begin
    // with: random bytes often start with what parses as a packet of an unknown tag or version.
    const unsupported = isUnsupported(cause) && (input.armored || startsLikeOpenPgpMessage(input.head()));
    throw inputFailure() ?? new PgpError(unsupported ? 'UNSUPPORTED_PGP_FEATURE' : 'MALFORMED_PGP_MESSAGE', {}, { cause });
  }
}

/**
 * The recipient a session key packet names: a field the library's typings leave out, and whose
 * class it does not export, so it is checked by shape.
 */
function publicKeyIdOf(packet: PublicKeyEncryptedSessionKeyPacket): KeyID {
  const id: unknown = Reflect.get(packet, 'publicKeyID');
  if (typeof id === 'object' && id !== null && 'toHex' in id && typeof id.toHex === 'function') return id as KeyID;
  throw new PgpError('MALFORMED_PGP_MESSAGE');
}

/**
 * Looks at the packets before the encrypted data, all of them public: refuses legacy SED packets
 * before any key is used, and messages whose session key packets do not name us (or a hidden
 * recipient, which is tried against our key). `startsLikeMessage`: the file begins the way an
 * OpenPGP message does (`message-start.ts`), so a packet that parsed is not random bytes.
 *
 * @returns the key ids named by the session key packets
 */
function checkAddressedToUs(
  message: Message<ReadableStream<Uint8Array>>,
  ours: ReadonlySet<string>,
  startsLikeMessage: boolean,
): string[] {
  const encryptedData = message.packets.filterByTag(
    enums.packet.symmetricallyEncryptedData,
    enums.packet.symEncryptedIntegrityProtectedData,
    enums.packet.aeadEncryptedData,
  );
  const encryptedTo = message.getEncryptionKeyIDs().map(keyIdHex);
  const first = encryptedData[0];
  if (first === undefined) {
    // Not encrypted at all (a literal, compressed or signed-only message): never accepted.
    const data = message.packets.filterByTag(enums.packet.literalData, enums.packet.compressedData);
    if (data.length > 0 && startsLikeMessage) throw new PgpError('NOT_ENCRYPTED_FOR_THIS_KEY', { encryptedTo });
    // Session keys and nothing they unlock (or no message at all): a file cut short, not one
    // for other keys, whatever key ids its session key packets name.
    throw new PgpError('MALFORMED_PGP_MESSAGE');
  }
  // Tag 9: no MDC. Refused on its type alone, so stripping the MDC cannot even reach decryption.
  if (first instanceof SymmetricallyEncryptedDataPacket) {
    throw startsLikeMessage ? new PgpError('INTEGRITY_CHECK_MISSING', { encryptedTo }) : new PgpError('MALFORMED_PGP_MESSAGE');
  }
  if (!encryptedTo.some((id) => id === WILDCARD_KEY_ID || ours.has(id))) {
    throw new PgpError('NOT_ENCRYPTED_FOR_THIS_KEY', { encryptedTo });
  }
  return encryptedTo;
}

/**
 * After decryption has begun, every failure except the size and ratio limits is one code: whether
 * the MDC, an AEAD tag, the decompressor or the packet parser noticed the damage first depends on
 * where the ciphertext was modified, and telling those apart would be an oracle. The limits are
 * the exception: they say only how far the data inflates, which whoever made the file knows, and
 * a sender whose real file trips one needs to know which.
 */
function toLateError(err: unknown, limits: { maxBytes: number; maxCompressionRatio: number }): PgpError {
  if (err instanceof PgpError) return err;
  if (isDecompressionLimit(err)) return new PgpError('FILE_TOO_LARGE', { maxBytes: limits.maxBytes }, { cause: err });
  if (isDecompressionRatioLimit(err)) {
    return new PgpError('COMPRESSION_RATIO_EXCEEDED', { maxCompressionRatio: limits.maxCompressionRatio }, { cause: err });
  }
  return new PgpError('INTEGRITY_CHECK_FAILED', {}, { cause: err });
}

/**
 * openpgp's typings describe its streams through a package it does not ship, so they resolve to
 * an unknown type here; this checks at run time what the library returns for a web-stream input.
 */
function asByteStream(data: unknown): ReadableStream<Uint8Array> {
  if (data instanceof WebReadableStream) return data as ReadableStream<Uint8Array>;
  throw new TypeError('openpgp returned a non-stream result for a stream input');
}

interface Verification {
  readonly keyID: Parameters<Key['getKeys']>[0];
  readonly verified: Promise<true>;
}

/** The fingerprint of the registered key behind the first signature that verifies. */
async function verifiedSigner(signatures: readonly Verification[], keys: readonly Key[]): Promise<string> {
  let failure: unknown;
  for (const signature of signatures) {
    try {
      await signature.verified;
      const signer = keys.find((key) => key.getKeys(signature.keyID).length > 0);
      if (signer !== undefined) return signer.getFingerprint().toUpperCase();
    } catch (cause) {
      failure = cause;
    }
  }
  throw new PgpError('SIGNATURE_INVALID', {}, { cause: failure });
}

interface PlaintextHooks {
  readonly maxBytes: number;
  readonly mapError: (err: unknown) => unknown;
  readonly finish: (bytes: number) => Promise<DecryptResult>;
}

/** Bridges the library's web stream to a Node readable, counting bytes and settling `result`. */
function plaintextOf(reader: ReadableStreamDefaultReader<Uint8Array>, hooks: PlaintextHooks): DecryptedStream {
  const settle = { resolve: (_: DecryptResult): void => undefined, reject: (_: unknown): void => undefined };
  const result = new Promise<DecryptResult>((resolve, reject) => {
    settle.resolve = resolve;
    settle.reject = reject;
  });
  result.catch(() => undefined);
  let bytes = 0;
  let pumping = false;
  let settled = false;

  const fail = (err: unknown): void => {
    if (settled) return;
    settled = true;
    settle.reject(err);
    reader.cancel(err).catch(() => undefined);
  };

  const plaintext = new Readable({
    highWaterMark: INPUT_CHUNK_BYTES,
    read() {
      if (pumping || settled) return;
      pumping = true;
      void pump().finally(() => (pumping = false));
    },
    destroy(err, callback) {
      fail(err ?? new Error('plaintext stream destroyed before its end'));
      callback(err);
    },
  });

  const pump = async (): Promise<void> => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (settled) return;
        if (done) {
          const final = await hooks.finish(bytes);
          settled = true;
          settle.resolve(final);
          plaintext.push(null);
          return;
        }
        bytes += value.length;
        // Fail fast: a compression bomb is stopped at the limit, not after inflating.
        if (bytes > hooks.maxBytes) throw new PgpError('FILE_TOO_LARGE', { maxBytes: hooks.maxBytes });
        if (!plaintext.push(value)) return;
      }
    } catch (err) {
      const mapped = err instanceof PgpError ? err : hooks.mapError(err);
      fail(mapped);
      plaintext.destroy(mapped instanceof Error ? mapped : new Error('decryption failed', { cause: mapped }));
    }
  };

  return { plaintext, result };
}
