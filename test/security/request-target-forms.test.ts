import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { exchangeRaw, type RawResponse } from './support/raw-http.js';

/**
 * Attack: request targets in the forms RFC 9112 §3.2 allows besides a path (origin-form):
 * asterisk-form (`OPTIONS *`), absolute-form (`GET http://host/path`, what a client sends a proxy)
 * and authority-form (`CONNECT host:port`), sent on raw sockets to the local runtime serving the
 * real app. The runtime used to forward them to the app, whose HTTP library could not build a URL
 * from them: an empty 500 and a failed invocation. Property: each is refused by the runtime with
 * 400 problem+json `INVALID_REQUEST`, no function runs, and the runtime goes on serving.
 */
describe('request targets other than a path', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let host: string;
  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime(stack.env);
    host = new URL(runtime.url).host;
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
  });

  const send = (requestLine: string): Promise<RawResponse | undefined> =>
    exchangeRaw(runtime.url, `${requestLine}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);

  function expectInvalidRequest(res: RawResponse | undefined): void {
    expect(res?.status).toBe(400);
    expect(res?.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(res?.body ?? 'null')).toMatchObject({ status: 400, code: 'INVALID_REQUEST' });
  }

  it('answers OPTIONS * with 400 INVALID_REQUEST, not an empty 500', async () => {
    expectInvalidRequest(await send('OPTIONS * HTTP/1.1'));
  });

  it('answers absolute-form targets, for this host or another, with 400 INVALID_REQUEST', async () => {
    expectInvalidRequest(await send(`GET http://${host}/health HTTP/1.1`));
    expectInvalidRequest(await send(`GET http://${host}/openapi.json HTTP/1.1`));
    expectInvalidRequest(await send('GET http://evil.example/data/foundation/catalog/dataSets HTTP/1.1'));
    expectInvalidRequest(await send(`POST https://${host}/data/foundation/catalog/dataSets HTTP/1.1`));
  });

  it('answers CONNECT with 400 INVALID_REQUEST instead of dropping the connection', async () => {
    expectInvalidRequest(await send(`CONNECT ${host} HTTP/1.1`));
  });

  it('routes a path starting with // as that path, not as an authority', async () => {
    // `//evil.example/openapi.json` is a path whose first segment is empty; read as a URL reference
    // it names host evil.example and path /openapi.json, which is not what the client asked for.
    const res = await send('GET //evil.example/openapi.json HTTP/1.1');
    expect(res?.status).toBe(404);
    expect(JSON.parse(res?.body ?? 'null')).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('runs no function for any of them, and keeps serving', async () => {
    const invocations = (): number =>
      runtime.lines.filter((l) => /"Executing '(health|openapi-get|not-found)'/.test(l)).length;
    const before = invocations();
    for (const line of ['OPTIONS * HTTP/1.1', `GET http://${host}/health HTTP/1.1`, `CONNECT ${host} HTTP/1.1`])
      await send(line);
    expect(invocations()).toBe(before);
    expect(runtime.lines.filter((l) => l.includes('Failed to parse URL'))).toEqual([]);
    const res = await send('GET /openapi.json HTTP/1.1');
    expect(res?.status).toBe(200);
  });
});
