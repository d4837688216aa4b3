import type { HeaderReader } from '../auth/authenticate.js';
import type { Tenant } from '../auth/tenant.js';
import type { Suite } from '../hpke/suites.js';
import type { ApiResponse } from './api-response.js';

export interface CodecContext {
  readonly headers: HeaderReader;
  readonly tenant: Tenant | null;
  readonly requestId: string;
  /** Uppercase request method. */
  readonly method: string;
  /** The request path as the client sent it, without the query string. */
  readonly path: string;
}

/** A sealed request's encapsulation and suite: its answer is bound to the `enc` and sealed with the same suite. */
export interface SealedRequest {
  readonly enc: Uint8Array;
  readonly suite: Suite;
}

/** What a request codec gives back: the JSON bytes, and how the body was sealed, if it was. */
export interface DecodedBody {
  readonly json: Uint8Array;
  readonly sealed?: SealedRequest;
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
  decodeRequest(body: Uint8Array, ctx: CodecContext): Promise<DecodedBody>;
  /** Encodes a successful response for the caller; error problems are never passed here. */
  encodeResponse(response: ApiResponse, ctx: CodecContext): Promise<ApiResponse>;
  /** Bytes an encoding adds to a body; the route's body limit is raised by this much. */
  readonly overheadBytes?: number;
}

/**
 * A response encoding the caller asks for with `Accept` (e.g. `application/octet-stream+hpke`),
 * whatever the request's content type. Applied, once the caller's tenant is known, to successful
 * responses and problem documents alike; before that (401, ...) responses stay plaintext.
 */
export interface ResponseCodec {
  /** Lowercase media type matched against the request's `Accept`. */
  readonly mediaType: string;
  /** Further media types that choose this codec (e.g. the streamed form of the same encoding). */
  readonly alternateMediaTypes?: readonly string[];
  /**
   * Runs right after authentication, before the body is read or the handler runs, so a response
   * that could not be encoded (no client key) is refused before any side effect. Gives back this
   * request's encoder.
   */
  prepare(ctx: CodecContext): Promise<ResponseEncoder>;
  /**
   * Runs instead of {@link prepare} when the caller did not ask for this encoding: throws to refuse
   * an unencoded answer (an org that requires encryption) before the body is read or the handler runs.
   */
  refuseUnencoded?(ctx: CodecContext): Promise<void>;
}

/** One request's response encoding, as {@link ResponseCodec.prepare} resolved it. */
export interface ResponseEncoder {
  /**
   * Encodes the final response (success or problem+json), bound to how the request was sealed
   * (`sealed`, absent for a plaintext request or one whose body was never read). Throws an
   * AppError if it cannot.
   */
  encode(response: ApiResponse, sealed: SealedRequest | undefined): Promise<ApiResponse>;
}

/** Plain JSON: bodies pass through unchanged. */
export const JSON_CODEC: ContentCodec = {
  mediaType: 'application/json',
  decodeRequest: (body) => Promise.resolve({ json: body }),
  encodeResponse: (response) => Promise.resolve(response),
};
