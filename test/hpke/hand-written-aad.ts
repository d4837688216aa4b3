import { AEAD_AES_256_GCM, AEAD_ChaCha20Poly1305 } from '@panva/hpke-noble';

// The second implementation: panva's `hpke` with noble primitives (pure JS), not @hpke/core.
export const AEADS_PANVA = { 2: AEAD_AES_256_GCM, 3: AEAD_ChaCha20Poly1305 } as const;

/** `len (2 bytes, big-endian) || bytes`, the README's `lv`, written here without our code. */
function lv(value: string | Uint8Array): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(bytes.byteLength);
  return Buffer.concat([len, bytes]);
}
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
/** Request aad, format 2: lv(METHOD) || lv(path) || lv(timestamp) || lv(org) || lv(sandbox) || clientKeyId (2). */
export const requestAadBytes = (method: string, path: string, timestamp: string, org: string, sandbox: string, clientKeyId: number) =>
  new Uint8Array(Buffer.concat([lv(method), lv(path), lv(timestamp), lv(org), lv(sandbox), u16(clientKeyId)]));
/** Response aad, format 2: lv(METHOD) || lv(path) || status (2) || lv(org) || lv(sandbox) || lv(request enc). */
export const responseAadBytes = (method: string, path: string, status: number, org: string, sandbox: string, requestEnc?: Uint8Array) =>
  new Uint8Array(Buffer.concat([lv(method), lv(path), u16(status), lv(org), lv(sandbox), lv(requestEnc ?? new Uint8Array(0))]));
