import { describe, expect, it } from 'vitest';
import { SourceError } from '../../shared/errors.js';
import { createOutboundGuard, type ResolvedAddress } from '../../shared/outbound/outbound-guard.js';

/**
 * Attack: a customer names a host on the app's own network (10.x, 172.16.x, 192.168.x: other
 * services of the platform, the storage or vault private endpoints) as their SFTP server or SAS
 * URI, as an IP literal or as a name in their own DNS zone that resolves there.
 * Property: every such destination is refused with ADDRESS_NOT_ALLOWED before any connection,
 * and the refusal names the host the caller gave, never the private address a name resolved to.
 */

const PRIVATE = ['10.0.0.1', '10.200.3.4', '172.16.0.1', '172.31.255.254', '192.168.0.1', '192.168.178.20'];

const resolver = (host: string): Promise<readonly ResolvedAddress[]> => {
  const address = host
    .replace(/^ip-/, '')
    .replace(/\.attacker\.example$/, '')
    .replaceAll('-', '.');
  return Promise.resolve([{ address, family: 4 }]);
};

async function refusal(promise: Promise<unknown>): Promise<SourceError> {
  const err: unknown = await promise.then(
    () => expect.unreachable('the destination was allowed'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceError);
  return err instanceof SourceError ? err : new SourceError('SOURCE_UNREACHABLE', '');
}

describe('SSRF to a private address', () => {
  const guard = createOutboundGuard({ resolver, allowLoopback: false });

  it.each(PRIVATE)('refuses the literal %s with ADDRESS_NOT_ALLOWED', async (address) => {
    expect((await refusal(guard.check(address))).code).toBe('ADDRESS_NOT_ALLOWED');
    expect((await refusal(guard.check(new URL(`https://${address}/container?sig=x`).hostname))).code).toBe(
      'ADDRESS_NOT_ALLOWED',
    );
  });

  it.each(PRIVATE)(
    'refuses a name resolving to %s with ADDRESS_NOT_ALLOWED, without telling the address',
    async (address) => {
      const name = `ip-${address.replaceAll('.', '-')}.attacker.example`;
      const err = await refusal(guard.check(name));
      expect(err.code).toBe('ADDRESS_NOT_ALLOWED');
      expect(err.detail).toContain(name);
      expect(err.detail).not.toContain(address);
    },
  );

  it('refuses them in local mode too (only loopback is lifted there)', async () => {
    const local = createOutboundGuard({ resolver, allowLoopback: true });
    for (const address of PRIVATE) expect((await refusal(local.check(address))).code).toBe('ADDRESS_NOT_ALLOWED');
  });
});
