import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptStream } from '../../shared/pgp/decrypt-stream.js';
import { PgpError } from '../../shared/pgp/errors.js';
import { generateKeyPair, type GeneratedKeyPair } from '../../shared/pgp/generate-key-pair.js';
import { GpgHome } from '../support/gpg.js';
import { readableOf } from '../pgp/support.js';

/**
 * Attack: data after an armored message's END line. OpenPGP.js stops at the first END line and
 * ignores the rest, so `cat ours.asc theirs.asc > customers.csv.gpg` ingested the first message
 * alone: a second message (for us or anyone), or any text, went unnoticed, and a file that other
 * tools read differently passed. Anything but whitespace after the END line must be refused with
 * MALFORMED_PGP_MESSAGE, however the file is split into reads; whitespace and CRLF armor pass.
 */
describe('armored message followed by more data', () => {
  let gpg: GpgHome;
  let ours: GeneratedKeyPair;
  let first: Buffer;
  let second: Buffer;
  let binary: Buffer;
  const options = () => ({ privateKeyArmored: ours.privateKeyArmored, passphrase: 'p' });

  beforeAll(async () => {
    gpg = await GpgHome.create();
    ours = await generateKeyPair({ passphrase: 'p' });
    await gpg.importKey(ours.publicKeyArmored);
    first = await gpg.encrypt('id,name\n1,Ada\n', ours.fingerprint, ['--armor']);
    second = await gpg.encrypt('id,name\n2,Mallory\n', ours.fingerprint, ['--armor']);
    binary = await gpg.encrypt('id,name\n3,Eve\n', ours.fingerprint);
  });
  afterAll(async () => gpg.dispose());

  /** Decrypts `data` read in `chunk`-byte pieces: the plaintext, or the PgpError code. */
  async function outcome(data: Buffer, chunk: number): Promise<string> {
    try {
      const { plaintext, result } = await decryptStream(readableOf(data, chunk), options());
      const parts: Buffer[] = [];
      for await (const part of plaintext) parts.push(part as Buffer);
      await result;
      return Buffer.concat(parts).toString();
    } catch (err) {
      if (err instanceof PgpError) return err.code;
      throw err;
    }
  }

  it.each([
    ['a second armored message to the same key', () => Buffer.concat([first, second])],
    ['a second armored message after blank lines', () => Buffer.concat([first, Buffer.from('\n\n'), second])],
    ['a line of text', () => Buffer.concat([first, Buffer.from('hello\n')])],
    ['one character without a newline', () => Buffer.concat([first, Buffer.from('x')])],
    ['a binary message', () => Buffer.concat([first, binary])],
  ])('refuses %s after the END line with MALFORMED_PGP_MESSAGE', async (_label, build) => {
    const data = build();
    // Whole, in 64 KiB reads, and in 7-byte reads (the END line and what follows split across reads).
    for (const chunk of [data.length, 64 * 1024, 7]) {
      expect(await outcome(data, chunk), `reads of ${chunk} bytes`).toBe('MALFORMED_PGP_MESSAGE');
    }
  });

  it('decrypts an armored message followed only by whitespace, and one with CRLF line ends', async () => {
    for (const chunk of [64 * 1024, 7]) {
      expect(await outcome(first, chunk)).toBe('id,name\n1,Ada\n');
      expect(await outcome(Buffer.concat([first, Buffer.from('\n \t\r\n\n')]), chunk)).toBe('id,name\n1,Ada\n');
      expect(await outcome(Buffer.from(first.toString().replaceAll('\n', '\r\n')), chunk)).toBe('id,name\n1,Ada\n');
    }
  });
});
