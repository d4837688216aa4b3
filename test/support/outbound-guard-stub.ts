import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { SourceError } from '../../shared/errors.js';
import type { OutboundGuard, ResolvedAddress } from '../../shared/outbound/outbound-guard.js';

/** What a stub guard was asked: each `check` and each `lookup`, by host. */
export interface GuardStub extends OutboundGuard {
  readonly checked: string[];
  readonly looked: string[];
}

/**
 * An {@link OutboundGuard} for tests: allows the hosts named (default `127.0.0.1` and `localhost`)
 * and refuses every other one with ADDRESS_NOT_ALLOWED, as the real guard refuses a private
 * address. `localhost` resolves to 127.0.0.1 (Azurite listens on IPv4 only).
 */
export function guardStub(allow: readonly string[] = ['127.0.0.1', 'localhost']): GuardStub {
  const checked: string[] = [];
  const looked: string[] = [];
  const refusal = (host: string) => new SourceError('ADDRESS_NOT_ALLOWED', `The address of ${host} is not allowed`);
  const check = (host: string): Promise<ResolvedAddress> => {
    checked.push(host);
    if (!allow.includes(host)) return Promise.reject(refusal(host));
    return Promise.resolve({ address: isIP(host) === 0 ? '127.0.0.1' : host, family: isIP(host) === 6 ? 6 : 4 });
  };
  const lookup: LookupFunction = (hostname, options, callback) => {
    looked.push(hostname);
    if (!allow.includes(hostname)) {
      callback(refusal(hostname), '', 4);
      return;
    }
    dnsLookup(hostname, { ...options, family: 4 }, callback);
  };
  return { check, lookup, checked, looked };
}
