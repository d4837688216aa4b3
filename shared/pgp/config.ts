import { config as libraryDefaults, enums, type Config } from 'openpgp';
import { DEFAULT_MAX_COMPRESSION_RATIO, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_PKESK_PER_MESSAGE } from '../config/defaults.js';
import { inflateBzip2InWorker } from './bzip2-inflate.js';

/**
 * Default plaintext limit for one file (1 GiB, Adobe's): the default of the `MAX_FILE_BYTES` app
 * setting the ingestion reads (`shared/config/settings.ts`), and of `decryptStream`'s `maxBytes`.
 */
export const MAX_FILE_BYTES: number = DEFAULT_MAX_FILE_BYTES;

/**
 * Default of the `MAX_COMPRESSION_RATIO` app setting (`shared/config/settings.ts`) and of
 * `decryptStream`'s `maxCompressionRatio`: the most bytes any inflate (a PGP Compressed Data packet,
 * a flow's `compressionType`) may produce per compressed byte it has consumed. Measured on 64 MiB
 * of CSV, deflate level 6 (gpg's ZLIB default) / bzip2 -9: the bench's generator 3.3 / 3.6 (its
 * 1 GiB file from gpg's ZLIB: 3.29), sequential ids with a constant status and date and mostly
 * empty amounts 16 / 32, a 60-column sparse export 26 / 60, an event log of constant fields and 17
 * empty columns 109 (170 at deflate level 9) / 124; one line repeated 343 / 8,090. A bomb reaches
 * ~1,000 with deflate and ~1,000,000 with bzip2 (45.9 MB of zeros in a 72-byte stream).
 */
export const MAX_COMPRESSION_RATIO: number = DEFAULT_MAX_COMPRESSION_RATIO;

/**
 * Output every inflate may produce whatever its ratio (4 MiB): the ratio is checked only past it,
 * so a small file that compresses extremely well (1 KiB of a repeated line inflating to 200 KiB)
 * is not refused, while a bomb stops within a few MiB of it.
 */
export const COMPRESSION_RATIO_EXEMPT_BYTES = 4 * 1024 * 1024;

/**
 * The output an inflate may have produced once it has consumed `compressedBytes`: `ratio` times
 * that, and at least {@link COMPRESSION_RATIO_EXEMPT_BYTES}.
 */
export function compressionAllowance(ratio: number, compressedBytes: number): number {
  // Infinity (no ratio limit) times 0 would be NaN.
  if (ratio === Infinity) return Infinity;
  return Math.max(COMPRESSION_RATIO_EXEMPT_BYTES, ratio * compressedBytes);
}

/** Bounds for the lifetime of keys we generate. */
/**
 * Default of `decryptStream`'s `maxSessionKeyPackets` (`MAX_PKESK_PER_MESSAGE`): the most session
 * key packets naming our key or a hidden recipient that one message may carry. Each is a
 * private-key operation (~80 ms of pure-JS RSA-4096); a real file has one per recipient.
 */
export const MAX_PKESK_PER_MESSAGE: number = DEFAULT_MAX_PKESK_PER_MESSAGE;

export const MIN_KEY_EXPIRY_DAYS = 1;
export const MAX_KEY_EXPIRY_DAYS = 730;
export const DEFAULT_KEY_EXPIRY_DAYS = 180;

/** Smallest RSA modulus accepted anywhere (customer keys and messages). */
export const MIN_RSA_BITS = 2048;

/**
 * OpenPGP.js's `maxDecompressedMessageSize` counts the decompressed bytes of a Compressed Data
 * packet, i.e. the literal data *plus* its packet framing (literal header, partial-length octets).
 * Our own counter on the plaintext is the real limit; this headroom keeps the library's counter
 * from firing first on a file just under the limit, while still bounding a bomb.
 */
export function decompressionLimitFor(maxBytes: number): number {
  return maxBytes + Math.ceil(maxBytes / 64) + 64 * 1024;
}

/**
 * The one OpenPGP.js configuration this app uses (openpgp 6.3.2). Every option we rely on is set
 * here, even where it equals the library default, so a library upgrade cannot silently change it.
 * Passed as `config` to every openpgp call; functions derive per-call copies, never mutate it.
 */
export const PGP_CONFIG: Readonly<Config> = Object.freeze({
  // A complete object (some openpgp methods such as `armor` take a full Config), built from the
  // library's defaults as loaded, then every option we rely on stated explicitly.
  ...libraryDefaults,
  // Refuse SED (tag 9) messages without MDC: modifications would go undetected and an attacker
  // could strip integrity protection from a protected message (downgrade).
  allowUnauthenticatedMessages: false,
  // Required for flat memory: without it OpenPGP.js buffers the whole SEIPDv1 plaintext to check
  // the MDC before releasing any byte. With it, plaintext is released before the MDC is checked
  // and the stream errors at its end on mismatch. Safe only because callers stage the plaintext
  // and commit it after `result` resolves (see decrypt-stream.ts). AEAD (SEIPDv2) is unaffected:
  // each AEAD chunk is authenticated before release.
  allowUnauthenticatedStream: true,
  // The library default is Infinity. Per-call limits come from `decompressionLimitFor(maxBytes)`.
  maxDecompressedMessageSize: decompressionLimitFor(MAX_FILE_BYTES),
  // Options of our openpgp patch (patches/): a compression bomb stops at the ratio, checked
  // inside the inflater (a bzip2 block would otherwise inflate up to ~45 MiB at once).
  maxDecompressionRatio: MAX_COMPRESSION_RATIO,
  decompressionRatioExemptBytes: COMPRESSION_RATIO_EXEMPT_BYTES,
  // And BZip2 inflates in a worker thread: the decoder works a whole block (900 kB) at a time.
  decompressBzip2: inflateBzip2InWorker,
  // Messages must follow the RFC 9580 message grammar (e.g. one literal packet, no stray packets).
  enforceGrammar: true,
  // Library default is true (skip packets with unknown versions/algorithms). We want to know: an
  // ignored signature or key packet would otherwise be invisible.
  ignoreUnsupportedPackets: false,
  ignoreMalformedPackets: false,
  // Never decrypt with a key not flagged for encryption (key-usage confusion).
  allowInsecureDecryptionWithSigningKeys: false,
  allowInsecureVerificationWithReformattedKeys: false,
  allowMissingKeyFlags: false,
  // Library default is 2047 (a historic OpenPGP.js bug); customer keys must be at least 2048.
  minRSABits: MIN_RSA_BITS,
  // Left off: it decrypts every message once per supported cipher (3x the work on 1 GiB files).
  // PKESK failures and MDC failures already share one error code; the remaining timing difference
  // only concerns RSA flow keys. Curve25519 (ECDH, no PKCS#1) is the default key type.
  constantTimePKCS1Decryption: false,
  // Generation: SEIPDv1 + MDC preferences and v4 keys, because customers run GnuPG 2.2, which
  // reads neither SEIPDv2 (RFC 9580 AEAD) nor v6 keys.
  aeadProtect: false,
  v6Keys: false,
  // v5 keys/signatures are a non-standard draft format (GnuPG 2.4 "LibrePGP"); refused.
  enableParsingV5Entities: false,
  // Preferences advertised in the keys we generate; senders (gpg) pick from them.
  preferredSymmetricAlgorithm: enums.symmetric.aes256,
  preferredHashAlgorithm: enums.hash.sha512,
  preferredCompressionAlgorithm: enums.compression.uncompressed,
  // Private key protection: iterated+salted S2K (Argon2 is unreadable by GnuPG 2.2).
  s2kType: enums.s2k.iterated,
  s2kIterationCountByte: 224,
  // Reject broken or non-standard primitives in customer keys and signatures.
  rejectHashAlgorithms: new Set([enums.hash.md5, enums.hash.ripemd]),
  rejectMessageHashAlgorithms: new Set([enums.hash.md5, enums.hash.ripemd, enums.hash.sha1]),
  rejectPublicKeyAlgorithms: new Set([enums.publicKey.elgamal, enums.publicKey.dsa]),
  rejectCurves: new Set([enums.curve.secp256k1]),
  maxUserIDLength: 5 * 1024,
  // No "Version:"/"Comment:" armor headers in what we publish.
  showVersion: false,
  showComment: false,
});
