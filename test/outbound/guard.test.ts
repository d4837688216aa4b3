import type { LookupAddress } from 'node:dns';
import { describe, expect, it, vi } from 'vitest';
import { SourceError } from '../../shared/errors.js';
import { createOutboundGuard, type OutboundGuard, type ResolvedAddress } from '../../shared/outbound/outbound-guard.js';

/** A resolver answering from a table; a name not in it does not resolve (as ENOTFOUND). */
function tableResolver(table: Record<string, readonly string[]>) {
  return vi.fn((host: string): Promise<readonly ResolvedAddress[]> => {
    const addresses = table[host];
    if (addresses === undefined)
      return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }));
    return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  });
}

const table = {
  'storage.example': ['20.60.0.1', '2a01:111:f400::1'],
  'v6only.example': ['2606:4700:4700::1111'],
  'internal.example': ['10.0.0.5'],
  'mixed.example': ['20.60.0.1', '10.0.0.1'],
  'mixed-late.example': ['20.60.0.1', '8.8.8.8', '::1'],
  'metadata.example': ['169.254.169.254'],
  localhost: ['127.0.0.1', '::1'],
  'empty.example': [],
};

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceError);
  return err instanceof SourceError ? err.code : '';
}

/** Calls a Node LookupFunction and settles with what it answered. */
function lookupWith(guard: OutboundGuard, host: string, options: { all?: boolean; family?: number }) {
  return new Promise<{ address: string | LookupAddress[]; family: number | undefined }>((resolve, reject) => {
    guard.lookup(host, options, (err, address, family) => (err === null ? resolve({ address, family }) : reject(err)));
  });
}

describe('the outbound guard', () => {
  it('allows a name whose every address is public and returns the first', async () => {
    const resolver = tableResolver(table);
    const guard = createOutboundGuard({ resolver, allowLoopback: false });
    await expect(guard.check('storage.example')).resolves.toEqual({ address: '20.60.0.1', family: 4 });
    await expect(guard.check('v6only.example')).resolves.toEqual({ address: '2606:4700:4700::1111', family: 6 });
    expect(resolver).toHaveBeenCalledWith('storage.example');
  });

  it('refuses a name that resolves to a private address with ADDRESS_NOT_ALLOWED, without naming the address', async () => {
    const guard = createOutboundGuard({ resolver: tableResolver(table), allowLoopback: false });
    const err: unknown = await guard.check('internal.example').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect(err).toMatchObject({ code: 'ADDRESS_NOT_ALLOWED' });
    const detail = err instanceof SourceError ? err.detail : '';
    expect(detail).toContain('internal.example');
    expect(detail).toContain('private');
    expect(detail).not.toContain('10.0.0.5');
    await expect(codeOf(guard.check('metadata.example'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
  });

  it('refuses a name when any one of its addresses is refused, whatever the order', async () => {
    const guard = createOutboundGuard({ resolver: tableResolver(table), allowLoopback: false });
    await expect(codeOf(guard.check('mixed.example'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
    await expect(codeOf(guard.check('mixed-late.example'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
  });

  it('allows loopback only with allowLoopback', async () => {
    const production = createOutboundGuard({ resolver: tableResolver(table), allowLoopback: false });
    const local = createOutboundGuard({ resolver: tableResolver(table), allowLoopback: true });
    await expect(codeOf(production.check('localhost'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
    await expect(codeOf(production.check('127.0.0.1'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
    await expect(codeOf(production.check('[::1]'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
    await expect(local.check('localhost')).resolves.toEqual({ address: '127.0.0.1', family: 4 });
    await expect(local.check('127.0.0.1')).resolves.toEqual({ address: '127.0.0.1', family: 4 });
    await expect(local.check('[::1]')).resolves.toEqual({ address: '::1', family: 6 });
    // Local mode lifts loopback only.
    await expect(codeOf(local.check('internal.example'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
    await expect(codeOf(local.check('169.254.169.254'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
  });

  it('checks an IP literal as it is, without resolving it', async () => {
    const resolver = tableResolver(table);
    const guard = createOutboundGuard({ resolver, allowLoopback: false });
    await expect(guard.check('8.8.8.8')).resolves.toEqual({ address: '8.8.8.8', family: 4 });
    await expect(guard.check('[2606:4700:4700::1111]')).resolves.toEqual({
      address: '2606:4700:4700::1111',
      family: 6,
    });
    await expect(codeOf(guard.check('10.1.2.3'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
    await expect(codeOf(guard.check('[fe80::1]'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
    expect(resolver).not.toHaveBeenCalled();
  });

  it('answers SOURCE_UNREACHABLE when a name does not resolve or resolves to nothing', async () => {
    const guard = createOutboundGuard({ resolver: tableResolver(table), allowLoopback: false });
    await expect(codeOf(guard.check('nowhere.example'))).resolves.toBe('SOURCE_UNREACHABLE');
    await expect(codeOf(guard.check('empty.example'))).resolves.toBe('SOURCE_UNREACHABLE');
  });

  it.each([
    '',
    '.',
    'a..b',
    '.example.com',
    'exa mple.com',
    'host_name.example',
    '-lead.example',
    'trail-.example',
    `${'a'.repeat(64)}.example`,
    `${'a.'.repeat(126)}ab`, // 254 characters
    'example.com:22',
    'user@example.com',
    'http://example.com',
    'example.com/path',
    '[example.com]',
    '[::1',
    'exämple.com',
    'example.com\u0000.evil',
    // Numeric forms the system resolver would read as IPv4 (inet_aton): never sent to it.
    '127.1',
    '2130706433',
    '0x7f.1',
    '010.0.0.1',
    '127.0.0.1.',
  ])('refuses the invalid host name %j with ADDRESS_NOT_ALLOWED, before resolving it', async (host) => {
    const resolver = tableResolver(table);
    const guard = createOutboundGuard({ resolver, allowLoopback: true });
    await expect(codeOf(guard.check(host))).resolves.toBe('ADDRESS_NOT_ALLOWED');
    expect(resolver).not.toHaveBeenCalled();
  });

  it('accepts a fully qualified name with its trailing dot, and a 253-character name', async () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(long).toHaveLength(253);
    const guard = createOutboundGuard({
      resolver: tableResolver({ 'storage.example.': ['8.8.8.8'], [long]: ['8.8.4.4'] }),
      allowLoopback: false,
    });
    await expect(guard.check('storage.example.')).resolves.toEqual({ address: '8.8.8.8', family: 4 });
    await expect(guard.check(long)).resolves.toEqual({ address: '8.8.4.4', family: 4 });
  });

  it('takes the family from the address, not from what the resolver claims', async () => {
    const guard = createOutboundGuard({
      resolver: () => Promise.resolve([{ address: '2606:4700:4700::1111', family: 4 as const }]),
      allowLoopback: false,
    });
    await expect(guard.check('liar.example')).resolves.toEqual({ address: '2606:4700:4700::1111', family: 6 });
  });

  it('refuses a resolver answer that is not an IP address', async () => {
    const guard = createOutboundGuard({
      resolver: () => Promise.resolve([{ address: 'evil.example', family: 4 as const }]),
      allowLoopback: false,
    });
    await expect(codeOf(guard.check('odd.example'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
  });
});

describe('the outbound guard as a lookup function', () => {
  it('answers only the checked address, as a list with all: true and as one address without', async () => {
    const resolver = tableResolver(table);
    const guard = createOutboundGuard({ resolver, allowLoopback: false });
    await expect(lookupWith(guard, 'storage.example', { all: true })).resolves.toEqual({
      address: [{ address: '20.60.0.1', family: 4 }],
      family: undefined,
    });
    await expect(lookupWith(guard, 'storage.example', {})).resolves.toEqual({ address: '20.60.0.1', family: 4 });
    // One resolution per lookup: what is checked is what the socket gets.
    expect(resolver).toHaveBeenCalledTimes(2);
  });

  it('answers a refusal or an unresolvable name as the SourceError', async () => {
    const guard = createOutboundGuard({ resolver: tableResolver(table), allowLoopback: false });
    for (const all of [true, false]) {
      await expect(lookupWith(guard, 'mixed.example', { all })).rejects.toMatchObject({ code: 'ADDRESS_NOT_ALLOWED' });
      await expect(lookupWith(guard, 'nowhere.example', { all })).rejects.toMatchObject({ code: 'SOURCE_UNREACHABLE' });
    }
  });

  it('answers nothing of another family than the one asked for', async () => {
    const guard = createOutboundGuard({ resolver: tableResolver(table), allowLoopback: false });
    await expect(lookupWith(guard, 'storage.example', { family: 4 })).resolves.toEqual({
      address: '20.60.0.1',
      family: 4,
    });
    await expect(lookupWith(guard, 'storage.example', { family: 6 })).rejects.toMatchObject({
      code: 'SOURCE_UNREACHABLE',
    });
  });
});
