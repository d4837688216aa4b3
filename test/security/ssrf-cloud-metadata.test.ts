import { AnonymousCredential, ContainerClient } from '@azure/storage-blob';
import { describe, expect, it, vi } from 'vitest';
import { SourceError } from '../../shared/errors.js';
import { createOutboundGuard, type ResolvedAddress } from '../../shared/outbound/outbound-guard.js';
import { guardedPipelineOptions, guardErrorOf } from '../../shared/outbound/pinned-agent.js';

/**
 * Attack: a customer names the cloud's instance metadata endpoint (169.254.169.254; on AWS also
 * fd00:ec2::254) as their storage host, to make the app fetch a managed identity token
 * (`/metadata/identity/oauth2/token`) or instance data and show it back in an error or a listing.
 * Property: the address is refused with ADDRESS_NOT_ALLOWED as a literal, in brackets, behind a
 * name, and through a real storage client, before any connection is attempted; local mode does
 * not lift it.
 */

const METADATA = ['169.254.169.254', 'fd00:ec2::254'];

const resolver = vi.fn((host: string): Promise<readonly ResolvedAddress[]> =>
  Promise.resolve(
    host === 'metadata.attacker.example'
      ? [{ address: '169.254.169.254', family: 4 }]
      : [{ address: 'fd00:ec2::254', family: 6 }],
  ),
);

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const err: unknown = await promise.then(
    () => expect.unreachable('the destination was allowed'),
    (e: unknown) => e,
  );
  return guardErrorOf(err)?.code;
}

describe('SSRF to the cloud metadata endpoint', () => {
  for (const allowLoopback of [false, true]) {
    const guard = createOutboundGuard({ resolver, allowLoopback });

    it(`refuses ${METADATA.join(' and ')} with ADDRESS_NOT_ALLOWED (allowLoopback: ${allowLoopback})`, async () => {
      for (const address of METADATA) {
        const host = address.includes(':') ? `[${address}]` : address;
        await expect(codeOf(guard.check(address))).resolves.toBe('ADDRESS_NOT_ALLOWED');
        await expect(
          codeOf(guard.check(new URL(`http://${host}/metadata/identity/oauth2/token`).hostname)),
        ).resolves.toBe('ADDRESS_NOT_ALLOWED');
      }
      await expect(codeOf(guard.check('metadata.attacker.example'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
      await expect(codeOf(guard.check('metadata6.attacker.example'))).resolves.toBe('ADDRESS_NOT_ALLOWED');
    });
  }

  it('refuses it through a storage client before connecting', async () => {
    const guard = createOutboundGuard({ resolver, allowLoopback: false });
    for (const url of [
      'http://169.254.169.254/metadata?sig=x',
      'http://[fd00:ec2::254]/latest?sig=x',
      'http://metadata.attacker.example/c?sig=x',
    ]) {
      const client = new ContainerClient(url, new AnonymousCredential(), {
        ...guardedPipelineOptions(guard, url),
        retryOptions: { maxTries: 1 },
      });
      await expect(codeOf(client.exists())).resolves.toBe('ADDRESS_NOT_ALLOWED');
    }
  });

  it('throws the refusal as a SourceError from check', async () => {
    const guard = createOutboundGuard({ resolver, allowLoopback: false });
    await expect(guard.check('169.254.169.254')).rejects.toBeInstanceOf(SourceError);
  });
});
