import { HpkeClientKeyRequiredError } from '../errors.js';
import { deleteClientKey, listClientKeys, type ClientKeyDeps } from './client-keys.js';
import type { EncryptionSettings, OrgSettingsStore } from './org-settings.js';

/** What the org's encryption settings are checked against: its settings and its client keys. */
export interface EncryptionSettingsDeps {
  readonly settings: OrgSettingsStore;
  readonly clientKeys: ClientKeyDeps;
}

/** The ids of the org's client keys in effect now (not those only pending). */
async function keysInEffect(deps: EncryptionSettingsDeps, orgId: string): Promise<number[]> {
  return (await listClientKeys(deps.clientKeys, orgId)).filter((k) => k.publicKey !== '').map((k) => k.keyId);
}

/**
 * Stores the org's settings. With `requireEncryption` every authenticated answer is sealed to a
 * client key or refused, so turning it on needs a key in effect: without one, no answer of the org
 * could be read again, this one included.
 * @throws HPKE_CLIENT_KEY_REQUIRED when `requireEncryption` is asked for and the org has no client key in effect.
 */
export async function putEncryptionSettings(deps: EncryptionSettingsDeps, orgId: string, settings: EncryptionSettings): Promise<EncryptionSettings> {
  if (settings.requireEncryption && (await keysInEffect(deps, orgId)).length === 0) {
    throw new HpkeClientKeyRequiredError('Register a client key with PUT /api-encryption/client-keys/{keyId} before requiring encryption');
  }
  return deps.settings.put(orgId, settings);
}

/**
 * Deletes a client key, unless it is the org's last key in effect while `requireEncryption` is on.
 * @throws HPKE_CLIENT_KEY_REQUIRED for the last key of an org that requires encryption; NOT_FOUND
 */
export async function deleteClientKeyChecked(deps: EncryptionSettingsDeps, orgId: string, keyId: number): Promise<void> {
  if ((await deps.settings.get(orgId)).requireEncryption) {
    const others = (await keysInEffect(deps, orgId)).filter((id) => id !== keyId);
    if (others.length === 0) {
      throw new HpkeClientKeyRequiredError('This is the last client key of an organization that requires encryption: register another one first, or turn requireEncryption off');
    }
  }
  await deleteClientKey(deps.clientKeys, orgId, keyId);
}
