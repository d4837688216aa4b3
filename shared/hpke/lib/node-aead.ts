import { createCipheriv, createDecipheriv } from 'node:crypto';
import { AeadId, type AeadEncryptionContext, type AeadInterface } from '@hpke/core';

const TAG_LENGTH = 16;
type Algorithm = 'aes-256-gcm' | 'chacha20-poly1305';

function bytes(input: ArrayBufferLike | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(input) ? Buffer.from(input.buffer, input.byteOffset, input.byteLength) : Buffer.from(input);
}

/** The parts one after another in a new ArrayBuffer (one copy; `Buffer.concat` would add a second). */
function joined(...parts: Buffer[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out.buffer;
}

/** An AEAD of the library's interface on synchronous `node:crypto` ciphers (OpenSSL). */
class NodeAead implements AeadInterface {
  readonly nonceSize = 12;
  readonly tagSize = TAG_LENGTH;

  constructor(
    readonly id: AeadId,
    readonly keySize: number,
    private readonly algorithm: Algorithm,
  ) {}

  createEncryptionContext(key: ArrayBufferLike | ArrayBufferView): AeadEncryptionContext {
    const k = Buffer.from(bytes(key));
    const algorithm = this.algorithm;
    return {
      seal(iv, data, aad) {
        const cipher =
          algorithm === 'aes-256-gcm'
            ? createCipheriv(algorithm, k, bytes(iv), { authTagLength: TAG_LENGTH })
            : createCipheriv(algorithm, k, bytes(iv), { authTagLength: TAG_LENGTH });
        cipher.setAAD(bytes(aad));
        return Promise.resolve(joined(cipher.update(bytes(data)), cipher.final(), cipher.getAuthTag()));
      },
      open(iv, data, aad) {
        const d = bytes(data);
        if (d.byteLength < TAG_LENGTH) return Promise.reject(new Error('ciphertext shorter than the tag'));
        try {
          const decipher =
            algorithm === 'aes-256-gcm'
              ? createDecipheriv(algorithm, k, bytes(iv), { authTagLength: TAG_LENGTH })
              : createDecipheriv(algorithm, k, bytes(iv), { authTagLength: TAG_LENGTH });
          decipher.setAAD(bytes(aad));
          decipher.setAuthTag(d.subarray(d.byteLength - TAG_LENGTH));
          return Promise.resolve(joined(decipher.update(d.subarray(0, d.byteLength - TAG_LENGTH)), decipher.final()));
        } catch (err) {
          return Promise.reject(err instanceof Error ? err : new Error('AEAD open failed'));
        }
      },
    };
  }
}

/** AES-256-GCM (AEAD 0x0002). */
export class NodeAes256Gcm extends NodeAead {
  constructor() {
    super(AeadId.Aes256Gcm, 32, 'aes-256-gcm');
  }
}

/** ChaCha20Poly1305 (AEAD 0x0003). */
export class NodeChacha20Poly1305 extends NodeAead {
  constructor() {
    super(AeadId.Chacha20Poly1305, 32, 'chacha20-poly1305');
  }
}
