import type { LookupFunction } from 'node:net';
import { SourceError } from '../../shared/errors.js';
import type { OutboundGuard, ResolvedAddress } from '../../shared/outbound/outbound-guard.js';

const LOOPBACK: ResolvedAddress = { address: '127.0.0.1', family: 4 };

function checked(host: string): ResolvedAddress {
  if (host === '127.0.0.1' || host === 'localhost') return LOOPBACK;
  throw new SourceError('ADDRESS_NOT_ALLOWED', 'Only the loopback address is allowed in this test');
}

const lookup: LookupFunction = (hostname, options, callback) => {
  try {
    const { address, family } = checked(hostname);
    if (options.all === true) callback(null, [{ address, family }]);
    else callback(null, address, family);
  } catch (err) {
    callback(Object.assign(new Error(err instanceof Error ? err.message : 'refused'), { code: 'ENOTFOUND' }), '', 4);
  }
};

/**
 * A stand-in for the real outbound guard in tests that talk to servers on this machine: it lets
 * `127.0.0.1` and `localhost` through (as 127.0.0.1) and refuses everything else with
 * ADDRESS_NOT_ALLOWED, without any name resolution. `checks` records every host it was asked about.
 */
export function loopbackGuard(): OutboundGuard & { readonly checks: string[] } {
  const checks: string[] = [];
  return {
    checks,
    check: (host) => {
      checks.push(host);
      try {
        return Promise.resolve(checked(host));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    lookup,
  };
}
