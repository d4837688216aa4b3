import { PacketList, enums, readMessage } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runErrorOf } from '../../shared/ingestion/run-failure.js';
import { PGP_CONFIG } from '../../shared/pgp/config.js';
import { generateKeyPair, type GeneratedKeyPair } from '../../shared/pgp/generate-key-pair.js';
import { GpgHome } from '../support/gpg.js';
import { bytesOf, failureOf } from '../pgp/support.js';

/**
 * Attack (misdirection): a file holding only the session key packets of a real message, naming the
 * flow's own key, and no encrypted data. It failed as NOT_ENCRYPTED_FOR_THIS_KEY, whose run message
 * then said the file "is encrypted to key id(s) <the flow's own key id>, not to this dataflow's
 * key": a contradiction that sends the customer to check their keys, when the file is cut short.
 * It must fail MALFORMED_PGP_MESSAGE, and its run message must not name a key.
 */
describe('session key packets without encrypted data', () => {
  let gpg: GpgHome;
  let ours: GeneratedKeyPair;
  let encrypted: Buffer;
  const options = () => ({ privateKeyArmored: ours.privateKeyArmored, passphrase: 'p' });

  beforeAll(async () => {
    gpg = await GpgHome.create();
    ours = await generateKeyPair({ passphrase: 'p' });
    await gpg.importKey(ours.publicKeyArmored);
    // A session key packet for our key and one for a passphrase, then the encrypted data.
    encrypted = await gpg.encrypt('id,name\n1,Ada\n', ours.fingerprint, ['--symmetric', '--passphrase', 'pw', '--pinentry-mode', 'loopback']);
  });
  afterAll(async () => gpg.dispose());

  /** The packets of `encrypted` with these tags, written back as a file. */
  async function only(...tags: enums.packet[]): Promise<Buffer> {
    const message = await readMessage({ binaryMessage: encrypted, config: PGP_CONFIG });
    const kept = new PacketList();
    kept.push(...message.packets.filterByTag(...tags));
    expect(kept.length).toBeGreaterThan(0);
    return bytesOf(kept.write());
  }

  it.each([
    ['the PKESK naming our key', [enums.packet.publicKeyEncryptedSessionKey]],
    ['the PKESK and the SKESK', [enums.packet.publicKeyEncryptedSessionKey, enums.packet.symEncryptedSessionKey]],
    ['the SKESK', [enums.packet.symEncryptedSessionKey]],
  ] as const)('refuses a file holding only %s with MALFORMED_PGP_MESSAGE, naming no key', async (_label, tags) => {
    const err = await failureOf(await only(...tags), options());
    expect(err.code).toBe('MALFORMED_PGP_MESSAGE');
    const run = runErrorOf(err);
    expect(run?.code).toBe('MALFORMED_PGP_MESSAGE');
    expect(run?.message).not.toMatch(/key id/i);
    for (const id of ours.keyIds) expect(run?.message).not.toContain(id);
  });

  it('still reports a whole message for another key, and an unencrypted one, as NOT_ENCRYPTED_FOR_THIS_KEY', async () => {
    const other = await generateKeyPair({ passphrase: 'p', name: 'another flow' });
    const err = await failureOf(encrypted, { privateKeyArmored: other.privateKeyArmored, passphrase: 'p' });
    expect(err.code).toBe('NOT_ENCRYPTED_FOR_THIS_KEY');
    const signedOnly = await gpg.ok(['--store', '--output', '-'], 'id,name\n1,Ada\n');
    expect((await failureOf(signedOnly, options())).code).toBe('NOT_ENCRYPTED_FOR_THIS_KEY');
  });
});
