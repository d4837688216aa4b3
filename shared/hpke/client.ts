/**
 * The customer side of cipherflow's API payload encryption: encrypt a request body to one of our
 * keys, decrypt a response encrypted to your key, or let {@link createHpkeFetch} do both. Written
 * from the wire format alone (README.md, "API payload encryption"; docs/design.md says how the
 * server keeps its keys); any RFC 9180 library interoperates. Customers import it as
 * `cipherflow/hpke/client` (package.json `exports`).
 */
import { cipherSuite } from './cipher-suite.js';
import { HpkeClientError, type HpkeClientErrorCode } from './client-error.js';
import { openStream } from './open-stream.js';
import { AEADS, DEFAULT_SUITE, KDFS, kemById, suiteOf, type Aead } from './suites.js';
import {
  CLIENT_KEY_ID_HEADER,
  FORMAT_HEADER,
  FORMAT_VERSION,
  HPKE_CHUNKED_MEDIA_TYPE,
  HPKE_MEDIA_TYPE,
  NO_CLIENT_KEY_ID,
  TIMESTAMP_HEADER,
  encodeHeader,
  joinMessage,
  requestAad,
  requestInfo,
  requestPath,
  responseAad,
  responseInfo,
  splitMessage,
  type ResponseBinding,
} from './wire-format.js';

export { FORMAT_HEADER, FORMAT_VERSION, HPKE_CHUNKED_MEDIA_TYPE, HPKE_MEDIA_TYPE, HpkeClientError, type HpkeClientErrorCode };

/** The org and sandbox a call is made in, bound into its request and answer (format 2). */
export interface HpkeTenant {
  /** `x-gw-ims-org-id`, exactly as sent. */
  readonly org: string;
  /** `x-sandbox-name`, or `prod` when the header is not sent. */
  readonly sandbox: string;
}

/** One of our keys as `GET /api-encryption/keys` lists it. */
export interface ServerKeyInfo {
  readonly keyId: number;
  readonly kemId: number;
  readonly kdfIds: readonly number[];
  readonly aeadIds: readonly number[];
  readonly publicKey: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly status: 'active' | 'next' | 'retiring';
}

/** Your key pair for responses: raw keys (X25519: 32-byte scalar; P-256: 32-byte scalar). */
export interface ClientKeyPair {
  readonly keyId: number;
  readonly kemId: number;
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** Generates a client key pair; register `publicKey` (base64url) with PUT /api-encryption/client-keys/{keyId}. */
export async function generateClientKeyPair(keyId: number, kemId: number = DEFAULT_SUITE.kem.id): Promise<ClientKeyPair> {
  const kem = kemById(kemId);
  if (kem === undefined) throw new HpkeClientError('HPKE_UNSUPPORTED_SUITE', `KEM ${kemId} is not supported`);
  const suite = cipherSuite({ kem, kdf: KDFS.HKDF_SHA256, aead: AEADS.AES_256_GCM });
  const pair = await suite.kem.generateKeyPair();
  return {
    keyId,
    kemId,
    publicKey: new Uint8Array(await suite.kem.serializePublicKey(pair.publicKey)),
    privateKey: new Uint8Array(await suite.kem.serializePrivateKey(pair.privateKey)),
  };
}

/** An encrypted request: the body and the headers to send with it. */
export interface EncryptedRequestParts {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly headers: { readonly 'content-type': string; readonly 'x-hpke-timestamp': string; readonly 'x-hpke-format': string };
  /** The request's `enc`, which binds its response. */
  readonly enc: Uint8Array;
}

/**
 * Encrypts a JSON body to our key (format 2): `hdr || enc || ct`, `info` = `cipherflow request v2`
 * || 0x00 || hdr, `aad` binding method, path, timestamp, org, sandbox and the client key id the
 * answer is to be sealed to (send the same `x-hpke-client-key-id`, or none when `clientKeyId` is
 * omitted). Send the returned headers with it.
 */
export async function encryptRequest(options: HpkeTenant & {
  readonly serverKey: Pick<ServerKeyInfo, 'keyId' | 'kemId' | 'publicKey'>;
  readonly method: string;
  /** The full URL or the path; the query string is not bound. */
  readonly url: string;
  readonly body: Uint8Array;
  /** The `x-hpke-client-key-id` sent with the request (omitted: none). */
  readonly clientKeyId?: number;
  readonly aead?: Aead;
  /** Unix seconds (default now). */
  readonly timestamp?: number;
}): Promise<EncryptedRequestParts> {
  const aead = options.aead ?? DEFAULT_SUITE.aead;
  const suite = suiteOf({ kemId: options.serverKey.kemId, kdfId: KDFS.HKDF_SHA256.id, aeadId: aead.id });
  if (suite === undefined) throw new HpkeClientError('HPKE_UNSUPPORTED_SUITE', `KEM ${options.serverKey.kemId} is not supported`);
  const hs = cipherSuite(suite);
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const header = encodeHeader({ keyId: options.serverKey.keyId, kemId: suite.kem.id, kdfId: suite.kdf.id, aeadId: suite.aead.id });
  const pk = await hs.kem.deserializePublicKey(new Uint8Array(Buffer.from(options.serverKey.publicKey, 'base64url')));
  const aad = requestAad({
    method: options.method,
    path: requestPath(options.url),
    timestamp,
    org: options.org,
    sandbox: options.sandbox,
    clientKeyId: options.clientKeyId ?? NO_CLIENT_KEY_ID,
  });
  const sealed = await hs.seal({ recipientPublicKey: pk, info: requestInfo(header) }, options.body, aad);
  const enc = new Uint8Array(sealed.enc);
  return {
    body: joinMessage(header, enc, new Uint8Array(sealed.ct)),
    headers: { 'content-type': HPKE_MEDIA_TYPE, 'x-hpke-timestamp': timestamp, 'x-hpke-format': String(FORMAT_VERSION) },
    enc,
  };
}

/**
 * Decrypts a response encrypted to `clientKey`, checking it is bound to this method, path, status,
 * org, sandbox and (when the request was encrypted) the request's `enc`.
 * @throws HpkeClientError `HPKE_DECRYPT_FAILED` for anything that does not open.
 */
export async function decryptResponse(options: HpkeTenant & {
  readonly clientKey: ClientKeyPair;
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly body: Uint8Array;
  readonly requestEnc?: Uint8Array;
}): Promise<Uint8Array<ArrayBuffer>> {
  const kem = kemById(options.clientKey.kemId);
  const ids = kem === undefined ? undefined : splitMessage(options.body, kem.encLength);
  const suite = ids === undefined ? undefined : suiteOf(ids.ids);
  if (ids === undefined || suite === undefined || ids.ids.keyId !== options.clientKey.keyId || suite.kem.id !== options.clientKey.kemId) {
    throw new HpkeClientError('HPKE_DECRYPT_FAILED', 'The response is not encrypted to this client key');
  }
  try {
    const hs = cipherSuite(suite);
    const sk = await hs.kem.deserializePrivateKey(options.clientKey.privateKey);
    const pk = await hs.kem.deserializePublicKey(options.clientKey.publicKey);
    return new Uint8Array(
      await hs.open(
        { recipientKey: { privateKey: sk, publicKey: pk }, enc: ids.enc, info: responseInfo(ids.header) },
        ids.ct,
        responseAad(responseBinding(options)),
      ),
    );
  } catch (err) {
    throw new HpkeClientError('HPKE_DECRYPT_FAILED', 'The response could not be decrypted', { cause: err });
  }
}

/** What an answer is bound to (its `aad`), from what the caller sent and got. */
function responseBinding(options: HpkeTenant & { readonly method: string; readonly url: string; readonly status: number; readonly requestEnc?: Uint8Array }): ResponseBinding {
  return {
    method: options.method,
    path: requestPath(options.url),
    status: options.status,
    org: options.org,
    sandbox: options.sandbox,
    ...(options.requestEnc === undefined ? {} : { requestEnc: options.requestEnc }),
  };
}

/**
 * Opens a streamed answer (`application/octet-stream+hpke-chunked`: exports) to `clientKey`,
 * yielding the plaintext chunk by chunk with flat memory. The plaintext is complete only when the
 * generator returns: on a throw, discard what it yielded.
 * @throws HpkeClientError `HPKE_DECRYPT_FAILED` (a chunk tampered, reordered, spliced or falsely
 *   final, bytes after the final chunk), `HPKE_STREAM_TRUNCATED` (no final chunk),
 *   `HPKE_SEQUENCE_OVERFLOW` (more chunks than `maxChunks`, default 2^32).
 */
export function decryptResponseStream(options: HpkeTenant & {
  readonly clientKey: ClientKeyPair;
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;
  readonly requestEnc?: Uint8Array;
  readonly maxChunks?: number;
}): AsyncGenerator<Uint8Array<ArrayBuffer>, void, undefined> {
  return openStream({
    clientKey: options.clientKey,
    binding: responseBinding(options),
    body: options.body instanceof ReadableStream ? iterate(options.body) : options.body,
    ...(options.maxChunks === undefined ? {} : { maxChunks: options.maxChunks }),
  });
}

async function* iterate(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** Options of {@link createHpkeFetch}. */
export interface HpkeFetchOptions {
  /** Our active key (from GET /api-encryption/keys); a function so it can be refreshed. */
  readonly serverKey: () => Promise<Pick<ServerKeyInfo, 'keyId' | 'kemId' | 'publicKey'>>;
  /** Your registered key; responses are decrypted with it (and named with `x-hpke-client-key-id`). */
  readonly clientKey: ClientKeyPair;
  readonly aead?: Aead;
  readonly fetch?: typeof fetch;
}

/**
 * A `fetch` that encrypts JSON request bodies and asks for, and decrypts, encrypted responses
 * (format 2: `x-hpke-format: 2`, bound to the org and sandbox of the call's `x-gw-ims-org-id` and
 * `x-sandbox-name` headers, and to the client key id). The returned Response carries the plaintext
 * (`content-type: application/json`, or problem+json as the server set it inside); a streamed
 * answer (exports, `application/octet-stream+hpke-chunked`) comes back as a body stream opened
 * chunk by chunk, which errors with an {@link HpkeClientError} if the stream was truncated or
 * tampered with. A plaintext 2xx to an encrypted-response request is refused
 * (`HPKE_PLAINTEXT_RESPONSE`): a downgrade by anything on the path.
 */
export function createHpkeFetch(options: HpkeFetchOptions): (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array }) => Promise<Response> {
  const doFetch = options.fetch ?? fetch;
  return async (url, init = {}) => {
    const method = (init.method ?? 'GET').toUpperCase();
    const given = new Headers(init.headers);
    const org = given.get('x-gw-ims-org-id') ?? '';
    const tenant: HpkeTenant = { org, sandbox: org === '' ? '' : (given.get('x-sandbox-name') ?? 'prod') };
    const headers: Record<string, string> = {
      ...init.headers,
      accept: `${HPKE_MEDIA_TYPE}, ${HPKE_CHUNKED_MEDIA_TYPE}`,
      [CLIENT_KEY_ID_HEADER]: String(options.clientKey.keyId),
      [FORMAT_HEADER]: String(FORMAT_VERSION),
    };
    let body: Uint8Array<ArrayBuffer> | undefined;
    let requestEnc: Uint8Array | undefined;
    if (init.body !== undefined) {
      const plain = typeof init.body === 'string' ? new Uint8Array(Buffer.from(init.body, 'utf8')) : init.body;
      const encrypted = await encryptRequest({
        serverKey: await options.serverKey(),
        method,
        url,
        body: plain,
        ...tenant,
        clientKeyId: options.clientKey.keyId,
        ...(options.aead === undefined ? {} : { aead: options.aead }),
      });
      body = encrypted.body;
      requestEnc = encrypted.enc;
      headers['content-type'] = encrypted.headers['content-type'];
      headers[TIMESTAMP_HEADER] = encrypted.headers['x-hpke-timestamp'];
    }
    const res = await doFetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
    const type = (res.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    const binding = { clientKey: options.clientKey, method, url, status: res.status, ...tenant, ...(requestEnc === undefined ? {} : { requestEnc }) };
    if (type === HPKE_CHUNKED_MEDIA_TYPE) {
      if (res.body === null) throw new HpkeClientError('HPKE_STREAM_TRUNCATED', 'The encrypted stream is empty');
      const chunks = decryptResponseStream({ ...binding, body: res.body });
      const out = new Headers(res.headers);
      out.set('content-type', 'application/octet-stream');
      out.delete('content-length');
      const plaintext = new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            try {
              const next = await chunks.next();
              if (next.done === true) controller.close();
              else controller.enqueue(next.value);
            } catch (err) {
              controller.error(err);
            }
          },
          async cancel() {
            await chunks.return(undefined);
          },
        },
        { highWaterMark: 0 },
      );
      return new Response(plaintext, { status: res.status, headers: out });
    }
    if (type !== HPKE_MEDIA_TYPE) {
      if (res.status === 204 && (await res.arrayBuffer()).byteLength === 0) return new Response(null, { status: 204, headers: res.headers });
      if (res.status >= 200 && res.status < 300) {
        throw new HpkeClientError('HPKE_PLAINTEXT_RESPONSE', `Asked for an encrypted response but got ${res.status} ${type ?? ''}`);
      }
      return res;
    }
    const plaintext = await decryptResponse({ ...binding, body: new Uint8Array(await res.arrayBuffer()) });
    const out = new Headers(res.headers);
    out.set('content-type', res.status >= 400 ? 'application/problem+json' : 'application/json');
    return new Response(res.status === 204 ? null : plaintext, { status: res.status, headers: out });
  };
}
