import { BlockList, isIP } from 'node:net';

/**
 * Which IP addresses the app may connect to when a customer chooses the destination (SSRF): only
 * addresses that are routed on the public internet. Everything special-purpose in the IANA
 * registries (RFC 6890) that could reach this machine, its network or the cloud platform is
 * refused, and an IPv6 address that carries an IPv4 address (mapped, NAT64, 6to4) is judged by
 * the IPv4 address it carries.
 */

/** Options of {@link addressProblem}. */
export interface AddressPolicyOptions {
  /** Allow 127.0.0.0/8 and ::1: local mode only (the local stack's Azurite and test SFTP server). */
  readonly allowLoopback: boolean;
}

interface Rule {
  readonly reason: string;
  readonly list: BlockList;
  /** Lifted by `allowLoopback`. */
  readonly loopback?: true;
}

function rule(family: 'ipv4' | 'ipv6', reason: string, subnets: readonly string[], loopback = false): Rule {
  const list = new BlockList();
  for (const subnet of subnets) {
    const [network = '', prefix = ''] = subnet.split('/');
    list.addSubnet(network, Number(prefix), family);
  }
  return loopback ? { reason, list, loopback: true } : { reason, list };
}

const IPV4_RULES: readonly Rule[] = [
  // Linux connects 0.0.0.0 to the local host: the "0.0.0.0 day" bypass of loopback filters.
  rule('ipv4', 'an unspecified ("this network") address', ['0.0.0.0/8']),
  rule('ipv4', 'a private address', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']),
  rule('ipv4', 'a shared (carrier-grade NAT) address', ['100.64.0.0/10']),
  rule('ipv4', 'a loopback address', ['127.0.0.0/8'], true),
  // 169.254.169.254 is the instance metadata and managed identity endpoint of Azure, AWS and GCP.
  rule('ipv4', 'a link-local address', ['169.254.0.0/16']),
  rule('ipv4', 'an IETF protocol assignment address', ['192.0.0.0/24']),
  rule('ipv4', 'a documentation address', ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24']),
  rule('ipv4', 'a benchmarking address', ['198.18.0.0/15']),
  rule('ipv4', 'a multicast address', ['224.0.0.0/4']),
  rule('ipv4', 'the broadcast address', ['255.255.255.255/32']),
  rule('ipv4', 'a reserved address', ['240.0.0.0/4']),
];

// IPv4-mapped, NAT64, 6to4 and IPv4-compatible addresses are decided before these (see below).
const IPV6_RULES: readonly Rule[] = [
  // Like 0.0.0.0, Linux connects :: to the local host.
  rule('ipv6', 'the unspecified address', ['::/128']),
  rule('ipv6', 'a loopback address', ['::1/128'], true),
  rule('ipv6', 'a discard-only address', ['100::/64']),
  rule('ipv6', 'a Teredo address', ['2001::/32']),
  rule('ipv6', 'a benchmarking address', ['2001:2::/48']),
  rule('ipv6', 'a documentation address', ['2001:db8::/32']),
  // NAT64's local-use prefix maps to IPv4 in a way only the local network knows (RFC 8215).
  rule('ipv6', 'a local-use NAT64 address', ['64:ff9b:1::/48']),
  rule('ipv6', 'a unique local (private) address', ['fc00::/7']),
  rule('ipv6', 'a link-local address', ['fe80::/10']),
  rule('ipv6', 'a site-local address', ['fec0::/10']),
  rule('ipv6', 'a multicast address', ['ff00::/8']),
];

/**
 * Why the app must not connect to `address`, or `undefined` when it may (a public unicast
 * address). Pure: no name resolution; a host name or anything else that is not an IP address is
 * refused. The reason names the kind of address, never the address itself.
 */
export function addressProblem(address: string, options: AddressPolicyOptions): string | undefined {
  switch (isIP(address)) {
    case 4:
      return ruleProblem(IPV4_RULES, address, 'ipv4', options);
    case 6:
      return ipv6Problem(address, options);
    default:
      return 'not an IP address';
  }
}

function ruleProblem(
  rules: readonly Rule[],
  address: string,
  family: 'ipv4' | 'ipv6',
  options: AddressPolicyOptions,
): string | undefined {
  for (const r of rules) {
    if (r.loopback === true && options.allowLoopback) continue;
    if (r.list.check(address, family)) return r.reason;
  }
  return undefined;
}

function ipv6Problem(address: string, options: AddressPolicyOptions): string | undefined {
  // A zone index (fe80::1%eth0) picks an interface of this host; no public address has one.
  if (address.includes('%')) return 'an address with a zone index';
  const w = ipv6Words(address);
  const embedded = (reason: string, hi: number, lo: number): string | undefined => {
    const inner = ruleProblem(IPV4_RULES, ipv4Of(hi, lo), 'ipv4', options);
    return inner === undefined ? undefined : `${reason} of ${inner}`;
  };
  const upperZero = w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0;
  // ::ffff:a.b.c.d: the socket connects over IPv4 to a.b.c.d.
  if (upperZero && w[5] === 0xffff) return embedded('an IPv4-mapped address', w[6], w[7]);
  // ::a.b.c.d (deprecated by RFC 4291); :: and ::1 themselves are judged by the rules below.
  if (upperZero && w[5] === 0 && (w[6] !== 0 || w[7] > 1)) return 'a deprecated IPv4-compatible address';
  // 64:ff9b::a.b.c.d: a NAT64 gateway forwards to a.b.c.d (RFC 6052).
  if (w[0] === 0x64 && w[1] === 0xff9b && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0)
    return embedded('a NAT64 address', w[6], w[7]);
  // 2002:aabb:ccdd::/48: a 6to4 relay forwards to aa.bb.cc.dd (RFC 3056).
  if (w[0] === 0x2002) return embedded('a 6to4 address', w[1], w[2]);
  return ruleProblem(IPV6_RULES, address, 'ipv6', options);
}

type Words = readonly [number, number, number, number, number, number, number, number];

/** The eight 16-bit groups of an address `isIP` accepted as IPv6 (no zone index). */
function ipv6Words(address: string): Words {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    // A dotted IPv4 tail (::ffff:127.0.0.1) is two groups.
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const groups = (part: string | undefined): number[] =>
    part === undefined || part === '' ? [] : part.split(':').map((g) => parseInt(g, 16));
  const [head, rest] = text.split('::');
  const before = groups(head);
  const after = groups(rest);
  const zeros = rest === undefined ? [] : new Array<number>(8 - before.length - after.length).fill(0);
  const [w0 = 0, w1 = 0, w2 = 0, w3 = 0, w4 = 0, w5 = 0, w6 = 0, w7 = 0] = [...before, ...zeros, ...after];
  return [w0, w1, w2, w3, w4, w5, w6, w7];
}

function ipv4Of(hi: number, lo: number): string {
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}
