import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/errors.js';
import { formatKeyVaultKeyId, parseKeyVaultKeyId, type KeyVaultKeyId } from '../../shared/vault/key-vault-key-id.js';

/**
 * Attack: a customer-supplied Key Vault key identifier that points our managed identity's token
 * (and the root keys it wraps) at a host that is not a Key Vault: another host, plain http,
 * credentials in the URL, a look-alike suffix, loopback outside local mode, path tricks.
 * Property: for ANY string, `parseKeyVaultKeyId` either returns an https Key Vault / Managed HSM
 * identifier that formats back to itself, or throws INVALID_REQUEST without echoing the input.
 */

const CLOUD_SUFFIXES = ['vault.azure.net', 'managedhsm.azure.net', 'vault.azure.cn', 'vault.usgovcloudapi.net', 'vault.microsoftazure.de'];
const VERSION = '7c1d50a028234cc895534c00d7eb4eb4';
const RUNS = 1500;

/** What an accepted identifier must look like; checked independently of the parser's own regexes. */
function expectSafe(id: KeyVaultKeyId, allowLoopback: boolean): void {
  const url = new URL(id.vaultUrl);
  expect(url.protocol).toBe('https:');
  expect(url.username + url.password + url.search + url.hash).toBe('');
  expect(id.vaultUrl).toBe(url.origin);
  const loopback = url.hostname === '127.0.0.1' || /^127(\.\d{1,3}){3}$/.test(url.hostname) || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (loopback) {
    expect(allowLoopback).toBe(true);
  } else {
    const label = url.hostname.split('.')[0] ?? '';
    expect(CLOUD_SUFFIXES).toContain(url.hostname.slice(label.length + 1));
    expect(label).toMatch(/^[a-z0-9][a-z0-9-]{1,22}[a-z0-9]$/);
    expect(url.port).toBe('');
  }
  expect(id.name).toMatch(/^[0-9A-Za-z-]{1,127}$/);
  if (id.version !== undefined) expect(id.version).toMatch(/^[0-9a-f]{32}$/);
  // The canonical form parses to the same identifier: what we store is what we would call.
  expect(parseKeyVaultKeyId(formatKeyVaultKeyId(id), { allowLoopback })).toEqual(id);
}

function check(value: string, allowLoopback: boolean): void {
  let parsed: KeyVaultKeyId;
  try {
    parsed = parseKeyVaultKeyId(value, { allowLoopback });
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe('INVALID_REQUEST');
    // Never echoes the caller's value (it may be long, or carry credentials).
    if (value.length >= 8) expect((err as ValidationError).message.includes(value)).toBe(false);
    return;
  }
  expectSafe(parsed, allowLoopback);
}

/** Strings close to real identifiers, so the property reaches past `new URL()`. */
const nearIdentifier = fc
  .record({
    scheme: fc.constantFrom('https://', 'http://', 'HTTPS://', 'https:/', 'https:\\\\', 'ftp://', '//', ''),
    userinfo: fc.constantFrom('', 'u@', 'u:p@', 'contoso.vault.azure.net@', '%40@'),
    vault: fc.constantFrom('contoso', 'a', 'ab', 'x'.repeat(24), 'x'.repeat(25), '-bad', 'bad-', 'Contoso', 'con_toso', 'con%2etoso', ''),
    suffix: fc.constantFrom(...CLOUD_SUFFIXES, 'vault.azure.net.evil.com', 'evilvault.azure.net', 'vault.azure.net.', 'VAULT.AZURE.NET', 'blob.core.windows.net', ''),
    loopbackHost: fc.constantFrom(undefined, '127.0.0.1:8443', '127.1.2.3', 'localhost:1', '[::1]:8443', '0x7f.0.0.1', '2130706433', '127.0.0.1.nip.io'),
    port: fc.constantFrom('', ':443', ':8443', ':0', ':'),
    path: fc.constantFrom('/keys/cmk', `/keys/cmk/${VERSION}`, '/keys/cmk/', '/keys//cmk', '/keys/cmk/../../secrets/x', '/keys/../secrets/cmk', '/secrets/cmk', '/keys/c%6dk', '/keys/cmk/v1', `/keys/cmk/${VERSION}/x`, `/KEYS/cmk`, '/keys/' + 'a'.repeat(128), '/keys/a.b', '\\keys\\cmk', ''),
    tail: fc.constantFrom('', '?api-version=7.4', '#frag', '?', '#', ' ', '\t', '%00'),
  })
  .map((p) => `${p.scheme}${p.userinfo}${p.loopbackHost ?? `${p.vault}.${p.suffix}`}${p.port}${p.path}${p.tail}`);

/** Single-character edits of a valid identifier. */
const mutated = fc
  .tuple(fc.nat(200), fc.constantFrom('delete', 'insert', 'replace'), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }))
  .map(([at, op, ch]) => {
    const base = `https://contoso.vault.azure.net/keys/cmk/${VERSION}`;
    const i = at % base.length;
    if (op === 'delete') return base.slice(0, i) + base.slice(i + 1);
    if (op === 'insert') return base.slice(0, i) + ch + base.slice(i);
    return base.slice(0, i) + ch + base.slice(i + 1);
  });

describe('Key Vault key identifiers from callers', () => {
  it('accepts only https Key Vault identifiers for any string, else INVALID_REQUEST', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.webUrl({ withQueryParameters: true, withFragments: true }), nearIdentifier, mutated), fc.boolean(), (value, allowLoopback) =>
        check(value, allowLoopback),
      ),
      { numRuns: RUNS },
    );
  });

  it('never accepts a loopback or look-alike host outside local mode', () => {
    fc.assert(
      fc.property(nearIdentifier, (value) => {
        let id: KeyVaultKeyId | undefined;
        try {
          id = parseKeyVaultKeyId(value);
        } catch {
          return;
        }
        const host = new URL(id.vaultUrl).hostname;
        expect(CLOUD_SUFFIXES.some((s) => host.endsWith(`.${s}`))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it.each([
    ['http (token would travel in clear)', `http://contoso.vault.azure.net/keys/cmk`],
    ['credentials before a vault host', `https://contoso.vault.azure.net@evil.example/keys/cmk`],
    ['credentials before an evil host', `https://evil.example@contoso.vault.azure.net/keys/cmk`],
    ['a look-alike suffix', `https://contoso.vault.azure.net.evil.example/keys/cmk`],
    ['a trailing-dot host', `https://contoso.vault.azure.net./keys/cmk`],
    ['a non-default port', `https://contoso.vault.azure.net:8443/keys/cmk`],
    ['a secret instead of a key', `https://contoso.vault.azure.net/secrets/cmk`],
    ['a dot-segment escape to secrets', `https://contoso.vault.azure.net/keys/../secrets/cmk`],
    ['an encoded name', `https://contoso.vault.azure.net/keys/c%6Dk`],
    ['an extra segment', `https://contoso.vault.azure.net/keys/cmk/${VERSION}/wrapkey`],
    ['a query', `https://contoso.vault.azure.net/keys/cmk?api-version=7.4`],
    ['a fragment', `https://contoso.vault.azure.net/keys/cmk#x`],
    ['loopback outside local mode', `https://127.0.0.1:8443/keys/cmk`],
    ['a decimal loopback', `https://2130706433/keys/cmk`],
    ['a storage host', `https://contoso.blob.core.windows.net/keys/cmk`],
    ['a vault name too long', `https://${'a'.repeat(25)}.vault.azure.net/keys/cmk`],
    ['a short version', `https://contoso.vault.azure.net/keys/cmk/abc`],
    ['a trailing slash', `https://contoso.vault.azure.net/keys/cmk/`],
    ['a NUL byte inside the name', `https://contoso.vault.azure.net/keys/c\u0000mk`],
    ['an IDN homograph', `https://contoso.vаult.azure.net/keys/cmk`],
  ])('refuses %s with INVALID_REQUEST', (_label, value) => {
    expect(() => parseKeyVaultKeyId(value)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }) as Error);
  });
});
