import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, type GeneratedKeyPair } from '../../shared/pgp/generate-key-pair.js';
import { GpgHome } from '../support/gpg.js';
import { failureCode, sampleCsv } from '../pgp/support.js';

/**
 * Attack: signer substitution. A file signed with a valid key that is not the customer's
 * registered key (even one with the customer's own user ID) must be refused.
 */
describe('wrong signer', () => {
  let gpg: GpgHome;
  let impostorHome: GpgHome;
  let ours: GeneratedKeyPair;
  let customerPublic: string;
  const csv = sampleCsv(100);

  beforeAll(async () => {
    [gpg, impostorHome] = await Promise.all([GpgHome.create(), GpgHome.create()]);
    ours = await generateKeyPair({ passphrase: 'p' });
    await gpg.importKey(ours.publicKeyArmored);
    await impostorHome.importKey(ours.publicKeyArmored);
    await gpg.generateKey('Customer <c@example.com>', 'ed25519', 'sign,cert', '1y');
    await impostorHome.generateKey('Customer <c@example.com>', 'ed25519', 'sign,cert', '1y');
    customerPublic = await gpg.exportPublic('c@example.com');
  });
  afterAll(async () => Promise.all([gpg.dispose(), impostorHome.dispose()]));

  it('refuses a file signed by a look-alike key with SIGNATURE_INVALID', async () => {
    const forged = await impostorHome.encrypt(csv, ours.fingerprint, ['--sign', '--local-user', 'c@example.com']);
    expect(
      await failureCode(forged, {
        privateKeyArmored: ours.privateKeyArmored,
        passphrase: 'p',
        verificationKeys: [customerPublic],
      }),
    ).toBe('SIGNATURE_INVALID');
  });

  it('refuses any signer when the registered key list is empty with SIGNATURE_INVALID', async () => {
    const signed = await gpg.encrypt(csv, ours.fingerprint, ['--sign', '--local-user', 'c@example.com']);
    expect(
      await failureCode(signed, { privateKeyArmored: ours.privateKeyArmored, passphrase: 'p', verificationKeys: [] }),
    ).toBe('SIGNATURE_INVALID');
  });
});
