import { ReadableStream } from 'node:stream/web';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAuthenticator } from '../../shared/auth/authenticate.js';
import { createTokenVerifier } from '../../shared/auth/verify-token.js';
import type { ApiRequest } from '../../shared/http/api-request.js';
import { createApiPipeline, type ApiPipeline } from '../../shared/http/pipeline.js';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { bodyTimeouts } from '../../shared/http/read-body.js';
import { AUTH_CONFIG, authHeaders, captureLogs, makeKeys, mint, problemOf } from '../api/support.js';

// The attack, and the local runtime's layer of the defence: slow-request-body.test.ts. Here the
// app's own body reading, which protects it behind any host.

const Body = z.strictObject({ name: z.string() });

/** A body stream that enqueues `chunk` every `everyMs` after `first`, forever (or never, with `everyMs` undefined). */
function slowBody(first: string, everyMs: number | undefined, chunk = ' ') {
  const stats = { chunks: 0, cancelled: false };
  let timer: NodeJS.Timeout | undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(first));
      if (everyMs === undefined) return;
      timer = setInterval(() => {
        stats.chunks++;
        controller.enqueue(new TextEncoder().encode(chunk));
      }, everyMs);
    },
    cancel() {
      stats.cancelled = true;
      clearInterval(timer);
    },
  });
  return { stream, stats, stop: () => clearInterval(timer) };
}

describe('the app: a request body that trickles or stalls', () => {
  let api: ApiPipeline;
  let token: string;
  const logs = captureLogs();
  beforeAll(async () => {
    const keys = await makeKeys();
    token = await mint(keys);
    api = createApiPipeline({
      authenticate: createAuthenticator(createTokenVerifier(AUTH_CONFIG, { keys: keys.jwks })),
      logger: logs.logger,
      bodyTimeouts: { totalMs: 1_000, idleMs: 300 },
    });
  });

  async function send(body: ReadableStream<Uint8Array>) {
    let handled = false;
    const started = performance.now();
    const request: ApiRequest = {
      method: 'POST',
      url: 'https://api.test/data/foundation/catalog/dataSets',
      headers: new Headers(authHeaders(token, { 'content-type': 'application/json' })),
      body,
    };
    const res = await api.handle(request, { route: 'datasets-create', auth: 'required', schema: Body }, () => {
      handled = true;
      return Promise.resolve({ status: 201 });
    });
    return { res, handled, elapsedMs: performance.now() - started };
  }

  it('answers a body that keeps trickling past the total timeout with 408 REQUEST_TIMEOUT and stops reading it', async () => {
    const body = slowBody('{"name":', 50);
    const { res, handled } = await send(body.stream);
    body.stop();
    expect(res.status).toBe(408);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(await problemOf(res.body)).toMatchObject({ status: 408, code: 'REQUEST_TIMEOUT' });
    expect(handled).toBe(false);
    expect(body.stats.cancelled).toBe(true);
    // It never paused for the idle limit: the total timeout cut it, after about 20 chunks.
    expect(body.stats.chunks).toBeGreaterThan(5);
  });

  it('answers a body that stops arriving with 408 REQUEST_TIMEOUT after the idle limit, not the total', async () => {
    const body = slowBody('{"na', undefined);
    const { res, handled, elapsedMs } = await send(body.stream);
    expect(res.status).toBe(408);
    expect(await problemOf(res.body)).toMatchObject({ code: 'REQUEST_TIMEOUT' });
    expect(handled).toBe(false);
    expect(body.stats.cancelled).toBe(true);
    expect(elapsedMs).toBeLessThan(1_000);
  });

  it('still accepts a body whose pauses are each shorter than the idle limit', async () => {
    const parts = ['{"na', 'me":', '"k1"}'];
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        const part = parts.shift();
        if (part === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(part));
      },
    });
    const { res, handled } = await send(stream);
    expect(res.status).toBe(201);
    expect(handled).toBe(true);
  });

  it('logs a body whose connection was dropped (a host that timed it out first) as a caller failure, not a 500', async () => {
    logs.raw.length = 0;
    const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"na'));
        setTimeout(() => controller.error(reset), 20);
      },
    });
    const { res, handled } = await send(stream);
    expect(res.status).toBe(400);
    expect(await problemOf(res.body)).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(handled).toBe(false);
    expect(logs.entries()).toEqual([
      expect.objectContaining({ level: 'info', status: 400, code: 'INVALID_REQUEST', reason: 'ECONNRESET' }),
    ]);
  });

  it('reads REQUEST_BODY_TIMEOUT_SECONDS once, refusing nonsense', () => {
    expect(bodyTimeouts(loadConfigPart('http', {}).requestBodyTimeoutSeconds)).toEqual({ totalMs: 60_000, idleMs: 10_000 });
    expect(bodyTimeouts(loadConfigPart('http', { REQUEST_BODY_TIMEOUT_SECONDS: '30' }).requestBodyTimeoutSeconds)).toEqual({ totalMs: 30_000, idleMs: 10_000 });
    // The idle limit is never longer than the total.
    expect(bodyTimeouts(loadConfigPart('http', { REQUEST_BODY_TIMEOUT_SECONDS: '2' }).requestBodyTimeoutSeconds)).toEqual({ totalMs: 2_000, idleMs: 2_000 });
    for (const bad of ['0', '-1', '1.5', 'soon', '3601']) {
      expect(() => bodyTimeouts(loadConfigPart('http', { REQUEST_BODY_TIMEOUT_SECONDS: bad }).requestBodyTimeoutSeconds), bad).toThrow(
        /REQUEST_BODY_TIMEOUT_SECONDS/,
      );
    }
  });
});
