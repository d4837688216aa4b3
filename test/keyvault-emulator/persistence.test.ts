import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CryptographyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_OPTIONS, appCredential, expectVaultError, keyClient, startEmulator, uniqueName } from './harness.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kv-emulator-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('persistence with dataFile', () => {
  it('keeps keys, versions, access rules and purge protection across a restart', async () => {
    const dataFile = join(dir, 'vault.json');
    const first = await startEmulator(dataFile);
    const name = uniqueName('persist');
    const revokedName = uniqueName('revoked');
    const dek = randomBytes(32);
    let keyId: string;
    let wrapped: Uint8Array;
    try {
      const keys = keyClient(first);
      const key = await keys.createRsaKey(name);
      await keys.createRsaKey(revokedName);
      keyId = key.id ?? '';
      wrapped = (await new CryptographyClient(keyId, appCredential(), CLIENT_OPTIONS).wrapKey('RSA-OAEP-256', dek)).result;
      await first.revokeAccess(first.systemAssignedIdentity.principalId, revokedName);
      await first.setPurgeProtection(false);
    } finally {
      await first.close();
    }
    // The file holds private keys: owner-only.
    expect((await stat(dataFile)).mode & 0o777).toBe(0o600);

    const second = await startEmulator(dataFile);
    try {
      expect(second.systemAssignedIdentity).toEqual(first.systemAssignedIdentity);
      const keys = keyClient(second);
      const version = keyId.split('/').at(-1) ?? '';
      const again = await keys.getKey(name);
      expect(again.properties.version).toBe(version);
      expect(again.properties.recoveryLevel).toBe('Recoverable+Purgeable');
      // The vault URL (port) changed; the version id is what identifies the key material.
      const unwrapped = await new CryptographyClient(`${second.url}/keys/${name}/${version}`, appCredential(), CLIENT_OPTIONS).unwrapKey(
        'RSA-OAEP-256',
        wrapped,
      );
      expect(Buffer.from(unwrapped.result).equals(dek)).toBe(true);
      await expectVaultError(keys.getKey(revokedName), 403, 'Forbidden', 'ForbiddenByRbac');
    } finally {
      await second.close();
    }
  });
});
