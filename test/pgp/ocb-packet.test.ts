import { enums, readMessage } from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { PGP_CONFIG } from '../../shared/pgp/config.js';
import { generateKeyPair, type GeneratedKeyPair } from '../../shared/pgp/generate-key-pair.js';
import { gnupg24StyleMessage } from '../support/gnupg24-message.js';
import { decryptAll, failureCode, sampleCsv } from './support.js';

const PASSPHRASE = 'ocb test passphrase';

describe('GnuPG 2.4 AEAD (OCB) encrypted data packets', () => {
  let ours: GeneratedKeyPair;
  const csv = sampleCsv(5000);
  const options = () => ({ privateKeyArmored: ours.privateKeyArmored, passphrase: PASSPHRASE });

  beforeAll(async () => {
    ours = await generateKeyPair({ passphrase: PASSPHRASE });
  });

  it('builds a tag-20 v1 OCB packet (the shape GnuPG 2.4 writes)', async () => {
    const message = await gnupg24StyleMessage(ours.publicKeyArmored, csv);
    const { packets } = await readMessage({ binaryMessage: message, config: PGP_CONFIG });
    expect(packets.map((p) => (p.constructor as unknown as { tag: number }).tag)).toEqual([
      enums.packet.publicKeyEncryptedSessionKey,
      enums.packet.aeadEncryptedData,
    ]);
    const aead: unknown = packets.findPacket(enums.packet.aeadEncryptedData);
    expect(aead).toMatchObject({ version: 1, aeadAlgorithm: enums.aead.ocb, cipherAlgorithm: enums.symmetric.aes256 });
  });

  it.each([
    ['several 16 KiB chunks', 8],
    ['many 64-byte chunks', 0],
    ['gpg 2.4 default chunk size (2^22)', 16],
  ])('decrypts it byte-identically (%s)', async (_label, chunkSizeByte) => {
    const { plaintext, result } = await decryptAll(
      await gnupg24StyleMessage(ours.publicKeyArmored, csv, chunkSizeByte),
      options(),
    );
    expect(plaintext.equals(csv)).toBe(true);
    expect(result.bytes).toBe(csv.length);
  });

  it('fails a tampered or truncated OCB message with INTEGRITY_CHECK_FAILED, never a generic error', async () => {
    const message = await gnupg24StyleMessage(ours.publicKeyArmored, csv, 4);
    const tampered = Buffer.from(message);
    tampered[tampered.length - 100] = (tampered[tampered.length - 100] ?? 0) ^ 0x01;
    expect(await failureCode(tampered, options())).toBe('INTEGRITY_CHECK_FAILED');
    expect(['INTEGRITY_CHECK_FAILED', 'MALFORMED_PGP_MESSAGE']).toContain(
      await failureCode(message.subarray(0, message.length - 40), options()),
    );
  });

  it('refuses an OCB message to another key with NOT_ENCRYPTED_FOR_THIS_KEY', async () => {
    const other = await generateKeyPair({ passphrase: PASSPHRASE, name: 'other' });
    expect(await failureCode(await gnupg24StyleMessage(other.publicKeyArmored, csv), options())).toBe(
      'NOT_ENCRYPTED_FOR_THIS_KEY',
    );
  });
});
