import { createMessage, encrypt, enums, readKey, readMessage, readPrivateKey, sign } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGP_CONFIG } from '../../shared/pgp/config.js';
import { generateKeyPair, type GeneratedKeyPair } from '../../shared/pgp/generate-key-pair.js';
import { GpgHome } from '../support/gpg.js';
import { bytesOf, decryptAll, failureCode, sampleCsv } from '../pgp/support.js';

/**
 * Attack: signature stripping. Anyone holding the flow's public key can encrypt a file; only the
 * customer can sign it. Removing the signature (sending an unsigned file, or keeping the one-pass
 * header but dropping the trailing signature packet) must not turn a required signature into an
 * optional one.
 */
describe('signature stripping', () => {
  let gpg: GpgHome;
  let ours: GeneratedKeyPair;
  let customerPublic: string;
  const csv = sampleCsv(100);
  const opts = () => ({
    privateKeyArmored: ours.privateKeyArmored,
    passphrase: 'p',
    verificationKeys: [customerPublic],
  });

  beforeAll(async () => {
    gpg = await GpgHome.create();
    ours = await generateKeyPair({ passphrase: 'p' });
    await gpg.importKey(ours.publicKeyArmored);
    await gpg.generateKey('Customer <c@example.com>', 'ed25519', 'sign,cert', '1y');
    customerPublic = await gpg.exportPublic('c@example.com');
  });
  afterAll(async () => gpg.dispose());

  it('accepts the signed original', async () => {
    const signed = await gpg.encrypt(csv, ours.fingerprint, ['--sign', '--local-user', 'c@example.com']);
    expect((await decryptAll(signed, opts())).result.signedBy).toBeDefined();
  });

  it('refuses the same content re-encrypted without a signature with SIGNATURE_MISSING', async () => {
    const unsigned = await gpg.encrypt(csv, ours.fingerprint);
    expect(await failureCode(unsigned, opts())).toBe('SIGNATURE_MISSING');
  });

  it('refuses a message whose trailing signature packet was removed', async () => {
    const customerSecret = await readPrivateKey({ armoredKey: await gpg.exportSecret('c@example.com') });
    const signedBinary = bytesOf(
      await sign({
        message: await createMessage({ binary: new Uint8Array(csv) }),
        signingKeys: customerSecret,
        format: 'binary',
        config: PGP_CONFIG,
      }),
    );
    // The one-pass signature header is the first packet (new format: tag octet, one-octet length).
    expect(signedBinary[0]).toBe(0xc0 | enums.packet.onePassSignature);
    const onePass = signedBinary.subarray(0, 2 + (signedBinary[1] ?? 0));
    const literal = bytesOf((await createMessage({ binary: new Uint8Array(csv) })).write());
    // The attacker's tooling does not enforce the message grammar; ours does.
    const signed = await readMessage({
      binaryMessage: new Uint8Array(Buffer.concat([onePass, literal])),
      config: { ...PGP_CONFIG, enforceGrammar: false },
    });
    expect(signed.packets.filterByTag(enums.packet.onePassSignature)).toHaveLength(1);
    const stripped = bytesOf(
      await encrypt({
        message: signed,
        encryptionKeys: await readKey({ armoredKey: ours.publicKeyArmored }),
        format: 'binary',
        config: PGP_CONFIG,
      }),
    );
    const code = await failureCode(stripped, opts());
    // Refused by grammar enforcement (a one-pass header without its signature) inside the
    // encrypted envelope; every failure after decryption has begun carries the one opaque code.
    expect(code).toBe('INTEGRITY_CHECK_FAILED');
  });
});
