import {
  SymmetricallyEncryptedDataPacket,
  createMessage,
  encryptSessionKey,
  enums,
  generateSessionKey,
  readKey,
  readMessage,
  type Message,
} from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { PGP_CONFIG } from '../../shared/pgp/config.js';
import { generateKeyPair, type GeneratedKeyPair } from '../../shared/pgp/generate-key-pair.js';
import { bytesOf, failureCode, sampleCsv } from '../pgp/support.js';

/**
 * Attack: integrity-protection stripping (EFAIL-style downgrade). A Symmetrically Encrypted Data
 * packet (tag 9) has no MDC, so an attacker can modify CFB ciphertext undetected; and because
 * SEIPDv1 is CFB too, an attacker can rewrite a protected message's packet as tag 9.
 * OpenPGP.js can only build such a packet through its packet classes; gpg 2.2 refuses to.
 */

// `encrypt` is marked private in openpgp's typings but is the packet's public runtime method.
interface EncryptablePacket {
  packets: Message<Uint8Array>['packets'];
  encrypt(algorithm: enums.symmetric, key: Uint8Array, config?: typeof PGP_CONFIG): Promise<void>;
}

describe('no-MDC downgrade', () => {
  let ours: GeneratedKeyPair;
  let legacy: Uint8Array;

  beforeAll(async () => {
    ours = await generateKeyPair({ passphrase: 'p' });
    const publicKey = await readKey({ armoredKey: ours.publicKeyArmored });
    const sessionKey = await generateSessionKey({ encryptionKeys: publicKey, config: PGP_CONFIG });
    const envelope = await encryptSessionKey({
      ...sessionKey,
      encryptionKeys: publicKey,
      format: 'object',
      config: PGP_CONFIG,
    });
    const literal = await createMessage({ binary: new Uint8Array(sampleCsv(10)) });

    const sed = new SymmetricallyEncryptedDataPacket();
    const packet = sed as unknown as EncryptablePacket;
    packet.packets = literal.packets;
    await packet.encrypt(enums.symmetric[sessionKey.algorithm], sessionKey.data, {
      ...PGP_CONFIG,
      allowUnauthenticatedMessages: true,
    });
    envelope.packets.push(sed);
    legacy = bytesOf(envelope.write());
  });

  it('refuses a message whose data packet has no MDC with INTEGRITY_CHECK_MISSING', async () => {
    const parsed = await readMessage({ binaryMessage: legacy });
    expect(parsed.packets.filterByTag(enums.packet.symmetricallyEncryptedData)).toHaveLength(1);
    expect(await failureCode(Buffer.from(legacy), { privateKeyArmored: ours.privateKeyArmored, passphrase: 'p' })).toBe(
      'INTEGRITY_CHECK_MISSING',
    );
  });

  it('refuses it armored too', async () => {
    const { armor } = await import('openpgp');
    const armored = Buffer.from(armor(enums.armor.message, legacy));
    expect(await failureCode(armored, { privateKeyArmored: ours.privateKeyArmored, passphrase: 'p' })).toBe(
      'INTEGRITY_CHECK_MISSING',
    );
  });
});
