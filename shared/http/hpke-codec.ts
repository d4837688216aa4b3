import { Readable } from 'node:stream';
import { HpkeNotAcceptableError, HpkeRequiredError, ValidationError } from '../errors.js';
import type { HpkeServices } from '../hpke/hpke-services.js';
import { assertFormat, openRequest } from '../hpke/open-request.js';
import { resolveClientKey, type ResolvedClientKey } from '../hpke/client-keys.js';
import { sealResponse } from '../hpke/seal-response.js';
import { sealStream } from '../hpke/seal-stream.js';
import { DEFAULT_SUITE } from '../hpke/suites.js';
import {
  CLIENT_KEY_ID_HEADER,
  FORMAT_HEADER,
  HPKE_CHUNKED_MEDIA_TYPE,
  HPKE_MEDIA_TYPE,
  MAX_OVERHEAD_BYTES,
  TIMESTAMP_HEADER,
  acceptedTypes,
  type ResponseBinding,
  type TenantBinding,
} from '../hpke/wire-format.js';
import type { ApiResponse } from './api-response.js';
import { JSON_CODEC, type CodecContext, type ContentCodec, type ResponseCodec, type ResponseEncoder, type SealedRequest } from './content-codec.js';

/** The request and response codecs of `application/octet-stream+hpke`, and the plaintext policy. */
export interface HpkeCodecs {
  /** `application/json`, refused with HPKE_REQUIRED for orgs with `requireEncryption`. */
  readonly json: ContentCodec;
  /** `application/octet-stream+hpke` request bodies. */
  readonly request: ContentCodec;
  /**
   * `Accept: application/octet-stream+hpke` (one sealed message) or
   * `application/octet-stream+hpke-chunked` (a sealed stream: downloads) answers; for orgs with
   * `requireEncryption`, the refusal (HPKE_REQUIRED) of a call that asks for neither.
   */
  readonly response: ResponseCodec;
}

const REQUIRED_ANSWER_DETAIL =
  'This organization requires encrypted answers: send Accept: application/octet-stream+hpke, application/octet-stream+hpke-chunked with x-hpke-format: 2';
const STRIPPED_ACCEPT_DETAIL = `An encrypted request that names ${CLIENT_KEY_ID_HEADER} must accept an encrypted answer`;

/** The tenant a call's HPKE messages are bound to: org and sandbox as resolved, empty without authentication. */
function tenantOf(ctx: CodecContext): TenantBinding {
  return ctx.tenant === null ? { org: '', sandbox: '' } : { org: ctx.tenant.orgId, sandbox: ctx.tenant.sandbox };
}

/** `x-hpke-client-key-id`, if sent. @throws INVALID_REQUEST unless it is 0..255. */
function clientKeyIdOf(ctx: CodecContext): number | undefined {
  const raw = ctx.headers.get(CLIENT_KEY_ID_HEADER);
  if (raw === null) return undefined;
  if (!/^\d{1,3}$/.test(raw) || Number(raw) > 255) {
    throw new ValidationError(`${CLIENT_KEY_ID_HEADER} must be 0..255`, [{ field: `headers.${CLIENT_KEY_ID_HEADER}`, message: 'Must be 0..255' }]);
  }
  return Number(raw);
}

/**
 * Builds the HPKE codecs over lazily built services (the pipeline is created before storage is
 * reachable). Request decryption: {@link openRequest}, bound to the caller's org, sandbox and
 * `x-hpke-client-key-id`; response encryption to the org's newest client key or the one named by
 * `x-hpke-client-key-id`, bound to the org, sandbox and the request's `enc`: one message, or a
 * sealed stream for streamed bodies ({@link sealStream}).
 */
export function createHpkeCodecs(services: () => Promise<HpkeServices>): HpkeCodecs {
  const requiresEncryption = async (ctx: CodecContext): Promise<boolean> =>
    ctx.tenant !== null && (await (await services()).settings.get(ctx.tenant.orgId)).requireEncryption;

  return {
    json: {
      ...JSON_CODEC,
      async decodeRequest(body, ctx) {
        if (await requiresEncryption(ctx)) throw new HpkeRequiredError();
        return { json: body };
      },
    },
    request: {
      mediaType: HPKE_MEDIA_TYPE,
      overheadBytes: MAX_OVERHEAD_BYTES,
      async decodeRequest(body, ctx) {
        const s = await services();
        const clientKeyId = clientKeyIdOf(ctx);
        const opened = await openRequest(
          { keys: s.ring, replay: s.replay, clock: s.clock },
          {
            method: ctx.method,
            path: ctx.path,
            ...tenantOf(ctx),
            timestamp: ctx.headers.get(TIMESTAMP_HEADER),
            format: ctx.headers.get(FORMAT_HEADER),
            ...(clientKeyId === undefined ? {} : { clientKeyId }),
            body,
          },
        );
        // The key id is bound, the Accept header is not: a request made for a sealed answer whose
        // Accept was stripped on the way must not be answered in plaintext.
        const accepted = acceptedTypes(ctx.headers.get('accept'));
        if (clientKeyId !== undefined && !accepted.includes(HPKE_MEDIA_TYPE) && !accepted.includes(HPKE_CHUNKED_MEDIA_TYPE)) {
          throw new HpkeRequiredError(STRIPPED_ACCEPT_DETAIL);
        }
        return { json: opened.plaintext, sealed: { enc: opened.enc, suite: opened.suite } };
      },
      encodeResponse: (response) => Promise.resolve(response),
    },
    response: {
      mediaType: HPKE_MEDIA_TYPE,
      alternateMediaTypes: [HPKE_CHUNKED_MEDIA_TYPE],
      async prepare(ctx) {
        if (ctx.tenant === null) return UNENCODED;
        assertFormat(ctx.headers.get(FORMAT_HEADER));
        const clientKey = await resolveClientKey((await services()).clientKeys, ctx.tenant.orgId, clientKeyIdOf(ctx));
        return { encode: (response, sealed) => sealAnswer(ctx, clientKey, response, sealed) };
      },
      async refuseUnencoded(ctx) {
        if (await requiresEncryption(ctx)) throw new HpkeRequiredError(REQUIRED_ANSWER_DETAIL);
      },
    },
  };
}

const UNENCODED: ResponseEncoder = { encode: (response) => Promise.resolve(response) };

/**
 * Seals one answer to the client key: bound to the org, sandbox, method, path, status and the
 * request's `enc`, with the request's suite; one message, or a sealed stream for streamed bodies
 * (and for callers that accept only the chunked form).
 */
async function sealAnswer(ctx: CodecContext, clientKey: ResolvedClientKey, response: ApiResponse, sealed: SealedRequest | undefined): Promise<ApiResponse> {
  // A 204 or 304 has no body to protect (and may not carry one).
  if (response.status === 204 || response.status === 304) return response;
  const suite = sealed?.suite ?? DEFAULT_SUITE;
  const binding: ResponseBinding = {
    method: ctx.method,
    path: ctx.path,
    status: response.status,
    ...tenantOf(ctx),
    ...(sealed === undefined ? {} : { requestEnc: sealed.enc }),
  };
  const accepted = acceptedTypes(ctx.headers.get('accept'));
  const body = response.body;
  const stream = body === undefined || typeof body === 'string' || body instanceof Uint8Array ? undefined : body;
  if (stream !== undefined || !accepted.includes(HPKE_MEDIA_TYPE)) {
    if (!accepted.includes(HPKE_CHUNKED_MEDIA_TYPE)) {
      if (stream instanceof Readable) stream.destroy();
      else if (stream !== undefined) await stream.cancel().catch(() => undefined);
      throw new HpkeNotAcceptableError();
    }
    const source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
      stream === undefined ? [bytesOf(body)] : stream instanceof Readable ? stream : Readable.fromWeb(stream);
    return { status: response.status, headers: sealedHeaders(response.headers, HPKE_CHUNKED_MEDIA_TYPE), body: sealStream(clientKey, suite.kdf, suite.aead, binding, source) };
  }
  const sealedBody = await sealResponse(clientKey, suite.kdf, suite.aead, binding, bytesOf(body));
  return { status: response.status, headers: sealedHeaders(response.headers, HPKE_MEDIA_TYPE), body: sealedBody };
}

/** The bytes of a text or byte body (a stream was handled before). */
function bytesOf(body: ApiResponse['body']): Uint8Array {
  if (body === undefined) return new Uint8Array(0);
  if (typeof body === 'string') return new Uint8Array(Buffer.from(body, 'utf8'));
  if (body instanceof Uint8Array) return body;
  throw new TypeError('a stream body has no bytes to seal at once');
}

/**
 * The headers of a sealed answer: the encrypted type, no plaintext length, and no file name (a
 * download's name, like its bytes, is the org's data: the sealed file list carries it).
 */
function sealedHeaders(headers: Readonly<Record<string, string>>, contentType: string): Record<string, string> {
  const out: Record<string, string> = { ...headers, 'content-type': contentType };
  delete out['content-length'];
  if (out['content-disposition'] !== undefined) out['content-disposition'] = 'attachment';
  return out;
}
