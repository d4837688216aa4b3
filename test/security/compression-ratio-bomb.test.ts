import { execFileSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, deflateRawSync, deflateSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import type { ContainerClient } from '@azure/storage-blob';
import { zipSync } from 'fflate';
import { generateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompressionType } from '../../shared/flows/source-connections.js';
import { decompressor } from '../../shared/ingestion/decompress.js';
import { RunFailure } from '../../shared/ingestion/run-failure.js';
import { COMPRESSION_RATIO_EXEMPT_BYTES, MAX_COMPRESSION_RATIO, PGP_CONFIG } from '../../shared/pgp/config.js';
import { decryptStream } from '../../shared/pgp/decrypt-stream.js';
import { PgpError } from '../../shared/pgp/errors.js';
import { ApiClient, landingZone, waitForRun } from '../support/api-client.js';
import { GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { encryptInnerBytes, gzipBomb, literalPacket, packet, packetHeader, zlibBomb } from './support/pgp-packets.js';

/**
 * Attack: a compression bomb of a few KiB that only MAX_FILE_BYTES stopped, at 1 GiB of work.
 * bzip2 turns 45.9 MB of zeros into one block of 72 bytes, so 25 such streams back to back (as
 * pbzip2 writes them) are 1.8 KiB that inflate to 1.07 GiB; deflate tops out near 1,000:1, so
 * its bomb is 1.1 MiB. Each is sent in the message's Compressed Data packet and, decrypted, as
 * the plaintext of a flow with that `compressionType`. Every inflate must refuse it with
 * COMPRESSION_RATIO_EXCEEDED once its output passes the ratio limit: these bombs inflate 1,000:1
 * or more from their first block, so each must stop within a few MiB of the exempt output
 * (COMPRESSION_RATIO_EXEMPT_BYTES), counted in bytes inflated. Data that compresses less than
 * the limit, and small files that compress better, must pass. Through the ingestion, a bomb nested
 * in both (a PGP compressed packet around a gzip file) must fail too, though each of its layers
 * stays under the limit: the ratio also holds for the whole file.
 */

const MiB = 1024 * 1024;
const PASSPHRASE = 'p';
/** Zeros one bzip2 -9 block holds: 900,000 bytes of 4-byte runs plus a count of 251 (RLE1). */
const BZIP2_BLOCK_ZEROS = 45_900_000;
const BZIP2_STREAMS = 25;
const DEFLATE_BOMB_MIB = 1100;
/** How far past the limit an inflate may get before it notices: "a few MiB". */
const SLACK = 2 * MiB;
const LIMIT = COMPRESSION_RATIO_EXEMPT_BYTES + SLACK;

const cli = (cmd: string, args: string[], input: Buffer) => execFileSync(cmd, args, { input, maxBuffer: 64 * MiB });

/** A literal packet header claiming `dataBytes` of binary data, with a 5-octet length. */
function literalHead(dataBytes: number): Buffer {
  return Buffer.concat([packetHeader(11, 6 + dataBytes, true), Buffer.of(0x62, 0, 0, 0, 0, 0)]);
}

/**
 * CSV as repetitive as real exports get: sequential timestamps, a constant event, channel and
 * locale, 17 empty columns and zero counters (deflate ~110:1, bzip2 ~125:1).
 */
function eventLog(bytes: number): Buffer {
  const lines = ['ts,event,channel,locale,a,b,c,d,e,f,g,h,i,j,k,l,m,n,x,y,z\n'];
  let size = lines[0]?.length ?? 0;
  for (let i = 0; size < bytes; i++) {
    const line = `${1_700_000_000 + Math.floor(i / 10)},page_view,web,en-US,,,,,,,,,,,,,,,0,0,0\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

interface Outcome {
  /** Bytes that came out of the decryption or the decompressor before it ended. */
  readonly delivered: number;
  readonly error?: unknown;
}

/** Bytes the inflater reports it had produced when it refused (in the error's `cause`). */
function inflatedBytes(err: unknown): number | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    const counted = (e as { decompressedBytes?: unknown }).decompressedBytes;
    if (typeof counted === 'number') return counted;
  }
  return undefined;
}

const codeOf = (err: unknown) => (err instanceof PgpError || err instanceof RunFailure ? err.code : String(err));

let opts: { privateKeyArmored: string; passphrase: string };
let publicKeyArmored: string;
let bzip2Zeros: Buffer;

beforeAll(async () => {
  const key = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'bombs' }], passphrase: PASSPHRASE, format: 'object', config: { ...PGP_CONFIG, s2kIterationCountByte: 0 } });
  publicKeyArmored = key.publicKey.armor(PGP_CONFIG);
  opts = { privateKeyArmored: key.privateKey.armor(PGP_CONFIG), passphrase: PASSPHRASE };
  bzip2Zeros = cli('bzip2', ['-9', '-c'], Buffer.alloc(BZIP2_BLOCK_ZEROS));
});

/** Decrypts `message` to the end (the plaintext is counted, not kept), as the ingestion does. */
async function decrypt(message: Buffer, keep = false): Promise<Outcome & { plaintext?: Buffer }> {
  let delivered = 0;
  const kept: Buffer[] = [];
  try {
    const { plaintext, result } = await decryptStream(Readable.from([message]), opts);
    for await (const chunk of plaintext) {
      delivered += (chunk as Buffer).length;
      if (keep) kept.push(chunk as Buffer);
    }
    await result;
    return { delivered, ...(keep ? { plaintext: Buffer.concat(kept) } : {}) };
  } catch (error) {
    return { delivered, error };
  }
}

/** Runs `data` through a flow's decompressor with the 1 GiB file limit, counting its output. */
async function inflate(type: CompressionType, data: Buffer, keep = false): Promise<Outcome & { output?: Buffer }> {
  let delivered = 0;
  const kept: Buffer[] = [];
  const pieces = (function* () {
    for (let i = 0; i < data.length; i += 64 * 1024) yield data.subarray(i, i + 64 * 1024);
  })();
  try {
    await pipeline(
      Readable.from(pieces),
      decompressor(type, 1024 ** 3),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          delivered += chunk.length;
          if (keep) kept.push(chunk);
          callback();
        },
      }),
    );
    return { delivered, ...(keep ? { output: Buffer.concat(kept) } : {}) };
  } catch (error) {
    return { delivered, error };
  }
}

describe('a compression bomb in the PGP message (Compressed Data packet)', () => {
  it('refuses a 1.8 KiB BZip2 packet inflating to 1.07 GiB with COMPRESSION_RATIO_EXCEEDED within a few MiB', async () => {
    const dataBytes = BZIP2_STREAMS * BZIP2_BLOCK_ZEROS - 12;
    const head = literalHead(dataBytes);
    const first = cli('bzip2', ['-9', '-c'], Buffer.concat([head, Buffer.alloc(BZIP2_BLOCK_ZEROS - head.length)]));
    const body = Buffer.concat([first, ...Array.from({ length: BZIP2_STREAMS - 1 }, () => bzip2Zeros)]);
    expect(body.length).toBeLessThan(2048);
    expect(dataBytes).toBeGreaterThan(1024 ** 3);

    const outcome = await decrypt(await encryptInnerBytes(publicKeyArmored, packet(8, Buffer.concat([Buffer.of(3), body]))));
    const inflated = inflatedBytes(outcome.error);
    console.info(`PGP bzip2 bomb: ${codeOf(outcome.error)}, ${outcome.delivered} bytes delivered, ${inflated} inflated`);
    expect(codeOf(outcome.error)).toBe('COMPRESSION_RATIO_EXCEEDED');
    expect((outcome.error as PgpError).maxCompressionRatio).toBe(MAX_COMPRESSION_RATIO);
    expect(inflated).toBeDefined();
    expect(inflated).toBeLessThanOrEqual(LIMIT);
    expect(outcome.delivered).toBeLessThanOrEqual(inflated ?? 0);
  }, 180_000);

  it('refuses a 1.1 MiB ZLIB packet inflating to 1.07 GiB with COMPRESSION_RATIO_EXCEEDED within a few MiB', async () => {
    const body = zlibBomb(literalHead(DEFLATE_BOMB_MIB * MiB), DEFLATE_BOMB_MIB);
    expect(body.length).toBeLessThan(1.2 * MiB);

    const outcome = await decrypt(await encryptInnerBytes(publicKeyArmored, packet(8, Buffer.concat([Buffer.of(2), body]))));
    const inflated = inflatedBytes(outcome.error);
    console.info(`PGP zlib bomb: ${codeOf(outcome.error)}, ${outcome.delivered} bytes delivered, ${inflated} inflated`);
    expect(codeOf(outcome.error)).toBe('COMPRESSION_RATIO_EXCEEDED');
    expect(inflated).toBeDefined();
    expect(inflated).toBeLessThanOrEqual(LIMIT);
    expect(outcome.delivered).toBeLessThanOrEqual(inflated ?? 0);
  }, 180_000);

  it('decrypts a repetitive export compressed under the limit, and a small file compressed far beyond it', async () => {
    const csv = eventLog(24 * MiB);
    for (const [algorithm, compressed] of [
      [2, deflateSync(literalPacket(csv), { level: 9 })],
      [3, cli('bzip2', ['-9', '-c'], literalPacket(csv))],
    ] as const) {
      const ratio = csv.length / compressed.length;
      // Past the exempt output, and close enough to the limit that the check is exercised.
      expect(ratio, `algorithm ${algorithm}`).toBeGreaterThan(100);
      expect(ratio, `algorithm ${algorithm}`).toBeLessThan(MAX_COMPRESSION_RATIO);
      const outcome = await decrypt(await encryptInnerBytes(publicKeyArmored, packet(8, Buffer.concat([Buffer.of(algorithm), compressed]))), true);
      expect(outcome.error, `algorithm ${algorithm}`).toBeUndefined();
      expect(outcome.plaintext?.equals(csv)).toBe(true);
    }
    // 3 MiB of one line: ~1,000:1, but under the exempt output.
    const line = Buffer.from('1700000000,page_view,web,en-US,,,,,,,,,,,,,,,0,0,0\n'.repeat(60_000)).subarray(0, 3 * MiB);
    const small = await decrypt(await encryptInnerBytes(publicKeyArmored, packet(8, Buffer.concat([Buffer.of(2), deflateSync(literalPacket(line), { level: 9 })]))));
    expect(small.error).toBeUndefined();
    expect(small.delivered).toBe(line.length);
  }, 120_000);
});

describe("a compression bomb as the plaintext of a flow's compressionType", () => {
  it.each([
    ['bzip2', '1.8 KiB', () => Buffer.concat(Array.from({ length: BZIP2_STREAMS }, () => bzip2Zeros)), 2048],
    ['gzip', '1.1 MiB', () => gzipBomb(DEFLATE_BOMB_MIB), 1.2 * MiB],
    ['zip', '64 KiB', () => Buffer.from(zipSync({ 'bomb.csv': new Uint8Array(64 * MiB) }, { level: 9 })), 128 * 1024],
  ] as const)('refuses %s (%s) with COMPRESSION_RATIO_EXCEEDED within a few MiB', async (type, _size, make, maxSize) => {
    const bomb = make();
    expect(bomb.length).toBeLessThan(maxSize);
    const outcome = await inflate(type, bomb);
    const inflated = inflatedBytes(outcome.error);
    console.info(`flow ${type} bomb: ${codeOf(outcome.error)}, ${outcome.delivered} bytes delivered, ${inflated} inflated`);
    expect(codeOf(outcome.error)).toBe('COMPRESSION_RATIO_EXCEEDED');
    expect(inflated).toBeDefined();
    expect(inflated).toBeLessThanOrEqual(LIMIT);
    // bzip2 hands a block on once it is decoded: what it delivered is below what it inflated.
    expect(outcome.delivered).toBeLessThanOrEqual(inflated ?? 0);
  }, 180_000);

  it('inflates a repetitive export compressed under the limit, and a small file compressed far beyond it', async () => {
    const csv = eventLog(24 * MiB);
    for (const [type, compressed] of [
      ['gzip', gzipSync(csv)],
      ['bzip2', cli('bzip2', ['-9', '-c'], csv)],
      ['zip', Buffer.from(zipSync({ 'export.csv': csv }))],
    ] as const) {
      const ratio = csv.length / compressed.length;
      expect(ratio, type).toBeGreaterThan(100);
      expect(ratio, type).toBeLessThan(MAX_COMPRESSION_RATIO);
      const outcome = await inflate(type, compressed, true);
      expect(outcome.error, type).toBeUndefined();
      expect(outcome.output?.equals(csv), type).toBe(true);
    }
    const small = await inflate('gzip', gzipSync(Buffer.alloc(3 * MiB, 'a'), { level: 9 }));
    expect(small.error).toBeUndefined();
    expect(small.delivered).toBe(3 * MiB);
  }, 120_000);
});

/**
 * A gzip member of `copies` MiB that inflates ~170:1 (under the limit), made of one self-contained
 * deflate block repeated, so that it deflates again ~150:1: each layer passes its own check.
 */
function nestableGzip(copies: number): Buffer {
  const csv = eventLog(MiB);
  const block = deflateRawSync(csv, { level: 9, finishFlush: zlibConstants.Z_FULL_FLUSH });
  let crc = 0;
  for (let i = 0; i < copies; i++) crc = crc32(csv, crc);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((copies * MiB) % 2 ** 32, 4);
  const header = Buffer.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff);
  return Buffer.concat([header, ...Array.from({ length: copies }, () => block), Buffer.of(0x03, 0x00), trailer]);
}

describe('a compression bomb landed in a zone, through the ingestion', () => {
  const ORG = 'CF0017BOMB@AdobeOrg';
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let api: ApiClient;
  let gpg: GpgHome;
  let landing: ContainerClient;
  let flowPublicKey: string;
  const flows = { plain: '', gzip: '' };

  beforeAll(async () => {
    gpg = await GpgHome.create();
    stack = await startLocalStack();
    runtime = await startRuntime({ ...stack.env, CIPHERFLOW_QUEUE_MAX_POLL_MS: '200' });
    api = new ApiClient(runtime.url, ORG);
    landing = await landingZone(api);
    const key = await api.json<{ publicKey: string; publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/keys', {
      name: 'bomb key',
      encryptionAlgorithm: 'PGP',
      params: { passPhrase: 'compression bombs' },
    });
    flowPublicKey = Buffer.from(key.publicKey, 'base64').toString('utf8');
    await gpg.importKey(flowPublicKey);
    const [dataSetRef] = await api.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: 'bombs' });
    const target = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', {
      name: 'to bombs',
      params: { dataSetId: dataSetRef?.split('/')[2] ?? '' },
    });
    for (const kind of ['plain', 'gzip'] as const) {
      const source = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', {
        name: `landing ${kind}`,
        data: { format: 'delimited', ...(kind === 'gzip' ? { properties: { compressionType: 'gzip' } } : {}) },
        params: { path: `/${kind}/*.csv.gpg` },
      });
      flows[kind] = (
        await api.json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
          name: `flow ${kind}`,
          sourceConnectionIds: [source.id],
          targetConnectionIds: [target.id],
          transformations: [{ name: 'Encryption', params: { publicKeyId: key.publicKeyId } }],
        })
      ).id;
    }
  }, 180_000);

  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
    await gpg?.dispose();
  });

  async function land(kind: keyof typeof flows, name: string, message: Buffer) {
    const path = `${kind}/${name}`;
    const uploaded = await landing.getBlockBlobClient(path).uploadData(message);
    return waitForRun(api, flows[kind], path, { etag: uploaded.etag ?? '', timeoutMs: 170_000 });
  }

  it('fails a 1.8 KiB BZip2 packet bomb with COMPRESSION_RATIO_EXCEEDED and no batch', async () => {
    const dataBytes = BZIP2_STREAMS * BZIP2_BLOCK_ZEROS - 12;
    const head = literalHead(dataBytes);
    const first = cli('bzip2', ['-9', '-c'], Buffer.concat([head, Buffer.alloc(BZIP2_BLOCK_ZEROS - head.length)]));
    const body = Buffer.concat([first, ...Array.from({ length: BZIP2_STREAMS - 1 }, () => bzip2Zeros)]);
    const run = await land('plain', 'bzip2-packet.csv.gpg', await encryptInnerBytes(flowPublicKey, packet(8, Buffer.concat([Buffer.of(3), body]))));
    expect(run.errors[0]?.code).toBe('COMPRESSION_RATIO_EXCEEDED');
    expect(run.errors[0]?.message).toContain(String(MAX_COMPRESSION_RATIO));
    expect(run.batchId).toBeUndefined();
  }, 180_000);

  it('fails a gzip bomb under compressionType gzip with COMPRESSION_RATIO_EXCEEDED and no batch', async () => {
    const run = await land('gzip', 'gzip-bomb.csv.gpg', await gpg.encrypt(gzipBomb(DEFLATE_BOMB_MIB), 'bomb key', ['--compress-algo', 'none']));
    expect(run.errors[0]?.code).toBe('COMPRESSION_RATIO_EXCEEDED');
    expect(run.batchId).toBeUndefined();
  }, 180_000);

  it('fails a bomb nested in a ZLIB packet and gzip, each layer under the limit, with COMPRESSION_RATIO_EXCEEDED', async () => {
    // 3.6 MiB of gzip (under the exempt output) inflating 170:1 to 600 MiB, in 24 KiB of ZLIB
    // (150:1): 25,000:1 in all, where the whole file may reach 250 x 24 KiB = 6 MiB.
    const inner = nestableGzip(600);
    expect(inner.length).toBeLessThan(COMPRESSION_RATIO_EXEMPT_BYTES);
    const outer = deflateSync(literalPacket(inner), { level: 9 });
    expect(outer.length).toBeLessThan(32 * 1024);
    const run = await land('gzip', 'nested.csv.gpg', await encryptInnerBytes(flowPublicKey, packet(8, Buffer.concat([Buffer.of(2), outer]))));
    expect(run.errors[0]?.code).toBe('COMPRESSION_RATIO_EXCEEDED');
    expect(run.batchId).toBeUndefined();
  }, 180_000);

  it('ingests a repetitive export under the limit, gzip-compressed, byte count intact', async () => {
    const csv = eventLog(24 * MiB);
    const run = await land('gzip', 'export.csv.gpg', await gpg.encrypt(gzipSync(csv), 'bomb key', ['--compress-algo', 'none']));
    expect(run.errors).toEqual([]);
    expect(run.status).toBe('success');
    expect(run.metrics.outputBytes).toBe(csv.length);
  }, 180_000);
});
