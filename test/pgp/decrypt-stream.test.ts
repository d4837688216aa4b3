import { createHash, randomBytes } from 'node:crypto';
import { deflateRawSync, deflateSync } from 'node:zlib';
import { Readable } from 'node:stream';
import {
  CompressedDataPacket,
  createMessage,
  Message,
  PacketList,
  enums,
  readKey,
  type Key,
} from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptStream } from '../../shared/pgp/decrypt-stream.js';
import { generateKeyPair, type GeneratedKeyPair } from '../../shared/pgp/generate-key-pair.js';
import { GpgHome } from '../support/gpg.js';
import { decryptAll, failureCode, failureOf, readableOf, sampleCsv } from './support.js';

const PASSPHRASE = 'correct horse battery staple';

describe('decryptStream with files from gpg', () => {
  let gpg: GpgHome;
  let ours: GeneratedKeyPair;
  let other: GeneratedKeyPair;
  let customerKey: string;
  let strangerKey: string;
  const csv = sampleCsv();

  const options = (extra: { verificationKeys?: string[]; maxBytes?: number } = {}) => ({
    privateKeyArmored: ours.privateKeyArmored,
    passphrase: PASSPHRASE,
    ...extra,
  });

  beforeAll(async () => {
    gpg = await GpgHome.create();
    [ours, other] = await Promise.all([
      generateKeyPair({ passphrase: PASSPHRASE }),
      generateKeyPair({ passphrase: PASSPHRASE, name: 'another flow' }),
    ]);
    await gpg.importKey(ours.publicKeyArmored);
    await gpg.importKey(other.publicKeyArmored);
    await gpg.generateKey('Customer <c@example.com>', 'ed25519', 'sign,cert', '1y');
    await gpg.generateKey('Stranger <s@example.com>', 'rsa3072', 'sign,cert', '1y');
    customerKey = await gpg.exportPublic('c@example.com');
    strangerKey = await gpg.exportPublic('s@example.com');
  });
  afterAll(async () => gpg.dispose());

  const variants: [string, string[]][] = [
    ['binary, default compression', []],
    ['binary, --compress-algo none', ['--compress-algo', 'none']],
    ['binary, --compress-algo zip', ['--compress-algo', 'zip']],
    ['binary, --compress-algo zlib', ['--compress-algo', 'zlib']],
    ['binary, --compress-algo bzip2', ['--compress-algo', 'bzip2']],
    ['armored, default compression', ['--armor']],
    ['armored, --compress-algo none', ['--armor', '--compress-algo', 'none']],
    ['armored, --compress-algo bzip2', ['--armor', '--compress-algo', 'bzip2']],
  ];
  it.each(variants)('decrypts %s byte for byte', async (_name, extra) => {
    const encrypted = await gpg.encrypt(csv, ours.fingerprint, extra);
    const { plaintext, result } = await decryptAll(encrypted, options());
    expect(plaintext.equals(csv)).toBe(true);
    expect(result.bytes).toBe(csv.length);
    expect(result.encryptedTo).toEqual([ours.keyIds[1]]);
    expect(result.signedBy).toBeUndefined();
  });

  it('decrypts a multi-megabyte binary file fed in small chunks', async () => {
    const data = randomBytes(6 * 1024 * 1024 + 17);
    const encrypted = await gpg.encrypt(data, ours.fingerprint, ['--compress-algo', 'none']);
    const { plaintext, result } = await decryptAll(encrypted, options());
    expect(plaintext.equals(data)).toBe(true);
    expect(result.bytes).toBe(data.length);
  });

  // The MDC (a 2-byte header and a 20-byte SHA-1) is held back from the end of the decrypted
  // stream, which reaches it in gpg's partial-length pieces: a first piece, then the rest joined.
  // Piped to gpg 2.2, ~2,000 bytes make a first piece of 2,047 bytes and a rest of 1 to 40: a
  // last chunk shorter than, as long as and longer than the held-back tail.
  it('decrypts and checks the MDC whatever the length of the last piece', async () => {
    for (let size = 1990; size <= 2030; size++) {
      const data = randomBytes(size);
      const encrypted = await gpg.encrypt(data, ours.fingerprint, ['--compress-algo', 'none']);
      const { plaintext, result } = await decryptAll(encrypted, options());
      expect(plaintext.equals(data)).toBe(true);
      expect(result.bytes).toBe(size);
      // A flipped bit in the SHA-1 itself, inside the held-back tail, is still found.
      const tampered = Buffer.from(encrypted);
      tampered[tampered.length - 5] = (tampered[tampered.length - 5] ?? 0) ^ 1;
      expect(await failureCode(tampered, options())).toBe('INTEGRITY_CHECK_FAILED');
    }
  });

  const packetList = (packet: CompressedDataPacket): PacketList<CompressedDataPacket> => {
    const list = new PacketList<CompressedDataPacket>();
    list.push(packet);
    return list;
  };

  // A sender can encrypt a compressed packet whose deflate stream is broken: the MDC is then
  // valid and only the inflater can tell. Whatever zlib says, and wherever, the run fails with
  // INTEGRITY_CHECK_FAILED (no hang, no uncaught error event).
  it.each([
    ['zlib', 'garbage', () => randomBytes(64 * 1024)],
    ['zlib', 'cut short', () => deflateSync(randomBytes(256 * 1024)).subarray(0, 100 * 1024)],
    ['zlib', 'bad checksum', () => Buffer.concat([deflateSync(sampleCsv()).subarray(0, -4), Buffer.alloc(4)])],
    ['zip', 'garbage', () => Buffer.alloc(64 * 1024, 0xff)],
    ['zip', 'cut short', () => deflateRawSync(randomBytes(256 * 1024)).subarray(0, 100 * 1024)],
  ] as const)('fails a validly encrypted %s packet whose deflate stream is %s with INTEGRITY_CHECK_FAILED', async (algorithm, _how, body) => {
    // Fields the packet has at run time that the library's typings leave out.
    const compressed = new CompressedDataPacket() as CompressedDataPacket & {
      algorithm: enums.compression;
      packets: Message<Uint8Array>['packets'];
      compressed: Uint8Array | null;
    };
    compressed.algorithm = enums.compression[algorithm];
    compressed.packets = (await createMessage({ binary: new Uint8Array(8) })).packets;
    // What write() sends as the packet body instead of compressing `packets`.
    compressed.compressed = new Uint8Array(body());
    const encryptionKey: Key = await readKey({ armoredKey: ours.publicKeyArmored });
    const encrypted = await new Message(packetList(compressed)).encrypt([encryptionKey]);
    const bytes = encrypted.write() as Uint8Array;
    expect(await failureCode(Buffer.from(bytes), options())).toBe('INTEGRITY_CHECK_FAILED');
  });

  it('accepts armor after leading whitespace', async () => {
    const encrypted = await gpg.encrypt(csv, ours.fingerprint, ['--armor']);
    const { plaintext } = await decryptAll(Buffer.concat([Buffer.from('\r\n  \n'), encrypted]), options());
    expect(plaintext.equals(csv)).toBe(true);
  });

  it('decrypts an empty file', async () => {
    const encrypted = await gpg.encrypt(Buffer.alloc(0), ours.fingerprint);
    const { plaintext, result } = await decryptAll(encrypted, options());
    expect(plaintext.length).toBe(0);
    expect(result.bytes).toBe(0);
  });

  it('verifies gpg --sign --encrypt against the registered customer key', async () => {
    const encrypted = await gpg.encrypt(csv, ours.fingerprint, ['--sign', '--local-user', 'c@example.com']);
    const { plaintext, result } = await decryptAll(
      encrypted,
      options({ verificationKeys: [strangerKey, customerKey] }),
    );
    expect(plaintext.equals(csv)).toBe(true);
    const customer = await gpg.ok(['--with-colons', '--fingerprint', 'c@example.com']);
    expect(customer.toString()).toContain(`fpr:::::::::${result.signedBy ?? 'missing'}:`);
  });

  it('refuses a file signed by a key that is not registered with SIGNATURE_INVALID', async () => {
    const encrypted = await gpg.encrypt(csv, ours.fingerprint, ['--sign', '--local-user', 's@example.com']);
    expect(await failureCode(encrypted, options({ verificationKeys: [customerKey] }))).toBe('SIGNATURE_INVALID');
  });

  it('refuses an unsigned file when a signature is required with SIGNATURE_MISSING', async () => {
    const encrypted = await gpg.encrypt(csv, ours.fingerprint);
    expect(await failureCode(encrypted, options({ verificationKeys: [customerKey] }))).toBe('SIGNATURE_MISSING');
  });

  it('ignores signatures when no verification keys are given', async () => {
    const encrypted = await gpg.encrypt(csv, ours.fingerprint, ['--sign', '--local-user', 's@example.com']);
    const { plaintext, result } = await decryptAll(encrypted, options());
    expect(plaintext.equals(csv)).toBe(true);
    expect(result.signedBy).toBeUndefined();
  });

  it('decrypts a hidden recipient (--throw-keyids) with the flow key', async () => {
    const encrypted = await gpg.encrypt(csv, ours.fingerprint, ['--throw-keyids']);
    const { plaintext, result } = await decryptAll(encrypted, options());
    expect(plaintext.equals(csv)).toBe(true);
    expect(result.encryptedTo).toEqual(['0000000000000000']);
  });

  it('decrypts a file encrypted to several recipients including us', async () => {
    const encrypted = await gpg.ok(
      ['--encrypt', '-r', other.fingerprint, '-r', ours.fingerprint, '--output', '-'],
      csv,
    );
    const { plaintext, result } = await decryptAll(encrypted, options());
    expect(plaintext.equals(csv)).toBe(true);
    expect([...result.encryptedTo].sort()).toEqual([ours.keyIds[1], other.keyIds[1]].sort());
  });

  it('refuses a file for another key with NOT_ENCRYPTED_FOR_THIS_KEY and names its key ids', async () => {
    const encrypted = await gpg.encrypt(csv, other.fingerprint);
    const err = await failureOf(encrypted, options());
    expect(err.code).toBe('NOT_ENCRYPTED_FOR_THIS_KEY');
    expect(err.encryptedTo).toEqual([other.keyIds[1]]);
  });

  it('refuses a hidden-recipient file for another key with INTEGRITY_CHECK_FAILED (no oracle)', async () => {
    const encrypted = await gpg.encrypt(csv, other.fingerprint, ['--throw-keyids']);
    expect(await failureCode(encrypted, options())).toBe('INTEGRITY_CHECK_FAILED');
  });

  it('refuses a password-encrypted (symmetric) file with NOT_ENCRYPTED_FOR_THIS_KEY', async () => {
    const encrypted = await gpg.ok(['--symmetric', '--passphrase', 'x', '--output', '-'], csv);
    const err = await failureOf(encrypted, options());
    expect(err.code).toBe('NOT_ENCRYPTED_FOR_THIS_KEY');
    expect(err.encryptedTo).toEqual([]);
  });

  it('refuses a signed but unencrypted file with NOT_ENCRYPTED_FOR_THIS_KEY', async () => {
    const signed = await gpg.ok(['--sign', '--local-user', 'c@example.com', '--output', '-'], csv);
    expect(await failureCode(signed, options())).toBe('NOT_ENCRYPTED_FOR_THIS_KEY');
  });

  it('refuses data that is not OpenPGP with MALFORMED_PGP_MESSAGE', async () => {
    expect(await failureCode(csv, options())).toBe('MALFORMED_PGP_MESSAGE');
    expect(await failureCode(Buffer.alloc(0), options())).toBe('MALFORMED_PGP_MESSAGE');
    // Fixed bytes, not fresh random ones (random data is test/security/pgp-random-bytes.test.ts).
    const garbage = Buffer.concat(Array.from({ length: 64 }, (_, i) => createHash('sha512').update(`garbage ${i}`).digest()));
    garbage[0] = 0x3f; // no packet-header bit: not OpenPGP at all
    expect(await failureCode(garbage, options())).toBe('MALFORMED_PGP_MESSAGE');
    expect(await failureCode(Buffer.from('-----BEGIN PGP MESSAGE-----\n\nnot base64 !!\n'), options())).toBe(
      'MALFORMED_PGP_MESSAGE',
    );
  });

  it('reports a file truncated inside its header packets as MALFORMED_PGP_MESSAGE', async () => {
    const encrypted = await gpg.encrypt(csv, ours.fingerprint);
    expect(await failureCode(encrypted.subarray(0, 40), options())).toBe('MALFORMED_PGP_MESSAGE');
  });

  it('reports a file truncated inside its encrypted data as INTEGRITY_CHECK_FAILED', async () => {
    for (const extra of [['--compress-algo', 'none'], []]) {
      const encrypted = await gpg.encrypt(csv, ours.fingerprint, extra);
      for (const cut of [1, 21, Math.floor(encrypted.length / 2)]) {
        expect(await failureCode(encrypted.subarray(0, encrypted.length - cut), options())).toBe(
          'INTEGRITY_CHECK_FAILED',
        );
      }
    }
  });

  it('refuses with INVALID_PRIVATE_KEY when the passphrase is wrong', async () => {
    const encrypted = await gpg.encrypt(csv, ours.fingerprint);
    expect(await failureCode(encrypted, { ...options(), passphrase: 'wrong' })).toBe('INVALID_PRIVATE_KEY');
  });

  it('refuses a private key given as a verification key with PRIVATE_KEY_NOT_ALLOWED', async () => {
    const encrypted = await gpg.encrypt(csv, ours.fingerprint, ['--sign', '--local-user', 'c@example.com']);
    const secret = await gpg.exportSecret('c@example.com');
    expect(await failureCode(encrypted, options({ verificationKeys: [secret] }))).toBe('PRIVATE_KEY_NOT_ALLOWED');
  });

  // Node's DecompressionStream queues up to 16,384 input chunks whatever their size
  // (nodejs/node#62986), so OpenPGP.js's pipeThrough read a compressed file far ahead of its
  // reader: 445 MiB peak for a 1 GiB file. patches/openpgp+6.3.2.patch's zlib bridge queues one chunk.
  it.each([['zlib'], ['zip'], ['none']])(
    'reads a %s-compressed file only as far as its plaintext is read (no read-ahead)',
    async (algo) => {
      // Base64 of random bytes compresses to about 3/4: a 30 MiB file, about twice what the
      // pipeline's stages hold between them (1 MiB pieces, a few per stage).
      const plain = Buffer.from(randomBytes(30 * 1024 * 1024).toString('base64'));
      const encrypted = await gpg.encrypt(plain, ours.fingerprint, ['--compress-algo', algo]);
      let pulled = 0;
      const input = Readable.from(
        (function* () {
          for (let i = 0; i < encrypted.length; i += 64 * 1024) {
            const piece = encrypted.subarray(i, i + 64 * 1024);
            pulled += piece.length;
            yield piece;
          }
        })(),
      );
      const { plaintext, result } = await decryptStream(input, options());
      result.catch(() => undefined);

      let read = 0;
      for await (const chunk of plaintext) {
        read += (chunk as Buffer).length;
        if (read >= 1024 * 1024) break; // ends the iteration, destroying the plaintext below
        if (read >= 512 * 1024) await new Promise((r) => setTimeout(r, 500)); // a slow reader
      }
      expect(read).toBeGreaterThanOrEqual(1024 * 1024);
      expect(pulled).toBeLessThan(20 * 1024 * 1024);
      expect(encrypted.length).toBeGreaterThan(28 * 1024 * 1024);
    },
  );

  it('passes an I/O error of the input through unchanged', async () => {
    const encrypted = await gpg.encrypt(randomBytes(3 * 1024 * 1024), ours.fingerprint, ['--compress-algo', 'none']);
    const ioError = new Error('socket hang up');
    const input = Readable.from(
      (async function* () {
        yield encrypted.subarray(0, 1024 * 1024);
        await new Promise((r) => setTimeout(r, 10));
        throw ioError;
      })(),
    );
    const { plaintext, result } = await decryptStream(input, options());
    plaintext.on('error', () => undefined).resume();
    await expect(result).rejects.toBe(ioError);
  });

  it('rejects result when the caller destroys the plaintext early', async () => {
    const encrypted = await gpg.encrypt(randomBytes(2 * 1024 * 1024), ours.fingerprint, ['--compress-algo', 'none']);
    const { plaintext, result } = await decryptStream(readableOf(encrypted), options());
    plaintext.on('error', () => undefined);
    plaintext.destroy(new Error('caller gave up'));
    await expect(result).rejects.toThrow('caller gave up');
  });
});
