import { Readable } from 'node:stream';
import * as PanvaHpke from 'hpke';
import { AEAD_AES_256_GCM, AEAD_ChaCha20Poly1305, KDF_HKDF_SHA256, KEM_DHKEM_P256_HKDF_SHA256, KEM_DHKEM_X25519_HKDF_SHA256 } from '@panva/hpke-noble';
import { describe, expect, it } from 'vitest';
import { decryptResponseStream, generateClientKeyPair, type ClientKeyPair } from '../../shared/hpke/client.js';
import { sealStream } from '../../shared/hpke/seal-stream.js';
import { STREAM_CHUNK_BYTES } from '../../shared/hpke/stream-format.js';
import { AEADS, KDFS } from '../../shared/hpke/suites.js';
import type { ResponseBinding } from '../../shared/hpke/wire-format.js';

const BINDING: ResponseBinding = { method: 'GET', path: '/data/foundation/export/files/f1', status: 200, org: 'ACME1234@AdobeOrg', sandbox: 'prod' };
const MiB = 1024 * 1024;

function resolved(pair: ClientKeyPair) {
  return { keyId: pair.keyId, kemId: pair.kemId, publicKey: pair.publicKey };
}

/** `total` bytes of a repeating pattern in pieces of `piece` bytes, made as they are read (nothing held). */
function* pattern(total: number, piece: number): Generator<Uint8Array> {
  const block = Buffer.alloc(piece);
  for (let i = 0; i < piece; i++) block[i] = i % 251;
  for (let sent = 0; sent < total; sent += piece) yield block.subarray(0, Math.min(piece, total - sent));
}

async function collect(stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of stream) parts.push(p);
  return Buffer.concat(parts);
}

async function open(pair: ClientKeyPair, sealed: AsyncIterable<Uint8Array>, binding: ResponseBinding = BINDING): Promise<Buffer> {
  return collect(decryptResponseStream({ clientKey: pair, method: binding.method, url: binding.path, status: binding.status, org: binding.org, sandbox: binding.sandbox, body: sealed }));
}

describe('the streamed HPKE format (application/octet-stream+hpke-chunked)', () => {
  it.each([0, 1, STREAM_CHUNK_BYTES - 1, STREAM_CHUNK_BYTES, STREAM_CHUNK_BYTES + 1, 3 * STREAM_CHUNK_BYTES])('round-trips %i bytes with exactly one final chunk', async (size) => {
    const pair = await generateClientKeyPair(4);
    const plain = await collect(pattern(size, 7000));
    const sealed = await collect(sealStream(resolved(pair), KDFS.HKDF_SHA256, AEADS.AES_256_GCM, BINDING, [plain]));
    const chunks = Math.max(1, Math.ceil(size / STREAM_CHUNK_BYTES));
    // hdr, enc, then per chunk a varint (4 bytes for a full chunk) and 16 bytes of tag.
    expect(sealed.byteLength).toBeGreaterThanOrEqual(7 + 32 + size + chunks * 17);
    expect((await open(pair, Readable.from([sealed]))).equals(plain)).toBe(true);
  });

  it('refuses a stream opened for another org, sandbox, path or status with HPKE_DECRYPT_FAILED', async () => {
    const pair = await generateClientKeyPair(4);
    const sealed = await collect(sealStream(resolved(pair), KDFS.HKDF_SHA256, AEADS.AES_256_GCM, BINDING, pattern(100_000, 4096)));
    for (const moved of [{ org: 'OTHER0001@AdobeOrg' }, { sandbox: 'dev' }, { path: '/data/foundation/export/files/f2' }, { status: 206 }]) {
      await expect(open(pair, Readable.from([sealed]), { ...BINDING, ...moved })).rejects.toMatchObject({ code: 'HPKE_DECRYPT_FAILED' });
    }
  });

  it('fails without a final chunk when the source fails, so the client sees HPKE_STREAM_TRUNCATED', async () => {
    const pair = await generateClientKeyPair(4);
    function* failing(): Generator<Uint8Array> {
      yield* pattern(3 * STREAM_CHUNK_BYTES, 8192);
      throw new Error('storage went away');
    }
    const parts: Uint8Array[] = [];
    await expect(
      (async () => {
        for await (const p of sealStream(resolved(pair), KDFS.HKDF_SHA256, AEADS.AES_256_GCM, BINDING, failing())) parts.push(p as Uint8Array);
      })(),
    ).rejects.toThrow('storage went away');
    await expect(open(pair, Readable.from([Buffer.concat(parts)]))).rejects.toMatchObject({ code: 'HPKE_STREAM_TRUNCATED' });
  });

  it('refuses to seal more chunks than allowed (the sender side of sequence overflow)', async () => {
    const pair = await generateClientKeyPair(4);
    const sealing = collect(sealStream(resolved(pair), KDFS.HKDF_SHA256, AEADS.AES_256_GCM, BINDING, pattern(5 * 1024, 1024), { chunkBytes: 1024, maxChunks: 3 }));
    await expect(sealing).rejects.toThrow(RangeError);
  });

  it('yields to the event loop between chunks while sealing and while opening (turns counted)', async () => {
    const pair = await generateClientKeyPair(4);
    let turns = 0;
    let running = true;
    const tick = (): void => {
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const sealed = await collect(sealStream(resolved(pair), KDFS.HKDF_SHA256, AEADS.AES_256_GCM, BINDING, pattern(64 * STREAM_CHUNK_BYTES, STREAM_CHUNK_BYTES)));
    const afterSeal = turns;
    await open(pair, Readable.from([sealed]));
    running = false;
    expect(afterSeal).toBeGreaterThanOrEqual(63);
    expect(turns - afterSeal).toBeGreaterThanOrEqual(63);
  });

  it('stays flat in memory for a 1 GiB export, sealed and opened as it streams (peak RSS and heap growth counted)', async () => {
    const pair = await generateClientKeyPair(4);
    const total = 1024 * MiB;
    globalThis.gc?.();
    const base = process.memoryUsage();
    let peakRss = base.rss;
    let peakHeap = base.heapUsed;
    let bytes = 0;
    let chunks = 0;
    const sealed = sealStream(resolved(pair), KDFS.HKDF_SHA256, AEADS.AES_256_GCM, { ...BINDING, path: '/big' }, Readable.from(pattern(total, 256 * 1024)));
    for await (const piece of decryptResponseStream({ clientKey: pair, method: 'GET', url: '/big', status: 200, org: BINDING.org, sandbox: BINDING.sandbox, body: sealed })) {
      bytes += piece.byteLength;
      if (++chunks % 256 === 0) {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss);
        peakHeap = Math.max(peakHeap, m.heapUsed);
      }
    }
    expect(bytes).toBe(total);
    expect(chunks).toBe(total / STREAM_CHUNK_BYTES);
    // A buffered implementation would grow by the whole GiB; a streaming one by a few chunks.
    expect((peakRss - base.rss) / MiB).toBeLessThan(96);
    expect((peakHeap - base.heapUsed) / MiB).toBeLessThan(64);
  }, 120_000);
});

describe('interop: a second RFC 9180 implementation (hpke + @panva/hpke-noble) opens our chunks', () => {
  for (const [kemId, aeadId] of [
    [0x20, 2],
    [0x20, 3],
    [0x10, 2],
  ] as const) {
    it(`opens every chunk with one recipient context, the final mark and sequence in the aad (KEM ${kemId}, AEAD ${aeadId})`, async () => {
      const pair = await generateClientKeyPair(9, kemId);
      const plain = await collect(pattern(2 * STREAM_CHUNK_BYTES + 123, 5000));
      const aead = aeadId === 2 ? AEADS.AES_256_GCM : AEADS.CHACHA20_POLY1305;
      const requestEnc = new Uint8Array(32).fill(7);
      const sealed = await collect(sealStream(resolved(pair), KDFS.HKDF_SHA256, aead, { ...BINDING, requestEnc }, [plain]));

      // Written from the README alone: hdr || enc, then varint(len) || ct per chunk, varint(0) || final ct.
      const encLength = kemId === 0x20 ? 32 : 65;
      const hdr = sealed.subarray(0, 7);
      expect(hdr.toString('hex')).toBe(`09${kemId.toString(16).padStart(4, '0')}0001000${aeadId}`);
      const other = new PanvaHpke.CipherSuite(kemId === 0x20 ? KEM_DHKEM_X25519_HKDF_SHA256 : KEM_DHKEM_P256_HKDF_SHA256, KDF_HKDF_SHA256, aeadId === 2 ? AEAD_AES_256_GCM : AEAD_ChaCha20Poly1305);
      const info = Buffer.concat([Buffer.from('cipherflow stream v2\0', 'ascii'), hdr]);
      const ctx = await other.SetupRecipient(await other.DeserializePrivateKey(pair.privateKey, false), sealed.subarray(7, 7 + encLength), { info: new Uint8Array(info) });
      const lv = (s: string | Uint8Array) => {
        const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s);
        const len = Buffer.alloc(2);
        len.writeUInt16BE(b.byteLength);
        return Buffer.concat([len, b]);
      };
      const status = Buffer.alloc(2);
      status.writeUInt16BE(200);
      const prefix = Buffer.concat([lv('GET'), lv(BINDING.path), status, lv(BINDING.org), lv(BINDING.sandbox), lv(requestEnc)]);
      const aad = (seq: number, final: boolean) => {
        const tail = Buffer.alloc(5);
        tail.writeUInt32BE(seq);
        tail.writeUInt8(final ? 1 : 0, 4);
        return new Uint8Array(Buffer.concat([prefix, tail]));
      };
      const out: Uint8Array[] = [];
      let at = 7 + encLength;
      for (let seq = 0; ; seq++) {
        const first = sealed.readUInt8(at);
        const size = 1 << (first >> 6);
        let length = first & 0x3f;
        for (let i = 1; i < size; i++) length = length * 256 + sealed.readUInt8(at + i);
        at += size;
        const final = length === 0;
        const ct = final ? sealed.subarray(at) : sealed.subarray(at, at + length);
        out.push(await ctx.Open(new Uint8Array(ct), aad(seq, final)));
        if (final) break;
        at += length;
      }
      expect(out).toHaveLength(3);
      expect(Buffer.concat(out).equals(plain)).toBe(true);
    });
  }
});
