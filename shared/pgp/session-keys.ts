import { decryptKey, decryptSessionKeys, Message, PacketList, PublicKeyEncryptedSessionKeyPacket, readPrivateKey, type enums, type PrivateKey } from 'openpgp';
import { PGP_CONFIG } from './config.js';
import { PgpError } from './errors.js';

/** What the thread holding no HTTP work needs to recover a message's session key. */
export interface SessionKeyRequest {
  /** The flow's armored private key (passphrase-protected). */
  readonly privateKeyArmored: string;
  readonly passphrase: string;
  /**
   * The bodies (as `packet.write()` gives them) of the message's session key packets that name
   * our key or a hidden recipient: already capped by the caller, since each costs a private-key
   * operation.
   */
  readonly packets: readonly Uint8Array[];
  /** Time at which the key's self-signature (its preferred algorithms) is read. */
  readonly date: Date;
}

/** A recovered session key; `algorithm` is null for packets that do not carry it (v6 PKESK). */
export interface RecoveredSessionKey {
  readonly data: Uint8Array;
  readonly algorithm: enums.symmetricNames | null;
}

/**
 * Unlocks the private key and decrypts the given session key packets with it: the private-key
 * half of decryption, run in the private-key worker pool (`private-key-pool.ts`), never on the
 * thread that serves HTTP. RSA decryption here is pure-JS BigInt (Node refuses PKCS#1 v1.5
 * private decryption), ~80 ms per packet for RSA-4096, and the key unlock hashes the S2K count.
 *
 * @throws PgpError `INVALID_PRIVATE_KEY` (our key or passphrase unusable), `INTEGRITY_CHECK_FAILED`
 *   (no packet decrypts: one code with every later decryption failure, as for `decrypt()`).
 */
export async function recoverSessionKeys(request: SessionKeyRequest): Promise<RecoveredSessionKey[]> {
  const privateKey = await unlockPrivateKey(request.privateKeyArmored, request.passphrase);
  const packets = new PacketList<PublicKeyEncryptedSessionKeyPacket>();
  try {
    for (const bytes of request.packets) {
      const packet = new PublicKeyEncryptedSessionKeyPacket();
      packet.read(bytes);
      packets.push(packet);
    }
    // The library's own loop (hidden recipients tried against every decryption subkey, the
    // algorithm checked against the key's preferences, duplicates removed), on these packets only.
    const sessionKeys = await decryptSessionKeys({ message: new Message(packets), decryptionKeys: privateKey, date: request.date, config: PGP_CONFIG });
    return sessionKeys.map(({ data, algorithm }) => ({ data, algorithm }));
  } catch (cause) {
    throw new PgpError('INTEGRITY_CHECK_FAILED', {}, { cause });
  }
}

/** Reads and unlocks an armored private key. @throws PgpError `INVALID_PRIVATE_KEY` */
export async function unlockPrivateKey(armoredKey: string, passphrase: string): Promise<PrivateKey> {
  try {
    const privateKey = await readPrivateKey({ armoredKey, config: PGP_CONFIG });
    return await decryptKey({ privateKey, passphrase, config: PGP_CONFIG });
  } catch (cause) {
    throw new PgpError('INVALID_PRIVATE_KEY', {}, { cause });
  }
}
