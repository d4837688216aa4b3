import { createHash } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peakRss, repoRoot, startRuntime, type RuntimeProcess } from '../support/runtime-process.js';

const fixture = path.join(repoRoot, 'test', 'fixtures', 'http-app');

describe('local runtime: HTTP triggers', () => {
  let runtime: RuntimeProcess;
  beforeAll(async () => {
    runtime = await startRuntime({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' }, fixture);
  });
  afterAll(async () => {
    await runtime.stop();
  });

  it('serves a function at its route with params, query and headers, through the library', async () => {
    const res = await fetch(`${runtime.url}/echo/42?q=hello`, { headers: { 'x-test': 'yes' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ id: '42', q: 'hello', header: 'yes', functionName: 'echo' });
    expect(body.url).toBe(`${runtime.url}/echo/42?q=hello`);
    const log = await runtime.waitForLine((e) => e.message === 'echo called');
    expect(log).toMatchObject({ functionName: 'echo', invocationId: body.invocationId, category: 'user' });
  });

  it('answers 404 for an unknown route, a wrong method and a failed constraint', async () => {
    expect((await fetch(`${runtime.url}/nope`)).status).toBe(404);
    expect((await fetch(`${runtime.url}/echo/42`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${runtime.url}/echo/abc`)).status).toBe(404);
  });

  it('prefers a literal route over a parameter', async () => {
    expect(await (await fetch(`${runtime.url}/items/special`)).text()).toBe('special');
    expect(await (await fetch(`${runtime.url}/items/7`)).text()).toBe('item 7');
  });

  it('passes status and headers of the response through', async () => {
    const res = await fetch(`${runtime.url}/teapot`, { method: 'DELETE' });
    expect(res.status).toBe(418);
    expect(res.headers.get('x-custom')).toBe('yes');
    expect(await res.json()).toEqual({ short: 'and stout' });
  });

  it('answers 500 with no body when the function throws, and keeps serving', async () => {
    const res = await fetch(`${runtime.url}/boom`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('');
    await runtime.waitForLine((e) => typeof e.message === 'string' && e.message.includes("Executed 'boom' (Failed"));
    expect((await fetch(`${runtime.url}/echo/1`)).status).toBe(200);
  });

  it('streams a 256 MiB upload into the function without buffering it', async () => {
    const before = peakRss(runtime.child.pid ?? 0);
    const size = 256 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const expected = createHash('sha256');
    for (let i = 0; i < size / chunk.length; i++) expected.update(chunk);
    let sent = 0;
    const upload = Readable.from((function* () {
      while (sent < size) {
        sent += chunk.length;
        yield chunk;
      }
    })());
    const res = await fetch(`${runtime.url}/upload`, {
      method: 'POST',
      body: Readable.toWeb(upload) as ReadableStream,
      duplex: 'half',
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ bytes: size, sha256: expected.digest('hex') });
    // Buffering the body would add at least 256 MiB to the runtime's peak RSS; streaming adds a
    // few chunks plus whatever garbage the collector has not yet returned (64-70 MiB seen on CI).
    expect(peakRss(runtime.child.pid ?? 0) - before).toBeLessThan(size / 2);
  });

  /** The fixture's download progress: bytes produced, once stable (sampled until it stops moving). */
  async function settledProgress(id: string): Promise<{ produced: number; cancelled: boolean; ended: boolean }> {
    let last = -1;
    for (;;) {
      const progress = (await (await fetch(`${runtime.url}/download-progress/${id}`)).json()) as { produced: number; cancelled: boolean; ended: boolean };
      if (progress.produced === last) return progress;
      last = progress.produced;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }

  it('holds a 1 GiB download back to the pace of a slow client, without buffering it', { timeout: 120_000 }, async () => {
    const size = 1024 ** 3;
    const before = peakRss(runtime.child.pid ?? 0);
    const res = await fetch(`${runtime.url}/download/slow/${size}`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let received = (await reader.read()).value?.length ?? 0;
    // The client stops reading: the function's producer must stop too, a few socket buffers ahead
    // (Azure/azure-functions-nodejs-library#294, patched in patches/), not run on into memory.
    const paused = await settledProgress('slow');
    expect(paused.ended).toBe(false);
    expect(paused.produced).toBeLessThan(64 * 1024 * 1024);
    for (let next = await reader.read(); !next.done; next = await reader.read()) received += next.value.length;
    expect(received).toBe(size);
    expect(peakRss(runtime.child.pid ?? 0) - before).toBeLessThan(size / 8);
  });

  it('stops producing a download once its client has gone', async () => {
    const res = await fetch(`${runtime.url}/download/gone/${1024 ** 3}`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel();
    let progress = await settledProgress('gone');
    for (let i = 0; i < 50 && !progress.cancelled; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      progress = await settledProgress('gone');
    }
    expect(progress).toMatchObject({ cancelled: true, ended: false });
    expect(progress.produced).toBeLessThan(64 * 1024 * 1024);
  });

  it('streams a response body to the client while the function is still producing it', async () => {
    const chunks = 500;
    const started = performance.now();
    const res = await fetch(`${runtime.url}/trickle/${chunks}`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    const firstByteMs = performance.now() - started;
    let received = first.value?.length ?? 0;
    for (let next = await reader.read(); !next.done; next = await reader.read()) received += next.value.length;
    const totalMs = performance.now() - started;
    expect(received).toBe(chunks * 64 * 1024);
    // The producer needs at least chunks × 2 ms; a buffered response would arrive all at the end.
    expect(totalMs).toBeGreaterThan(chunks * 2);
    expect(firstByteMs).toBeLessThan(totalMs / 3);
  });
});
