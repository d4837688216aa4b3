import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { AnonymousCredential, ContainerClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SourceError } from '../../shared/errors.js';
import { createOutboundGuard, type ResolvedAddress } from '../../shared/outbound/outbound-guard.js';
import { guardedPipelineOptions, guardErrorOf, outboundPolicy } from '../../shared/outbound/pinned-agent.js';

/**
 * The Azure Storage SDK through the guard, against an in-process HTTP server on 127.0.0.1 that
 * stands in for a customer's storage. Its name, fake-public.example, exists only in the injected
 * resolver: a request that reaches the server was connected through the guard's lookup.
 */

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly remoteAddress: string;
}

const NAME = 'fake-public.example';
const seen: Seen[] = [];
let server: http.Server;
let port = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({
      method: req.method ?? '',
      path: req.url ?? '',
      host: req.headers.host ?? '',
      remoteAddress: req.socket.remoteAddress ?? '',
    });
    if (req.url?.startsWith('/redirect') === true) {
      res.writeHead(307, { location: 'http://169.254.169.254/metadata/identity/oauth2/token' }).end();
    } else if (req.url?.startsWith('/hostile') === true) {
      // A customer's server may answer any error code it likes.
      res
        .writeHead(403, { 'content-type': 'application/xml', 'x-ms-error-code': 'ADDRESS_NOT_ALLOWED' })
        .end(
          '<?xml version="1.0" encoding="utf-8"?><Error><Code>ADDRESS_NOT_ALLOWED</Code><Message>no</Message></Error>',
        );
    } else {
      res.writeHead(200, { 'x-ms-request-id': 'test' }).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(() => {
  seen.length = 0;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A resolver that answers each call with the next list (the last one repeats). */
function resolverAnswering(...answers: (readonly string[])[]) {
  let call = 0;
  return vi.fn((host: string): Promise<readonly ResolvedAddress[]> => {
    if (host !== NAME) return Promise.reject(new Error(`getaddrinfo ENOTFOUND ${host}`));
    const addresses = answers[Math.min(call++, answers.length - 1)] ?? [];
    return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  });
}

const containerUrl = (host: string, container = 'container') =>
  `http://${host}:${port}/${container}?sv=2025-01-05&sr=c&sp=rl&sig=c2lnbmF0dXJl`;

/** A client as production code builds one, with retries kept short so a wrong retry would show. */
function guardedClient(url: string, guard: ReturnType<typeof createOutboundGuard>): ContainerClient {
  return new ContainerClient(url, new AnonymousCredential(), {
    ...guardedPipelineOptions(guard, url),
    retryOptions: { maxTries: 2, retryDelayInMs: 1 },
  });
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('the call succeeded'),
    (e: unknown) => e,
  );
}

describe('a storage client with guardedPipelineOptions', () => {
  it('connects to the address the guard checked for its name (no real DNS), derived clients too', async () => {
    const resolver = resolverAnswering(['127.0.0.1']);
    const client = guardedClient(containerUrl(NAME), createOutboundGuard({ resolver, allowLoopback: true }));
    await expect(client.exists()).resolves.toBe(true);
    await expect(client.getBlobClient('incoming/a.csv.gpg').exists()).resolves.toBe(true);
    expect(seen.map((s) => [s.method, s.host, s.remoteAddress])).toEqual([
      ['GET', `${NAME}:${port}`, '127.0.0.1'],
      ['HEAD', `${NAME}:${port}`, '127.0.0.1'],
    ]);
    expect(resolver).toHaveBeenCalledWith(NAME);
  });

  it('refuses a name that resolves to loopback outside local mode with ADDRESS_NOT_ALLOWED; nothing is sent', async () => {
    const resolver = resolverAnswering(['127.0.0.1']);
    const client = guardedClient(containerUrl(NAME), createOutboundGuard({ resolver, allowLoopback: false }));
    const err = await failureOf(client.exists());
    expect(err).toMatchObject({ name: 'RestError', code: 'ADDRESS_NOT_ALLOWED' });
    const refusal = guardErrorOf(err);
    expect(refusal).toBeInstanceOf(SourceError);
    expect(refusal?.code).toBe('ADDRESS_NOT_ALLOWED');
    expect(refusal?.detail).toContain(NAME);
    expect(seen).toEqual([]);
    // A refusal is not retried.
    expect(resolver).toHaveBeenCalledTimes(1);
  });

  it('refuses an IP literal 127.0.0.1 outside local mode (Node calls no lookup for it), and connects to it in local mode', async () => {
    const resolver = resolverAnswering(['8.8.8.8']);
    const refused = guardedClient(containerUrl('127.0.0.1'), createOutboundGuard({ resolver, allowLoopback: false }));
    expect(guardErrorOf(await failureOf(refused.exists()))?.code).toBe('ADDRESS_NOT_ALLOWED');
    const refusedV6 = guardedClient(containerUrl('[::1]'), createOutboundGuard({ resolver, allowLoopback: false }));
    expect(guardErrorOf(await failureOf(refusedV6.exists()))?.code).toBe('ADDRESS_NOT_ALLOWED');
    expect(seen).toEqual([]);

    const local = guardedClient(containerUrl('127.0.0.1'), createOutboundGuard({ resolver, allowLoopback: true }));
    await expect(local.exists()).resolves.toBe(true);
    expect(seen).toHaveLength(1);
    expect(resolver).not.toHaveBeenCalled();
  });

  it('cannot be rebound: a name checked as public and answering loopback at connect time is refused then', async () => {
    const resolver = resolverAnswering(['8.8.8.8'], ['127.0.0.1']);
    const guard = createOutboundGuard({ resolver, allowLoopback: false });
    // Checked when the connection was saved: public then.
    await expect(guard.check(NAME)).resolves.toEqual({ address: '8.8.8.8', family: 4 });
    const err = await failureOf(guardedClient(containerUrl(NAME), guard).exists());
    expect(guardErrorOf(err)?.code).toBe('ADDRESS_NOT_ALLOWED');
    expect(seen).toEqual([]);
    // The connect-time resolution is the one checked, and the only one the socket used.
    expect(resolver).toHaveBeenCalledTimes(2);
  });

  it('does not follow redirects', async () => {
    const guard = createOutboundGuard({ resolver: resolverAnswering(['127.0.0.1']), allowLoopback: true });
    const client = guardedClient(containerUrl(NAME, 'redirect'), guard);
    const err = await failureOf(client.getProperties());
    expect(err).toMatchObject({ name: 'RestError', statusCode: 307 });
    expect(seen).toHaveLength(1);
  });

  it('does not mistake a server-chosen error code for a refusal', async () => {
    const guard = createOutboundGuard({ resolver: resolverAnswering(['127.0.0.1']), allowLoopback: true });
    const err = await failureOf(guardedClient(containerUrl(NAME, 'hostile'), guard).getProperties());
    expect(err).toMatchObject({ name: 'RestError', statusCode: 403, code: 'ADDRESS_NOT_ALLOWED' });
    expect(guardErrorOf(err)).toBeUndefined();
  });

  it('refuses a URL that is neither http nor https', () => {
    const guard = createOutboundGuard({ allowLoopback: false });
    expect(() => guardedPipelineOptions(guard, 'ftp://example.com/container')).toThrow(
      expect.objectContaining({ code: 'ADDRESS_NOT_ALLOWED' }),
    );
  });
});

describe('outboundPolicy', () => {
  type WithPolicies = StoragePipelineOptions & {
    additionalPolicies: { policy: PipelinePolicy; position: 'perCall' | 'perRetry' }[];
  };

  it('on a storage client of its own, connects through the guard and throws its refusals as SourceErrors', async () => {
    const options = (allowLoopback: boolean): WithPolicies => ({
      additionalPolicies: [
        {
          policy: outboundPolicy(createOutboundGuard({ resolver: resolverAnswering(['127.0.0.1']), allowLoopback })),
          position: 'perRetry',
        },
      ],
      retryOptions: { maxTries: 2, retryDelayInMs: 1 },
    });
    await expect(
      new ContainerClient(containerUrl(NAME), new AnonymousCredential(), options(true)).exists(),
    ).resolves.toBe(true);
    expect(seen).toHaveLength(1);
    for (const host of [NAME, '127.0.0.1']) {
      const err = await failureOf(
        new ContainerClient(containerUrl(host), new AnonymousCredential(), options(false)).exists(),
      );
      expect(err).toBeInstanceOf(SourceError);
      expect(err).toMatchObject({ code: 'ADDRESS_NOT_ALLOWED' });
    }
    expect(seen).toHaveLength(1);
  });

  it('at perRetry, checks every redirect hop: a redirect to the metadata endpoint is refused', async () => {
    // perRetry is placed after the Sign phase, inside the redirect policy, so each hop passes it again.
    const guard = createOutboundGuard({ resolver: resolverAnswering(['127.0.0.1']), allowLoopback: true });
    const options: WithPolicies & { redirectOptions: { allowCrossOriginRedirects: true } } = {
      additionalPolicies: [{ policy: outboundPolicy(guard), position: 'perRetry' }],
      redirectOptions: { allowCrossOriginRedirects: true },
      retryOptions: { maxTries: 1 },
    };
    const client = new ContainerClient(containerUrl(NAME, 'redirect'), new AnonymousCredential(), options);
    const err = await failureOf(client.getProperties());
    expect(err).toBeInstanceOf(SourceError);
    expect(err).toMatchObject({ code: 'ADDRESS_NOT_ALLOWED' });
    expect(seen.map((s) => s.path.split('?')[0])).toEqual(['/redirect']);
  });

  it('is no way to guard a storage client: its derived clients re-add it and their pipeline refuses to run', async () => {
    const guard = createOutboundGuard({ resolver: resolverAnswering(['127.0.0.1']), allowLoopback: true });
    const options: WithPolicies = { additionalPolicies: [{ policy: outboundPolicy(guard), position: 'perRetry' }] };
    const client = new ContainerClient(containerUrl(NAME), new AnonymousCredential(), options);
    await expect(client.getBlobClient('a.csv.gpg').exists()).rejects.toThrow(/Duplicate policy names/);
    expect(seen).toEqual([]);
  });
});
