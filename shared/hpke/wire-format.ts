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

const REQUEST_LABEL = 'cipherflow request';
const RESPONSE_LABEL = 'cipherflow response';

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

/** `info` of a request: ASCII `cipherflow request` || 0x00 || hdr. */
export function requestInfo(header: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.concat([Buffer.from(REQUEST_LABEL, 'ascii'), Buffer.of(0), header]));
}

/** `info` of a response: ASCII `cipherflow response` || 0x00 || hdr. */
export function responseInfo(header: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.concat([Buffer.from(RESPONSE_LABEL, 'ascii'), Buffer.of(0), header]));
}

/**
 * `aad` of a request: ASCII `METHOD SP path SP timestamp`; `path` is the request path as sent,
 * without the query string, so a captured request cannot be moved to another endpoint.
 */
export function requestAad(method: string, path: string, timestamp: string): Uint8Array {
  return new Uint8Array(Buffer.from(`${method.toUpperCase()} ${path} ${timestamp}`, 'utf8'));
}

/** `aad` of a response: ASCII `METHOD SP path SP status`, then the request's `enc` when it was encrypted. */
export function responseAad(method: string, path: string, status: number, requestEnc?: Uint8Array): Uint8Array {
  const text = Buffer.from(`${method.toUpperCase()} ${path} ${status}`, 'utf8');
  return new Uint8Array(requestEnc === undefined ? text : Buffer.concat([text, requestEnc]));
}

/** The path part of a URL as the client sent it (no query string, no fragment). */
export function requestPath(url: string): string {
  return new URL(url, 'http://localhost').pathname;
}

/** True when an Accept header lists the HPKE media type (with a non-zero q). */
export function acceptsHpke(accept: string | null): boolean {
  if (accept === null) return false;
  return accept.split(',').some((part) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return type === HPKE_MEDIA_TYPE && (q === undefined || Number(q.slice(2)) > 0);
  });
}
