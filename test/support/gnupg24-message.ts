import { randomBytes } from 'node:crypto';
import { ReadableStream } from 'node:stream/web';
import {
  AEADEncryptedDataPacket,
  LiteralDataPacket,
  PacketList,
  PublicKeyEncryptedSessionKeyPacket,
  enums,
  readKey,
  type AnyPacket,
  type Subkey,
} from 'openpgp';
import { PGP_CONFIG } from '../../shared/pgp/config.js';

/**
 * OpenPGP.js types the packet methods these tests drive as private (they are what `encrypt()`
 * uses internally); this is the slice of them used here, checked against the library at run time.
 */
interface AeadPacketWriter {
  aeadAlgorithm: enums.aead;
  packets: PacketList<AnyPacket>;
  encrypt(sessionKeyAlgorithm: enums.symmetric, key: Uint8Array, config: typeof PGP_CONFIG): Promise<void>;
}
interface PkeskWriter {
  encrypt(keyPacket: Subkey['keyPacket']): Promise<void>;
}
interface LiteralWriter {
  setBytes(bytes: ReadableStream<Uint8Array>, format: enums.literal): void;
  setFilename(name: string): void;
}
type PkeskFactory = (options: {
  version: number;
  encryptionKeyPacket: Subkey['keyPacket'];
  anonymousRecipient: boolean;
  sessionKey: Uint8Array;
  sessionKeyAlgorithm: enums.symmetric;
}) => PublicKeyEncryptedSessionKeyPacket;

/**
 * What GnuPG 2.4 writes when the recipient key advertises AEAD (LibrePGP / RFC 4880bis v1): a v3
 * PKESK to the encryption subkey, then an AEAD Encrypted Data packet (tag 20, v1, OCB, AES-256)
 * around a literal data packet. gpg 2.2 cannot write one, so it is assembled from OpenPGP.js's
 * own packet classes; the crypto (ECDH, OCB) is the library's.
 */
export async function gnupg24StyleMessage(
  publicKeyArmored: string,
  plaintext: Uint8Array,
  chunkSizeByte = 12,
): Promise<Buffer> {
  const key = await readKey({ armoredKey: publicKeyArmored, config: PGP_CONFIG });
  const subkey = key.subkeys[0];
  if (subkey === undefined) throw new Error('the flow key has no encryption subkey');
  const sessionKey = randomBytes(32);

  const fromObject = (PublicKeyEncryptedSessionKeyPacket as unknown as { fromObject: PkeskFactory }).fromObject;
  const pkesk = fromObject({
    version: 3,
    encryptionKeyPacket: subkey.keyPacket,
    anonymousRecipient: false,
    sessionKey,
    sessionKeyAlgorithm: enums.symmetric.aes256,
  });
  await (pkesk as unknown as PkeskWriter).encrypt(subkey.keyPacket);

  const literal = new LiteralDataPacket();
  // A stream input makes every packet a stream (partial lengths, as gpg writes from a pipe), and
  // makes `write()` return a standard ReadableStream.
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(plaintext);
      controller.close();
    },
  });
  (literal as unknown as LiteralWriter).setBytes(body, enums.literal.binary);
  (literal as unknown as LiteralWriter).setFilename('customers.csv');

  const aead = new AEADEncryptedDataPacket();
  const writer = aead as unknown as AeadPacketWriter;
  writer.aeadAlgorithm = enums.aead.ocb;
  writer.packets = new PacketList<AnyPacket>();
  writer.packets.push(literal);
  await writer.encrypt(enums.symmetric.aes256, sessionKey, { ...PGP_CONFIG, aeadChunkSizeByte: chunkSizeByte });

  const message = new PacketList<AnyPacket>();
  message.push(pkesk, aead);
  const written: unknown = message.write();
  if (!(written instanceof ReadableStream)) throw new TypeError('expected a stream from PacketList.write()');
  return Buffer.from(await new Response(written as ReadableStream<Uint8Array>).arrayBuffer());
}
