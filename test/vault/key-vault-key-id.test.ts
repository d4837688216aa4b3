import { describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { formatKeyVaultKeyId, parseKeyVaultKeyId, parseVersionedKeyVaultKeyId } from '../../shared/vault/key-vault-key-id.js';

const VERSION = '0123456789abcdef0123456789abcdef';

describe('parseKeyVaultKeyId', () => {
  it.each([
    ['https://my-vault.vault.azure.net/keys/cmk', { vaultUrl: 'https://my-vault.vault.azure.net', name: 'cmk' }],
    [`https://my-vault.vault.azure.net/keys/cmk/${VERSION}`, { vaultUrl: 'https://my-vault.vault.azure.net', name: 'cmk', version: VERSION }],
    [`https://my-vault.vault.azure.net/keys/cmk/${VERSION.toUpperCase()}`, { vaultUrl: 'https://my-vault.vault.azure.net', name: 'cmk', version: VERSION }],
    ['https://MY-VAULT.Vault.Azure.Net:443/keys/cmk', { vaultUrl: 'https://my-vault.vault.azure.net', name: 'cmk' }],
    ['https://hsm01.managedhsm.azure.net/keys/k-1', { vaultUrl: 'https://hsm01.managedhsm.azure.net', name: 'k-1' }],
    ['https://gov-vault.vault.usgovcloudapi.net/keys/k', { vaultUrl: 'https://gov-vault.vault.usgovcloudapi.net', name: 'k' }],
  ])('parses %s', (value, expected) => {
    expect(parseKeyVaultKeyId(value)).toEqual(expected);
  });

  it('accepts loopback only when allowed (local mode)', () => {
    const local = `https://127.0.0.1:8443/keys/system/${VERSION}`;
    expect(parseKeyVaultKeyId(local, { allowLoopback: true })).toEqual({ vaultUrl: 'https://127.0.0.1:8443', name: 'system', version: VERSION });
    expectInvalid(() => parseKeyVaultKeyId(local));
  });

  it.each([
    ['not a url', 'not-a-url'],
    ['http', 'http://my-vault.vault.azure.net/keys/cmk'],
    ['a non-vault host', 'https://evil.example.com/keys/cmk'],
    ['a look-alike host', 'https://my-vault.vault.azure.net.evil.com/keys/cmk'],
    ['a nested subdomain', 'https://a.b.vault.azure.net/keys/cmk'],
    ['a non-default port', 'https://my-vault.vault.azure.net:8443/keys/cmk'],
    ['credentials', 'https://user:pw@my-vault.vault.azure.net/keys/cmk'],
    ['a query', 'https://my-vault.vault.azure.net/keys/cmk?x=1'],
    ['a fragment', 'https://my-vault.vault.azure.net/keys/cmk#x'],
    ['a secret path', 'https://my-vault.vault.azure.net/secrets/cmk'],
    ['no name', 'https://my-vault.vault.azure.net/keys/'],
    ['a bad name', 'https://my-vault.vault.azure.net/keys/cm_k'],
    ['a short version', 'https://my-vault.vault.azure.net/keys/cmk/abc'],
    ['extra segments', `https://my-vault.vault.azure.net/keys/cmk/${VERSION}/wrapkey`],
    ['a trailing slash after the version', `https://my-vault.vault.azure.net/keys/cmk/${VERSION}/`],
    ['a loopback vault outside local mode', 'https://localhost:8443/keys/cmk'],
  ])('refuses %s with INVALID_REQUEST', (_why, value) => {
    expectInvalid(() => parseKeyVaultKeyId(value));
  });

  it('requires a version where one is needed', () => {
    expectInvalid(() => parseVersionedKeyVaultKeyId('https://my-vault.vault.azure.net/keys/cmk'));
    expect(parseVersionedKeyVaultKeyId(`https://my-vault.vault.azure.net/keys/cmk/${VERSION}`).version).toBe(VERSION);
  });

  it('formats what it parses back to the same id', () => {
    const id = `https://my-vault.vault.azure.net/keys/cmk/${VERSION}`;
    expect(formatKeyVaultKeyId(parseKeyVaultKeyId(id))).toBe(id);
  });
});

function expectInvalid(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AppError);
  expect((caught as AppError).code).toBe('INVALID_REQUEST');
}
