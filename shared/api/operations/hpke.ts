/** API payload encryption (HPKE, RFC 9180): our public keys, the org's client keys and its settings. */
import type { AppServices } from '../../app/services.js';
import { PutClientKeyRequest, listClientKeys, parseClientKeyId, putClientKey } from '../../hpke/client-keys.js';
import { deleteClientKeyChecked, putEncryptionSettings } from '../../hpke/encryption-settings.js';
import { encodeKeyConfigList, OHTTP_KEYS_MEDIA_TYPE } from '../../hpke/ohttp-key-config.js';
import { PutEncryptionSettingsRequest } from '../../hpke/org-settings.js';
import { rotateServerKeys } from '../../hpke/server-keys.js';
import { defineOperation } from '../../http/operation.js';
import * as R from '../openapi/response-schemas.js';

export const listApiEncryptionKeysOperation = defineOperation({
  operationId: 'api-encryption-keys-list',
  method: 'GET',
  route: 'api-encryption/keys',
  summary: "List cipherflow's HPKE public keys",
  description: 'Public. With `Accept: application/ohttp-keys`, the same keys as RFC 9458 §3 key configurations.',
  tag: 'API payload encryption',
  auth: 'none',
  success: [
    {
      status: 200,
      description: 'The next, active and retiring keys',
      schema: R.HpkeServerKeys,
      mediaTypes: ['application/ohttp-keys'],
    },
  ],
  hpke: false,
  handler: async ({ request }, services: AppServices) => {
    const { ring, serverKeys, lifetimeMs } = services.hpke;
    let keys = await ring.published();
    if (keys.length === 0) {
      await rotateServerKeys(serverKeys, lifetimeMs);
      ring.invalidate();
      keys = await ring.published();
    }
    if ((request.headers.get('accept') ?? '').toLowerCase().includes(OHTTP_KEYS_MEDIA_TYPE)) {
      const body = encodeKeyConfigList(
        keys.map((k) => ({ ...k, publicKey: new Uint8Array(Buffer.from(k.publicKey, 'base64url')) })),
      );
      return { headers: { 'content-type': OHTTP_KEYS_MEDIA_TYPE }, body };
    }
    return { json: { keys } };
  },
});

export const listApiEncryptionClientKeysOperation = defineOperation({
  operationId: 'api-encryption-client-keys-list',
  orgWide: true,
  method: 'GET',
  route: 'api-encryption/client-keys',
  summary: "List the org's client keys (responses are encrypted to them)",
  tag: 'API payload encryption',
  auth: 'required',
  success: [{ status: 200, description: 'The client keys', schema: R.HpkeClientKeys }],
  hpke: true,
  handler: async ({ tenant }, services: AppServices) => ({
    json: { keys: await listClientKeys(services.hpke.clientKeys, tenant.orgId) },
  }),
});

export const putApiEncryptionClientKeyOperation = defineOperation({
  operationId: 'api-encryption-client-keys-put',
  orgWide: true,
  method: 'PUT',
  route: 'api-encryption/client-keys/{keyId}',
  summary: 'Register or replace a client key (key id 0..255)',
  tag: 'API payload encryption',
  auth: 'required',
  request: { name: 'PutClientKeyRequest', schema: PutClientKeyRequest },
  success: [
    { status: 201, description: 'Registered', schema: R.HpkeClientKey },
    { status: 200, description: 'Unchanged', schema: R.HpkeClientKey },
    {
      status: 202,
      description: 'Replacing: `pending.effectiveTime` says when the new key takes over',
      schema: R.HpkeClientKey,
    },
  ],
  problems: ['HPKE_INVALID_PUBLIC_KEY'],
  hpke: true,
  handler: async ({ tenant, body, params }, services: AppServices) => {
    const keyId = parseClientKeyId(params.keyId ?? '');
    const { status, key } = await putClientKey(services.hpke.clientKeys, tenant.orgId, keyId, body);
    return { status, json: key };
  },
});

export const deleteApiEncryptionClientKeyOperation = defineOperation({
  operationId: 'api-encryption-client-keys-delete',
  orgWide: true,
  method: 'DELETE',
  route: 'api-encryption/client-keys/{keyId}',
  summary: 'Delete a client key',
  tag: 'API payload encryption',
  auth: 'required',
  success: [{ status: 204, description: 'Deleted' }],
  problems: ['NOT_FOUND', 'HPKE_CLIENT_KEY_REQUIRED'],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => {
    await deleteClientKeyChecked(services.hpke, tenant.orgId, parseClientKeyId(params.keyId ?? ''));
    return { status: 204 };
  },
});

export const putApiEncryptionSettingsOperation = defineOperation({
  operationId: 'api-encryption-settings-put',
  orgWide: true,
  method: 'PUT',
  route: 'api-encryption/settings',
  summary: 'Require HPKE-encrypted requests and answers for the org',
  tag: 'API payload encryption',
  auth: 'required',
  request: { name: 'PutEncryptionSettingsRequest', schema: PutEncryptionSettingsRequest },
  success: [{ status: 200, description: 'The settings', schema: R.EncryptionSettings }],
  problems: ['HPKE_CLIENT_KEY_REQUIRED'],
  hpke: true,
  handler: async ({ tenant, body }, services: AppServices) => ({
    json: await putEncryptionSettings(services.hpke, tenant.orgId, body),
  }),
});
