import { AppError } from '../errors.js';
import { isPgpError } from '../pgp/errors.js';
import type { RunError } from '../flows/runs.js';

/** Why a file failed for good: the run's error code and customer-facing message. */
export class RunFailure extends Error {
  override readonly name = 'RunFailure';
  constructor(readonly code: RunFailureCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The stable codes a failed run carries. */
export type RunFailureCode =
  | 'ENCRYPTION_KEY_NOT_FOUND'
  | 'ENCRYPTION_KEY_EXPIRED'
  | 'ENCRYPTION_KEY_UNUSABLE'
  | 'SIGNATURE_KEY_NOT_FOUND'
  | 'NOT_ENCRYPTED_FOR_THIS_KEY'
  | 'INTEGRITY_CHECK_MISSING'
  | 'INTEGRITY_CHECK_FAILED'
  | 'SIGNATURE_MISSING'
  | 'SIGNATURE_INVALID'
  | 'UNSUPPORTED_FILE_TYPE'
  | 'UNSUPPORTED_PGP_FEATURE'
  | 'MALFORMED_PGP_MESSAGE'
  | 'DECOMPRESSION_FAILED'
  | 'FILE_TOO_LARGE'
  | 'COMPRESSION_RATIO_EXCEEDED'
  | 'TOO_MANY_RECIPIENTS'
  | 'FILE_REPLACED';

/**
 * Turns an error from processing a file into the run's error when it is final (the file itself,
 * or a key it needs, is at fault), or `undefined` when it is transient (vault or storage
 * unavailable, a revoked KEK): then the trigger retries and the run stays in progress.
 */
export function runErrorOf(err: unknown): RunError | undefined {
  if (err instanceof RunFailure) return { code: err.code, message: err.message };
  if (isPgpError(err)) {
    switch (err.code) {
      case 'NOT_ENCRYPTED_FOR_THIS_KEY': {
        const ids = err.encryptedTo ?? [];
        return {
          code: err.code,
          message: ids.length === 0
            ? 'The file is not encrypted to any public key (e.g. a password-encrypted or unencrypted file).'
            : `The file is encrypted to key id(s) ${ids.join(', ')}, not to this dataflow's key.`,
        };
      }
      case 'INTEGRITY_CHECK_MISSING':
      case 'INTEGRITY_CHECK_FAILED':
      case 'SIGNATURE_MISSING':
      case 'SIGNATURE_INVALID':
      case 'MALFORMED_PGP_MESSAGE':
      case 'UNSUPPORTED_PGP_FEATURE':
      case 'FILE_TOO_LARGE':
        return { code: err.code, message: err.message };
      case 'COMPRESSION_RATIO_EXCEEDED':
        return {
          code: err.code,
          message: `The file decompresses to more than ${err.maxCompressionRatio ?? 'the allowed'} times its compressed size, the limit (MAX_COMPRESSION_RATIO).`,
        };
      case 'TOO_MANY_RECIPIENTS':
        return {
          code: err.code,
          message: `The file has ${err.sessionKeyPackets ?? 'too many'} session key packets for this dataflow's key or hidden recipients; at most ${err.maxSessionKeyPackets ?? 'a few'} are tried (MAX_PKESK_PER_MESSAGE).`,
        };
      case 'INVALID_PRIVATE_KEY':
        return { code: 'ENCRYPTION_KEY_UNUSABLE', message: "The dataflow's decryption key could not be unlocked." };
      case 'INVALID_PUBLIC_KEY':
      case 'PRIVATE_KEY_NOT_ALLOWED':
      case 'KEY_EXPIRED':
      case 'KEY_REVOKED':
      case 'NO_SIGNING_KEY':
      case 'KEY_TOO_WEAK':
        return { code: 'SIGNATURE_INVALID', message: 'The registered signature verification key cannot verify signatures.' };
    }
  }
  if (err instanceof AppError && err.code === 'SOURCE_FILE_CHANGED') {
    return { code: err.code, message: 'The file changed while it was read; the new version is taken by the next scheduled run.' };
  }
  // Deleted or moved on the customer's storage after it was listed (or no longer readable there):
  // retrying cannot bring that version back, and a new upload is a new version the next run takes.
  if (err instanceof AppError && err.code === 'SOURCE_PATH_NOT_FOUND') {
    return { code: err.code, message: 'The file was deleted or moved on the source after it was listed; a file uploaded again is taken by the next scheduled run.' };
  }
  if (err instanceof AppError && err.code === 'DECRYPTION_FAILED') {
    return { code: 'ENCRYPTION_KEY_UNUSABLE', message: "The dataflow's stored decryption key could not be read." };
  }
  return undefined;
}
