import { describe, expect, it } from 'vitest';
import { SourceError } from '../../shared/errors.js';
import { createOutboundGuard, type ResolvedAddress } from '../../shared/outbound/outbound-guard.js';

/**
 * Attack: an internal IPv4 address written as IPv6 so an IPv4 block list misses it. An
 * IPv4-mapped address (::ffff:127.0.0.1, ::ffff:7f00:1) opens an IPv4 socket to the embedded
 * address; NAT64 (64:ff9b::/96) and 6to4 (2002::/16) forward to it through a gateway; the
 * deprecated IPv4-compatible form (::127.0.0.1) is no public address either. Given as a literal,
 * through URL parsing (which rewrites the dotted tail to hex), or as a name's AAAA answer.
 * Property: each is judged by the IPv4 address it carries and refused with ADDRESS_NOT_ALLOWED.
 */

const MAPPED = [
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::FFFF:7F00:0001',
  '0:0:0:0:0:ffff:127.0.0.1',
  '0000:0000:0000:0000:0000:ffff:7f00:0001',
  '::ffff:10.0.0.1',
  '::ffff:a00:1',
  '::ffff:169.254.169.254',
  '::ffff:a9fe:a9fe',
  '::ffff:192.168.1.1',
  '::ffff:0.0.0.0',
  '64:ff9b::127.0.0.1',
  '64:ff9b::a9fe:a9fe',
  '64:ff9b::10.1.1.1',
  '2002:7f00:1::',
  '2002:a9fe:a9fe::1',
  '2002:c0a8:101::',
  '::127.0.0.1',
  '::a9fe:a9fe',
];

const AAAA: Record<string, string> = {
  'mapped-loopback.attacker.example': '::ffff:7f00:1',
  'mapped-metadata.attacker.example': '::ffff:a9fe:a9fe',
  'nat64-private.attacker.example': '64:ff9b::a00:1',
};

const resolver = (host: string): Promise<readonly ResolvedAddress[]> => {
  const address = AAAA[host];
  return address === undefined
    ? Promise.reject(new Error(`getaddrinfo ENOTFOUND ${host}`))
    : Promise.resolve([{ address, family: 6 }]);
};

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const err: unknown = await promise.then(
    () => expect.unreachable('the destination was allowed'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceError);
  return err instanceof SourceError ? err.code : '';
}

describe('SSRF through an IPv4-mapped (or NAT64, 6to4, IPv4-compatible) IPv6 address', () => {
  const guard = createOutboundGuard({ resolver, allowLoopback: false });

  it.each(MAPPED)('refuses %s as a literal, in brackets and through URL parsing', async (address) => {
    await expect(codeOf(guard.check(address))).resolves.toBe('ADDRESS_NOT_ALLOWED');
    await expect(codeOf(guard.check(`[${address}]`))).resolves.toBe('ADDRESS_NOT_ALLOWED');
    await expect(codeOf(guard.check(new URL(`https://[${address}]:443/c?sig=x`).hostname))).resolves.toBe(
      'ADDRESS_NOT_ALLOWED',
    );
  });

  it('refuses a name whose AAAA answer carries an internal IPv4 address', async () => {
    for (const name of Object.keys(AAAA)) await expect(codeOf(guard.check(name))).resolves.toBe('ADDRESS_NOT_ALLOWED');
  });

  it('still allows the mapped, NAT64 and 6to4 forms of a public address', async () => {
    for (const address of ['::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1']) {
      await expect(guard.check(address)).resolves.toEqual({ address, family: 6 });
    }
  });

  it('lifts only the loopback ones in local mode', async () => {
    const local = createOutboundGuard({ resolver, allowLoopback: true });
    await expect(local.check('::ffff:127.0.0.1')).resolves.toMatchObject({ family: 6 });
    await expect(codeOf(local.check('::ffff:169.254.169.254'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
    await expect(codeOf(local.check('::ffff:10.0.0.1'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
  });
});
