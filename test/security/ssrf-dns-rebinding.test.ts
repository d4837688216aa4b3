import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SourceError } from '../../shared/errors.js';
import { createOutboundGuard, type ResolvedAddress } from '../../shared/outbound/outbound-guard.js';

/**
 * Attack: DNS rebinding. The attacker's name answers a public address when the app checks it
 * (saving the connection, or a check just before connecting) and, with a zero TTL, an internal
 * address when the client resolves it again to connect; or it answers both at once and lets the
 * client pick.
 * Property: a check grants nothing later: every connection resolves once, through the guard's
 * `lookup`, checks that answer and connects to exactly the address it checked. An internal answer
 * at connect time is refused with ADDRESS_NOT_ALLOWED; a mixed answer is refused whole.
 */

const NAME = 'rebind.attacker.example';

/** Answers each call with the next list, the last one repeating: a zero-TTL record the attacker flips. */
function rebindingResolver(...answers: (readonly string[])[]) {
  let call = 0;
  return vi.fn((): Promise<readonly ResolvedAddress[]> => {
    const addresses = answers[Math.min(call++, answers.length - 1)] ?? [];
    return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  });
}

let server: net.Server;
let port = 0;
const peers: string[] = [];

beforeAll(async () => {
  server = net.createServer((socket) => {
    peers.push(socket.localAddress ?? '');
    socket.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  port = typeof address === 'object' && address !== null ? address.port : 0;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Connects as an SDK's agent would, with the guard as `lookup`; settles with the address connected to. */
function connectThrough(lookup: net.LookupFunction): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: NAME, port, lookup });
    socket.once('connect', () => {
      resolve(socket.remoteAddress ?? '');
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('SSRF by DNS rebinding', () => {
  it('refuses at connect time a name that was public when checked and answers loopback now', async () => {
    const resolver = rebindingResolver(['8.8.8.8'], ['127.0.0.1']);
    const guard = createOutboundGuard({ resolver, allowLoopback: false });
    await expect(guard.check(NAME)).resolves.toEqual({ address: '8.8.8.8', family: 4 });
    const err: unknown = await connectThrough(guard.lookup).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect(err).toMatchObject({ code: 'ADDRESS_NOT_ALLOWED' });
    expect(peers).toEqual([]);
  });

  it('connects to the very address its own resolution checked, and resolves once per connection', async () => {
    // Local mode, so the first answer (loopback) is allowed and reachable; the second flips to a private address.
    const resolver = rebindingResolver(['127.0.0.1'], ['10.0.0.1']);
    const guard = createOutboundGuard({ resolver, allowLoopback: true });
    await expect(connectThrough(guard.lookup)).resolves.toBe('127.0.0.1');
    expect(resolver).toHaveBeenCalledTimes(1);
    expect(peers).toHaveLength(1);
    const err: unknown = await connectThrough(guard.lookup).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ADDRESS_NOT_ALLOWED' });
    expect(resolver).toHaveBeenCalledTimes(2);
    expect(peers).toHaveLength(1);
  });

  it('refuses a name answering public and internal addresses at once, in either order', async () => {
    for (const answer of [
      ['8.8.8.8', '127.0.0.1'],
      ['127.0.0.1', '8.8.8.8'],
      ['8.8.8.8', '::ffff:10.0.0.1'],
    ]) {
      const guard = createOutboundGuard({ resolver: rebindingResolver(answer), allowLoopback: false });
      await expect(guard.check(NAME)).rejects.toMatchObject({ code: 'ADDRESS_NOT_ALLOWED' });
      await expect(connectThrough(guard.lookup)).rejects.toMatchObject({ code: 'ADDRESS_NOT_ALLOWED' });
    }
    expect(peers).toHaveLength(1);
  });
});
