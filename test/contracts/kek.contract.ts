import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '../../shared/errors.js';
import type { KekClient } from '../../shared/vault/kek-client.js';
import type { VersionedKeyVaultKeyId } from '../../shared/vault/key-vault-key-id.js';

/** A vault under test with its management side: the Key Vault emulator, or the in-memory fake. */
export interface KekVault {
  /** The app's KEK client (the real one over the emulator). */
  readonly client: KekClient;
  readonly vaultUrl: string;
  /** A new 2048-bit RSA key with a unique name, key_ops wrapKey and unwrapKey unless given. */
  createKey(options?: { readonly keyOps?: readonly ('wrapKey' | 'unwrapKey')[] }): Promise<VersionedKeyVaultKeyId>;
  /** A new current version of key `name`. */
  rotateKey(name: string): Promise<VersionedKeyVaultKeyId>;
  setAttributes(name: string, version: string, attributes: { readonly enabled?: boolean; readonly notBefore?: Date; readonly expiresOn?: Date }): Promise<void>;
  deleteKey(name: string): Promise<void>;
  recoverKey(name: string): Promise<void>;
  /** Takes the app identity's access to key `name` away (RBAC), and gives it back. */
  revokeAccess(name: string): Promise<void>;
  restoreAccess(name: string): Promise<void>;
  /** The vault answers `status` to the next call of `operation`, however often the client retries it. */
  failNextCall(operation: 'wrapKey' | 'unwrapKey', status: number): void;
  stop(): Promise<void>;
}

/** The AppError code a call failed with (and the error, to read more of it). */
async function codeOf(promise: Promise<unknown>): Promise<{ code: ErrorCode | 'none'; err: unknown }> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err === undefined) return { code: 'none', err };
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${err instanceof Error ? `${err.name}: ${err.message}` : typeof err}`, { cause: err });
  return { code: err.code, err };
}

const rootKey = (): Uint8Array => new Uint8Array(randomBytes(32));
const unknownVersion = (): string => randomBytes(16).toString('hex');

/**
 * The behaviour of a {@link KekClient} over Key Vault that the key hierarchy and the CMK feature
 * rely on, written once and run against the real client with the Key Vault emulator
 * (test/contracts/kek-emulator.test.ts) and against the in-memory fake
 * (test/contracts/kek-memory.test.ts): wrapping, versions, and each refusal's stable code.
 */
export function kekContract(name: string, makeVault: () => Promise<KekVault>): void {
  describe(`KEK client contract: ${name}`, () => {
    let vault: KekVault;
    beforeAll(async () => {
      vault = await makeVault();
    });
    afterAll(async () => {
      await vault?.stop();
    });
    const ref = (key: VersionedKeyVaultKeyId) => ({ vaultUrl: key.vaultUrl, name: key.name });

    it('wraps under the current version when none is named, names that version, and unwraps back to the key', async () => {
      const key = await vault.createKey();
      expect(key.version).toMatch(/^[0-9a-f]{32}$/);
      const secret = rootKey();
      const wrapped = await vault.client.wrapKey(ref(key), secret);
      expect(wrapped.kek).toEqual({ vaultUrl: vault.vaultUrl, name: key.name, version: key.version });
      // RSA-OAEP: as long as the modulus, and different every time.
      expect(wrapped.wrappedKey).toHaveLength(256);
      expect(Buffer.from(wrapped.wrappedKey).includes(Buffer.from(secret))).toBe(false);
      const again = await vault.client.wrapKey(ref(key), secret);
      expect(Buffer.from(again.wrappedKey).equals(Buffer.from(wrapped.wrappedKey))).toBe(false);
      for (const w of [wrapped, again]) expect(Buffer.from(await vault.client.unwrapKey(w.kek, w.wrappedKey)).equals(Buffer.from(secret))).toBe(true);
    });

    it('after a rotation wraps under the new version, wraps under an older one when named, and unwraps each under its own version only', async () => {
      const v1 = await vault.createKey();
      const secret = rootKey();
      const old = await vault.client.wrapKey(ref(v1), secret);
      const v2 = await vault.rotateKey(v1.name);
      expect(v2.version).not.toBe(v1.version);
      const current = await vault.client.wrapKey(ref(v1), secret);
      expect(current.kek.version).toBe(v2.version);
      expect((await vault.client.wrapKey(v1, secret)).kek.version).toBe(v1.version);
      expect(Buffer.from(await vault.client.unwrapKey(v1, old.wrappedKey)).equals(Buffer.from(secret))).toBe(true);
      expect(Buffer.from(await vault.client.unwrapKey(v2, current.wrappedKey)).equals(Buffer.from(secret))).toBe(true);
      expect((await codeOf(vault.client.unwrapKey(v2, old.wrappedKey))).code).toBe('DECRYPTION_FAILED');
    });

    it('answers DECRYPTION_FAILED for a wrapped key that does not open: tampered, truncated, empty or another key’s', async () => {
      const key = await vault.createKey();
      const other = await vault.createKey();
      const { wrappedKey } = await vault.client.wrapKey(key, rootKey());
      const tampered = new Uint8Array(wrappedKey);
      tampered[10] = (tampered[10] ?? 0) ^ 1;
      for (const bad of [tampered, wrappedKey.slice(0, 200), new Uint8Array(0)]) {
        expect((await codeOf(vault.client.unwrapKey(key, bad))).code).toBe('DECRYPTION_FAILED');
      }
      expect((await codeOf(vault.client.unwrapKey(other, wrappedKey))).code).toBe('DECRYPTION_FAILED');
    });

    it('answers KEK_NOT_FOUND for an unknown key or version, and for a deleted key until it is recovered', async () => {
      const missing = { vaultUrl: vault.vaultUrl, name: `missing-${randomBytes(4).toString('hex')}` };
      expect((await codeOf(vault.client.wrapKey(missing, rootKey()))).code).toBe('KEK_NOT_FOUND');
      expect((await codeOf(vault.client.unwrapKey({ ...missing, version: unknownVersion() }, new Uint8Array(256)))).code).toBe('KEK_NOT_FOUND');
      const key = await vault.createKey();
      const noSuchVersion = { ...ref(key), version: unknownVersion() };
      expect((await codeOf(vault.client.wrapKey(noSuchVersion, rootKey()))).code).toBe('KEK_NOT_FOUND');
      const secret = rootKey();
      const { wrappedKey } = await vault.client.wrapKey(key, secret);
      expect((await codeOf(vault.client.unwrapKey(noSuchVersion, wrappedKey))).code).toBe('KEK_NOT_FOUND');
      await vault.deleteKey(key.name);
      expect((await codeOf(vault.client.unwrapKey(key, wrappedKey))).code).toBe('KEK_NOT_FOUND');
      expect((await codeOf(vault.client.wrapKey(ref(key), rootKey()))).code).toBe('KEK_NOT_FOUND');
      await vault.recoverKey(key.name);
      expect(Buffer.from(await vault.client.unwrapKey(key, wrappedKey)).equals(Buffer.from(secret))).toBe(true);
    });

    it('refuses to unwrap under a disabled version with KEK_DISABLED, still wraps under it (a public-key operation), and unwraps again once enabled', async () => {
      const v1 = await vault.createKey();
      const secret = rootKey();
      const { wrappedKey } = await vault.client.wrapKey(v1, secret);
      await vault.setAttributes(v1.name, v1.version, { enabled: false });
      expect((await codeOf(vault.client.unwrapKey(v1, wrappedKey))).code).toBe('KEK_DISABLED');
      expect((await vault.client.wrapKey(ref(v1), rootKey())).kek.version).toBe(v1.version);
      // Disabling is per version: a new version works beside it.
      const v2 = await vault.rotateKey(v1.name);
      const fresh = await vault.client.wrapKey(ref(v1), secret);
      expect(Buffer.from(await vault.client.unwrapKey(v2, fresh.wrappedKey)).equals(Buffer.from(secret))).toBe(true);
      await vault.setAttributes(v1.name, v1.version, { enabled: true });
      expect(Buffer.from(await vault.client.unwrapKey(v1, wrappedKey)).equals(Buffer.from(secret))).toBe(true);
    });

    it('answers KEK_ACCESS_DENIED while the identity’s access is revoked, and works again once restored', async () => {
      const key = await vault.createKey();
      const secret = rootKey();
      const { wrappedKey } = await vault.client.wrapKey(key, secret);
      await vault.revokeAccess(key.name);
      try {
        expect((await codeOf(vault.client.unwrapKey(key, wrappedKey))).code).toBe('KEK_ACCESS_DENIED');
        expect((await codeOf(vault.client.wrapKey(ref(key), rootKey()))).code).toBe('KEK_ACCESS_DENIED');
      } finally {
        await vault.restoreAccess(key.name);
      }
      expect(Buffer.from(await vault.client.unwrapKey(key, wrappedKey)).equals(Buffer.from(secret))).toBe(true);
    });

    it('answers KEK_ACCESS_DENIED for an operation the key’s key_ops do not allow', async () => {
      const unwrapOnly = await vault.createKey({ keyOps: ['unwrapKey'] });
      expect((await codeOf(vault.client.wrapKey(unwrapOnly, rootKey()))).code).toBe('KEK_ACCESS_DENIED');
      const wrapOnly = await vault.createKey({ keyOps: ['wrapKey'] });
      const { wrappedKey } = await vault.client.wrapKey(wrapOnly, rootKey());
      expect((await codeOf(vault.client.unwrapKey(wrapOnly, wrappedKey))).code).toBe('KEK_ACCESS_DENIED');
    });

    it('refuses to wrap under an expired or not yet valid key with KEK_ACCESS_DENIED, and still unwraps under it (no crypto-lock)', async () => {
      const expired = await vault.createKey();
      const secret = rootKey();
      const { wrappedKey } = await vault.client.wrapKey(expired, secret);
      await vault.setAttributes(expired.name, expired.version, { expiresOn: new Date(Date.now() - 60_000) });
      expect((await codeOf(vault.client.wrapKey(ref(expired), rootKey()))).code).toBe('KEK_ACCESS_DENIED');
      expect(Buffer.from(await vault.client.unwrapKey(expired, wrappedKey)).equals(Buffer.from(secret))).toBe(true);
      const early = await vault.createKey();
      await vault.setAttributes(early.name, early.version, { notBefore: new Date(Date.now() + 3_600_000) });
      expect((await codeOf(vault.client.wrapKey(ref(early), rootKey()))).code).toBe('KEK_ACCESS_DENIED');
    });

    it('answers KEY_VAULT_UNAVAILABLE, retryable after 5 s, when the vault answers 503, and works on the next call', async () => {
      const key = await vault.createKey();
      const secret = rootKey();
      vault.failNextCall('wrapKey', 503);
      const wrapFailure = await codeOf(vault.client.wrapKey(ref(key), secret));
      expect(wrapFailure.code).toBe('KEY_VAULT_UNAVAILABLE');
      expect(wrapFailure.err).toMatchObject({ retryAfterSeconds: 5 });
      const { wrappedKey } = await vault.client.wrapKey(ref(key), secret);
      vault.failNextCall('unwrapKey', 503);
      expect((await codeOf(vault.client.unwrapKey(key, wrappedKey))).code).toBe('KEY_VAULT_UNAVAILABLE');
      expect(Buffer.from(await vault.client.unwrapKey(key, wrappedKey)).equals(Buffer.from(secret))).toBe(true);
    });

    it('finds a key whatever the case of its name, answering with the name as created', async () => {
      const key = await vault.createKey();
      const secret = rootKey();
      const upper = { vaultUrl: vault.vaultUrl, name: key.name.toUpperCase() };
      const wrapped = await vault.client.wrapKey(upper, secret);
      expect(wrapped.kek).toEqual({ vaultUrl: vault.vaultUrl, name: key.name, version: key.version });
      expect(Buffer.from(await vault.client.unwrapKey({ ...upper, version: key.version }, wrapped.wrappedKey)).equals(Buffer.from(secret))).toBe(true);
    });
  });
}
