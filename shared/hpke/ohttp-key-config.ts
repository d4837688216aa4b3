import { OHTTP_KEYS_MEDIA_TYPE } from './wire-format.js';

export { OHTTP_KEYS_MEDIA_TYPE };

/** The parts of a key configuration (RFC 9458 §3). */
export interface KeyConfigInput {
  readonly keyId: number;
  readonly kemId: number;
  readonly publicKey: Uint8Array;
  readonly kdfIds: readonly number[];
  readonly aeadIds: readonly number[];
}

/**
 * One RFC 9458 §3 key configuration: keyId (8) || kemId (16) || publicKey || length of the
 * symmetric algorithms (16) || (kdfId (16) || aeadId (16))*.
 */
export function encodeKeyConfig(key: KeyConfigInput): Uint8Array {
  const pairs = key.kdfIds.flatMap((kdf) => key.aeadIds.map((aead) => [kdf, aead] as const));
  const out = Buffer.alloc(1 + 2 + key.publicKey.byteLength + 2 + pairs.length * 4);
  let at = out.writeUInt8(key.keyId, 0);
  at = out.writeUInt16BE(key.kemId, at);
  out.set(key.publicKey, at);
  at += key.publicKey.byteLength;
  at = out.writeUInt16BE(pairs.length * 4, at);
  for (const [kdf, aead] of pairs) {
    at = out.writeUInt16BE(kdf, at);
    at = out.writeUInt16BE(aead, at);
  }
  return new Uint8Array(out);
}

/** `application/ohttp-keys` (RFC 9458 §3.2): each configuration preceded by its 2-byte length. */
export function encodeKeyConfigList(keys: readonly KeyConfigInput[]): Uint8Array {
  return new Uint8Array(
    Buffer.concat(
      keys.map((k) => {
        const config = encodeKeyConfig(k);
        const length = Buffer.alloc(2);
        length.writeUInt16BE(config.byteLength);
        return Buffer.concat([length, config]);
      }),
    ),
  );
}
