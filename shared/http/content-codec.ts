import type { HeaderReader } from '../auth/authenticate.js';
import type { Tenant } from '../auth/tenant.js';
import type { ApiResponse } from './api-response.js';

export interface CodecContext {
  readonly headers: HeaderReader;
  readonly tenant: Tenant | null;
  readonly requestId: string;
}

/**
 * How a request body media type maps to JSON bytes and back: the extension point for encrypted
 * transports. The pipeline picks the codec by the request's `Content-Type`, hands it the raw body
 * (already size-limited), parses and validates the JSON it returns, and lets it wrap the
 * successful response. An `application/octet-stream+hpke` codec decrypts in `decodeRequest` and
 * encrypts in `encodeResponse`; JSON limits and schema validation then apply to the plaintext.
 */
export interface ContentCodec {
  /** Lowercase media type without parameters, e.g. `application/json`. */
  readonly mediaType: string;
  /** Returns the JSON bytes carried by `body`. Throws an AppError (opaque for crypto failures). */
  decodeRequest(body: Uint8Array, ctx: CodecContext): Promise<Uint8Array>;
  /** Encodes a successful response for the caller; error problems are never passed here. */
  encodeResponse(response: ApiResponse, ctx: CodecContext): Promise<ApiResponse>;
}

/** Plain JSON: bodies pass through unchanged. */
export const JSON_CODEC: ContentCodec = {
  mediaType: 'application/json',
  decodeRequest: (body) => Promise.resolve(body),
  encodeResponse: (response) => Promise.resolve(response),
};
