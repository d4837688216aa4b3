import { randomBytes } from 'node:crypto';
import { createMessage, encrypt, generateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGP_CONFIG } from '../../shared/pgp/config.js';
import { generateKeyPair, type GeneratedKeyPair } from '../../shared/pgp/generate-key-pair.js';
import { GpgHome } from '../support/gpg.js';
import { bytesOf, decryptAll, failureCode, sampleCsv } from '../pgp/support.js';

/**
 * Attack: ciphertext modification (bit flips in CFB data, a rewritten session key packet, a cut
 * MDC). Every variant must fail with the one opaque code INTEGRITY_CHECK_FAILED, never with a
 * code (or success) that tells the attacker which step noticed: that would be an oracle.
 */
describe('ciphertext tampering', () => {
  let gpg: GpgHome;
  let ours: GeneratedKeyPair;
  const csv = sampleCsv(5000);
  const opts = () => ({ privateKeyArmored: ours.privateKeyArmored, passphrase: 'p' });

  beforeAll(async () => {
    gpg = await GpgHome.create();
    ours = await generateKeyPair({ passphrase: 'p' });
    await gpg.importKey(ours.publicKeyArmored);
  });
  afterAll(async () => gpg.dispose());

  const flip = (data: Buffer, at: number): Buffer => {
    const copy = Buffer.from(data);
    copy[at] = (copy[at] ?? 0) ^ 0x01;
    return copy;
  };

  it.each([
    ['uncompressed', ['--compress-algo', 'none']],
    ['zlib-compressed', ['--compress-algo', 'zlib']],
  ])('refuses a flipped bit anywhere in %s encrypted data with INTEGRITY_CHECK_FAILED', async (_n, extra) => {
    const encrypted = await gpg.encrypt(csv, ours.fingerprint, extra);
    const positions = [0.3, 0.5, 0.9].map((f) => Math.floor(encrypted.length * f));
    positions.push(encrypted.length - 1, encrypted.length - 25);
    for (const at of positions) {
      expect(await failureCode(flip(encrypted, at), opts()), `byte ${at}`).toBe('INTEGRITY_CHECK_FAILED');
    }
  });

  it('refuses a modified session key packet with INTEGRITY_CHECK_FAILED', async () => {
    const encrypted = await gpg.encrypt(csv, ours.fingerprint, ['--compress-algo', 'none']);
    // The PKESK is the first packet (~94 bytes for ECDH); its last bytes are the wrapped key.
    expect(await failureCode(flip(encrypted, 80), opts())).toBe('INTEGRITY_CHECK_FAILED');
  });

  it('refuses a tampered RFC 9580 AEAD (SEIPDv2) message with INTEGRITY_CHECK_FAILED', async () => {
    // gpg 2.2 cannot write SEIPDv2; OpenPGP.js does for a key that advertises AEAD support.
    const aeadConfig = { ...PGP_CONFIG, aeadProtect: true };
    const { privateKey, publicKey } = await generateKey({
      type: 'curve25519',
      userIDs: [{ name: 'aead' }],
      passphrase: 'p',
      format: 'armored',
      config: aeadConfig,
    });
    const data = randomBytes(200_000);
    const encrypted = bytesOf(
      await encrypt({
        message: await createMessage({ binary: data }),
        encryptionKeys: await (await import('openpgp')).readKey({ armoredKey: publicKey }),
        format: 'binary',
        config: aeadConfig,
      }),
    );
    const options = { privateKeyArmored: privateKey, passphrase: 'p' };
    const ok = await decryptAll(encrypted, options);
    expect(ok.plaintext.equals(data)).toBe(true);
    for (const at of [Math.floor(encrypted.length / 2), encrypted.length - 1]) {
      expect(await failureCode(flip(encrypted, at), options)).toBe('INTEGRITY_CHECK_FAILED');
    }
  });
});
