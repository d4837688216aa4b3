import { describe, expect, it, vi } from 'vitest';
import { SourceError } from '../../shared/errors.js';
import { createOutboundGuard, type ResolvedAddress } from '../../shared/outbound/outbound-guard.js';

/**
 * Attack: an internal address in a notation a naive filter does not read as one: decimal
 * (2130706433), hex (0x7f000001, 0x7f.1), octal (0177.0.0.1), short forms (127.1, 10.1), mixed
 * (0x0a.0.0.1), enclosed Unicode digits; each means 127.0.0.1, 10.0.0.1 or 169.254.169.254 to
 * inet_aton and to browsers.
 * Property: through URL parsing (callers pass `URL.hostname`), WHATWG URL rewrites every such
 * form to the dotted address, which is refused with ADDRESS_NOT_ALLOWED; given raw as a host
 * name (an SFTP host field), such a form is refused as no valid host name, before any resolver
 * (whose getaddrinfo would read it as IPv4) sees it.
 */

const URLS: readonly (readonly [string, string])[] = [
  ['http://2130706433/', '127.0.0.1'],
  ['http://0x7f000001/', '127.0.0.1'],
  ['http://0x7f.1/', '127.0.0.1'],
  ['http://0x7F.0x0.0x0.0x1/', '127.0.0.1'],
  ['http://0177.0.0.1/', '127.0.0.1'],
  ['http://017700000001/', '127.0.0.1'],
  ['http://0177.1/', '127.0.0.1'],
  ['http://127.1/', '127.0.0.1'],
  ['http://127.0.1/', '127.0.0.1'],
  ['http://127.000.000.001/', '127.0.0.1'],
  ['http://①②⑦.⓪.⓪.①/', '127.0.0.1'],
  ['http://１２７．０．０．１/', '127.0.0.1'],
  ['http://0/', '0.0.0.0'],
  ['http://0x0a.0.0.1/', '10.0.0.1'],
  ['http://10.1/', '10.0.0.1'],
  ['http://167772161/', '10.0.0.1'],
  ['http://012.0.0.1/', '10.0.0.1'],
  ['http://3232235777/', '192.168.1.1'],
  ['http://0xa9fea9fe/', '169.254.169.254'],
  ['http://169.254.43518/', '169.254.169.254'],
  ['http://0251.0376.0251.0376/', '169.254.169.254'],
  ['http://2852039166/', '169.254.169.254'],
];

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const err: unknown = await promise.then(
    () => expect.unreachable('the destination was allowed'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceError);
  return err instanceof SourceError ? err.code : '';
}

describe('SSRF through alternate IP notations', () => {
  const resolver = vi.fn((): Promise<readonly ResolvedAddress[]> =>
    Promise.resolve([{ address: '8.8.8.8', family: 4 }]),
  );
  const guard = createOutboundGuard({ resolver, allowLoopback: false });

  it.each(URLS)('reads %s as %s through URL parsing and refuses it with ADDRESS_NOT_ALLOWED', async (url, address) => {
    const { hostname } = new URL(url);
    expect(hostname).toBe(address);
    await expect(codeOf(guard.check(hostname))).resolves.toBe('ADDRESS_NOT_ALLOWED');
    expect(resolver).not.toHaveBeenCalled();
  });

  it.each([
    '2130706433',
    '0x7f.1',
    '0177.0.0.1',
    '127.1',
    '10.1',
    '0x0a.0.0.1',
    '017700000001',
    '0',
    '127.0.0.1.',
    '169.254.43518',
  ])('refuses the raw host %j as no valid host name, without resolving it', async (host) => {
    await expect(codeOf(guard.check(host))).resolves.toBe('ADDRESS_NOT_ALLOWED');
    expect(resolver).not.toHaveBeenCalled();
  });

  it('leaves no loophole for a hex-looking name: it is resolved, and its answer is what is judged', async () => {
    const loopback = createOutboundGuard({
      resolver: () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]),
      allowLoopback: false,
    });
    await expect(codeOf(loopback.check('0x7f000001'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
  });
});
