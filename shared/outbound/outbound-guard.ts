// PLACEHOLDER: the outbound guard's contract; its helper replaces this file with the implementation.
import type { LookupFunction } from 'node:net';

/** One address a host name resolved to. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to its addresses (default: `dns.promises.lookup(host, { all: true })`). Tests inject one. */
export type Resolver = (host: string) => Promise<readonly ResolvedAddress[]>;

/**
 * Where the app may connect when a customer chooses the destination (SSRF): in production only
 * public addresses, after name resolution, and only the address that was checked.
 */
export interface OutboundGuard {
  /**
   * Resolves `host` (a name or an IP literal) and checks every address it resolved to.
   * @returns the address to connect to (the first allowed one; connect to it, not to the name again).
   * @throws ADDRESS_NOT_ALLOWED (a SourceError) when any address is private, loopback (outside
   *   local mode), link-local, unspecified, multicast or otherwise reserved.
   * @throws SOURCE_UNREACHABLE when the name does not resolve.
   */
  check(host: string): Promise<ResolvedAddress>;
  /** A `net`/`http.Agent` `lookup` that answers only checked addresses (for clients that resolve themselves). */
  readonly lookup: LookupFunction;
}
