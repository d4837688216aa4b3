/**
 * Every failure of the PGP module, as a closed union so callers can `switch (err.code)`.
 *
 * - `INVALID_PUBLIC_KEY`, `PRIVATE_KEY_NOT_ALLOWED`, `KEY_EXPIRED`, `KEY_REVOKED`, `NO_SIGNING_KEY`,
 *   `KEY_TOO_WEAK`: a customer's public key was refused at registration.
 * - `INVALID_PRIVATE_KEY`: our own stored key (or its passphrase) is unusable: a system error.
 * - `NOT_ENCRYPTED_FOR_THIS_KEY`: no session key packet names our key (see `encryptedTo`).
 * - `INTEGRITY_CHECK_MISSING`: a legacy Symmetrically Encrypted Data packet (tag 9, no MDC).
 * - `INTEGRITY_CHECK_FAILED`: anything that goes wrong once decryption has begun: a session key
 *   that does not decrypt, an MDC or AEAD tag mismatch, a truncated or tampered ciphertext. One
 *   code on purpose: telling these apart is a decryption oracle.
 * - `SIGNATURE_MISSING`, `SIGNATURE_INVALID`: a signature was required and absent, or none verified
 *   against the registered keys.
 * - `MALFORMED_PGP_MESSAGE`: not an OpenPGP message, or its header packets are incomplete.
 * - `UNSUPPORTED_PGP_FEATURE`: a packet version or algorithm this module does not accept.
 * - `FILE_TOO_LARGE`: the plaintext went past the caller's byte limit.
 * - `COMPRESSION_RATIO_EXCEEDED`: a Compressed Data packet inflated past the caller's ratio limit
 *   (a compression bomb).
 * - `TOO_MANY_RECIPIENTS`: more session key packets name our key (or a hidden recipient) than the
 *   caller's limit; each would cost a private-key operation.
 */
export type PgpErrorCode =
  | 'INVALID_PUBLIC_KEY'
  | 'PRIVATE_KEY_NOT_ALLOWED'
  | 'KEY_EXPIRED'
  | 'KEY_REVOKED'
  | 'NO_SIGNING_KEY'
  | 'KEY_TOO_WEAK'
  | 'INVALID_PRIVATE_KEY'
  | 'NOT_ENCRYPTED_FOR_THIS_KEY'
  | 'INTEGRITY_CHECK_MISSING'
  | 'INTEGRITY_CHECK_FAILED'
  | 'SIGNATURE_MISSING'
  | 'SIGNATURE_INVALID'
  | 'MALFORMED_PGP_MESSAGE'
  | 'UNSUPPORTED_PGP_FEATURE'
  | 'FILE_TOO_LARGE'
  | 'COMPRESSION_RATIO_EXCEEDED'
  | 'TOO_MANY_RECIPIENTS';

/**
 * Fixed messages: they never include caller data or the library's own error text, which may
 * describe which crypto step failed. The library error stays in `cause` for internal logs only.
 */
const MESSAGES: Readonly<Record<PgpErrorCode, string>> = Object.freeze({
  INVALID_PUBLIC_KEY: 'The key is not a valid armored OpenPGP public key.',
  PRIVATE_KEY_NOT_ALLOWED: 'A private key was given where a public key is expected.',
  KEY_EXPIRED: 'The key has expired.',
  KEY_REVOKED: 'The key has been revoked.',
  NO_SIGNING_KEY: 'The key has no valid signing-capable key or subkey.',
  KEY_TOO_WEAK: 'The key uses an algorithm or size that is not accepted.',
  INVALID_PRIVATE_KEY: 'The decryption key could not be read or unlocked.',
  NOT_ENCRYPTED_FOR_THIS_KEY: 'The message is not encrypted for this key.',
  INTEGRITY_CHECK_MISSING: 'The message has no integrity protection and is refused.',
  INTEGRITY_CHECK_FAILED: 'The message could not be decrypted or failed its integrity check.',
  SIGNATURE_MISSING: 'The message is not signed but a signature is required.',
  SIGNATURE_INVALID: 'The message signature is not valid for any registered key.',
  MALFORMED_PGP_MESSAGE: 'The data is not a well-formed OpenPGP message.',
  UNSUPPORTED_PGP_FEATURE: 'The message or key uses an unsupported OpenPGP feature.',
  FILE_TOO_LARGE: 'The decrypted file exceeds the size limit.',
  COMPRESSION_RATIO_EXCEEDED: 'The message inflates more than the allowed compression ratio.',
  TOO_MANY_RECIPIENTS: 'The message has more session key packets for this key or hidden recipients than are tried.',
});

export interface PgpErrorDetails {
  /** For `NOT_ENCRYPTED_FOR_THIS_KEY`: key ids (hex, upper case) named by the session key packets. */
  readonly encryptedTo?: readonly string[];
  /** For `FILE_TOO_LARGE`: the limit in bytes. */
  readonly maxBytes?: number;
  /** For `COMPRESSION_RATIO_EXCEEDED`: the limit, decompressed bytes per compressed byte. */
  readonly maxCompressionRatio?: number;
  /** For `TOO_MANY_RECIPIENTS`: the limit, and how many packets the message has that would be tried. */
  readonly maxSessionKeyPackets?: number;
  readonly sessionKeyPackets?: number;
}

/** A failure of a PGP operation with a stable `code`; `cause` is for internal logs only. */
export class PgpError extends Error {
  readonly code: PgpErrorCode;
  readonly encryptedTo?: readonly string[];
  readonly maxBytes?: number;
  readonly maxCompressionRatio?: number;
  readonly maxSessionKeyPackets?: number;
  readonly sessionKeyPackets?: number;

  constructor(code: PgpErrorCode, details: PgpErrorDetails = {}, options?: { cause?: unknown }) {
    super(MESSAGES[code], options);
    this.name = new.target.name;
    this.code = code;
    if (details.encryptedTo !== undefined) this.encryptedTo = Object.freeze([...details.encryptedTo]);
    if (details.maxBytes !== undefined) this.maxBytes = details.maxBytes;
    if (details.maxCompressionRatio !== undefined) this.maxCompressionRatio = details.maxCompressionRatio;
    if (details.maxSessionKeyPackets !== undefined) this.maxSessionKeyPackets = details.maxSessionKeyPackets;
    if (details.sessionKeyPackets !== undefined) this.sessionKeyPackets = details.sessionKeyPackets;
  }
}

/** Narrowing helper for callers and tests. */
export function isPgpError(err: unknown, code?: PgpErrorCode): err is PgpError {
  return err instanceof PgpError && (code === undefined || err.code === code);
}
