import { randomBytes } from 'node:crypto';
import { createKeyVaultKekClient } from '../../shared/vault/kek-client.js';
import { appCredential, keyClient, startEmulator } from '../keyvault-emulator/harness.js';
import { kekContract } from './kek.contract.js';

// The reference side of the contract: the app's own Key Vault KEK client against the emulator.
kekContract('Key Vault emulator', async () => {
  const emulator = await startEmulator();
  const credential = appCredential();
  const keys = keyClient(emulator, credential);
  // One retry, quickly: a fault must last for both attempts of a call to fail it.
  const attempts = 2;
  const client = createKeyVaultKekClient({ credential, allowLoopback: true, clientOptions: { retryOptions: { maxRetries: attempts - 1, retryDelayInMs: 10, maxRetryDelayInMs: 20 } } });
  const versioned = (key: { name: string; properties: { version?: string } }) => {
    const version = key.properties.version;
    if (version === undefined) throw new Error('Key Vault answered a key without a version');
    return { vaultUrl: emulator.url, name: key.name, version };
  };
  const create = async (name: string, keyOps: readonly ('wrapKey' | 'unwrapKey')[] = ['wrapKey', 'unwrapKey']) =>
    versioned(await keys.createRsaKey(name, { keySize: 2048, keyOps: [...keyOps] }));
  return {
    client,
    vaultUrl: emulator.url,
    createKey: (options = {}) => create(`kek-${randomBytes(5).toString('hex')}`, options.keyOps),
    rotateKey: async (name) => create(name, (await keys.getKey(name)).keyOperations?.filter((op) => op === 'wrapKey' || op === 'unwrapKey')),
    setAttributes: async (name, version, attributes) => {
      await keys.updateKeyProperties(name, version, attributes);
    },
    deleteKey: async (name) => {
      await (await keys.beginDeleteKey(name, { intervalInMs: 10 })).pollUntilDone();
    },
    recoverKey: async (name) => {
      await (await keys.beginRecoverDeletedKey(name, { intervalInMs: 10 })).pollUntilDone();
    },
    revokeAccess: (name) => emulator.revokeAccess(emulator.systemAssignedIdentity.principalId, name),
    restoreAccess: (name) => emulator.restoreAccess(emulator.systemAssignedIdentity.principalId, name),
    failNextCall: (operation, status) => emulator.injectFault({ kind: 'status', status, count: attempts, operations: [operation] }),
    stop: () => emulator.close(),
  };
});
