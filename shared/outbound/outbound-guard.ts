import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { SourceError } from '../errors.js';
import { addressProblem } from './address-policy.js';

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
   * Resolves `host` (a name, an IP literal, or an IPv6 literal in brackets as `URL.hostname`
   * gives it) and checks every address it resolved to. An IP literal is checked as it is, never
   * resolved.
   * @returns the address to connect to (the first one; connect to it, not to the name again).
   * @throws ADDRESS_NOT_ALLOWED (a SourceError) when `host` is not a valid host name or IP
   *   literal, or when any address it resolved to is private, loopback (outside local mode),
   *   link-local, unspecified, multicast or otherwise reserved.
   * @throws SOURCE_UNREACHABLE (a SourceError) when the name does not resolve.
   */
  check(host: string): Promise<ResolvedAddress>;
  /**
   * A `net.connect` / `http.Agent` `lookup` that resolves through {@link check} and answers only
   * the checked address (with `all: true`, a list of that one address), so the socket connects to
   * exactly what was checked. Errors are the SourceErrors of `check`. Node never calls `lookup`
   * for an IP literal: a client must {@link check} those itself (the pinned agent does).
   */
  readonly lookup: LookupFunction;
}

/** Options of {@link createOutboundGuard}. */
export interface OutboundGuardOptions {
  /** Resolves names; defaults to the system resolver (`dns.lookup`, as Node's sockets use). */
  readonly resolver?: Resolver;
  /** Allow loopback addresses: local mode only (the local stack's Azurite and test SFTP server). */
  readonly allowLoopback: boolean;
}

/** Longest host name DNS can carry (RFC 1035 §2.3.4, without the trailing dot). */
const MAX_HOST_NAME_LENGTH = 253;
// Letters, digits and inner hyphens (RFC 1123 §2.1); no underscores, no IDN in Unicode form.
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * The outbound guard (see {@link OutboundGuard}). Every address a name resolves to must pass, so
 * a name that answers [public, 10.0.0.1] is refused rather than left to the client's choice.
 */
export function createOutboundGuard(options: OutboundGuardOptions): OutboundGuard {
  const resolve = options.resolver ?? systemResolver;
  const policy = { allowLoopback: options.allowLoopback };

  const refuse = (what: string): SourceError =>
    new SourceError('ADDRESS_NOT_ALLOWED', `${what}; cipherflow connects only to public addresses`);

  const check = async (host: string): Promise<ResolvedAddress> => {
    const literal = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    const family = isIP(literal);
    if (family !== 0) {
      const problem = addressProblem(literal, policy);
      if (problem !== undefined) throw refuse(`The address ${host} is ${problem}`);
      return { address: literal, family: family === 6 ? 6 : 4 };
    }
    if (!isHostName(host)) {
      // Not quoted: an invalid host may be of any length and hold anything.
      throw new SourceError('ADDRESS_NOT_ALLOWED', 'The host is not a valid host name or IP address');
    }
    let answers: readonly ResolvedAddress[];
    try {
      answers = await resolve(host);
    } catch (err) {
      throw new SourceError('SOURCE_UNREACHABLE', `The host ${JSON.stringify(host)} could not be resolved`, {
        cause: err,
      });
    }
    const [first] = answers;
    if (first === undefined)
      throw new SourceError('SOURCE_UNREACHABLE', `The host ${JSON.stringify(host)} has no address`);
    // The reason names the kind of address only: the caller learns nothing of our network's addresses.
    for (const { address } of answers) {
      const problem = addressProblem(address, policy);
      if (problem !== undefined) throw refuse(`The host ${JSON.stringify(host)} resolves to ${problem}`);
    }
    // The family comes from the address itself, not from what the resolver claims.
    return { address: first.address, family: isIP(first.address) === 6 ? 6 : 4 };
  };

  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    check(hostname).then(
      ({ address, family }) => {
        const wanted = familyOf(lookupOptions.family);
        if (wanted !== undefined && wanted !== family) {
          callback(
            new SourceError('SOURCE_UNREACHABLE', `The host ${JSON.stringify(hostname)} has no IPv${wanted} address`),
            '',
            0,
          );
        } else if (lookupOptions.all === true) callback(null, [{ address, family }]);
        else callback(null, address, family);
      },
      (err: unknown) =>
        callback(
          err instanceof SourceError
            ? err
            : new SourceError('SOURCE_UNREACHABLE', 'The host could not be resolved', { cause: err }),
          '',
          0,
        ),
    );
  };

  return { check, lookup };
}

/** A syntactically valid DNS host name (one trailing dot allowed); no IP literal in any notation. */
function isHostName(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > MAX_HOST_NAME_LENGTH) return false;
  const labels = name.split('.');
  if (!labels.every((label) => LABEL.test(label))) return false;
  // An all-numeric last label is no DNS name (RFC 3696 §2) but the resolver would read
  // `127.1`, `010.0.0.1` or `2130706433` as IPv4 in inet_aton's notations: never send those.
  return !/^[0-9]+$/.test(labels[labels.length - 1] ?? '');
}

/** `dns.lookup`'s `family` option (0, 4, 6, 'IPv4', 'IPv6'), as 4, 6 or any. */
function familyOf(family: number | string | undefined): 4 | 6 | undefined {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return undefined;
}

async function systemResolver(host: string): Promise<readonly ResolvedAddress[]> {
  const answers = await dnsLookup(host, { all: true });
  return answers.map(({ address }) => ({ address, family: isIP(address) === 6 ? 6 : 4 }));
}
