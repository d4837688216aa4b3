import { createHmac, hkdfSync } from 'node:crypto';
import { HkdfSha256 } from '@hpke/core';

const HASH_LENGTH = 32;

function bytes(input: ArrayBufferLike | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(input) ? Buffer.from(input.buffer, input.byteOffset, input.byteLength) : Buffer.from(input);
}

function arrayBuffer(b: Buffer): ArrayBuffer {
  const out = new ArrayBuffer(b.byteLength);
  new Uint8Array(out).set(b);
  return out;
}

/**
 * The library's HKDF-SHA256 with its WebCrypto HMAC calls replaced by synchronous `node:crypto`:
 * the RFC 9180 labelling (`LabeledExtract`/`LabeledExpand`, suite ids) stays the library's, only
 * the RFC 5869 primitives underneath change. Every output HPKE derives with this suite is at most
 * one hash long, where HKDF-Expand is the single block T(1) = HMAC(PRK, info || 0x01); longer
 * outputs go to the library's own loop.
 */
export class NodeHkdfSha256 extends HkdfSha256 {
  override extract(salt: ArrayBufferLike | ArrayBufferView, ikm: ArrayBufferLike | ArrayBufferView): Promise<ArrayBuffer> {
    const key = salt.byteLength === 0 ? Buffer.alloc(HASH_LENGTH) : bytes(salt);
    return Promise.resolve(arrayBuffer(createHmac('sha256', key).update(bytes(ikm)).digest()));
  }

  override expand(prk: ArrayBufferLike | ArrayBufferView, info: ArrayBufferLike | ArrayBufferView, len: number): Promise<ArrayBuffer> {
    if (len > HASH_LENGTH) return super.expand(prk, info, len);
    const block = createHmac('sha256', bytes(prk)).update(bytes(info)).update(Buffer.of(1)).digest();
    return Promise.resolve(arrayBuffer(block.subarray(0, len)));
  }

  override extractAndExpand(
    salt: ArrayBufferLike | ArrayBufferView,
    ikm: ArrayBufferLike | ArrayBufferView,
    info: ArrayBufferLike | ArrayBufferView,
    len: number,
  ): Promise<ArrayBuffer> {
    // Node's own HKDF: where one call does both steps, no construction of ours is involved.
    return Promise.resolve(hkdfSync('sha256', bytes(ikm), bytes(salt), bytes(info), len));
  }
}
