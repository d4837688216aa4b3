import type { AppServices } from './services.js';
import { flowsUsingKey, type KeyCheck } from '../flows/index.js';
import { customerKeyExists, type CustomerKeyDeps } from '../pgp-keys/customer-keys.js';
import { encryptionKeyExists, type EncryptionKeyDeps } from '../pgp-keys/encryption-keys.js';

/**
 * The key stores' collaborators, from the app's services. The flow service is asked through its
 * exported lookup ({@link flowsUsingKey}) whether a key is in use; its table is never read here.
 */
export function pgpKeyDeps(services: Pick<AppServices, 'tables' | 'objects' | 'privateKeys'>): EncryptionKeyDeps & CustomerKeyDeps {
  return {
    tables: services.tables,
    objects: services.objects,
    privateKeys: services.privateKeys,
    flowsUsingKey: (scope, publicKeyId) => flowsUsingKey(services, scope, publicKeyId),
  };
}

/** What the flow service asks the key stores when a flow is created: their exported lookups. */
export function flowKeyCheck(services: Pick<AppServices, 'tables'>): KeyCheck {
  return {
    encryptionKeyExists: (scope, id) => encryptionKeyExists(services, scope, id),
    customerKeyExists: (scope, id) => customerKeyExists(services, scope, id),
  };
}
