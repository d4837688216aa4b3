import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Client from '../../shared/hpke/client.js';
import { generateClientKeyPair, type ClientKeyPair } from '../../shared/hpke/client.js';
import { bigCsv, ingestFile } from '../hpke/export-fixture.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { apiHeaders } from '../support/tokens.js';

const ORG = 'CF17F08TRNC@AdobeOrg';
const CLIENT_KEY_ID = 5;
const CHUNKED = 'application/octet-stream+hpke-chunked';
/** Four full 64 KiB chunks and a final one. */
const CSV = bigCsv(4 * 65_536 + 1000);

/** A sealed export cut into its frames: `hdr || enc`, the non-final chunks, the final chunk. */
interface Frames {
  readonly prefix: Uint8Array;
  readonly chunks: Uint8Array[];
  readonly final: Uint8Array | undefined;
}

/** QUIC variable-length integer (RFC 9000 §16), as the chunked format frames chunks. */
function varint(n: number): Buffer {
  if (n < 0x40) return Buffer.of(n);
  if (n < 0x4000) return Buffer.of(0x40 | (n >> 8), n & 0xff);
  const b = Buffer.alloc(4);
  b.writeUInt32BE((n | 0x80000000) >>> 0);
  return b;
}

function readVarint(b: Buffer, at: number): [value: number, length: number] {
  const first = b.readUInt8(at);
  const length = 1 << (first >> 6);
  let value = first & 0x3f;
  for (let i = 1; i < length; i++) value = value * 256 + b.readUInt8(at + i);
  return [value, length];
}

function split(bytes: Uint8Array): Frames {
  const b = Buffer.from(bytes);
  const prefix = b.subarray(0, 7 + 32);
  const chunks: Uint8Array[] = [];
  let at = prefix.byteLength;
  for (;;) {
    const [length, size] = readVarint(b, at);
    at += size;
    if (length === 0) return { prefix, chunks, final: b.subarray(at) };
    chunks.push(b.subarray(at, at + length));
    at += length;
  }
}

function join(f: Frames): Uint8Array {
  const parts: Buffer[] = [Buffer.from(f.prefix)];
  for (const c of f.chunks) parts.push(varint(c.byteLength), Buffer.from(c));
  if (f.final !== undefined) parts.push(varint(0), Buffer.from(f.final));
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * Attack (#17, finding 8): exports could not be sealed at all, and a plaintext download cut short
 * by anything on the path looks like a shorter file. The streamed HPKE export (one HPKE context, a
 * sealed chunk per piece, the sequence number and a final mark in each chunk's AAD) must refuse in
 * the client, with a stable code: a dropped last chunk, a stream cut in a chunk, reordered chunks,
 * a chunk spliced in from another export of the same file, a non-final chunk marked final, bytes
 * after the final chunk, and more chunks than the sequence allows.
 */
describe('attack: a sealed export truncated, reordered or spliced on the way', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let clientKey: ClientKeyPair;
  let url: string;
  let first: Uint8Array;
  let second: Uint8Array;

  async function download(): Promise<Uint8Array> {
    const res = await fetch(url, {
      headers: await apiHeaders(ORG, undefined, { accept: CHUNKED, 'x-hpke-client-key-id': String(CLIENT_KEY_ID), 'x-hpke-format': '2' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(CHUNKED);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** Opens a (tampered) export with the client module: its plaintext length, or the code it failed with. */
  async function open(body: Uint8Array, options: { maxChunks?: number } = {}): Promise<string> {
    let bytes = 0;
    try {
      const plaintext = Client.decryptResponseStream({
        clientKey,
        method: 'GET',
        url,
        org: ORG,
        sandbox: 'prod',
        status: 200,
        // Delivered in pieces that do not line up with chunks, as a network does.
        body: Readable.from(
          (function* () {
            for (let at = 0; at < body.byteLength; at += 10_000) yield body.subarray(at, at + 10_000);
          })(),
        ),
        ...options,
      });
      for await (const piece of plaintext) bytes += piece.byteLength;
      return `opened ${bytes}`;
    } catch (err) {
      return (err as { code?: string }).code ?? String(err);
    }
  }

  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime({ ...stack.env, CIPHERFLOW_QUEUE_MAX_POLL_MS: '200' });
    const fileId = await ingestFile(runtime.url, ORG, CSV, 'truncation');
    url = `${runtime.url}/data/foundation/export/files/${fileId}`;
    clientKey = await generateClientKeyPair(CLIENT_KEY_ID);
    const put = await fetch(`${runtime.url}/api-encryption/client-keys/${CLIENT_KEY_ID}`, {
      method: 'PUT',
      headers: await apiHeaders(ORG, undefined, { 'content-type': 'application/json' }),
      body: JSON.stringify({ kemId: 32, publicKey: Buffer.from(clientKey.publicKey).toString('base64url') }),
    });
    expect(put.status).toBe(201);
    first = await download();
    second = await download();
  }, 180_000);
  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
  });

  it('opens the untouched export to the whole file, in 4 chunks and a final one', async () => {
    const frames = split(first);
    expect(frames.chunks.length).toBe(4);
    expect(await open(first)).toBe(`opened ${CSV.byteLength}`);
  });

  it('refuses a stream whose final chunk was dropped, or cut inside a chunk, with HPKE_STREAM_TRUNCATED', async () => {
    const frames = split(first);
    expect(await open(join({ ...frames, final: undefined }))).toBe('HPKE_STREAM_TRUNCATED');
    expect(await open(join({ ...frames, chunks: frames.chunks.slice(0, 2), final: undefined }))).toBe('HPKE_STREAM_TRUNCATED');
    expect(await open(first.subarray(0, 7 + 32 + 4 + 1000))).toBe('HPKE_STREAM_TRUNCATED');
    expect(await open(first.subarray(0, 7 + 32))).toBe('HPKE_STREAM_TRUNCATED');
  });

  it('refuses reordered chunks, a chunk spliced from another export and a final mark moved, with HPKE_DECRYPT_FAILED', async () => {
    const a = split(first);
    const b = split(second);
    const [c0, c1, c2, c3] = a.chunks as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    expect(await open(join({ ...a, chunks: [c1, c0, c2, c3] }))).toBe('HPKE_DECRYPT_FAILED');
    expect(await open(join({ ...a, chunks: [c0, b.chunks[1] ?? c1, c2, c3] }))).toBe('HPKE_DECRYPT_FAILED');
    expect(await open(join({ ...a, final: b.final }))).toBe('HPKE_DECRYPT_FAILED');
    // A non-final chunk presented as the final one (the stream ends early but looks complete).
    expect(await open(join({ prefix: a.prefix, chunks: [c0, c1], final: c2 }))).toBe('HPKE_DECRYPT_FAILED');
    // The final chunk followed by more: a final chunk that is not the last.
    expect(await open(new Uint8Array(Buffer.concat([first, varint(c3.byteLength), c3])))).toBe('HPKE_DECRYPT_FAILED');
  });

  it('refuses a stream with more chunks than the sequence allows with HPKE_SEQUENCE_OVERFLOW', async () => {
    expect(await open(first, { maxChunks: 3 })).toBe('HPKE_SEQUENCE_OVERFLOW');
    expect(await open(first, { maxChunks: 5 })).toBe(`opened ${CSV.byteLength}`);
  });
});
