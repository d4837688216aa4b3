import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { writeBody } from '../../cli/commands/export.js';
import { createHpkeFetch, generateClientKeyPair, HPKE_CHUNKED_MEDIA_TYPE, type ClientKeyPair } from '../../shared/hpke/client.js';
import { sealStream } from '../../shared/hpke/seal-stream.js';
import { DEFAULT_SUITE } from '../../shared/hpke/suites.js';

const URL = 'https://cipherflow.example/data/foundation/export/files/f1';
const ORG = 'ACME1234@AdobeOrg';

async function sealedExport(clientKey: ClientKeyPair, plain: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  const binding = { method: 'GET', path: new globalThis.URL(URL).pathname, status: 200, org: ORG, sandbox: 'prod' };
  for await (const p of sealStream(clientKey, DEFAULT_SUITE.kdf, DEFAULT_SUITE.aead, binding, [plain])) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

/** `cipherflow export --hpke` writes through {@link writeBody} from the client module's opened stream. */
async function exportTo(clientKey: ClientKeyPair, answer: Buffer, out: string): Promise<void> {
  const hpkeFetch = createHpkeFetch({
    serverKey: () => Promise.reject(new Error('a GET sends no body')),
    clientKey,
    fetch: () => Promise.resolve(new Response(answer, { status: 200, headers: { 'content-type': HPKE_CHUNKED_MEDIA_TYPE } })),
  });
  await writeBody(await hpkeFetch(URL, { headers: { 'x-gw-ims-org-id': ORG } }), out, new PassThrough());
}

describe('cipherflow export --hpke', () => {
  it('writes the opened file to --out', async () => {
    const clientKey = await generateClientKeyPair(2);
    const plain = Buffer.alloc(300_000, 3);
    const out = path.join(await mkdtemp(path.join(tmpdir(), 'cf-export-')), 'f.csv');
    await exportTo(clientKey, await sealedExport(clientKey, plain), out);
    expect((await readFile(out)).equals(plain)).toBe(true);
  });

  it('fails with exit 1 and HPKE_STREAM_TRUNCATED for a stream without its final chunk, leaving no --out file', async () => {
    const clientKey = await generateClientKeyPair(2);
    const whole = await sealedExport(clientKey, Buffer.alloc(300_000, 3));
    const dir = await mkdtemp(path.join(tmpdir(), 'cf-export-'));
    const out = path.join(dir, 'f.csv');
    const failure = await exportTo(clientKey, whole.subarray(0, whole.byteLength - 50_000), out).catch((err: unknown) => err);
    expect(failure).toMatchObject({ name: 'CliError', exitCode: 1, message: expect.stringContaining('HPKE_STREAM_TRUNCATED') as unknown });
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial-${process.pid}`)).toBe(false);
  });

  it('fails with HPKE_DECRYPT_FAILED for a tampered chunk', async () => {
    const clientKey = await generateClientKeyPair(2);
    const tampered = Buffer.from(await sealedExport(clientKey, Buffer.alloc(300_000, 3)));
    tampered[100_000] = (tampered[100_000] ?? 0) ^ 1;
    const out = path.join(await mkdtemp(path.join(tmpdir(), 'cf-export-')), 'f.csv');
    await expect(exportTo(clientKey, tampered, out)).rejects.toMatchObject({ exitCode: 1, message: expect.stringContaining('HPKE_DECRYPT_FAILED') as unknown });
    expect(existsSync(out)).toBe(false);
  });
});
