import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CLIENT_ID } from '../../shared/config/defaults.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { logEntry, startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { issueDevToken } from '../support/tokens.js';
import { connectRaw, type RawConnection, type RawResponse } from './support/raw-http.js';

/**
 * Attack: an (authenticated) client sends a request's headers, then its body a byte at a time, or
 * not at all, holding a request, a connection and an invocation open for as long as it likes
 * (the local runtime had `requestTimeout = 0`, the app no read timeout). Property: once the body
 * has taken `REQUEST_BODY_TIMEOUT_SECONDS` in all, or paused for the idle limit, the client gets
 * 408 problem+json `REQUEST_TIMEOUT` and its connection is closed; everyone else is served
 * meanwhile. Both layers hold it: the app's body reading (what protects it behind any host) and
 * the local runtime's HTTP host. The app's layer, in process: slow-request-body-app.test.ts.
 */

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
            const found = runtime.lines.map(logEntry).filter((e): e is Record<string, unknown> => e?.route === 'datasets-create');
            if (found.length >= 10) return found;
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
