/**
 * The HPKE algorithms we accept (RFC 9180 §7), as an allowlist of frozen objects in the style of
 * hpke-js `identifiers.ts`: a suite id outside these tables never reaches the library.
 */
export const KEMS = {
  /** DHKEM(X25519, HKDF-SHA256): our server keys, and client keys. */
  X25519_HKDF_SHA256: { id: 0x0020, name: 'DHKEM(X25519, HKDF-SHA256)', publicKeyLength: 32, encLength: 32 },
  /** DHKEM(P-256, HKDF-SHA256): client keys only; uncompressed points. */
  P256_HKDF_SHA256: { id: 0x0010, name: 'DHKEM(P-256, HKDF-SHA256)', publicKeyLength: 65, encLength: 65 },
} as const;

export const KDFS = {
  HKDF_SHA256: { id: 0x0001, name: 'HKDF-SHA256' },
} as const;

export const AEADS = {
  /** CleverTap's published default. */
  AES_256_GCM: { id: 0x0002, name: 'AES-256-GCM', tagLength: 16 },
  CHACHA20_POLY1305: { id: 0x0003, name: 'ChaCha20Poly1305', tagLength: 16 },
} as const;

export type Kem = (typeof KEMS)[keyof typeof KEMS];
export type Kdf = (typeof KDFS)[keyof typeof KDFS];
export type Aead = (typeof AEADS)[keyof typeof AEADS];
export type KemId = Kem['id'];
export type KdfId = Kdf['id'];
export type AeadId = Aead['id'];

/** A suite made only of allowlisted parts. */
export interface Suite {
  readonly kem: Kem;
  readonly kdf: Kdf;
  readonly aead: Aead;
}

/** The default suite: KEM 0x0020, KDF 0x0001, AEAD 0x0002. */
export const DEFAULT_SUITE: Suite = Object.freeze({ kem: KEMS.X25519_HKDF_SHA256, kdf: KDFS.HKDF_SHA256, aead: AEADS.AES_256_GCM });

/** The KEM with this id, or undefined when it is not allowlisted. */
export function kemById(id: number): Kem | undefined {
  return Object.values(KEMS).find((k) => k.id === id);
}

/** The KDF with this id, or undefined when it is not allowlisted. */
export function kdfById(id: number): Kdf | undefined {
  return Object.values(KDFS).find((k) => k.id === id);
}

/** The AEAD with this id, or undefined when it is not allowlisted. */
export function aeadById(id: number): Aead | undefined {
  return Object.values(AEADS).find((a) => a.id === id);
}

/** The suite of these ids, or undefined when any of them is not allowlisted. */
export function suiteOf(ids: { readonly kemId: number; readonly kdfId: number; readonly aeadId: number }): Suite | undefined {
  const kem = kemById(ids.kemId);
  const kdf = kdfById(ids.kdfId);
  const aead = aeadById(ids.aeadId);
  return kem === undefined || kdf === undefined || aead === undefined ? undefined : { kem, kdf, aead };
}
