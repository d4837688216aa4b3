/** PGP key pairs files are encrypted to, and the customer keys signatures are verified with. */
import type { AppServices } from '../../app/services.js';
import { PUBLIC_KEY_REJECTIONS } from '../../errors.js';
import { defineOperation } from '../../http/operation.js';
import { RegisterCustomerKeyRequest, listCustomerKeys, registerCustomerKey } from '../../pgp-keys/customer-keys.js';
import {
  CreateEncryptionKeyRequest,
  createEncryptionKey,
  deleteEncryptionKey,
  getEncryptionKey,
  listEncryptionKeys,
} from '../../pgp-keys/encryption-keys.js';
import { pgpKeyDeps } from '../../app/pgp-key-deps.js';
import * as R from '../openapi/response-schemas.js';

const KEYS = 'data/foundation/connectors/encryption';

export const createEncryptionKeyOperation = defineOperation({
  operationId: 'encryption-keys-create',
  method: 'POST',
  route: `${KEYS}/keys`,
  summary: 'Create a PGP key pair',
  description:
    'The private key and its passphrase stay in cipherflow, envelope-encrypted; the answer holds the public key.',
  tag: 'PGP keys',
  auth: 'required',
  request: { name: 'CreateEncryptionKeyRequest', schema: CreateEncryptionKeyRequest },
  success: [{ status: 200, description: 'The key pair was created', schema: R.EncryptionKeyCreated }],
  problems: ['SERVER_BUSY'],
  hpke: true,
  handler: async ({ tenant, body }, services: AppServices) => {
    const key = await createEncryptionKey(pgpKeyDeps(services), tenant, body);
    return { json: { publicKey: key.publicKey, publicKeyId: key.publicKeyId, expiryTime: key.expiryTime } };
  },
});

export const listEncryptionKeysOperation = defineOperation({
  operationId: 'encryption-keys-list',
  method: 'GET',
  route: `${KEYS}/keys`,
  summary: 'List PGP key pairs',
  tag: 'PGP keys',
  auth: 'required',
  success: [{ status: 200, description: 'The keys of the org and sandbox', schema: R.EncryptionKeyList }],
  hpke: true,
  handler: async ({ tenant }, services: AppServices) => ({
    json: await listEncryptionKeys(pgpKeyDeps(services), tenant),
  }),
});

export const getEncryptionKeyOperation = defineOperation({
  operationId: 'encryption-keys-get',
  method: 'GET',
  route: `${KEYS}/keys/{publicKeyId}`,
  summary: 'Get a PGP key pair',
  tag: 'PGP keys',
  auth: 'required',
  success: [{ status: 200, description: 'The key', schema: R.EncryptionKey }],
  problems: ['NOT_FOUND'],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => ({
    json: await getEncryptionKey(pgpKeyDeps(services), tenant, params.publicKeyId ?? ''),
  }),
});

export const deleteEncryptionKeyOperation = defineOperation({
  operationId: 'encryption-keys-delete',
  method: 'DELETE',
  route: `${KEYS}/keys/{publicKeyId}`,
  summary: 'Delete a PGP key pair',
  tag: 'PGP keys',
  auth: 'required',
  success: [{ status: 204, description: 'Deleted' }],
  problems: ['NOT_FOUND', 'KEY_IN_USE'],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => {
    await deleteEncryptionKey(pgpKeyDeps(services), tenant, params.publicKeyId ?? '');
    return { status: 204 };
  },
});

export const validateEncryptionKeyOperation = defineOperation({
  operationId: 'encryption-keys-validate',
  method: 'GET',
  route: `${KEYS}/keys/validate/{publicKeyId}`,
  summary: 'Check whether a PGP key pair is active or expired',
  tag: 'PGP keys',
  auth: 'required',
  success: [{ status: 200, description: 'The key status', schema: R.EncryptionKeyValidation }],
  problems: ['NOT_FOUND'],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => {
    const key = await getEncryptionKey(pgpKeyDeps(services), tenant, params.publicKeyId ?? '');
    return { json: { publicKeyId: key.publicKeyId, status: key.status } };
  },
});

export const registerCustomerKeyOperation = defineOperation({
  operationId: 'customer-keys-create',
  method: 'POST',
  route: `${KEYS}/customer-keys`,
  summary: "Register a customer's signing public key",
  tag: 'PGP keys',
  auth: 'required',
  request: { name: 'RegisterCustomerKeyRequest', schema: RegisterCustomerKeyRequest },
  success: [{ status: 200, description: 'Registered', schema: R.CustomerKeyRegistered }],
  problems: PUBLIC_KEY_REJECTIONS,
  hpke: true,
  handler: async ({ tenant, body }, services: AppServices) => ({
    json: await registerCustomerKey(pgpKeyDeps(services), tenant, body),
  }),
});

export const listCustomerKeysOperation = defineOperation({
  operationId: 'customer-keys-list',
  method: 'GET',
  route: `${KEYS}/customer-keys`,
  summary: "List the customer's registered signing keys",
  tag: 'PGP keys',
  auth: 'required',
  success: [{ status: 200, description: 'The registered keys', schema: R.CustomerKeyList }],
  hpke: true,
  handler: async ({ tenant }, services: AppServices) => ({
    json: await listCustomerKeys(pgpKeyDeps(services), tenant),
  }),
});
