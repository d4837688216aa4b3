import { createHmac } from 'node:crypto';
import { HkdfSha256 } from '@hpke/core';

const HASH_LENGTH = 32;
const ZERO_SALT = Buffer.alloc(HASH_LENGTH);
const ONE = Buffer.of(1);

function bytes(input: ArrayBufferLike | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(input) ? Buffer.from(input.buffer, input.byteOffset, input.byteLength) : Buffer.from(input);
}

/** The bytes as an ArrayBuffer of their own: a digest's own buffer as it is, anything else copied. */
function arrayBuffer(b: Buffer): ArrayBuffer {
  if (b.byteOffset === 0 && b.buffer instanceof ArrayBuffer && b.buffer.byteLength === b.byteLength) return b.buffer;
  const out = new ArrayBuffer(b.byteLength);
  new Uint8Array(out).set(b);
  return out;
}

/**
 * The labels of RFC 9180 §5.1 whose LabeledExtract (with an empty salt) hashes a public input:
 * `psk_id_hash` of the PSK id (empty in the base mode) and `info_hash` of the application info.
 */
const PUBLIC_LABELS = new Set(['psk_id_hash', 'info_hash']);
/** Enough for every header a process sees (one `info` per key id and suite); cleared when full. */
const PUBLIC_HASHES_MAX = 256;

/**
 * The library's HKDF-SHA256 with its WebCrypto HMAC calls replaced by synchronous `node:crypto`:
 * the RFC 9180 labelling (`LabeledExtract`/`LabeledExpand`, suite ids) stays the library's, only
 * the RFC 5869 primitives underneath change. Every output HPKE derives with this suite is at most
 * one hash long, where HKDF-Expand is the single block T(1) = HMAC(PRK, info || 0x01); longer
 * outputs go to the library's own loop.
 */
export class NodeHkdfSha256 extends HkdfSha256 {
  /** `psk_id_hash` and `info_hash` by label and input: the same few values in every key schedule. */
  private readonly publicHashes = new Map<string, ArrayBuffer>();

  /**
   * The library's LabeledExtract, remembered for the two labels whose input is public (so the
   * cache holds no secret); every other label (`dkp_prk`, `eae_prk`, `secret`) is computed anew.
   */
  override async labeledExtract(salt: ArrayBufferLike | ArrayBufferView, label: Uint8Array, ikm: Uint8Array): Promise<ArrayBuffer> {
    const name = Buffer.from(label.buffer, label.byteOffset, label.byteLength).toString('latin1');
    if (salt.byteLength !== 0 || !PUBLIC_LABELS.has(name)) return super.labeledExtract(salt, label, ikm);
    const key = `${name}:${Buffer.from(ikm.buffer, ikm.byteOffset, ikm.byteLength).toString('base64')}`;
    let hash = this.publicHashes.get(key);
    if (hash === undefined) {
      hash = await super.labeledExtract(salt, label, ikm);
      if (this.publicHashes.size >= PUBLIC_HASHES_MAX) this.publicHashes.clear();
      this.publicHashes.set(key, hash);
    }
    // A copy: the library owns what it gets back.
    return hash.slice(0);
  }

  override extract(salt: ArrayBufferLike | ArrayBufferView, ikm: ArrayBufferLike | ArrayBufferView): Promise<ArrayBuffer> {
    return Promise.resolve(arrayBuffer(extract(salt, ikm)));
  }

  override expand(prk: ArrayBufferLike | ArrayBufferView, info: ArrayBufferLike | ArrayBufferView, len: number): Promise<ArrayBuffer> {
    if (len > HASH_LENGTH) return super.expand(prk, info, len);
    return Promise.resolve(arrayBuffer(expandOneBlock(bytes(prk), info, len)));
  }

  /**
   * RFC 5869 §2: HKDF is Expand(Extract(salt, IKM), info, L), the two steps above. Node's
   * `hkdfSync` does the same in one call but costs ~25 µs against ~12 µs for the two HMACs (it
   * builds a secret KeyObject and fetches OpenSSL's KDF each time), and a seal or open makes four
   * of these calls.
   */
  override extractAndExpand(
    salt: ArrayBufferLike | ArrayBufferView,
    ikm: ArrayBufferLike | ArrayBufferView,
    info: ArrayBufferLike | ArrayBufferView,
    len: number,
  ): Promise<ArrayBuffer> {
    return this.expand(extract(salt, ikm), info, len);
  }
}

/** RFC 5869 §2.2 HKDF-Extract: HMAC-Hash(salt, IKM), an empty salt being HashLen zeros. */
function extract(salt: ArrayBufferLike | ArrayBufferView, ikm: ArrayBufferLike | ArrayBufferView): Buffer {
  const key = salt.byteLength === 0 ? ZERO_SALT : bytes(salt);
  return createHmac('sha256', key).update(bytes(ikm)).digest();
}

/** RFC 5869 §2.3 HKDF-Expand for L <= HashLen: T(1) = HMAC-Hash(PRK, info || 0x01), cut to L. */
function expandOneBlock(prk: Buffer, info: ArrayBufferLike | ArrayBufferView, len: number): Buffer {
  return createHmac('sha256', prk).update(bytes(info)).update(ONE).digest().subarray(0, len);
}
