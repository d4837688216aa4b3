import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgpError, type PgpErrorCode } from '../../shared/pgp/errors.js';
import { validateSigningKey } from '../../shared/pgp/validate-signing-key.js';
import { GpgHome } from '../support/gpg.js';

async function codeOf(promise: Promise<unknown>): Promise<PgpErrorCode> {
  const err = await promise.then(
    () => new Error('unexpectedly valid'),
    (e: unknown) => e,
  );
  if (err instanceof PgpError) return err.code;
  throw err;
}

describe('validateSigningKey with keys from gpg', () => {
  let gpg: GpgHome;
  const fpr: Record<string, string> = {};

  beforeAll(async () => {
    gpg = await GpgHome.create();
    fpr.ed = await gpg.generateKey('Ed <ed@example.com>', 'ed25519', 'sign,cert', '1y');
    fpr.rsa = await gpg.generateKey('Rsa <rsa@example.com>', 'rsa3072', 'sign,cert', '1y');
    fpr.weak = await gpg.generateKey('Weak <weak@example.com>', 'rsa1024', 'sign,cert', '1y');
    fpr.revoked = await gpg.generateKey('Revoked <rev@example.com>', 'ed25519', 'sign,cert', '1y');
    fpr.encOnly = await gpg.generateKey('EncOnly <enc@example.com>', 'ed25519', 'cert', '1y');
    fpr.subSign = await gpg.generateKey('SubSign <subsign@example.com>', 'ed25519', 'cert', '1y');
    await gpg.ok(['--quick-add-key', fpr.encOnly, 'cv25519', 'encr', '1y']);
    await gpg.ok(['--quick-add-key', fpr.subSign, 'ed25519', 'sign', '1y']);
    // gpg writes a revocation certificate for every new key, its armor header disarmed by a ':'.
    const cert = await readFile(join(gpg.dir, 'openpgp-revocs.d', `${fpr.revoked}.rev`), 'utf8');
    await gpg.importKey(cert.replace(/^:-----BEGIN/m, '-----BEGIN'));
  });
  afterAll(async () => gpg.dispose());

  it('accepts an Ed25519 signing key and describes it', async () => {
    const info = await validateSigningKey(await gpg.exportPublic(fpr.ed ?? ''));
    expect(info.fingerprint).toBe(fpr.ed);
    expect(info.algorithm).toBe('eddsaLegacy');
    expect(info.signingKeyId).toBe(fpr.ed?.slice(-16));
    expect(info.userIds).toEqual(['Ed <ed@example.com>']);
    expect(info.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 300 * 86_400_000);
  });

  it('accepts an RSA-3072 key and reports its size', async () => {
    const info = await validateSigningKey(await gpg.exportPublic(fpr.rsa ?? ''));
    expect(info).toMatchObject({ algorithm: 'rsaEncryptSign', bits: 3072, fingerprint: fpr.rsa });
  });

  it('accepts a key whose only signing key is a subkey', async () => {
    const info = await validateSigningKey(await gpg.exportPublic(fpr.subSign ?? ''));
    expect(info.keyIds).toHaveLength(2);
    expect(info.signingKeyId).toBe(info.keyIds[1]);
  });

  it('refuses a private key with PRIVATE_KEY_NOT_ALLOWED', async () => {
    expect(await codeOf(validateSigningKey(await gpg.exportSecret(fpr.ed ?? '')))).toBe('PRIVATE_KEY_NOT_ALLOWED');
  });

  it('refuses a key expired at the given time with KEY_EXPIRED', async () => {
    const later = new Date(Date.now() + 400 * 86_400_000);
    expect(await codeOf(validateSigningKey(await gpg.exportPublic(fpr.ed ?? ''), { now: later }))).toBe('KEY_EXPIRED');
  });

  it('refuses a revoked key with KEY_REVOKED', async () => {
    expect(await codeOf(validateSigningKey(await gpg.exportPublic(fpr.revoked ?? '')))).toBe('KEY_REVOKED');
  });

  it('refuses RSA-1024 with KEY_TOO_WEAK', async () => {
    expect(await codeOf(validateSigningKey(await gpg.exportPublic(fpr.weak ?? '')))).toBe('KEY_TOO_WEAK');
  });

  it('refuses a key with only an encryption subkey with NO_SIGNING_KEY', async () => {
    expect(await codeOf(validateSigningKey(await gpg.exportPublic(fpr.encOnly ?? '')))).toBe('NO_SIGNING_KEY');
  });

  it('refuses garbage, an empty string and two keys at once with INVALID_PUBLIC_KEY', async () => {
    expect(await codeOf(validateSigningKey('not a key'))).toBe('INVALID_PUBLIC_KEY');
    expect(await codeOf(validateSigningKey(''))).toBe('INVALID_PUBLIC_KEY');
    const both = (await gpg.ok(['--armor', '--export', fpr.ed ?? '', fpr.rsa ?? ''])).toString('utf8');
    expect(await codeOf(validateSigningKey(both))).toBe('INVALID_PUBLIC_KEY');
  });
});
