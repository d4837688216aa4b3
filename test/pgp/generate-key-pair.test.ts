import { readKey, readPrivateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, type GeneratedKeyPair } from '../../shared/pgp/generate-key-pair.js';
import { GpgHome } from '../support/gpg.js';
import { decryptAll, sampleCsv } from './support.js';

const DAY = 86_400_000;

function colonRecords(listing: Buffer, type: string): string[][] {
  return listing
    .toString('utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${type}:`))
    .map((l) => l.split(':'));
}

describe('generateKeyPair', () => {
  let gpg: GpgHome;
  let curve: GeneratedKeyPair;
  let rsa: GeneratedKeyPair;
  const now = new Date('2026-03-01T12:00:00.400Z');

  beforeAll(async () => {
    gpg = await GpgHome.create();
    // RSA-4096 generation takes seconds: once for the whole file.
    [curve, rsa] = await Promise.all([
      generateKeyPair({ passphrase: 'p', expiryDays: 30, now: new Date(), email: 'flow@example.com' }),
      generateKeyPair({ passphrase: 'p', keyType: 'rsa4096' }),
    ]);
    await gpg.importKey(curve.publicKeyArmored);
    await gpg.importKey(rsa.publicKeyArmored);
  });
  afterAll(async () => gpg.dispose());

  it('returns a passphrase-protected Curve25519 key with fingerprint, key ids and expiry by default', async () => {
    const pair = await generateKeyPair({ passphrase: 'secret', now });
    expect(pair.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    expect(pair.keyIds).toHaveLength(2);
    expect(pair.keyIds[0]).toBe(pair.fingerprint.slice(-16));
    expect(pair.createdAt.toISOString()).toBe('2026-03-01T12:00:00.000Z');
    expect(pair.expiresAt.getTime()).toBe(pair.createdAt.getTime() + 180 * DAY);

    const publicKey = await readKey({ armoredKey: pair.publicKeyArmored });
    expect(publicKey.isPrivate()).toBe(false);
    expect(publicKey.getAlgorithmInfo()).toMatchObject({ algorithm: 'eddsaLegacy', curve: 'ed25519Legacy' });
    expect(publicKey.getUserIDs()).toEqual(['cipherflow ingestion key']);
    expect(await publicKey.getExpirationTime()).toEqual(pair.expiresAt);

    const privateKey = await readPrivateKey({ armoredKey: pair.privateKeyArmored });
    expect(privateKey.isDecrypted()).toBe(false);
    expect(pair.privateKeyArmored).not.toContain('Version:');
  });

  it('is listed by gpg with the configured expiry on both keys', async () => {
    const listing = await gpg.ok(['--with-colons', '--list-keys', curve.fingerprint]);
    const [pub] = colonRecords(listing, 'pub');
    const [sub] = colonRecords(listing, 'sub');
    expect(pub?.[3]).toBe('22'); // EdDSA
    expect(sub?.[3]).toBe('18'); // ECDH (cv25519)
    expect(sub?.[11]).toContain('e');
    expect(Number(pub?.[6]) * 1000).toBe(curve.expiresAt.getTime());
    expect(Number(sub?.[6]) * 1000).toBe(curve.expiresAt.getTime());
    const human = (await gpg.ok(['--list-keys', curve.fingerprint])).toString('utf8');
    expect(human).toContain(`[expires: ${curve.expiresAt.toISOString().slice(0, 10)}]`);
    expect(colonRecords(listing, 'uid')[0]?.[9]).toBe('cipherflow ingestion key <flow@example.com>');
  });

  it('generates an RSA-4096 key that gpg encrypts to and we decrypt', async () => {
    const listing = await gpg.ok(['--with-colons', '--list-keys', rsa.fingerprint]);
    expect(colonRecords(listing, 'pub')[0]?.[2]).toBe('4096');
    expect(colonRecords(listing, 'sub')[0]?.[2]).toBe('4096');
    const csv = sampleCsv(50);
    const encrypted = await gpg.encrypt(csv, rsa.fingerprint);
    const { plaintext, result } = await decryptAll(encrypted, {
      privateKeyArmored: rsa.privateKeyArmored,
      passphrase: 'p',
    });
    expect(plaintext.equals(csv)).toBe(true);
    expect(result.encryptedTo).toEqual([rsa.keyIds[1]]);
  });

  it('refuses an expiry outside 1..730 days or a fractional one', async () => {
    for (const expiryDays of [0, 731, 1.5, Number.NaN]) {
      await expect(generateKeyPair({ passphrase: 'p', expiryDays })).rejects.toThrow(RangeError);
    }
    await expect(generateKeyPair({ passphrase: '' })).rejects.toThrow(RangeError);
  });
});
