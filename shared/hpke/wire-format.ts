import { AEADS, KEMS } from './suites.js';

/** The media type of an encrypted request or response body. */
export const HPKE_MEDIA_TYPE = 'application/octet-stream+hpke';
/** RFC 9458 §3 media type of a list of key configurations. */
export const OHTTP_KEYS_MEDIA_TYPE = 'application/ohttp-keys';
/** Request header carrying the unix time (seconds) bound into the request's aad. */
export const TIMESTAMP_HEADER = 'x-hpke-timestamp';
/** Request header naming the client key a response is to be encrypted to. */
export const CLIENT_KEY_ID_HEADER = 'x-hpke-client-key-id';

/** `keyId (1) || kemId (2) || kdfId (2) || aeadId (2)`, big-endian (RFC 9458 §4.1). */
export const HEADER_LENGTH = 7;
/** The largest `enc` of an allowlisted KEM plus the AEAD tag: what encryption adds to a body. */
export const MAX_OVERHEAD_BYTES = HEADER_LENGTH + Math.max(...Object.values(KEMS).map((k) => k.encLength)) + 16;

/** Request header naming the wire format; required on every request that sends or asks for HPKE. */
export const FORMAT_HEADER = 'x-hpke-format';
/**
 * The wire format this code speaks: 2 binds org, sandbox and client key id (format 1, before issue
 * #17, bound only method, path and timestamp and is refused with HPKE_FORMAT_UNSUPPORTED).
 */
export const FORMAT_VERSION = 2;
/** The media type of a streamed HPKE body (exports): one context, a sealed chunk per piece. */
export const HPKE_CHUNKED_MEDIA_TYPE = 'application/octet-stream+hpke-chunked';
/** `x-hpke-client-key-id` was not sent: the value bound in its place. */
export const NO_CLIENT_KEY_ID = 0xffff;

const REQUEST_LABEL = 'cipherflow request v2';
const RESPONSE_LABEL = 'cipherflow response v2';
const STREAM_LABEL = 'cipherflow stream v2';

/** The header of an encrypted body, with its ids as sent (not yet checked against the allowlist). */
export interface MessageHeader {
  readonly keyId: number;
  readonly kemId: number;
  readonly kdfId: number;
  readonly aeadId: number;
}

/** An encrypted body split into its parts; `header` is the 7 raw bytes `hdr`. */
export interface EncryptedMessage {
  readonly ids: MessageHeader;
  readonly header: Uint8Array;
  readonly enc: Uint8Array;
  readonly ct: Uint8Array;
}

/** Serializes `hdr`. @throws RangeError for an id out of its width. */
export function encodeHeader(ids: MessageHeader): Uint8Array {
  const out = Buffer.alloc(HEADER_LENGTH);
  out.writeUInt8(ids.keyId, 0);
  out.writeUInt16BE(ids.kemId, 1);
  out.writeUInt16BE(ids.kdfId, 3);
  out.writeUInt16BE(ids.aeadId, 5);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Reads the 7-byte header; undefined when the body is shorter. */
export function decodeHeader(body: Uint8Array): MessageHeader | undefined {
  if (body.byteLength < HEADER_LENGTH) return undefined;
  const b = Buffer.from(body.buffer, body.byteOffset, HEADER_LENGTH);
  return { keyId: b.readUInt8(0), kemId: b.readUInt16BE(1), kdfId: b.readUInt16BE(3), aeadId: b.readUInt16BE(5) };
}

/**
 * Splits `hdr || enc || ct` given the KEM's `enc` length; undefined when the body is too short to
 * hold the header, `enc` and an AEAD tag.
 */
export function splitMessage(body: Uint8Array, encLength: number): EncryptedMessage | undefined {
  const ids = decodeHeader(body);
  if (ids === undefined || body.byteLength < HEADER_LENGTH + encLength + AEADS.AES_256_GCM.tagLength) return undefined;
  return {
    ids,
    header: body.subarray(0, HEADER_LENGTH),
    enc: body.subarray(HEADER_LENGTH, HEADER_LENGTH + encLength),
    ct: body.subarray(HEADER_LENGTH + encLength),
  };
}

/** `hdr || enc || ct`, in a buffer of its own (a `BodyInit` for `fetch` and `Response`). */
export function joinMessage(header: Uint8Array, enc: Uint8Array, ct: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.concat([header, enc, ct]));
}

function label(text: string, header: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.concat([Buffer.from(text, 'ascii'), Buffer.of(0), header]));
}

/** `info` of a request: ASCII `cipherflow request v2` || 0x00 || hdr. */
export function requestInfo(header: Uint8Array): Uint8Array {
  return label(REQUEST_LABEL, header);
}

/** `info` of a response: ASCII `cipherflow response v2` || 0x00 || hdr. */
export function responseInfo(header: Uint8Array): Uint8Array {
  return label(RESPONSE_LABEL, header);
}

/** `info` of a streamed response: ASCII `cipherflow stream v2` || 0x00 || hdr. */
export function streamInfo(header: Uint8Array): Uint8Array {
  return label(STREAM_LABEL, header);
}

/** Who a request or response belongs to: the org and sandbox of the call, as the server resolves them. */
export interface TenantBinding {
  /** `x-gw-ims-org-id` as sent. */
  readonly org: string;
  /** `x-sandbox-name` as sent, `prod` when absent. */
  readonly sandbox: string;
}

/** What a request's `aad` binds. */
export interface RequestBinding extends TenantBinding {
  readonly method: string;
  /** The request path as sent, without the query string. */
  readonly path: string;
  /** The `x-hpke-timestamp` header. */
  readonly timestamp: string;
  /** `x-hpke-client-key-id` (0..255), or {@link NO_CLIENT_KEY_ID} when the request does not send it. */
  readonly clientKeyId: number;
}

/** What a response's `aad` binds. */
export interface ResponseBinding extends TenantBinding {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** The request's `enc` when the request was encrypted. */
  readonly requestEnc?: Uint8Array;
}

const MAX_FIELD = 0xffff;

/** `len (2 bytes, big-endian) || UTF-8 bytes`. @throws RangeError past 65535 bytes. */
function field(value: string | Uint8Array): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (bytes.byteLength > MAX_FIELD) throw new RangeError('an HPKE aad field is longer than 65535 bytes');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(bytes.byteLength);
  return Buffer.concat([len, bytes]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/**
 * `aad` of a request (format 2): `lv(METHOD) || lv(path) || lv(timestamp) || lv(org) ||
 * lv(sandbox) || clientKeyId (2)`, where `lv(x)` = length (2 bytes) || UTF-8 bytes and clientKeyId is
 * 0x0000..0x00FF, or 0xFFFF without `x-hpke-client-key-id`: a captured request cannot be moved to
 * another endpoint, time, org, sandbox or response key.
 */
export function requestAad(b: RequestBinding): Uint8Array {
  return new Uint8Array(
    Buffer.concat([field(b.method.toUpperCase()), field(b.path), field(b.timestamp), field(b.org), field(b.sandbox), u16(b.clientKeyId)]),
  );
}

/**
 * `aad` of a response (format 2): `lv(METHOD) || lv(path) || status (2) || lv(org) || lv(sandbox) ||
 * lv(request enc)` (an empty `lv` when the request was not encrypted).
 */
export function responseAad(b: ResponseBinding): Uint8Array {
  return new Uint8Array(
    Buffer.concat([field(b.method.toUpperCase()), field(b.path), u16(b.status), field(b.org), field(b.sandbox), field(b.requestEnc ?? new Uint8Array(0))]),
  );
}

/** The path part of a URL as the client sent it (no query string, no fragment). */
export function requestPath(url: string): string {
  return new URL(url, 'http://localhost').pathname;
}

/** The media types an Accept header lists with a non-zero q, lowercase, without parameters. */
export function acceptedTypes(accept: string | null): string[] {
  if (accept === null) return [];
  return accept.split(',').flatMap((part) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return q !== undefined && !(Number(q.slice(2)) > 0) ? [] : [type];
  });
}

/** True when an Accept header lists the HPKE media type (with a non-zero q). */
export function acceptsHpke(accept: string | null): boolean {
  return acceptedTypes(accept).includes(HPKE_MEDIA_TYPE);
}
