import { randomBytes } from 'node:crypto';
import { ReadableStream } from 'node:stream/web';
import { readMessage } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGP_CONFIG } from '../../shared/pgp/config.js';
import { generateKeyPair, type GeneratedKeyPair } from '../../shared/pgp/generate-key-pair.js';
import { rechunk, rechunkEncryptedData } from '../../shared/pgp/lib/rechunk.js';
import { GpgHome } from '../support/gpg.js';

function streamOf(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[i++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

describe('rechunk', () => {
  it('passes the first chunk on at once, then joins the rest into chunks of at least the minimum, byte for byte', async () => {
    const data = randomBytes(100_000);
    const pieces = Array.from({ length: 25 }, (_, i) => data.subarray(i * 4000, (i + 1) * 4000));
    const out = await collect(rechunk(streamOf(pieces), 16_384));
    expect(Buffer.concat(out)).toEqual(data);
    expect(out[0]?.length).toBe(4000);
    expect(out.slice(1, -1).every((c) => c.length >= 16_384)).toBe(true);
    expect(out.length).toBeLessThan(8);
  });

  it('errors with the source error', async () => {
    const failure = new Error('source failed');
    let n = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (n++ < 3) controller.enqueue(new Uint8Array(10));
        else controller.error(failure);
      },
    });
    await expect(collect(rechunk(source, 1024))).rejects.toBe(failure);
  });
});

describe('rechunkEncryptedData', () => {
  let gpg: GpgHome;
  let key: GeneratedKeyPair;

  beforeAll(async () => {
    gpg = await GpgHome.create();
    key = await generateKeyPair({ passphrase: 'rechunk test passphrase' });
    await gpg.importKey(key.publicKeyArmored);
  });
  afterAll(async () => gpg.dispose());

  // The hook relies on a field the library's typings do not declare: an upgrade that renames it
  // must fail here, not silently halve decryption throughput.
  it('still finds the streamed ciphertext of a gpg message (openpgp internals it relies on)', async () => {
    const encrypted = await gpg.encrypt(randomBytes(64 * 1024), key.fingerprint, ['--compress-algo', 'none']);
    const message = await readMessage({ binaryMessage: streamOf([encrypted]), config: PGP_CONFIG });
    expect(rechunkEncryptedData(message, 1024 * 1024)).toBe(1);
  });
});
