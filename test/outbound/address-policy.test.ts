import { describe, expect, it } from 'vitest';
import { addressProblem } from '../../shared/outbound/address-policy.js';

const production = { allowLoopback: false };
const local = { allowLoopback: true };

describe('addressProblem', () => {
  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '20.60.0.1', // an Azure Storage front end
    '93.184.215.14',
    '100.63.255.255', // just below 100.64/10
    '100.128.0.0', // just above 100.64/10
    '172.15.255.255', // just below 172.16/12
    '172.32.0.0', // just above 172.16/12
    '169.253.255.255',
    '192.0.1.1',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '2a01:111:f400::1',
    'fbff:ffff::1', // just below fc00::/7
    '::ffff:8.8.8.8',
    '::ffff:808:808',
    '64:ff9b::8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1', // 6to4 of 8.8.8.8
  ])('allows the public address %s', (address) => {
    expect(addressProblem(address, production)).toBeUndefined();
  });

  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.0.0.8', 'IETF protocol assignment'],
    ['192.0.2.1', 'documentation'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::2', 'IPv4-compatible'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['::ffff:127.0.0.1', 'IPv4-mapped address of a loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped address of a loopback'],
    ['::FFFF:7F00:0001', 'IPv4-mapped address of a loopback'],
    ['0:0:0:0:0:ffff:7f00:1', 'IPv4-mapped address of a loopback'],
    ['::ffff:10.0.0.1', 'IPv4-mapped address of a private'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped address of a link-local'],
    ['::ffff:0.0.0.0', 'IPv4-mapped address of an unspecified'],
    ['64:ff9b::127.0.0.1', 'NAT64 address of a loopback'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 address of a link-local'],
    ['64:ff9b:1::8.8.8.8', 'local-use NAT64'],
    ['2002:7f00:1::', '6to4 address of a loopback'],
    ['2002:c0a8:101::1', '6to4 address of a private'],
    ['2001::1', 'Teredo'],
    ['2001:2::1', 'benchmarking'],
    ['2001:db8::1', 'documentation'],
    ['100::1', 'discard-only'],
    ['fc00::1', 'unique local'],
    ['fd00:ec2::254', 'unique local'], // the AWS metadata service over IPv6
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fe80::1%eth0', 'zone index'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['ff05::1:3', 'multicast'],
  ])('refuses %s (%s)', (address, reason) => {
    const problem = addressProblem(address, production);
    expect(problem).toContain(reason);
    expect(problem).not.toContain(address);
  });

  it.each([
    'localhost',
    'example.com',
    '',
    '[::1]',
    '127.1',
    '2130706433',
    '0x7f.0.0.1',
    '010.0.0.1',
    '1.2.3.4.5',
    ' 8.8.8.8',
  ])('refuses %j, which is not an IP address', (address) => {
    expect(addressProblem(address, production)).toBe('not an IP address');
  });

  it('allows loopback, and only loopback, in local mode', () => {
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '64:ff9b::7f00:1']) {
      expect(addressProblem(address, production), address).toBeDefined();
      expect(addressProblem(address, local), address).toBeUndefined();
    }
    for (const address of ['0.0.0.0', '::', '10.0.0.1', '169.254.169.254', 'fe80::1', '::ffff:10.0.0.1', 'fd00::1']) {
      expect(addressProblem(address, local), address).toBeDefined();
    }
  });
});
