/**
 * Why the HPKE client refused: stable codes, like the server's. Decryption failures of any kind
 * (a wrong key, a tampered, reordered or spliced chunk) share `HPKE_DECRYPT_FAILED`.
 */
export type HpkeClientErrorCode =
  | 'HPKE_PLAINTEXT_RESPONSE'
  | 'HPKE_DECRYPT_FAILED'
  | 'HPKE_NO_SERVER_KEY'
  | 'HPKE_UNSUPPORTED_SUITE'
  /** A streamed answer ended before its final chunk (dropped or cut on the way, or the server failed mid-stream). */
  | 'HPKE_STREAM_TRUNCATED'
  /** A streamed answer has more chunks than its sequence number allows. */
  | 'HPKE_SEQUENCE_OVERFLOW';

export class HpkeClientError extends Error {
  override readonly name = 'HpkeClientError';
  constructor(
    readonly code: HpkeClientErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
