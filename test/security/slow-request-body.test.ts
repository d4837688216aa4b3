import { ReadableStream } from 'node:stream/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEV_CLIENT_ID } from '../../shared/config/defaults.js';
import { createAuthenticator } from '../../shared/auth/authenticate.js';
import { createTokenVerifier } from '../../shared/auth/verify-token.js';
import type { ApiRequest } from '../../shared/http/api-request.js';
import { createApiPipeline, type ApiPipeline } from '../../shared/http/pipeline.js';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { bodyTimeouts } from '../../shared/http/read-body.js';
import { AUTH_CONFIG, authHeaders, captureLogs, makeKeys, mint, problemOf } from '../api/support.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { issueDevToken } from '../support/tokens.js';
import { connectRaw, type RawConnection, type RawResponse } from './support/raw-http.js';

/**
 * Attack: an (authenticated) client sends a request's headers, then its body a byte at a time, or
 * not at all, holding a request, a connection and an invocation open for as long as it likes
 * (the local runtime had `requestTimeout = 0`, the app no read timeout). Property: once the body
 * has taken `REQUEST_BODY_TIMEOUT_SECONDS` in all, or paused for the idle limit, the client gets
 * 408 problem+json `REQUEST_TIMEOUT` and its connection is closed; everyone else is served
 * meanwhile. Both layers hold it: the app's body reading (what protects it behind any host) and
 * the local runtime's HTTP host.
 */

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

describe('the local runtime: slow clients against the real app', () => {
  const TIMEOUT_SECONDS = 2;
  const ORG = 'CF0017A9SLOW@AdobeOrg';
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let auth: Record<string, string>;
  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime({ ...stack.env, REQUEST_BODY_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS) });
    auth = {
      authorization: `Bearer ${await issueDevToken({ org: ORG })}`,
      'x-api-key': DEV_CLIENT_ID,
      'x-gw-ims-org-id': ORG,
    };
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
  });

  /** Sends the headers of a dataset creation announcing a 4 KiB body, then `first` of it. */
  async function startSlowPost(first: string): Promise<{ conn: RawConnection; sentAt: number }> {
    const conn = await connectRaw(runtime.url);
    const headers = {
      ...auth,
      host: new URL(runtime.url).host,
      'content-type': 'application/json',
      'content-length': '4096',
    };
    const head = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    await conn.write(`POST /data/foundation/catalog/dataSets HTTP/1.1\r\n${head}\r\n${first}`);
    return { conn, sentAt: performance.now() };
  }

  /** The response, or `undefined` if none came within `ms` (the unfixed runtime never answers). */
  async function responseWithin(
    conn: RawConnection,
    ms: number,
  ): Promise<{ res: RawResponse | undefined; atMs: number }> {
    let timer: NodeJS.Timeout | undefined;
    const res = await Promise.race([
      conn.response,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ]);
    clearTimeout(timer);
    return { res, atMs: performance.now() };
  }

  it(
    'answers trickling and stalled bodies with 408 REQUEST_TIMEOUT and closes their connections, while serving others',
    { timeout: 60_000 },
    async () => {
      const trickling = await Promise.all(Array.from({ length: 5 }, () => startSlowPost('{"name":')));
      const stalled = await Promise.all(Array.from({ length: 5 }, () => startSlowPost('{"na')));
      // A byte every 200 ms: never idle, so only the total timeout can stop these.
      const trickle = setInterval(() => {
        for (const { conn } of trickling) if (!conn.socket.destroyed) conn.socket.write(' ');
      }, 200);

      try {
        // Meanwhile the runtime serves everyone else, anonymous and authenticated.
        expect((await fetch(`${runtime.url}/openapi.json`)).status).toBe(200);
        expect(
          (await fetch(`${runtime.url}/data/foundation/sandbox-management/sandboxes`, { headers: auth })).status,
        ).toBe(200);

        const results = await Promise.all(
          [...trickling, ...stalled].map(async ({ conn, sentAt }) => {
            const { res, atMs } = await responseWithin(conn, (TIMEOUT_SECONDS + 6) * 1000);
            const closed = await Promise.race([
              conn.closed.then(() => true),
              new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3_000)),
            ]);
            return { res, elapsedMs: atMs - sentAt, closed };
          }),
        );
        for (const { res, elapsedMs, closed } of results) {
          expect(res?.status).toBe(408);
          expect(res?.headers['content-type']).toBe('application/problem+json');
          expect(res?.headers.connection).toBe('close');
          expect(JSON.parse(res?.body ?? 'null')).toMatchObject({ status: 408, code: 'REQUEST_TIMEOUT' });
          expect(closed).toBe(true);
          // Not before the configured time, and not long after it.
          expect(elapsedMs).toBeGreaterThan(TIMEOUT_SECONDS * 1000 - 100);
          expect(elapsedMs).toBeLessThan((TIMEOUT_SECONDS + 3) * 1000);
        }
        expect((await fetch(`${runtime.url}/openapi.json`)).status).toBe(200);

        // Each invocation ends once its request is aborted, as a caller failure: no error, no stack.
        const accessLogs = async (): Promise<Record<string, unknown>[]> => {
          for (let i = 0; i < 50; i++) {
            const found = runtime.lines.filter((l) => l.includes('"route":"datasets-create"'));
            if (found.length >= 10) return found.map((l) => JSON.parse(l) as Record<string, unknown>);
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          return [];
        };
        const appLines = await accessLogs();
        expect(appLines).toHaveLength(10);
        for (const line of appLines) {
          expect(line.level).toBe('info');
          expect([400, 408]).toContain(line.status);
        }
      } finally {
        clearInterval(trickle);
        for (const { conn } of [...trickling, ...stalled]) conn.socket.destroy();
      }
    },
  );
});
