/**
 * The customer side of cipherflow's API payload encryption: encrypt a request body to one of our
 * keys, decrypt a response encrypted to your key, or let {@link createHpkeFetch} do both. Written
 * from the wire format alone (README.md, "API payload encryption"; docs/design.md says how the
 * server keeps its keys); any RFC 9180 library interoperates. Customers import it as
 * `cipherflow/hpke/client` (package.json `exports`).
 */
import { cipherSuite } from './cipher-suite.js';
import { AEADS, DEFAULT_SUITE, KDFS, kemById, suiteOf, type Aead } from './suites.js';
import {
  CLIENT_KEY_ID_HEADER,
  HPKE_MEDIA_TYPE,
  TIMESTAMP_HEADER,
  encodeHeader,
  joinMessage,
  requestAad,
  requestInfo,
  requestPath,
  responseAad,
  responseInfo,
  splitMessage,
} from './wire-format.js';

export { HPKE_MEDIA_TYPE };

/** Why the client refused: stable codes, like the server's. */
export type HpkeClientErrorCode = 'HPKE_PLAINTEXT_RESPONSE' | 'HPKE_DECRYPT_FAILED' | 'HPKE_NO_SERVER_KEY' | 'HPKE_UNSUPPORTED_SUITE';

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
  readonly headers: { readonly 'content-type': string; readonly 'x-hpke-timestamp': string };
  /** The request's `enc`, which binds its response. */
  readonly enc: Uint8Array;
}

/**
 * Encrypts a JSON body to our key: `hdr || enc || ct`, `info` = `cipherflow request` || 0x00 ||
 * hdr, `aad` = `METHOD path timestamp`.
 */
export async function encryptRequest(options: {
  readonly serverKey: Pick<ServerKeyInfo, 'keyId' | 'kemId' | 'publicKey'>;
  readonly method: string;
  /** The full URL or the path; the query string is not bound. */
  readonly url: string;
  readonly body: Uint8Array;
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
  const sealed = await hs.seal({ recipientPublicKey: pk, info: requestInfo(header) }, options.body, requestAad(options.method, requestPath(options.url), timestamp));
  const enc = new Uint8Array(sealed.enc);
  return {
    body: joinMessage(header, enc, new Uint8Array(sealed.ct)),
    headers: { 'content-type': HPKE_MEDIA_TYPE, 'x-hpke-timestamp': timestamp },
    enc,
  };
}

/**
 * Decrypts a response encrypted to `clientKey`, checking it is bound to this method, path, status
 * and (when the request was encrypted) the request's `enc`.
 * @throws HpkeClientError `HPKE_DECRYPT_FAILED` for anything that does not open.
 */
export async function decryptResponse(options: {
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
        responseAad(options.method, requestPath(options.url), options.status, options.requestEnc),
      ),
    );
  } catch (err) {
    throw new HpkeClientError('HPKE_DECRYPT_FAILED', 'The response could not be decrypted', { cause: err });
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
 * A `fetch` that encrypts JSON request bodies and asks for, and decrypts, encrypted responses. The
 * returned Response carries the plaintext (`content-type: application/json`, or problem+json as
 * the server set it inside). A plaintext 2xx to an encrypted-response request is refused
 * (`HPKE_PLAINTEXT_RESPONSE`): a downgrade by anything on the path.
 */
export function createHpkeFetch(options: HpkeFetchOptions): (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array }) => Promise<Response> {
  const doFetch = options.fetch ?? fetch;
  return async (url, init = {}) => {
    const method = (init.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = { ...init.headers, accept: HPKE_MEDIA_TYPE, [CLIENT_KEY_ID_HEADER]: String(options.clientKey.keyId) };
    let body: Uint8Array<ArrayBuffer> | undefined;
    let requestEnc: Uint8Array | undefined;
    if (init.body !== undefined) {
      const plain = typeof init.body === 'string' ? new Uint8Array(Buffer.from(init.body, 'utf8')) : init.body;
      const encrypted = await encryptRequest({ serverKey: await options.serverKey(), method, url, body: plain, ...(options.aead === undefined ? {} : { aead: options.aead }) });
      body = encrypted.body;
      requestEnc = encrypted.enc;
      headers['content-type'] = encrypted.headers['content-type'];
      headers[TIMESTAMP_HEADER] = encrypted.headers['x-hpke-timestamp'];
    }
    const res = await doFetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
    const type = (res.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== HPKE_MEDIA_TYPE) {
      if (res.status === 204 && (await res.arrayBuffer()).byteLength === 0) return new Response(null, { status: 204, headers: res.headers });
      if (res.status >= 200 && res.status < 300) {
        throw new HpkeClientError('HPKE_PLAINTEXT_RESPONSE', `Asked for an encrypted response but got ${res.status} ${type ?? ''}`);
      }
      return res;
    }
    const plaintext = await decryptResponse({
      clientKey: options.clientKey,
      method,
      url,
      status: res.status,
      body: new Uint8Array(await res.arrayBuffer()),
      ...(requestEnc === undefined ? {} : { requestEnc }),
    });
    const out = new Headers(res.headers);
    out.set('content-type', res.status >= 400 ? 'application/problem+json' : 'application/json');
    return new Response(res.status === 204 ? null : plaintext, { status: res.status, headers: out });
  };
}
