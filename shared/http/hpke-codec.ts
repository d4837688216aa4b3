import { Readable } from 'node:stream';
import { HpkeNotAcceptableError, HpkeRequiredError, ValidationError } from '../errors.js';
import type { HpkeServices } from '../hpke/hpke-services.js';
import { openRequest } from '../hpke/open-request.js';
import { resolveClientKey, type ResolvedClientKey } from '../hpke/client-keys.js';
import { sealResponse } from '../hpke/seal-response.js';
import { DEFAULT_SUITE, type Suite } from '../hpke/suites.js';
import { CLIENT_KEY_ID_HEADER, HPKE_MEDIA_TYPE, MAX_OVERHEAD_BYTES, TIMESTAMP_HEADER } from '../hpke/wire-format.js';
import type { ApiResponse } from './api-response.js';
import { JSON_CODEC, type CodecContext, type ContentCodec, type ResponseCodec } from './content-codec.js';

/** What a request's decoding leaves for its response. */
interface ExchangeState {
  requestEnc?: Uint8Array;
  requestSuite?: Suite;
  clientKey?: ResolvedClientKey;
}

/** The request and response codecs of `application/octet-stream+hpke`, and the plaintext policy. */
export interface HpkeCodecs {
  /** `application/json`, refused with HPKE_REQUIRED for orgs with `requireEncryption`. */
  readonly json: ContentCodec;
  /** `application/octet-stream+hpke` request bodies. */
  readonly request: ContentCodec;
  /** `Accept: application/octet-stream+hpke` responses. */
  readonly response: ResponseCodec;
}

/**
 * Builds the HPKE codecs over lazily built services (the pipeline is created before storage is
 * reachable). Request decryption: {@link openRequest}; response encryption to the org's newest
 * client key or the one named by `x-hpke-client-key-id`, bound to the request's `enc`.
 */
export function createHpkeCodecs(services: () => Promise<HpkeServices>): HpkeCodecs {
  const states = new WeakMap<object, ExchangeState>();
  const state = (ctx: CodecContext): ExchangeState => {
    let s = states.get(ctx.exchange);
    if (s === undefined) {
      s = {};
      states.set(ctx.exchange, s);
    }
    return s;
  };

  return {
    json: {
      ...JSON_CODEC,
      async decodeRequest(body, ctx) {
        if (ctx.tenant !== null && (await (await services()).settings.get(ctx.tenant.orgId)).requireEncryption) throw new HpkeRequiredError();
        return body;
      },
    },
    request: {
      mediaType: HPKE_MEDIA_TYPE,
      overheadBytes: MAX_OVERHEAD_BYTES,
      async decodeRequest(body, ctx) {
        const s = await services();
        const opened = await openRequest(
          { keys: s.ring, replay: s.replay, clock: s.clock },
          { method: ctx.method, path: ctx.path, timestamp: ctx.headers.get(TIMESTAMP_HEADER), body },
        );
        const st = state(ctx);
        st.requestEnc = opened.enc;
        st.requestSuite = opened.suite;
        return opened.plaintext;
      },
      encodeResponse: (response) => Promise.resolve(response),
    },
    response: {
      mediaType: HPKE_MEDIA_TYPE,
      async prepare(ctx) {
        if (ctx.tenant === null) return;
        const raw = ctx.headers.get(CLIENT_KEY_ID_HEADER);
        let keyId: number | undefined;
        if (raw !== null) {
          if (!/^\d{1,3}$/.test(raw) || Number(raw) > 255) {
            throw new ValidationError(`${CLIENT_KEY_ID_HEADER} must be 0..255`, [{ field: `headers.${CLIENT_KEY_ID_HEADER}`, message: 'Must be 0..255' }]);
          }
          keyId = Number(raw);
        }
        state(ctx).clientKey = await resolveClientKey((await services()).clientKeys, ctx.tenant.orgId, keyId);
      },
      async encodeResponse(response, ctx) {
        const st = state(ctx);
        // A 204 or 304 has no body to protect (and may not carry one).
        if (st.clientKey === undefined || response.status === 204 || response.status === 304) return response;
        const body = await bodyBytes(response);
        const suite = st.requestSuite ?? DEFAULT_SUITE;
        const sealed = await sealResponse(
          st.clientKey,
          suite.kdf,
          suite.aead,
          { method: ctx.method, path: ctx.path, status: response.status, ...(st.requestEnc === undefined ? {} : { requestEnc: st.requestEnc }) },
          body,
        );
        return { status: response.status, headers: { ...response.headers, 'content-type': HPKE_MEDIA_TYPE }, body: sealed };
      },
    },
  };
}

/** The bytes of a text or byte body; a stream is not wrapped (406). */
async function bodyBytes(response: ApiResponse): Promise<Uint8Array> {
  const body = response.body;
  if (body === undefined) return new Uint8Array(0);
  if (typeof body === 'string') return new Uint8Array(Buffer.from(body, 'utf8'));
  if (body instanceof Uint8Array) return body;
  if (body instanceof Readable) body.destroy();
  else await body.cancel().catch(() => undefined);
  throw new HpkeNotAcceptableError();
}
