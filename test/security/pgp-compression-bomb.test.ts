import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptStream } from '../../shared/pgp/decrypt-stream.js';
import { PgpError } from '../../shared/pgp/errors.js';
import { generateKeyPair, type GeneratedKeyPair } from '../../shared/pgp/generate-key-pair.js';
import { GpgHome } from '../support/gpg.js';
import { decryptAll, readableOf } from '../pgp/support.js';

/**
 * Attack: a compression bomb. 100 MiB of zeros compresses to a few hundred KiB; decompressing
 * it into memory or storage unchecked exhausts both. The plaintext byte counter must stop it at
 * the limit, without inflating the rest. (The ratio limit would stop these first; it is off here
 * to test the size limit on its own: compression-ratio-bomb.test.ts tests the ratio.)
 */
describe('compression bomb', () => {
  const MiB = 1024 * 1024;
  let gpg: GpgHome;
  let ours: GeneratedKeyPair;
  const zeros = Buffer.alloc(100 * MiB);

  beforeAll(async () => {
    gpg = await GpgHome.create();
    ours = await generateKeyPair({ passphrase: 'p' });
    await gpg.importKey(ours.publicKeyArmored);
  });
  afterAll(async () => gpg.dispose());

  it.each([['zlib'], ['zip'], ['bzip2']])('stops a %s bomb at maxBytes with FILE_TOO_LARGE', async (algo) => {
    const bomb = await gpg.encrypt(zeros, ours.fingerprint, ['--compress-algo', algo, '--compress-level', '9']);
    expect(bomb.length).toBeLessThan(MiB);

    const started = Date.now();
    let delivered = 0;
    // zlib/zip stop in the plaintext stream; bzip2 inflates a whole block up front, so the limit
    // may already fire before decryptStream returns.
    const err = await (async () => {
      const { plaintext, result } = await decryptStream(readableOf(bomb), {
        privateKeyArmored: ours.privateKeyArmored,
        passphrase: 'p',
        maxBytes: 10 * MiB,
        maxCompressionRatio: Infinity,
      });
      const streamError = await (async () => {
        try {
          for await (const chunk of plaintext) delivered += (chunk as Buffer).length;
          return undefined;
        } catch (e) {
          return e;
        }
      })();
      const resultError = await result.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(streamError).toBe(resultError);
      return resultError;
    })().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PgpError);
    expect((err as PgpError).code).toBe('FILE_TOO_LARGE');
    expect(delivered).toBeLessThanOrEqual(10 * MiB);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('accepts a file of exactly maxBytes and refuses one byte more', async () => {
    const limit = 256 * 1024;
    const exact = await gpg.encrypt(Buffer.alloc(limit, 7), ours.fingerprint);
    const over = await gpg.encrypt(Buffer.alloc(limit + 1, 7), ours.fingerprint);
    const ok = await decryptAll(exact, { privateKeyArmored: ours.privateKeyArmored, passphrase: 'p', maxBytes: limit });
    expect(ok.result.bytes).toBe(limit);
    await expect(
      decryptAll(over, { privateKeyArmored: ours.privateKeyArmored, passphrase: 'p', maxBytes: limit }),
    ).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' });
  });
});
